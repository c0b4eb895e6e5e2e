// Speed of the CNN extractors (OpenCV DNN on the nsfwjs models): import time, then images/second
// for each model at its default layer and at the pooled top, at batch 1 and batch 4, plus CPU
// seconds per image (a load-independent figure: on a busy machine wall time says little).
//
// usage: bench_cnn_speed [NSFWJS_PACKAGE_DIR] [--images N]
//   NSFWJS_PACKAGE_DIR defaults to models/nsfwjs/node_modules/nsfwjs (run from the checkout).
// Not yet here: the reference extractor (../shared/reference/nsfwjs-features/extract.js, TF.js
// WASM) in the same run, as a ratio.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>

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

}  // namespace

int main(int argc, char** argv) {
  std::string package = "models/nsfwjs/node_modules/nsfwjs";
  int images = 8;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--images" && i + 1 < argc) {
      images = std::max(4, std::atoi(argv[++i]));
    } else {
      package = arg;
    }
  }
  // Photos arrive decoded with the shorter side near the input size: 4:3 at 400 x 300.
  const ingest::RgbImage photo = noise_image(400, 300, 1);
  std::printf("%-14s %-20s %6s %10s %10s %12s\n", "model", "layer", "batch", "images/s", "cpu s/img", "import s");
  for (const features::NsfwjsModelInfo& info : features::nsfwjs_models()) {
    const double t0 = wall_now();
    const auto model = features::load_nsfwjs_model(package, info.name);
    const double import_s = wall_now() - t0;
    for (const std::string& layer : {info.default_layer, info.pooled_layer}) {
      for (int batch : {1, 4}) {
        std::vector<const ingest::RgbImage*> batch_images(batch, &photo);
        model->run(batch_images, {layer});  // warm-up: OpenCV allocates on the first pass
        const double w0 = wall_now(), c0 = cpu_now();
        for (int done = 0; done < images; done += batch) model->run(batch_images, {layer});
        const double wall = wall_now() - w0, cpu = cpu_now() - c0;
        const int n = (images + batch - 1) / batch * batch;
        std::printf("%-14s %-20s %6d %10.2f %10.3f %12.2f\n", info.name.c_str(), layer.c_str(), batch, n / wall, cpu / n,
                    import_s);
      }
    }
  }
  return 0;
}
