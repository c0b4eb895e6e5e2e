// images/second of the CNN extractors on a folder of photos, decoding included, each model with
// its default features, the way `photoatlas run` computes them: one worker per core, each decoding
// a photo and running it through its own copy of the network (batch 1).
// bench/cnn_speed_vs_reference.sh runs this and the reference extractor
// (../shared/reference/nsfwjs-features/extract.js, TF.js WASM) on the same files and prints the ratio.
//
// usage: bench_cnn_folder FOLDER [--limit N] [--nsfwjs DIR] [--models inception_v3,mobilenet_v2] [--threads N]
//   prints one line per model: "<model> <layer> <images> <seconds> <images/s> <cpu seconds/image>"
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "features/cnn_extractor.h"
#include "ingest/decode.h"

using namespace photoatlas;
namespace fs = std::filesystem;

namespace {
double cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_cnn_folder FOLDER [--limit N] [--nsfwjs DIR] [--models a,b]\n");
    return 2;
  }
  const fs::path folder = argv[1];
  std::size_t limit = 20;
  fs::path nsfwjs = "models/nsfwjs/node_modules/nsfwjs";
  std::string models = "inception_v3,mobilenet_v2";
  int threads = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--limit") limit = std::strtoul(argv[i + 1], nullptr, 10);
    else if (arg == "--nsfwjs") nsfwjs = argv[i + 1];
    else if (arg == "--models") models = argv[i + 1];
    else if (arg == "--threads") threads = std::atoi(argv[i + 1]);
  }
  // The same files as extract.js: .jpg / .jpeg / .png in the folder, sorted by path.
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    std::string ext = entry.path().extension().string();
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.size() > limit) files.resize(limit);
  if (files.empty()) {
    std::fprintf(stderr, "no images in %s\n", folder.c_str());
    return 2;
  }
  ingest::ensure_vips_started();
  std::stringstream names(models);
  std::string name;
  while (std::getline(names, name, ',')) {
    const auto model = features::load_nsfwjs_model(nsfwjs, name);
    features::CnnExtractor extractor(model, {});
    ingest::DecodeOptions decode;
    decode.min_short_side = extractor.min_input_side();
    const int workers = resolve_threads(threads);
    // Warm-up, one image per worker: builds the network copies and lets OpenCV allocate.
    parallel_for_dynamic(workers, workers, [&](std::size_t) {
      std::vector<float> row(extractor.dims());
      extractor.extract(ingest::decode_file(files[0], decode).image, row);
    });
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_now();
    parallel_for_dynamic(files.size(), workers, [&](std::size_t i) {
      std::vector<float> row(extractor.dims());
      extractor.extract(ingest::decode_file(files[i], decode).image, row);
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_now() - c0;
    std::printf("%s %s %zu %.3f %.3f %.4f\n", name.c_str(), extractor.layer().c_str(), files.size(), seconds,
                files.size() / seconds, cpu / files.size());
    std::fflush(stdout);
  }
  return 0;
}
