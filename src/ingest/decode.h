// Decoding photos with libvips: shrink-on-load, EXIF orientation, sRGB, alpha flattened on white.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "ingest/image.h"

namespace photoatlas::ingest {

struct DecodeOptions {
  int min_short_side = 256;                     // decode so the shorter side is at least this (never enlarged)
  std::uint64_t max_pixels = 400'000'000;       // refuse images whose header claims more pixels than this
  bool fail_on_truncated = true;                // a cut-off file is an error, not a half-grey photo
  // Abandon a photo whose decoding takes longer than this many seconds (0 = no limit). Checked
  // between strips of output rows; a progressive JPEG is decoded whole before its first row, so
  // for it the pixel limit above is what bounds the time.
  double max_seconds = 60.0;
};

// What a decode reports about the original file.
struct DecodedImage {
  RgbImage image;          // after orientation, possibly shrunk
  int original_width = 0;  // after EXIF orientation
  int original_height = 0;
  std::string format;      // libvips loader name, e.g. "jpegload"
  // From EXIF, when present.
  std::optional<std::int64_t> taken_at;  // DateTimeOriginal (camera local time, read as UTC)
  std::string camera;                    // "Make Model"
  std::optional<double> latitude;        // degrees, north positive
  std::optional<double> longitude;       // degrees, east positive
};

// A per-file problem, with a reason a person understands (no stack of library jargon).
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Initialises libvips once per process (thread-safe; called by every entry point here).
void ensure_vips_started();

// Decodes a photo file. Throws DecodeError with a readable reason when the file is not usable.
DecodedImage decode_file(const std::filesystem::path& path, const DecodeOptions& options);

// Same for bytes already in memory (e.g. a member of a ZIP archive). `name` is used in messages.
DecodedImage decode_buffer(const std::string& bytes, const std::string& name, const DecodeOptions& options);

}  // namespace photoatlas::ingest
