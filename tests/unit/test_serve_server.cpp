#include <gtest/gtest.h>

#include <httplib.h>

#include <fstream>
#include <thread>

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
