// Speed of the CNN extractors (OpenCV DNN on the nsfwjs models) and of the ways to drive them on a
// few cores: one caller at a time (OpenCV parallelises each layer), one caller with batches of 4,
// and one caller per core each on its own copy of the network, with OpenCV's threads left as they
// are or set to 1. Prints images/second and CPU seconds per image (the load-independent figure: on
// a busy machine wall time says little). Inference only, on photo-sized noise; decoding is in
// bench_cnn_folder.
//
// usage: bench_cnn_speed [NSFWJS_PACKAGE_DIR] [--images N]
//   NSFWJS_PACKAGE_DIR defaults to models/nsfwjs/node_modules/nsfwjs (run from the checkout).
#include <opencv2/core.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>

#include "core/parallel.h"
#include "features/cnn_extractor.h"

using namespace photoatlas;

namespace {

double wall_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

ingest::RgbImage noise_image(int w, int h, unsigned seed) {
  std::mt19937 rng(seed);
  ingest::RgbImage image;
  image.width = w;
  image.height = h;
  image.pixels.resize(static_cast<std::size_t>(w) * h * 3);
  for (auto& p : image.pixels) p = static_cast<std::uint8_t>(rng() & 0xFF);
  return image;
}

struct Way {
  const char* name;
  int callers;      // threads calling run() at once
  int batch;        // images per call
  int cv_threads;   // OpenCV's threads during the run (0 = leave as is)
};

}  // namespace

int main(int argc, char** argv) {
  std::string package = "models/nsfwjs/node_modules/nsfwjs";
  int images = 16;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--images" && i + 1 < argc) {
      images = std::max(4, std::atoi(argv[++i]));
    } else {
      package = arg;
    }
  }
  const int cores = resolve_threads(0);
  const int opencv_default = cv::getNumThreads();
  const Way ways[] = {
      {"1 caller, OpenCV threads", 1, 1, 0},
      {"1 caller, batch 4", 1, 4, 0},
      {"1 caller/core, OpenCV threads", cores, 1, 0},
      {"1 caller/core, 1 OpenCV thread", cores, 1, 1},
  };
  // Photos arrive decoded with the shorter side near the input size: 4:3 at 400 x 300.
  const ingest::RgbImage photo = noise_image(400, 300, 1);
  std::printf("%d cores, OpenCV threads %d, %d images per measurement\n", cores, opencv_default, images);
  std::printf("%-14s %-20s %-32s %10s %10s\n", "model", "layer", "way", "images/s", "cpu s/img");
  for (const features::NsfwjsModelInfo& info : features::nsfwjs_models()) {
    const auto model = features::load_nsfwjs_model(package, info.name);
    model->set_max_replicas(cores);
    const std::vector<std::string> layers = {info.default_layer};
    for (const Way& way : ways) {
      if (way.cv_threads > 0) cv::setNumThreads(way.cv_threads);
      const std::vector<const ingest::RgbImage*> batch(way.batch, &photo);
      // Warm-up: builds the copies and lets OpenCV allocate.
      parallel_for_dynamic(way.callers, way.callers, [&](std::size_t) { model->run(batch, layers); });
      const int calls = (images + way.batch - 1) / way.batch;
      const double w0 = wall_now(), c0 = cpu_now();
      parallel_for_dynamic(calls, way.callers, [&](std::size_t) { model->run(batch, layers); });
      const double wall = wall_now() - w0, cpu = cpu_now() - c0;
      const int n = calls * way.batch;
      std::printf("%-14s %-20s %-32s %10.2f %10.3f\n", info.name.c_str(), info.default_layer.c_str(), way.name,
                  n / wall, cpu / n);
      std::fflush(stdout);
      cv::setNumThreads(opencv_default);
    }
  }
  return 0;
}
