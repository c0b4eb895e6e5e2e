#include "serve/server.h"

#include <httplib.h>

#include <stdexcept>

namespace fs = std::filesystem;

namespace photoatlas::serve {

struct AtlasServer::Impl {
  httplib::Server server;
  std::string host;
  int port = 0;
};

AtlasServer::AtlasServer(const fs::path& atlas_dir, const ServeOptions& options) : impl_(std::make_unique<Impl>()) {
  if (!fs::is_regular_file(atlas_dir / "index.html"))
    throw std::runtime_error(atlas_dir.string() + " is not an atlas folder (no index.html)");
  impl_->host = options.host;
  auto& server = impl_->server;
  // The mount point serves files below the folder only (httplib rejects ".." segments) with
  // content types by extension; anything else is 404. No directory listings.
  if (!server.set_mount_point("/", fs::canonical(atlas_dir).string()))
    throw std::runtime_error("cannot serve " + atlas_dir.string());
  server.set_file_extension_and_mimetype_mapping("csv", "text/csv; charset=utf-8");
  server.set_file_extension_and_mimetype_mapping("json", "application/json");
  server.set_file_extension_and_mimetype_mapping("js", "text/javascript");
  server.set_file_extension_and_mimetype_mapping("mjs", "text/javascript");
  server.set_payload_max_length(64 * 1024);  // a viewer only GETs: no large request bodies
  server.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
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
