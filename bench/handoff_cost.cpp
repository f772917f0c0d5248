// dccs-bench-handoff: what this machine charges for the steps every message of the node pays for — a system call,
// a read that finds nothing (Asio's speculative read), and one thread waking another — so that latency figures of
// two machines can be told apart by their platform (bench/commands-report.md, "What bounds it").
//
//   dccs-bench-handoff [iterations]     (default 200000; the hand-off round trips are a tenth of it)
//
// Prints one line per figure, microseconds per operation (the mean over the iterations, wall clock).

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace {

using clock_type = std::chrono::steady_clock;

template <class F>
double mean_us(long n, F&& f) {
  auto start = clock_type::now();
  for (long i = 0; i < n; ++i)
    f();
  return std::chrono::duration<double, std::micro>(clock_type::now() - start).count() / static_cast<double>(n);
}

} // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 200000;
  if (n < 10) {
    std::fprintf(stderr, "usage: dccs-bench-handoff [iterations >= 10]\n");
    return 2;
  }

  std::printf("system call (getppid): %.3f us\n", mean_us(n, [] { syscall(SYS_getppid); }));

  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair) != 0) {
    std::perror("socketpair");
    return 1;
  }
  char buf[64];
  std::printf("read of an empty non-blocking socket (EAGAIN): %.3f us\n",
              mean_us(n, [&] { (void)recv(pair[0], buf, sizeof buf, 0); }));
  close(pair[0]);
  close(pair[1]);

  // Two threads passing a turn back and forth through a mutex and condition variables: each turn is one thread
  // waking the other, which sleeps until then (a futex wait and wake, two context switches per round trip).
  std::mutex m;
  std::condition_variable to_peer, to_main;
  long turn = 0; // odd: the peer's turn
  long rounds = n / 10;
  std::thread peer([&] {
    std::unique_lock<std::mutex> lock{m};
    for (long i = 0; i < rounds; ++i) {
      to_peer.wait(lock, [&] { return turn % 2 == 1; });
      ++turn;
      to_main.notify_one();
    }
  });
  double round_trip = mean_us(rounds, [&] {
    std::unique_lock<std::mutex> lock{m};
    ++turn;
    to_peer.notify_one();
    to_main.wait(lock, [&] { return turn % 2 == 0; });
  });
  peer.join();
  std::printf("one thread waking another (half a condition-variable round trip): %.3f us\n", round_trip / 2);
  return 0;
}
