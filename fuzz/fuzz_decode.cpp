// The image ingest entry point for bytes (ZIP members take this path): decode_buffer with small
// limits so a fuzzer-made header cannot ask for gigabytes. libvips itself is not instrumented;
// this checks our side (limits, conversions, error handling) against whatever libvips returns.
#include <cstdint>
#include <string>

#include "ingest/decode.h"

using namespace photoatlas;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ingest::DecodeOptions options;
  options.min_short_side = 32;
  options.max_pixels = 4'000'000;
  options.max_seconds = 5;
  try {
    const auto decoded = ingest::decode_buffer(std::string(reinterpret_cast<const char*>(data), size), "fuzz", options);
    if (decoded.image.pixels.size() != static_cast<std::size_t>(decoded.image.width) * decoded.image.height * 3)
      __builtin_trap();
  } catch (const ingest::DecodeError&) {
  }
  return 0;
}
