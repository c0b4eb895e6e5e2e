// Load test for `photoatlas serve`: starts the real server as a second process on 127.0.0.1,
// then C client threads send a bounded number of keep-alive GETs (the files a viewer fetches)
// within a bounded time, and print requests/s, latency percentiles and errors.
//
//   build/bench/bench_serve [--binary build/photoatlas] [--clients 8] [--requests 20000] [--seconds 30]
//
// Exit code 1 when any request failed or the server could not be started.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string binary;
  int clients = 8;
  long requests = 20000;
  double seconds = 30;
};

int connect_loopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One request on a kept-alive connection; returns the status (0 on a transport error) and
// whether the server keeps the connection open.
int exchange(int fd, const std::string& path, std::string& buffer, bool& keep_open) {
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return 0;
  buffer.clear();
  char chunk[16384];
  std::size_t header_end = std::string::npos, body = 0;
  while (true) {
    if (header_end == std::string::npos) {
      header_end = buffer.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        const auto cl = buffer.find("Content-Length: ");
        body = cl != std::string::npos && cl < header_end ? std::strtoul(buffer.c_str() + cl + 16, nullptr, 10) : 0;
      }
    }
    if (header_end != std::string::npos && buffer.size() >= header_end + 4 + body) break;
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return 0;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  keep_open = buffer.find("Connection: close") == std::string::npos;
  return buffer.size() > 12 ? std::atoi(buffer.c_str() + 9) : 0;
}

fs::path make_atlas(const fs::path& dir) {
  fs::create_directories(dir / "data");
  fs::create_directories(dir / "thumbs");
  std::ofstream(dir / "index.html") << "<!doctype html><title>bench</title><script src=app.js></script>";
  std::ofstream(dir / "app.js") << std::string(150 * 1024, 'x');
  std::ofstream(dir / "data" / "atlas.json") << "{\"format\":\"photoatlas\",\"count\":0}";
  std::ofstream(dir / "thumbs" / "sprite.jpg") << std::string(30 * 1024, '\xff');
  return dir;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  const fs::path self = fs::read_symlink("/proc/self/exe");
  options.binary = (self.parent_path().parent_path() / "photoatlas").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--binary") options.binary = value;
    else if (key == "--clients") options.clients = std::max(1, std::atoi(value.c_str()));
    else if (key == "--requests") options.requests = std::max(1L, std::atol(value.c_str()));
    else if (key == "--seconds") options.seconds = std::max(1.0, std::atof(value.c_str()));
    else {
      std::fprintf(stderr, "usage: %s [--binary PATH] [--clients N] [--requests N] [--seconds S]\n", argv[0]);
      return 2;
    }
  }
  const fs::path dir = fs::temp_directory_path() / ("photoatlas-bench-serve-" + std::to_string(getpid()));
  make_atlas(dir / "atlas");
  const int port = 20000 + getpid() % 20000;

  const pid_t server = fork();
  if (server == 0) {
    const std::string port_text = std::to_string(port), folder = (dir / "atlas").string();
    execl(options.binary.c_str(), options.binary.c_str(), "serve", folder.c_str(), "--port", port_text.c_str(),
          "--host", "127.0.0.1", static_cast<char*>(nullptr));
    _exit(127);
  }
  auto stop_server = [&] {
    kill(server, SIGTERM);
    waitpid(server, nullptr, 0);
    fs::remove_all(dir);
  };
  bool up = false;
  for (int i = 0; i < 500 && !up; ++i) {
    const int fd = connect_loopback(port);
    if (fd >= 0) {
      up = true;
      close(fd);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  if (!up) {
    std::fprintf(stderr, "bench_serve: the server (%s) did not start on port %d\n", options.binary.c_str(), port);
    stop_server();
    return 1;
  }

  const std::vector<std::string> paths = {"/", "/app.js", "/data/atlas.json", "/thumbs/sprite.jpg", "/missing"};
  std::atomic<long> issued{0}, ok{0}, not_found{0}, errors{0};
  std::atomic<std::uint64_t> bytes{0};
  std::mutex latency_mutex;
  std::vector<double> latencies;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.seconds));
  std::vector<std::thread> clients;
  for (int c = 0; c < options.clients; ++c) {
    clients.emplace_back([&, c] {
      std::vector<double> mine;
      std::string buffer;
      int fd = -1;
      for (long i; (i = issued++) < options.requests && Clock::now() < deadline;) {
        if (fd < 0) fd = connect_loopback(port);
        if (fd < 0) {
          ++errors;
          continue;
        }
        const std::string& path = paths[static_cast<std::size_t>(i + c) % paths.size()];
        bool keep_open = false;
        const auto t0 = Clock::now();
        const int status = exchange(fd, path, buffer, keep_open);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (status == 200) ++ok;
        else if (status == 404 && path == "/missing") ++not_found;
        else ++errors;
        bytes += buffer.size();
        if (!keep_open || status == 0) {
          close(fd);
          fd = -1;
        }
      }
      if (fd >= 0) close(fd);
      std::lock_guard lock(latency_mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : clients) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  stop_server();

  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) { return latencies.empty() ? 0.0 : latencies[static_cast<std::size_t>(p * (latencies.size() - 1))]; };
  const long total = ok + not_found + errors;
  std::printf("bench_serve: %ld requests from %d clients in %.2f s on 127.0.0.1 (keep-alive)\n", total, options.clients,
              elapsed);
  std::printf("  %.0f requests/s, %.1f MB/s\n", total / elapsed, bytes.load() / elapsed / 1e6);
  std::printf("  latency ms: p50 %.3f  p99 %.3f  max %.3f\n", pct(0.5), pct(0.99), pct(1.0));
  std::printf("  200: %ld  404 (expected, /missing): %ld  errors: %ld\n", ok.load(), not_found.load(), errors.load());
  return errors == 0 && total > 0 ? 0 : 1;
}
