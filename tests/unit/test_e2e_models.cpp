// `photoatlas models pull | import | list` and `run --model NAME`, against an HTTP server on
// 127.0.0.1 started here that serves a generated ONNX model: a full download, a download cut
// half-way and resumed with a Range request, a sha256 mismatch refused, then a run that uses it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "features/download.h"
#include "features/model_registry.h"
#include "features/sha256.h"
#include "image_fixtures.h"
#include "test_features_onnx_fixture.h"
#include "cli_shell.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Serves `body` at /models/tiny.onnx (Range requests answered with 206 by httplib); when `cut` is
// set, the next full request gets the headers of the whole file but only its first half.
class ModelServer {
 public:
  explicit ModelServer(std::string body) : body_(std::move(body)) {
    server_.Get("/models/tiny.onnx", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      if (req.has_header("Range")) ++range_requests;
      if (!req.has_header("Range") && cut.exchange(false)) {
        const std::size_t half = body_.size() / 2;
        res.set_content_provider(body_.size(), "application/octet-stream",
                                 [this, half](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                                   if (offset >= half) return false;  // drop the connection
                                   sink.write(body_.data() + offset, std::min(length, half - offset));
                                   return true;
                                 });
        return;
      }
      res.set_content(body_, "application/octet-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~ModelServer() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path = "/models/tiny.onnx") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::atomic<int> requests{0}, range_requests{0};
  std::atomic<bool> cut{false};

 private:
  std::string body_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// A model big enough (about 500 kB) that a download is several reads.
std::string tiny_model_bytes() { return onnx::TinyNet(16, 1000, true).bytes(); }

}  // namespace

TEST(ModelDownload, ResumesAPartialFileWithARangeRequest) {
  const std::string body = tiny_model_bytes();
  ModelServer server(body);
  TempDir dir;
  const fs::path dest = dir / "tiny.onnx";
  { std::ofstream(dest.string() + ".part", std::ios::binary) << body.substr(0, body.size() / 3); }
  std::uint64_t last_done = 0, last_total = 0;
  features::DownloadOptions options;
  options.expected_sha256 = features::sha256_hex(body);
  options.progress = [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
  };
  const auto result = features::download_file(server.url(), dest, options);
  EXPECT_EQ(result.resumed_from, body.size() / 3);
  EXPECT_EQ(result.bytes, body.size());
  EXPECT_EQ(result.sha256, features::sha256_hex(body));
  EXPECT_EQ(server.range_requests.load(), 1);
  EXPECT_EQ(last_done, body.size());
  EXPECT_EQ(last_total, body.size());
  EXPECT_EQ(read_file(dest), body);
  EXPECT_FALSE(fs::exists(dest.string() + ".part"));
  options.progress = nullptr;
  // A cut connection: the next attempt of the same call resumes it.
  server.cut = true;
  const auto cut = features::download_file(server.url(), dir / "again.onnx", options);
  EXPECT_EQ(cut.attempts, 2);
  EXPECT_EQ(cut.resumed_from, body.size() / 2);
  EXPECT_EQ(read_file(dir / "again.onnx"), body);
  // With one attempt only, the part stays for the next call.
  server.cut = true;
  options.attempts = 1;
  EXPECT_THROW(features::download_file(server.url(), dir / "third.onnx", options), std::runtime_error);
  EXPECT_EQ(fs::file_size(dir / "third.onnx.part"), body.size() / 2);
  EXPECT_EQ(features::download_file(server.url(), dir / "third.onnx", options).resumed_from, body.size() / 2);
  // Unknown paths are an HTTP error, not a file.
  EXPECT_THROW(features::download_file(server.url("/nothing.onnx"), dir / "nothing.onnx", options), std::runtime_error);
  EXPECT_FALSE(fs::exists(dir / "nothing.onnx"));
}

TEST(ModelsCommand, PullResumeRefuseThenRunWithTheModel) {
  const std::string body = tiny_model_bytes();
  const std::string sha = features::sha256_hex(body);
  ModelServer server(body);
  TempDir dir;
  const std::string models = " --models-dir " + quote((dir / "models").string());

  // Full download.
  auto result = run_photoatlas("models pull " + quote(server.url()) + " -q" + models);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find(sha), std::string::npos) << result.output;
  EXPECT_EQ(read_file(dir / "models" / "tiny.onnx"), body);

  // Cut half-way: resumed with a Range request, registered under another name, with its sha256 checked.
  server.cut = true;
  const int ranges_before = server.range_requests;
  result = run_photoatlas("models pull " + quote(server.url()) + " --name tiny-resumed --sha256 " + sha + " -q" + models);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(server.range_requests - ranges_before, 1);

  // A wrong sha256 is refused: nothing registered, nothing left behind.
  result = run_photoatlas("models pull " + quote(server.url()) + " --name tiny-bad --sha256 " + std::string(64, 'a') +
                          " -q" + models);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("sha256 mismatch"), std::string::npos) << result.output;

  // Import of a local file.
  { std::ofstream(dir / "local.onnx", std::ios::binary) << body; }
  result = run_photoatlas("models import " + quote((dir / "local.onnx").string()) + " --name imported" + models);
  ASSERT_EQ(result.exit_code, 0) << result.output;

  const features::ModelRegistry registry(dir / "models");
  ASSERT_NE(registry.find("tiny"), nullptr);
  ASSERT_NE(registry.find("tiny-resumed"), nullptr);
  ASSERT_NE(registry.find("imported"), nullptr);
  EXPECT_EQ(registry.find("tiny")->sha256, sha);
  EXPECT_EQ(registry.find("tiny-resumed")->sha256, sha);
  EXPECT_EQ(registry.find("tiny")->source, server.url());
  EXPECT_EQ(registry.find("tiny-bad"), nullptr);
  EXPECT_FALSE(fs::exists(dir / "models" / "tiny-bad.onnx"));
  EXPECT_FALSE(fs::exists(dir / "models" / "tiny.onnx.part"));

  result = run_photoatlas("models list" + models);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* name : {"vgg19", "resnet50", "mobilenetv2", "tiny-resumed", "imported"})
    EXPECT_NE(result.output.find(name), std::string::npos) << name << "\n" << result.output;

  // The pulled model makes the second map, with its top-level pooled layer by default and fc1 on request.
  write_colour_families(dir / "photos", 5, 3);
  for (const std::string layer : {"", " --layer fc1"}) {
    result = run_photoatlas("run " + quote((dir / "photos").string()) + " -o " + quote((dir / "atlas").string()) +
                            " -k 3 --perplexity 4 --threads 2 --no-cache --model tiny" + layer + models);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("CNN features: onnx/tiny-" + sha.substr(0, 12)), std::string::npos) << result.output;
    const auto doc = nlohmann::json::parse(std::ifstream(dir / "atlas" / "data" / "atlas.json"));
    ASSERT_EQ(doc["layouts"].size(), 2u);
    EXPECT_EQ(doc["layouts"][1]["id"], "cnn");
    EXPECT_NE(doc["layouts"][1]["name"].get<std::string>().find(layer.empty() ? "pool" : "fc1"), std::string::npos);
    // A 1000-way softmax output with the shipped ImageNet labels: each photo gets its top-5 classes
    // and the category of the first in the default ontology, in atlas.json and points.csv.
    ASSERT_TRUE(doc.contains("categories")) << result.output;
    EXPECT_EQ(doc["categories"].back(), "Misc");
    for (const auto& image : doc["images"]) {
      ASSERT_EQ(image["top_classes"].size(), 5u);
      EXPECT_EQ(image["class"], image["top_classes"][0][0]);
      EXPECT_GE(image["top_classes"][0][1].get<double>(), image["top_classes"][1][1].get<double>());
      const auto& categories = doc["categories"];
      EXPECT_NE(std::find(categories.begin(), categories.end(), image["category"]), categories.end());
    }
    const auto points = read_csv(dir / "atlas" / "points.csv");
    const auto& header = points[0];
    const auto class_column = std::find(header.begin(), header.end(), "class") - header.begin();
    const auto category_column = std::find(header.begin(), header.end(), "category") - header.begin();
    ASSERT_LT(static_cast<std::size_t>(category_column), header.size());
    EXPECT_EQ(points[1][class_column], doc["images"][0]["class"].get<std::string>());
    EXPECT_EQ(points[1][category_column], doc["images"][0]["category"].get<std::string>());
  }
  // An unknown model named explicitly is an error, not a silent raw-only atlas.
  result = run_photoatlas("run " + quote((dir / "photos").string()) + " -o " + quote((dir / "atlas2").string()) +
                          " -k 3 --no-cache --model vgg19" + models);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("models pull vgg19"), std::string::npos) << result.output;
}
