#include <gtest/gtest.h>

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "serve/server.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "atlas" / "data");
    std::ofstream(dir_ / "atlas" / "index.html") << "<!doctype html><title>atlas</title>";
    std::ofstream(dir_ / "atlas" / "data" / "atlas.json") << "{\"format\":\"photoatlas\"}";
    std::ofstream(dir_ / "secret.txt") << "outside the atlas";
    fs::create_symlink(dir_ / "secret.txt", dir_ / "atlas" / "link.txt");
    fs::create_directory_symlink(dir_.path(), dir_ / "atlas" / "linkdir");
    serve::ServeOptions options;
    options.port = 0;
    server_ = std::make_unique<serve::AtlasServer>(dir_ / "atlas", options);
    thread_ = std::thread([this] { server_->run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    // Wait until it answers.
    for (int i = 0; i < 200; ++i) {
      if (client_->Get("/index.html")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
  }
  TempDir dir_;
  std::unique_ptr<serve::AtlasServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServerTest, ServesFilesWithContentTypes) {
  auto index = client_->Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_NE(index->get_header_value("Content-Type").find("text/html"), std::string::npos);
  auto json = client_->Get("/data/atlas.json");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->status, 200);
  EXPECT_EQ(json->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(json->body, "{\"format\":\"photoatlas\"}");
  EXPECT_EQ(json->get_header_value("X-Content-Type-Options"), "nosniff");
  auto head = client_->Head("/data/atlas.json");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(server_->port()) + "/");
}

TEST_F(ServerTest, NothingOutsideTheFolderAndReadOnly) {
  for (const char* path : {"/../secret.txt", "/data/../../secret.txt", "/%2e%2e/secret.txt", "/missing.json"}) {
    auto res = client_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_NE(res->status, 200) << path;
    EXPECT_EQ(res->body.find("outside the atlas"), std::string::npos) << path;
  }
  auto post = client_->Post("/data/atlas.json", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  auto del = client_->Delete("/index.html");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
}

TEST(Server, RefusesAFolderThatIsNotAnAtlas) {
  TempDir dir;
  EXPECT_THROW(serve::AtlasServer(dir.path(), {}), std::runtime_error);
}

TEST_F(ServerTest, SymlinksLeadingOutsideAreRefused) {
  auto res = client_->Get("/link.txt");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->body.find("outside the atlas"), std::string::npos);
}

// ---- Hardening: raw requests (no client library normalising them), limits, load. ----

namespace {

// Sends `request` as is on a fresh connection and returns everything the server answers until it
// closes the connection (or `timeout` passes). Empty when the connection was refused.
std::string raw_exchange(int port, const std::string& request, int timeout_seconds = 5) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{timeout_seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::size_t sent = 0;
    while (sent < request.size()) {
      const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server may close early on an oversized request
      sent += static_cast<std::size_t>(n);
    }
    char buffer[4096];
    for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return answer;
}

// "HTTP/1.1 404 Not Found\r\n..." -> 404; 0 when there is no status line (connection dropped).
int status_of(const std::string& answer) {
  if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12) return 0;
  return std::atoi(answer.c_str() + 9);
}

std::string get_request(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

int thread_count() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/task")) ++n;
  return n;
}

}  // namespace

TEST_F(ServerTest, EncodedTraversalAndAbsolutePathsAreRefused) {
  const std::string secret = fs::canonical(dir_ / "secret.txt").string();
  const std::vector<std::string> targets = {
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E%2Fsecret.txt",
      "/data/..%2f..%2fsecret.txt",
      "/data/%2e%2e/%2e%2e/secret.txt",
      "/..%5csecret.txt",
      "/%252e%252e/secret.txt",
      "/" + secret,
      "/%2f" + secret.substr(1),
      secret,
      "//etc/passwd",
      "/%2fetc%2fpasswd",
      "/index.html%00.png",
      "/data/atlas.json%00",
      "http://127.0.0.1/../secret.txt",
      "/linkdir/secret.txt",
      "/link.txt",
  };
  for (const auto& target : targets) {
    const std::string answer = raw_exchange(server_->port(), get_request(target));
    EXPECT_NE(status_of(answer), 200) << target;
    EXPECT_EQ(answer.find("outside the atlas"), std::string::npos) << target;
    EXPECT_EQ(answer.find("root:"), std::string::npos) << target;
  }
  // Encoded but harmless names still work.
  EXPECT_EQ(status_of(raw_exchange(server_->port(), get_request("/data/atlas%2Ejson"))), 200);
}

TEST_F(ServerTest, OnlyGetAndHead) {
  for (const std::string method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "CONNECT", "BREW"}) {
    const std::string answer = raw_exchange(
        server_->port(), method + " /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    const int status = status_of(answer);
    EXPECT_TRUE(status == 405 || status == 400 || status == 0) << method << ": " << answer.substr(0, 80);
    EXPECT_EQ(answer.find("<title>atlas"), std::string::npos) << method;
  }
  const std::string head = raw_exchange(server_->port(), "HEAD /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(head), 200);
  EXPECT_EQ(head.find("<title>"), std::string::npos) << "HEAD has no body";
}

TEST_F(ServerTest, NoDirectoryListings) {
  fs::create_directories(dir_ / "atlas" / "thumbs");
  std::ofstream(dir_ / "atlas" / "thumbs" / "a.jpg") << "jpeg";
  for (const char* target : {"/data/", "/data", "/thumbs/", "/thumbs"}) {
    auto res = client_->Get(target);
    ASSERT_TRUE(res) << target;
    EXPECT_EQ(res->status, 404) << target;
    EXPECT_EQ(res->body.find("atlas.json"), std::string::npos) << target;
    EXPECT_EQ(res->body.find("a.jpg"), std::string::npos) << target;
  }
}

TEST_F(ServerTest, ContentTypes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"app.js", "text/javascript; charset=utf-8"}, {"style.css", "text/css; charset=utf-8"},
      {"points.csv", "text/csv; charset=utf-8"},    {"sprite.png", "image/png"},
      {"thumb.JPG", "image/jpeg"},                  {"layout.bin", "application/octet-stream"},
      {"icon.svg", "image/svg+xml"},                {"mystery.xyz", "application/octet-stream"},
      {"no_extension", "application/octet-stream"}};
  for (const auto& [name, type] : cases) {
    std::ofstream(dir_ / "atlas" / name) << "x";
    auto res = client_->Get("/" + name);
    ASSERT_TRUE(res) << name;
    EXPECT_EQ(res->status, 200) << name;
    EXPECT_EQ(res->get_header_value("Content-Type"), type) << name;
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff") << name;
  }
}

TEST_F(ServerTest, OversizedRequestsAreRefused) {
  const int port = server_->port();
  // A header line far beyond httplib's 8 KiB line limit.
  std::string answer = raw_exchange(
      port, "GET /index.html HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100000, 'a') + "\r\nConnection: close\r\n\r\n", 2);
  EXPECT_NE(status_of(answer), 200);
  // A request line (URI) beyond the limit.
  answer = raw_exchange(port, get_request("/" + std::string(20000, 'a')), 2);
  EXPECT_NE(status_of(answer), 200);
  // Bodies: refused by their declared length and never stored (httplib discards what arrives until
  // the read timeout, then answers 413; a GET's body is never read).
  for (const std::string method : {"POST", "PUT"}) {
    answer = raw_exchange(port, method + " /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n"
                                         "Connection: close\r\n\r\n" + std::string(10000, 'b'), 10);
    EXPECT_EQ(status_of(answer), 413) << method << ": " << answer.substr(0, 80);
  }
  // Still serving.
  EXPECT_EQ(status_of(raw_exchange(port, get_request("/index.html"))), 200);
}

TEST(Server, ConnectionsAndThreadsAreBounded) {
  TempDir dir;
  fs::create_directories(dir / "atlas");
  std::ofstream(dir / "atlas" / "index.html") << "<!doctype html><title>atlas</title>";
  serve::ServeOptions options;
  options.port = 0;
  options.threads = 4;
  options.max_waiting_connections = 8;
  options.read_timeout_seconds = 1;
  options.keep_alive_seconds = 1;
  const int before = thread_count();
  serve::AtlasServer server(dir / "atlas", options);
  std::thread runner([&] { server.run(); });
  const int port = server.port();
  for (int i = 0; i < 200 && status_of(raw_exchange(port, get_request("/index.html"))) != 200; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  // 150 clients that connect and say nothing (slowloris): the server's threads stay bounded.
  std::vector<int> idle;
  for (int i = 0; i < 150; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // non-blocking: may still be in progress
    idle.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LE(thread_count(), before + options.threads + 2) << "one thread per connection would be unbounded";
  // Idle clients are dropped after the read timeout, and real ones are served again.
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  while (status != 200 && std::chrono::steady_clock::now() - start < std::chrono::seconds(60))
    status = status_of(raw_exchange(port, get_request("/index.html"), 30));
  EXPECT_EQ(status, 200);
  for (int fd : idle) close(fd);
  server.stop();
  runner.join();
}
