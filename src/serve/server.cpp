#include "serve/server.h"

#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace photoatlas::serve {

namespace detail {

std::string content_type_for(const fs::path& file) {
  static const std::map<std::string, std::string> types = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},         {".csv", "text/csv; charset=utf-8"},
      {".jpg", "image/jpeg"},                {".jpeg", "image/jpeg"},
      {".png", "image/png"},                 {".webp", "image/webp"},
      {".svg", "image/svg+xml"},             {".ico", "image/x-icon"},
      {".bin", "application/octet-stream"},  {".wasm", "application/wasm"},
      {".txt", "text/plain; charset=utf-8"}, {".map", "application/json"}};
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  auto it = types.find(ext);
  return it == types.end() ? "application/octet-stream" : it->second;
}

// Maps a decoded request path to a file inside `root`, or nothing. Rejects "..", NUL bytes,
// backslashes and anything whose real path (after symlinks) leaves the folder.
std::optional<fs::path> resolve(const fs::path& root, const std::string& request_path) {
  if (request_path.empty() || request_path[0] != '/') return std::nullopt;
  if (request_path.find('\0') != std::string::npos || request_path.find('\\') != std::string::npos)
    return std::nullopt;
  fs::path relative = fs::path(request_path.substr(1)).lexically_normal();
  for (const auto& part : relative)
    if (part == "..") return std::nullopt;
  fs::path candidate = root / relative;
  std::error_code ec;
  if (fs::is_directory(candidate, ec)) candidate /= "index.html";
  const fs::path real = fs::canonical(candidate, ec);
  if (ec || !fs::is_regular_file(real, ec)) return std::nullopt;
  const auto [root_end, real_it] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  if (root_end != root.end()) return std::nullopt;
  return real;
}

// httplib's ThreadPool queues accepted connections without limit. This one makes the accept
// loop wait while `max_waiting` connections are already queued, so the rest stay in the kernel's
// listen backlog (and are refused when it is full): threads and open sockets stay bounded.
class BoundedQueue final : public httplib::TaskQueue {
 public:
  BoundedQueue(int threads, int max_waiting) : max_waiting_(static_cast<std::size_t>(std::max(1, max_waiting))) {
    for (int i = 0; i < std::max(1, threads); ++i) workers_.emplace_back([this] { work(); });
  }
  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return jobs_.size() < max_waiting_ || stopping_; });
    jobs_.push_back(std::move(fn));  // even while stopping: every job closes its socket
    ready_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
        if (jobs_.empty()) return;  // stopping, and nothing left to close
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      room_.notify_one();
      job();
    }
  }
  const std::size_t max_waiting_;
  std::mutex mutex_;
  std::condition_variable ready_, room_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

}  // namespace detail

struct AtlasServer::Impl {
  httplib::Server server;
  fs::path root;
  std::string host;
  int port = 0;
};

AtlasServer::AtlasServer(const fs::path& atlas_dir, const ServeOptions& options) : impl_(std::make_unique<Impl>()) {
  if (!fs::is_regular_file(atlas_dir / "index.html"))
    throw std::runtime_error(atlas_dir.string() + " is not an atlas folder (no index.html)");
  impl_->root = fs::canonical(atlas_dir);
  impl_->host = options.host;
  auto& server = impl_->server;
  const fs::path root = impl_->root;

  // Our own static handler rather than httplib's mount point: it also refuses symlinks that
  // lead out of the atlas, and never lists folders.
  server.Get(".*", [root](const httplib::Request& req, httplib::Response& res) {
    const auto file = detail::resolve(root, req.path);
    if (!file) {
      res.status = 404;
      res.set_content("not found\n", "text/plain; charset=utf-8");
      return;
    }
    std::ifstream in(*file, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in) {
      res.status = 500;
      return;
    }
    res.set_content(bytes.str(), detail::content_type_for(*file));
  });
  // Read-only: every method but GET and HEAD is refused.
  const auto reject = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
  };
  server.Post(".*", reject);
  server.Put(".*", reject);
  server.Delete(".*", reject);
  server.Patch(".*", reject);
  server.Options(".*", reject);
  server.set_payload_max_length(options.max_body_bytes);
  server.set_read_timeout(options.read_timeout_seconds, 0);
  server.set_write_timeout(options.read_timeout_seconds, 0);
  server.set_keep_alive_timeout(options.keep_alive_seconds);
  // Headers and body go out in separate writes: without TCP_NODELAY each kept-alive response
  // waits ~40 ms for the client's delayed ACK (200 requests/s instead of thousands).
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(static_cast<std::size_t>(std::max(1, options.keep_alive_max_requests)));
  const int threads = options.threads, waiting = options.max_waiting_connections;
  server.new_task_queue = [threads, waiting] { return new detail::BoundedQueue(threads, waiting); };
  server.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Cache-Control", "no-cache");
  });

  if (options.port == 0) {
    impl_->port = server.bind_to_any_port(options.host);
  } else {
    impl_->port = server.bind_to_port(options.host, options.port) ? options.port : -1;
  }
  if (impl_->port <= 0)
    throw std::runtime_error("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                             " (port in use or address not available)");
}

AtlasServer::~AtlasServer() = default;

int AtlasServer::port() const { return impl_->port; }

std::string AtlasServer::url() const {
  const bool ipv6 = impl_->host.find(':') != std::string::npos;
  return "http://" + (ipv6 ? "[" + impl_->host + "]" : impl_->host) + ":" + std::to_string(impl_->port) + "/";
}

void AtlasServer::run() { impl_->server.listen_after_bind(); }

void AtlasServer::stop() { impl_->server.stop(); }

}  // namespace photoatlas::serve
