#include "bridges/server_impl.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/log.hpp"

// The listener: settings, the accept loop (the connection cap, the reserve, running out of descriptors), start
// and graceful stop. The connections are in drone_session.cpp, operator_session.cpp and http_session.cpp.

namespace dccs::bridges {

namespace {


/// Answers a connection the node cannot take with a 503 (without reading its request: the answer fits in an
/// empty socket buffer) and shuts it down; the caller closes it.
void refuse_connection(int fd) {
  static const std::string answer = [] {
    auto body = runtime::error_body("too_many_connections",
                                    "the node has no room for another connection, try again later");
    return "HTTP/1.1 503 Service Unavailable\r\nServer: dccs\r\nContent-Type: application/json\r\n"
           "Cache-Control: no-store\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: "
           + std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  [[maybe_unused]] auto sent = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(fd, SHUT_WR);
  // Read what the client already sent: closing a socket with unread data resets the connection, and the reset
  // can overtake the answer.
  char scratch[4096];
  for (int i = 0; i < 4 && ::recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0; ++i) {
  }
}

} // namespace

server_settings server_settings::from(const runtime::config& cfg) {
  server_settings s;
  s.node_name = cfg.str("node.name");
  if (s.node_name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    s.node_name = host;
  }
  s.address = cfg.str("http.address");
  s.port = static_cast<std::uint16_t>(cfg.integer("http.port"));
  s.threads = static_cast<int>(cfg.integer("http.threads"));
  s.control_threads = static_cast<int>(cfg.integer("http.control_threads"));
  s.static_dir = cfg.str("http.static_dir");
  s.tiles.url = cfg.str("web.tile_url");
  s.tiles.attribution = cfg.str("web.tile_attribution");
  s.tiles.max_zoom = static_cast<int>(cfg.integer("web.tile_max_zoom"));
  if (auto origin = tile_origin(s.tiles.url)) // node::start refuses a URL without one
    s.tiles.origin = *origin;
  s.max_body = static_cast<std::size_t>(cfg.integer("http.max_body"));
  s.backlog = static_cast<int>(cfg.integer("http.backlog"));
  s.reserve_connections = static_cast<std::size_t>(cfg.integer("http.reserve_connections"));
  auto max_connections = cfg.integer("http.max_connections");
  s.max_connections = max_connections > 0 ? static_cast<std::size_t>(max_connections)
                                          : automatic_max_connections(descriptor_limit(), s.reserve_connections);
  s.drone_max_frame = static_cast<std::size_t>(cfg.integer("drone.max_frame"));
  s.drone_max_rate = static_cast<double>(cfg.integer("drone.max_rate"));
  s.drone_burst = static_cast<double>(cfg.integer("drone.burst"));
  s.drone_hello_timeout_ms = cfg.integer("drone.hello_timeout_ms");
  s.drone_attach_timeout_ms = cfg.integer("drone.attach_timeout_ms");
  s.drone_pending_frames = static_cast<std::size_t>(cfg.integer("drone.pending_frames"));
  s.operator_max_frame = static_cast<std::size_t>(cfg.integer("operator.max_frame"));
  s.operator_max_rate = static_cast<double>(cfg.integer("operator.max_rate"));
  s.operator_max_events = static_cast<std::size_t>(cfg.integer("operator.max_events"));
  s.shutdown_grace_ms = cfg.integer("shutdown.grace_ms");
  s.allowed_origins = split_list(cfg.str("http.allowed_origins"), "/");
  s.trusted_proxies = split_list(cfg.str("http.trusted_proxies"), "");
  s.ticket_ttl_s = cfg.integer("auth.ticket_ttl_s");
  s.metrics_public = cfg.boolean("http.metrics_public");
  s.default_group = cfg.str("fleet.default_group");
  std::string invalid; // node::start refuses an invalid list before a server is made
  if (!runtime::node_roles::parse(cfg.str("node.roles"), s.roles, invalid))
    s.roles = runtime::node_roles::all();
  return s;
}

void server::impl::do_accept() {
  // One I/O thread is an implicit strand: per-connection strands only cost when there are several.
  auto executor = settings.control_threads > 1 ? net::any_io_executor{net::make_strand(ioc)}
                                               : net::any_io_executor{ioc.get_executor()};
  // A weak reference: a pending accept must not keep the server (and its io_context) alive.
  acceptor->async_accept(executor, [weak = weak_from_this()](beast::error_code ec, tcp::socket socket) {
    auto self = weak.lock();
    if (!self || self->stopping)
      return;
    if (!ec)
      self->admit(std::move(socket));
    else if (ec == net::error::operation_aborted)
      return;
    else if (self->accept_failed(ec))
      return;
    self->do_accept();
  });
}

void server::impl::admit(tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  if (spare_fd < 0)
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC); // given up earlier, or lost to another thread
  auto tier = gate.admit();
  if (tier == connection_gate::tier::full) {
    if (!evict_waiting()) {
      connections_refused.inc();
      refuse_connection(socket.native_handle());
      return; // the socket closes here
    }
    gate.admit_anyway(); // in the place of the evicted connection, whose socket is closing
    tier = connection_gate::tier::reserve;
  }
  bool reserve = tier == connection_gate::tier::reserve;
  if (auto waiter = start_http_session(std::move(socket), shared_from_this(), connection_slot{&gate}, reserve))
    wait_in_reserve(waiter);
}

std::size_t server::impl::shed_backlog(std::size_t max) {
  std::size_t refused = 0;
  while (refused < max && spare_fd >= 0) {
    ::close(spare_fd);
    int fd = ::accept4(acceptor->native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      refuse_connection(fd);
      ::close(fd);
      ++refused;
    }
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      break; // nothing waits (EAGAIN), or the descriptor went elsewhere meanwhile
  }
  connections_refused.inc(refused);
  return refused;
}

bool server::impl::accept_failed(const beast::error_code& ec) {
  accept_errors.inc();
  // Out of descriptors (or kernel memory), the waiting connection stays in the backlog and every new accept
  // fails at once: accepting again right away would spin (and log) without end.
  bool exhausted = ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system
                   || ec == net::error::no_buffer_space || ec == net::error::no_memory;
  if (exhausted)
    shed_since_log += shed_backlog(64);
  // A client that gave up while waiting in the backlog only costs that one accept; any other failure may
  // repeat at once: pause.
  bool pause = ec != net::error::connection_aborted;
  if (auto count = accept_log.hit(runtime::mono_ms())) {
    runtime::log::warn("http", pause ? "accept failed, pausing 50 ms" : "accept failed",
                       {{"error", ec.message()},
                        {"count", count},
                        {"refused", shed_since_log},
                        {"open_connections", gate.open()}});
    shed_since_log = 0;
  }
  if (!pause)
    return false;
  accept_timer->expires_after(std::chrono::milliseconds(50));
  accept_timer->async_wait([weak = weak_from_this()](beast::error_code ec) {
    auto self = weak.lock();
    if (!ec && self && !self->stopping)
      self->do_accept();
  });
  return true;
}

server::server(caf::actor_system& sys, actors::directory_actor directory, actors::hub_actor hub,
               server_settings settings,
               runtime::metrics& metrics, const actors::actor_metrics& am, server_services services)
  : impl_(std::make_shared<impl>(sys, std::move(directory), std::move(hub), std::move(settings), metrics, am,
                                 std::move(services))) {
}

server::~server() {
  stop();
  // Destroys the handlers still queued (and the connections they hold); the actors that held connections
  // are gone by now (node::stop waits for them).
  impl_->acceptor.reset();
  impl_->accept_timer.reset();
  impl_->sweep_timer.reset();
  impl_->drone_work.reset();
  impl_->ioc_holder.reset();
  impl_->drone_ioc_holder.reset();
}

bool server::start(std::string& error) {
  beast::error_code ec;
  auto addr = net::ip::make_address(impl_->settings.address, ec);
  if (ec) {
    error = "invalid http.address '" + impl_->settings.address + "': " + ec.message();
    return false;
  }
  tcp::endpoint ep{addr, impl_->settings.port};
  auto& acc = *impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec)
    acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acc.bind(ep, ec);
  if (!ec)
    acc.listen(impl_->settings.backlog, ec);
  if (!ec)
    acc.non_blocking(true, ec); // shed_backlog accepts directly and must never wait
  if (ec) {
    error = "cannot listen on " + impl_->settings.address + ":" + std::to_string(impl_->settings.port) + ": "
            + ec.message();
    return false;
  }
  // One descriptor kept spare: when the process runs out, it is given up to accept and refuse the waiting
  // clients (they get a 503 instead of silence).
  impl_->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  impl_->accept_timer.emplace(acc.get_executor());
  auto fds = descriptor_limit();
  auto& s = impl_->settings;
  runtime::log::info("http", "connection limits",
                     {{"max_connections", s.max_connections},
                      {"reserve_connections", s.reserve_connections},
                      {"fd_limit", fds}});
  if (s.max_connections + s.reserve_connections + reserved_descriptors(fds) > fds)
    runtime::log::warn("http", "http.max_connections and its reserve leave too few of the process's file "
                               "descriptors for the rest: past them, new clients are refused (503)",
                       {{"max_connections", s.max_connections}, {"fd_limit", fds}});
  impl_->do_accept();
  impl_->sweep_timer.emplace(net::make_strand(impl_->ioc));
  impl_->sweep();
  for (int i = 0; i < impl_->settings.control_threads; ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  // The drones' context has no work of its own until a drone connects: kept running by a work guard.
  impl_->drone_work.emplace(net::make_work_guard(impl_->drone_ioc));
  for (int i = 0; i < impl_->settings.threads; ++i)
    impl_->threads.emplace_back([this] { impl_->drone_ioc.run(); });
  return true;
}

std::uint16_t server::port() const {
  beast::error_code ec;
  if (!impl_->acceptor)
    return 0;
  auto ep = impl_->acceptor->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void server::set_ready(bool ready) {
  impl_->ready = ready;
}

void server::stop() {
  if (impl_->threads.empty())
    return;
  impl_->stopping = true;
  net::post(impl_->acceptor->get_executor(), [self = impl_] {
    beast::error_code ec;
    self->acceptor->close(ec);
    if (self->accept_timer)
      self->accept_timer->cancel();
  });
  if (impl_->sweep_timer)
    net::post(impl_->sweep_timer->get_executor(), [self = impl_] { self->sweep_timer->cancel(); });
  std::vector<std::shared_ptr<closable>> open;
  {
    std::lock_guard<std::mutex> guard{impl_->registry_mtx};
    for (auto& [ptr, weak] : impl_->registry)
      if (auto c = weak.lock())
        open.push_back(std::move(c));
  }
  for (auto& c : open)
    c->shutdown();
  open.clear();
  // Wait for the close handshakes, up to the grace period, then stop the I/O threads.
  {
    std::unique_lock<std::mutex> guard{impl_->registry_mtx};
    impl_->registry_empty.wait_for(guard, std::chrono::milliseconds(impl_->settings.shutdown_grace_ms),
                                   [this] { return impl_->registry.empty(); });
  }
  impl_->ioc.stop();
  impl_->drone_ioc.stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
  // The I/O threads are gone: connections still open are released here, on this thread.
  std::vector<std::shared_ptr<closable>> left;
  {
    std::lock_guard<std::mutex> guard{impl_->registry_mtx};
    for (auto& [ptr, weak] : impl_->registry)
      if (auto c = weak.lock())
        left.push_back(std::move(c));
    impl_->registry.clear();
  }
  for (auto& c : left)
    c->abandon();
  if (!left.empty())
    runtime::log::warn("http", "connections did not finish closing in time", {{"count", left.size()}});
}

} // namespace dccs::bridges
