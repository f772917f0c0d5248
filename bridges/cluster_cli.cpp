#include "bridges/cluster_cli.hpp"

#include <ctime>
#include <iomanip>
#include <iostream>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "auth/jwt.hpp"
#include "auth/keys_cli.hpp"

namespace dccs::bridges {

namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;

std::string admin_token(const runtime::config& cfg) {
  auto dir = auth::keys_dir(cfg);
  auto ring = auth::key_ring::load_directory(dir);
  if (ring.signer() == nullptr)
    throw std::runtime_error("no signing key in " + dir + " (set auth.keys_dir to the cluster's key folder)");
  auth::claims c;
  c.iss = cfg.str("auth.issuer");
  c.aud = cfg.str("auth.audience");
  c.sub = "dccs-cluster-status";
  c.role = "admin";
  c.iat = static_cast<std::int64_t>(std::time(nullptr));
  c.nbf = c.iat;
  c.exp = c.iat + 60;
  return auth::sign(ring, c);
}

} // namespace

int cluster_command(const runtime::config& cfg) {
  auto& args = cfg.positional();
  if (args.empty() || args.front() != "cluster")
    return -1;
  if (args.size() != 2 || args[1] != "status") {
    std::cerr << "usage: dccs cluster status [--http.port P] [--http.address A] [--auth.keys_dir DIR]\n";
    return 2;
  }
  auto host = cfg.str("http.address");
  if (host == "0.0.0.0" || host.empty())
    host = "127.0.0.1";
  if (host == "::")
    host = "::1";
  auto port = std::to_string(cfg.integer("http.port"));
  try {
    auto token = admin_token(cfg);
    net::io_context ioc;
    boost::beast::tcp_stream stream{ioc};
    stream.expires_after(std::chrono::seconds(5));
    net::ip::tcp::resolver resolver{ioc};
    stream.connect(resolver.resolve(host, port));
    http::request<http::empty_body> req{http::verb::get, "/api/v1/cluster", 11};
    req.set(http::field::host, host + ":" + port);
    req.set(http::field::authorization, "Bearer " + token);
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    if (res.result() != http::status::ok) {
      std::cerr << "dccs cluster status: " << host << ":" << port << " answered " << res.result_int() << ": "
                << res.body() << "\n";
      return 1;
    }
    auto j = nlohmann::json::parse(res.body());
    if (!j.value("enabled", false)) {
      std::cout << "the node at " << host << ":" << port << " is not in a cluster (cluster.port = 0)\n";
      return 0;
    }
    auto& members = j["members"];
    std::cout << "cluster of " << members.size() << " member" << (members.size() == 1 ? "" : "s") << " as "
              << host << ":" << port << " sees it (view " << j.value("version", 0) << ", membership board "
              << j.value("board", "") << ")\n";
    std::cout << "  " << std::left << std::setw(18) << "node" << std::setw(24) << "http" << std::setw(24)
              << "cluster" << std::setw(8) << "drones" << std::setw(26) << "roles" << "last heard\n";
    for (auto& m : members) {
      bool self = m.value("self", false);
      std::string heard = self ? "(this node)" : std::to_string(m.value("heard_ms_ago", 0LL)) + " ms ago";
      std::string roles;
      if (m.contains("roles") && m["roles"].is_array())
        for (auto& r : m["roles"])
          if (r.is_string())
            roles += (roles.empty() ? "" : ",") + r.get<std::string>();
      std::cout << (self ? "* " : "  ") << std::setw(18) << m.value("id", "") << std::setw(24) << m.value("http", "")
                << std::setw(24) << m.value("cluster", "") << std::setw(8)
                << (m.contains("drones") ? std::to_string(m["drones"].get<long long>()) : std::string{"?"})
                << std::setw(26) << (roles + " ") << heard << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "dccs cluster status: " << host << ":" << port << ": " << e.what() << "\n";
    return 1;
  }
}

} // namespace dccs::bridges
