// Cluster links over TLS (cluster.tls.*, CAF's OpenSSL module): real node processes on 127.0.0.1 with certificates
// that a throwaway CA makes at test time (tests/support/test_pki.hpp), one shared PostgreSQL database. Nodes that
// must not join are seeded through TCP proxies, so that the tests see them try again and again (each try is a new
// connection) and stay out, in both directions: the outsider connecting to a member and a member to the outsider.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/child.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/scratch_db.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/system/cluster_nodes.hpp"

using namespace dccs::test;

namespace {

std::vector<std::string> tls_options(const std::string& ca, const test_pki::member& m) {
  return {"--cluster.tls.ca", ca, "--cluster.tls.certificate", m.certificate, "--cluster.tls.key", m.key};
}

std::vector<std::string> with_seed(std::vector<std::string> options, const tcp_proxy& seed) {
  options.push_back("--cluster.seeds");
  options.push_back("127.0.0.1:" + std::to_string(seed.port()));
  return options;
}

/// The TCP sockets process `pid` listens on, as (IPv4 address in /proc's hex, port); an IPv6 socket shows as
/// its address in hex too (32 digits).
std::set<std::pair<std::string, std::uint16_t>> listening(pid_t pid) {
  std::set<std::string> inodes;
  auto fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  for (auto& entry : std::filesystem::directory_iterator(fd_dir)) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0)
      inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<std::pair<std::string, std::uint16_t>> out;
  for (auto table : {"tcp", "tcp6"}) {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/net/" + table};
    std::string line;
    std::getline(in, line); // the header
    while (std::getline(in, line)) {
      std::istringstream fields{line};
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (state != "0A" || inodes.count(inode) == 0) // 0A: LISTEN
        continue;
      auto colon = local.find(':');
      out.insert({local.substr(0, colon), static_cast<std::uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16))});
    }
  }
  return out;
}

const std::string loopback_hex = "0100007F"; // 127.0.0.1 as /proc/net/tcp shows it

/// A folder with a signing key, for nodes started outside a `cluster`.
struct key_folder {
  key_folder() {
    dir = std::filesystem::temp_directory_path() / ("dccs-cluster-tls-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir / "keys");
    run_node_command({"keys", "generate", "--auth.keys_dir", (dir / "keys").string()});
  }
  ~key_folder() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::filesystem::path dir;
};

/// Nodes 0 .. n-1 of `c` never counted another member in: none now, none joined and left again in between.
void never_joined(cluster& c, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    INFO("node " << i);
    CHECK(c.members(i) == 1);
    CHECK(c.metric(i, "dccs_cluster_members") == 1);
    CHECK(c.metric(i, "dccs_cluster_members_lost_total") == 0);
    c.process(i).read_available();
    CHECK(c.process(i).err.find("member joined") == std::string::npos);
  }
}

} // namespace

TEST_CASE("two members with certificates of the cluster's CA form a cluster over TLS: an operator on one sees a drone "
          "connected to the other, and each node listens on its HTTP and cluster ports only") {
  scratch_database db;
  test_pki pki{"dccs"};
  cluster c{db.url()};
  c.start(0, tls_options(pki.ca(), pki.issue("node-0")));
  c.start(1, tls_options(pki.ca(), pki.issue("node-1"))); // seeded with node 0
  REQUIRE(eventually([&] { return c.members(0) == 2 && c.members(1) == 2; }, std::chrono::seconds(20)));
  for (std::size_t i = 0; i < 2; ++i) {
    INFO("node " << i);
    CHECK(c.process(i).err.find("cluster links use TLS certificate=subject CN=node-" + std::to_string(i)) !=
          std::string::npos);
    CHECK(c.process(i).err.find("tls=true") != std::string::npos);
    CHECK(c.metric(i, "dccs_cluster_members") == 2);
    // No second, plain port (CAF's automatic connections open one on every interface): the HTTP port and the
    // cluster port, both on 127.0.0.1.
    std::set<std::pair<std::string, std::uint16_t>> expected{{loopback_hex, c.http(i)},
                                                             {loopback_hex, c.cluster_port(i)}};
    CHECK(listening(c.process(i).pid) == expected);
  }

  // A drone connected to node 1, an operator on node 0: its state crosses the TLS link.
  child sim{{DCCS_SIM_BIN, "--url", c.url(1), "--drones", "1", "--rate", "5", "--duration", "60", "--prefix",
             "tls-", "--json", "--report-interval", "60"}};
  watcher op{c.http(0), c.admin()};
  REQUIRE(op.fresh(1, {}));
  auto first = op.seqs();
  CHECK(op.fresh(1, first)); // and keeps moving
  REQUIRE(op.view.drones.size() == 1);
  CHECK(op.view.drones.begin()->first.rfind("tls-", 0) == 0);
}

TEST_CASE("a node whose certificate another CA signed does not join a TLS cluster, whichever end connects, and a node "
          "with the cluster CA's certificate does") {
  scratch_database db;
  test_pki pki{"dccs"};
  test_pki rogue_ca{"rogue"};
  cluster c{db.url()};
  tcp_proxy to_member{"127.0.0.1", c.cluster_port(0)};
  tcp_proxy to_outsider{"127.0.0.1", c.cluster_port(1)};
  c.start(0, with_seed(tls_options(pki.ca(), pki.issue("node-0")), to_outsider));
  // Its own certificate comes from another CA, and it trusts both CAs: it would accept the member, so whichever
  // end connects, the refusal is the member's (the member verifying it as a TLS client or as a TLS server).
  auto both = rogue_ca.path("both-cas.pem");
  {
    std::ofstream out{both};
    out << std::ifstream{pki.ca()}.rdbuf() << std::ifstream{rogue_ca.ca()}.rdbuf();
  }
  c.start(1, with_seed(tls_options(both, rogue_ca.issue("rogue")), to_member));
  // Each end tried again and again — a link that held would end the tries — and neither counts the other in.
  REQUIRE(eventually([&] { return to_member.accepted() >= 3 && to_outsider.accepted() >= 3; },
                     std::chrono::seconds(30)));
  never_joined(c, 2);

  // Through the same proxy a node with the cluster CA's certificate joins: the refusal above was the certificate.
  c.start(2, with_seed(tls_options(pki.ca(), pki.issue("node-2")), to_member));
  REQUIRE(eventually([&] { return c.members(0) == 2 && c.members(2) == 2; }, std::chrono::seconds(20)));
  CHECK(c.members(1) == 1);
}

TEST_CASE("a node without TLS does not join a TLS cluster, whichever end connects") {
  scratch_database db;
  test_pki pki{"dccs"};
  cluster c{db.url()};
  tcp_proxy to_member{"127.0.0.1", c.cluster_port(0)};
  tcp_proxy to_plain{"127.0.0.1", c.cluster_port(1)};
  c.start(0, with_seed(tls_options(pki.ca(), pki.issue("node-0")), to_plain));
  c.start(1, {"--cluster.seeds", "127.0.0.1:" + std::to_string(to_member.port())}); // development mode, no TLS
  REQUIRE(eventually([&] { return to_member.accepted() >= 3 && to_plain.accepted() >= 3; },
                     std::chrono::seconds(30)));
  never_joined(c, 2);
  CHECK(c.process(1).err.find("tls=false") != std::string::npos);
  // Without TLS too, no second, plain port on every interface (the proxies' listening sockets are this test's,
  // inherited by the node process at its start).
  std::set<std::pair<std::string, std::uint16_t>> expected{{loopback_hex, c.http(1)}, {loopback_hex, c.cluster_port(1)}};
  auto ports = listening(c.process(1).pid);
  ports.erase({loopback_hex, to_member.port()});
  ports.erase({loopback_hex, to_plain.port()});
  CHECK(ports == expected);
}

TEST_CASE("a production node refuses a cluster without TLS, naming cluster.tls, and bad TLS files, naming the option, but "
          "with TLS it may bind a cluster address other machines reach") {
  scratch_database db;
  key_folder keys;
  test_pki pki{"dccs"};
  std::vector<std::string> production{DCCS_NODE_BIN, "--node.mode", "production", "--http.port", "0", "--db.url",
                                      db.url(), "--auth.keys_dir", (keys.dir / "keys").string(), "--node.data_dir",
                                      keys.dir.string(), "--cluster.port",
                                      std::to_string(redis_server::free_port())};
  auto plus = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  SECTION("no TLS, even on 127.0.0.1") {
    child node{production};
    REQUIRE(node.read_until("set cluster.tls.ca, cluster.tls.certificate and cluster.tls.key"));
    CHECK(node.wait_exit() != 0);
    CHECK(node.err.find(" port=") == std::string::npos); // it never served
  }
  SECTION("a key that is not the certificate's") {
    auto a = pki.issue("node-a");
    auto b = pki.issue("node-b");
    child node{plus(production, tls_options(pki.ca(), {a.certificate, b.key}))};
    REQUIRE(node.read_until("is not the key of cluster.tls.certificate"));
    CHECK(node.wait_exit() != 0);
  }
  SECTION("only some of the options") {
    child node{plus(production, {"--cluster.tls.ca", pki.ca()})};
    REQUIRE(node.read_until("set but not cluster.tls.certificate, cluster.tls.key"));
    CHECK(node.wait_exit() != 0);
  }
  SECTION("with TLS, on every interface") {
    child node{plus(production, plus(tls_options(pki.ca(), pki.issue("node-a")), {"--cluster.address", "0.0.0.0"}))};
    REQUIRE(node.read_until(" port="));
    CHECK(node.err.find("cluster links use TLS") != std::string::npos);
    CHECK(node.err.find("tls=true") != std::string::npos);
  }
}
