// A small read-only HTTP server over an atlas folder, on the loopback interface by default.
#pragma once

#include <filesystem>
#include <functional>
#include <cstddef>
#include <memory>
#include <string>

namespace photoatlas::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";  // loopback unless the person asks otherwise
  int port = 8000;                 // 0 = any free port
  // Bounds on what clients can take. Connections beyond threads + max_waiting_connections wait
  // in the kernel's small listen backlog (and are refused when it is full).
  int threads = 8;                      // connections served at once
  int max_waiting_connections = 64;     // accepted connections queued for a free thread
  int read_timeout_seconds = 5;         // a client that sends nothing for this long is dropped
  int keep_alive_seconds = 5;           // an idle kept-alive connection is closed after this
  int keep_alive_max_requests = 100;    // requests per connection (the viewer fetches many sprites)
  std::size_t max_body_bytes = 4096;    // the viewer only GETs: larger request bodies get 413
};

class AtlasServer {
 public:
  // Throws std::runtime_error when the folder is not an atlas or the port cannot be bound.
  AtlasServer(const std::filesystem::path& atlas_dir, const ServeOptions& options);
  ~AtlasServer();
  int port() const;            // the bound port
  std::string url() const;     // http://host:port/
  void run();                  // blocks until stop()
  void stop();                 // thread-safe

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace photoatlas::serve
