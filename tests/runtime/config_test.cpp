#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "runtime/cluster_tls.hpp"
#include "runtime/config.hpp"
#include "tests/support/test_pki.hpp"

using dccs::runtime::config;
using dccs::runtime::option_specs;

namespace {

struct env_guard {
  std::string name;
  env_guard(std::string n, const std::string& value) : name(std::move(n)) { setenv(name.c_str(), value.c_str(), 1); }
  ~env_guard() { unsetenv(name.c_str()); }
};

std::string write_temp(const std::string& text) {
  char path[] = "/tmp/dccs-config-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::ofstream out{path};
  out << text;
  ::close(fd);
  return path;
}

bool load(config& cfg, std::vector<const char*> args, std::string& error) {
  args.insert(args.begin(), "dccs");
  bool help = false;
  return cfg.load(static_cast<int>(args.size()), args.data(), error, help);
}

} // namespace

TEST_CASE("defaults hold every option") {
  config cfg;
  CHECK(cfg.integer("http.port") == 8080);
  CHECK(cfg.str("scheduler.policy") == "stealing");
  CHECK(cfg.integer("drone.max_frame") == 16384);
  CHECK(cfg.integer("hub.rate") == 10);
}

TEST_CASE("precedence: defaults < file < environment < flags") {
  auto file = write_temp("# comment\nhttp.port = 9000\nhub.rate = 5\ndrone.max_rate = 7 # trailing\n");
  env_guard env_port{"DCCS_HUB_RATE", "6"};
  env_guard env_rate{"DCCS_DRONE_MAX_RATE", "8"};
  config cfg;
  std::string error;
  REQUIRE(load(cfg, {"--config", file.c_str(), "--drone.max_rate=9"}, error));
  CHECK(cfg.integer("http.port") == 9000);       // file over default
  CHECK(cfg.integer("hub.rate") == 6);           // environment over file
  CHECK(cfg.integer("drone.max_rate") == 9);     // flag over environment
  CHECK(cfg.integer("drone.burst") == 200);      // untouched default
  std::remove(file.c_str());
}

TEST_CASE("the config file can come from DCCS_CONFIG") {
  auto file = write_temp("http.threads = 3\n");
  env_guard env{"DCCS_CONFIG", file};
  config cfg;
  std::string error;
  REQUIRE(load(cfg, {}, error));
  CHECK(cfg.integer("http.threads") == 3);
  std::remove(file.c_str());
}

TEST_CASE("bad configuration is refused with a message naming the problem") {
  std::string error;
  SECTION("unknown flag") {
    config cfg;
    CHECK_FALSE(load(cfg, {"--http.prot", "1"}, error));
    CHECK(error.find("http.prot") != std::string::npos);
  }
  SECTION("not an integer") {
    config cfg;
    CHECK_FALSE(load(cfg, {"--http.port", "eighty"}, error));
    CHECK(error.find("http.port") != std::string::npos);
  }
  SECTION("out of range") {
    config cfg;
    CHECK_FALSE(load(cfg, {"--http.port=70000"}, error));
    CHECK(error.find("between") != std::string::npos);
  }
  SECTION("not a choice") {
    config cfg;
    CHECK_FALSE(load(cfg, {"--scheduler.policy", "fastest"}, error));
    CHECK(error.find("sharing") != std::string::npos);
  }
  SECTION("bad environment variable") {
    env_guard env{"DCCS_HUB_RATE", "-3"};
    config cfg;
    CHECK_FALSE(load(cfg, {}, error));
    CHECK(error.find("DCCS_HUB_RATE") != std::string::npos);
  }
  SECTION("bad line in a file") {
    auto file = write_temp("http.port 80\n");
    config cfg;
    CHECK_FALSE(load(cfg, {"--config", file.c_str()}, error));
    CHECK(error.find(":1:") != std::string::npos);
    std::remove(file.c_str());
  }
  SECTION("missing file") {
    config cfg;
    CHECK_FALSE(load(cfg, {"--config", "/nonexistent/dccs.conf"}, error));
  }
  SECTION("lost before stale") {
    config cfg;
    CHECK_FALSE(load(cfg, {"--drone.stale_after_ms", "5000", "--drone.lost_after_ms", "4000"}, error));
  }
}

TEST_CASE("config/dccs.conf documents every option with its built-in default") {
  config from_file;
  std::string error;
  REQUIRE(from_file.load_file("config/dccs.conf", error));
  std::ifstream in{"config/dccs.conf"};
  std::set<std::string> named;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#')
      named.insert(line.substr(0, line.find(' ')));
  config defaults;
  for (auto& spec : option_specs()) {
    if (spec.name == "config")
      continue;
    INFO(spec.name);
    CHECK(named.count(spec.name) == 1);
    CHECK(from_file.str(spec.name) == defaults.str(spec.name));
  }
}

TEST_CASE("--help lists every option and its environment variable") {
  auto text = config::help_text("dccs");
  for (auto& spec : option_specs()) {
    CHECK(text.find("--" + spec.name) != std::string::npos);
    CHECK(text.find(config::env_name(spec.name)) != std::string::npos);
  }
  CHECK(config::env_name("http.port") == "DCCS_HTTP_PORT");
}

TEST_CASE("cluster TLS options go together: one or two of them are refused, naming the missing ones") {
  std::string error;
  config none;
  REQUIRE(load(none, {}, error));
  CHECK_FALSE(dccs::runtime::cluster_tls_files::from(none).enabled());
  config one;
  CHECK_FALSE(load(one, {"--cluster.tls.ca", "/etc/dccs/ca.pem"}, error));
  CHECK(error.find("cluster.tls.ca set but not cluster.tls.certificate, cluster.tls.key") != std::string::npos);
  config two;
  CHECK_FALSE(load(two, {"--cluster.tls.certificate", "a.pem", "--cluster.tls.key", "a.key"}, error));
  CHECK(error.find("but not cluster.tls.ca") != std::string::npos);
  config all;
  REQUIRE(load(all, {"--cluster.tls.ca", "ca.pem", "--cluster.tls.certificate", "a.pem", "--cluster.tls.key", "a.key"},
               error));
  auto files = dccs::runtime::cluster_tls_files::from(all);
  CHECK(files.enabled());
  CHECK(files.ca == "ca.pem");
  CHECK(files.certificate == "a.pem");
  CHECK(files.key == "a.key");
}

TEST_CASE("cluster TLS files are checked at start: each problem is refused, naming the option") {
  using dccs::runtime::check_cluster_tls;
  using dccs::runtime::cluster_tls_files;
  dccs::test::test_pki pki{"main"};
  dccs::test::test_pki other{"other"};
  auto a = pki.issue("node-a");
  auto b = pki.issue("node-b");
  std::string summary, error;
  auto check = [&](cluster_tls_files f) {
    error.clear();
    return check_cluster_tls(f, summary, error);
  };
  SECTION("a good set passes and is summed up without secrets") {
    REQUIRE(check({pki.ca(), a.certificate, a.key}));
    CHECK(summary.find("CN=node-a") != std::string::npos);
    CHECK(summary.find("valid until") != std::string::npos);
  }
  SECTION("a missing file") {
    CHECK_FALSE(check({pki.path("nope.pem"), a.certificate, a.key}));
    CHECK(error.find("cluster.tls.ca: cannot read") != std::string::npos);
    CHECK_FALSE(check({pki.ca(), a.certificate, pki.path("nope.key")}));
    CHECK(error.find("cluster.tls.key: cannot read") != std::string::npos);
  }
  SECTION("a key that group or others may read") {
    std::filesystem::permissions(a.key, std::filesystem::perms::group_read | std::filesystem::perms::others_read,
                                 std::filesystem::perm_options::add);
    CHECK_FALSE(check({pki.ca(), a.certificate, a.key}));
    CHECK(error.find("cluster.tls.key: group or others may access") != std::string::npos);
    CHECK(error.find("chmod 600") != std::string::npos);
  }
  SECTION("a certificate file that is no certificate") {
    CHECK_FALSE(check({pki.ca(), a.key, a.key}));
    CHECK(error.find("cluster.tls.certificate: ") != std::string::npos);
    CHECK(error.find("is not a PEM certificate") != std::string::npos);
  }
  SECTION("a key of another certificate") {
    CHECK_FALSE(check({pki.ca(), a.certificate, b.key}));
    INFO(error);
    CHECK(error.find("is not the key of cluster.tls.certificate") != std::string::npos);
  }
  SECTION("a CA file without a certificate") {
    CHECK_FALSE(check({a.key, a.certificate, a.key}));
    CHECK(error.find("cluster.tls.ca: ") != std::string::npos);
  }
  SECTION("a certificate another CA signed") {
    auto stranger = other.issue("stranger");
    CHECK_FALSE(check({pki.ca(), stranger.certificate, stranger.key}));
    CHECK(error.find("does not verify under cluster.tls.ca") != std::string::npos);
    CHECK(error.find("not signed by this CA") != std::string::npos);
  }
  SECTION("a certificate for one end of a link only") {
    auto server_only = pki.issue("server-only", "serverAuth");
    CHECK_FALSE(check({pki.ca(), server_only.certificate, server_only.key}));
    CHECK(error.find("as a TLS client") != std::string::npos);
    CHECK(error.find("clientAuth") != std::string::npos);
  }
}
