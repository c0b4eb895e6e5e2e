// A small read-only HTTP server over an atlas folder, on the loopback interface by default.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace photoatlas::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";  // loopback unless the person asks otherwise
  int port = 8000;                 // 0 = any free port
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
