// images/second of the CNN extractors on a folder of photos, the way the reference extractor
// (../shared/reference/nsfwjs-features/extract.js) works: one image at a time, decoding included,
// each model at its default (frozen) layer, global-average-pooled. bench/cnn_speed_vs_reference.sh
// runs this and extract.js (TF.js, WASM backend) on the same files and prints the ratio.
//
// usage: bench_cnn_folder FOLDER [--limit N] [--nsfwjs DIR] [--models inception_v3,mobilenet_v2]
//   prints one line per model: "<model> <layer> <images> <seconds> <images/s>"
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "features/cnn_extractor.h"
#include "ingest/decode.h"

using namespace photoatlas;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_cnn_folder FOLDER [--limit N] [--nsfwjs DIR] [--models a,b]\n");
    return 2;
  }
  const fs::path folder = argv[1];
  std::size_t limit = 20;
  fs::path nsfwjs = "models/nsfwjs/node_modules/nsfwjs";
  std::string models = "inception_v3,mobilenet_v2";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--limit") limit = std::strtoul(argv[i + 1], nullptr, 10);
    else if (arg == "--nsfwjs") nsfwjs = argv[i + 1];
    else if (arg == "--models") models = argv[i + 1];
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
    std::vector<float> row(extractor.dims());
    extractor.extract(ingest::decode_file(files[0], decode).image, row);  // warm-up (OpenCV allocates)
    const auto t0 = std::chrono::steady_clock::now();
    for (const fs::path& file : files) extractor.extract(ingest::decode_file(file, decode).image, row);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s %s %zu %.3f %.3f\n", name.c_str(), extractor.layer().c_str(), files.size(), seconds,
                files.size() / seconds);
    std::fflush(stdout);
  }
  return 0;
}
