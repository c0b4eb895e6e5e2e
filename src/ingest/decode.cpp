#include "ingest/decode.h"

#include <vips/vips8>
#include <vips/vector.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <sstream>

namespace photoatlas::ingest {

using vips::VError;
using vips::VImage;
using vips::VOption;

void ensure_vips_started() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (VIPS_INIT("photoatlas") != 0) throw std::runtime_error("libvips failed to start");
    // We parallelise across images ourselves; libvips' own worker threads per image would
    // oversubscribe the cores. Each file is read once, so libvips' operation cache only costs memory.
    vips_concurrency_set(1);
    // Decoder warnings ("error in tile ...") would flood the terminal for a damaged file;
    // the failure itself is reported once, in words, through DecodeError.
    g_log_set_handler("VIPS", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE),
                      [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {}, nullptr);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    // No ORC run-time code generation: Debian 12's liborc frees generated programs unsafely when
    // several threads decode at once (AddressSanitizer: SEGV in orc_code_free from
    // vips_vector_free on a cached re-run with two workers; without ASan the same race showed as
    // "malloc_consolidate(): unaligned fastbin chunk"). libvips then uses its plain C paths.
    vips_vector_set_enabled(FALSE);
  });
}

namespace detail {

// libvips errors are multi-line logs naming internal classes; keep the first meaningful line
// and translate the common cases into words a person understands.
std::string readable_reason(const std::string& vips_message) {
  std::string first;
  std::istringstream lines(vips_message);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) {
      first = line;
      break;
    }
  }
  std::string lower = vips_message;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto has = [&](const char* s) { return lower.find(s) != std::string::npos; };
  if (has("premature end") || has("truncated") || has("unexpected end") || has("out of data") || has("read error") ||
      has("not enough data") || has("short read"))
    return "file is truncated or damaged (" + first + ")";
  if (has("crc")) return "file is damaged: checksum mismatch (" + first + ")";
  if (has("not a known file format") || has("is not a known")) return "not an image in a format photoatlas can read";
  if (has("out of memory")) return "image too large to decode in memory";
  return "cannot decode image (" + first + ")";
}

// Width and height as a person sees the photo (EXIF orientations 5-8 swap the axes).
std::pair<int, int> oriented_size(const VImage& header) {
  int w = header.width(), h = header.height();
  if (header.get_typeof(VIPS_META_ORIENTATION) != 0) {
    int orientation = header.get_int(VIPS_META_ORIENTATION);
    if (orientation >= 5 && orientation <= 8) std::swap(w, h);
  }
  return {w, h};
}

// To 8-bit sRGB with 3 bands: handles grey, 16-bit, CMYK, Lab/float TIFFs, palettes and alpha.
VImage to_srgb8(VImage image) {
  const VipsInterpretation interpretation = image.interpretation();
  if (interpretation != VIPS_INTERPRETATION_sRGB || image.format() != VIPS_FORMAT_UCHAR) {
    image = image.colourspace(VIPS_INTERPRETATION_sRGB);
  }
  if (image.has_alpha()) {
    image = image.flatten(VImage::option()->set("background", std::vector<double>{255.0, 255.0, 255.0}));
  }
  if (image.format() != VIPS_FORMAT_UCHAR) image = image.cast(VIPS_FORMAT_UCHAR);
  if (image.bands() == 1) image = image.bandjoin({image, image});
  if (image.bands() > 3) image = image.extract_band(0, VImage::option()->set("n", 3));
  return image;
}

// Computes the pixels a strip of rows at a time (top to bottom, as sequential access wants), so
// a decode that runs past `deadline` can be abandoned between strips.
RgbImage to_rgb_image(const VImage& image, std::chrono::steady_clock::time_point deadline, double max_seconds) {
  if (image.bands() != 3 || image.format() != VIPS_FORMAT_UCHAR)
    throw DecodeError("decoder returned an unexpected pixel layout");
  RgbImage out;
  out.width = image.width();
  out.height = image.height();
  const std::size_t row_bytes = static_cast<std::size_t>(out.width) * 3;
  out.pixels.resize(row_bytes * out.height);
  vips::VRegion region = image.region();
  constexpr int kStrip = 16;
  for (int y = 0; y < out.height; y += kStrip) {
    if (max_seconds > 0 && std::chrono::steady_clock::now() > deadline) {
      std::ostringstream reason;
      reason << "decoding took longer than the limit of " << max_seconds << " s: abandoned";
      throw DecodeError(reason.str());
    }
    const int rows = std::min(kStrip, out.height - y);
    region.prepare(0, y, out.width, rows);
    for (int r = 0; r < rows; ++r)
      std::memcpy(out.pixels.data() + (y + r) * row_bytes, VIPS_REGION_ADDR(region.get_region(), 0, y + r), row_bytes);
  }
  return out;
}

// Target box for thumbnail(): shrink so the shorter side is `min_short_side`, never enlarge.
std::pair<int, int> shrink_box(int w, int h, int min_short_side) {
  int short_side = std::min(w, h);
  if (short_side <= min_short_side || short_side <= 0) return {w, h};
  double scale = static_cast<double>(min_short_side) / short_side;
  return {std::max(1, static_cast<int>(std::ceil(w * scale))), std::max(1, static_cast<int>(std::ceil(h * scale)))};
}

// libvips exposes EXIF tags as strings like "2019:06:01 10:00:00 (2019:06:01 10:00:00, ASCII, 20 components, 20 bytes)".
std::string exif_string(const VImage& header, const char* field) {
  if (header.get_typeof(field) == 0) return "";
  const char* value = nullptr;
  if (vips_image_get_string(header.get_image(), field, &value) != 0 || !value) {
    vips_error_clear();
    return "";
  }
  std::string text = value;
  const auto paren = text.find(" (");
  if (paren != std::string::npos) text.resize(paren);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
  return text;
}

std::optional<std::int64_t> parse_exif_datetime(const std::string& text) {
  int year, month, day, hour, minute, second;
  if (std::sscanf(text.c_str(), "%d:%d:%d %d:%d:%d", &year, &month, &day, &hour, &minute, &second) != 6)
    return std::nullopt;
  if (year < 1800 || month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;  // "0000:00:00 00:00:00"
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&tm));
}

// "52/1 30/1 1234/100 (52, 30, 12.34, Rational, 3 components, 24 bytes)" → 52.5034...
std::optional<double> parse_exif_coordinate(const std::string& value, const std::string& ref) {
  double parts[3] = {0, 0, 0};
  int n = 0;
  std::istringstream in(value);
  std::string token;
  while (n < 3 && in >> token) {
    const auto slash = token.find('/');
    if (slash == std::string::npos) return std::nullopt;
    const double num = std::atof(token.substr(0, slash).c_str());
    const double den = std::atof(token.substr(slash + 1).c_str());
    if (den == 0) return std::nullopt;
    parts[n++] = num / den;
  }
  if (n != 3) return std::nullopt;
  double degrees = parts[0] + parts[1] / 60.0 + parts[2] / 3600.0;
  if (!ref.empty() && (ref[0] == 'S' || ref[0] == 'W')) degrees = -degrees;
  return degrees;
}

void read_exif(const VImage& header, DecodedImage& out) {
  out.taken_at = parse_exif_datetime(exif_string(header, "exif-ifd2-DateTimeOriginal"));
  if (!out.taken_at) out.taken_at = parse_exif_datetime(exif_string(header, "exif-ifd0-DateTime"));
  std::string make = exif_string(header, "exif-ifd0-Make"), model = exif_string(header, "exif-ifd0-Model");
  out.camera = model.rfind(make, 0) == 0 ? model : (make.empty() ? model : make + (model.empty() ? "" : " " + model));
  auto lat = parse_exif_coordinate(exif_string(header, "exif-ifd3-GPSLatitude"), exif_string(header, "exif-ifd3-GPSLatitudeRef"));
  auto lon = parse_exif_coordinate(exif_string(header, "exif-ifd3-GPSLongitude"), exif_string(header, "exif-ifd3-GPSLongitudeRef"));
  if (lat && lon) {
    out.latitude = lat;
    out.longitude = lon;
  }
}

template <typename LoadHeader, typename LoadThumbnail>
DecodedImage decode_with(const std::string& name, const DecodeOptions& options, LoadHeader load_header,
                         LoadThumbnail load_thumbnail) {
  ensure_vips_started();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(std::clamp(options.max_seconds, 0.0, 1e7)));
  try {
    VImage header = load_header();
    auto [w, h] = oriented_size(header);
    if (w <= 0 || h <= 0) throw DecodeError("image has no pixels");
    const std::uint64_t pixels = static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h);
    if (pixels > options.max_pixels) {
      std::ostringstream reason;
      reason << "image too large: " << w << "x" << h << " pixels exceeds the limit of " << options.max_pixels;
      throw DecodeError(reason.str());
    }
    auto [tw, th] = shrink_box(w, h, options.min_short_side);
    VOption* thumb_options = VImage::option()->set("height", th)->set("size", VIPS_SIZE_DOWN);
    if (options.fail_on_truncated) thumb_options->set("fail_on", VIPS_FAIL_ON_TRUNCATED);
    VImage image = to_srgb8(load_thumbnail(tw, thumb_options));
    DecodedImage out;
    out.image = to_rgb_image(image, deadline, options.max_seconds);
    out.original_width = w;
    out.original_height = h;
    const char* loader = nullptr;
    if (header.get_typeof(VIPS_META_LOADER) != 0) loader = header.get_string(VIPS_META_LOADER);
    out.format = loader ? loader : "";
    read_exif(header, out);
    return out;
  } catch (const VError& e) {
    vips_error_clear();
    throw DecodeError(readable_reason(e.what()));
  }
}

}  // namespace detail

DecodedImage decode_file(const std::filesystem::path& path, const DecodeOptions& options) {
  ensure_vips_started();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw DecodeError("is a folder, not an image file");
  auto size = std::filesystem::file_size(path, ec);
  if (ec) throw DecodeError("cannot read file (" + ec.message() + ")");
  if (size == 0) throw DecodeError("empty file (0 bytes)");
  const std::string file = path.string();
  if (vips_foreign_find_load(file.c_str()) == nullptr) {
    vips_error_clear();
    throw DecodeError("not an image in a format photoatlas can read");
  }
  return detail::decode_with(
      file, options,
      [&] { return VImage::new_from_file(file.c_str(), VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL)); },
      [&](int width, VOption* opts) { return VImage::thumbnail(file.c_str(), width, opts); });
}

DecodedImage decode_buffer(const std::string& bytes, const std::string& name, const DecodeOptions& options) {
  ensure_vips_started();
  if (bytes.empty()) throw DecodeError("empty file (0 bytes)");
  if (vips_foreign_find_load_buffer(bytes.data(), bytes.size()) == nullptr) {
    vips_error_clear();
    throw DecodeError("not an image in a format photoatlas can read");
  }
  VipsBlob* blob = vips_blob_new(nullptr, bytes.data(), bytes.size());
  struct BlobGuard {
    VipsBlob* blob;
    ~BlobGuard() { vips_area_unref(VIPS_AREA(blob)); }
  } guard{blob};
  return detail::decode_with(
      name, options,
      [&] {
        return VImage::new_from_buffer(bytes.data(), bytes.size(), "",
                                       VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL));
      },
      [&](int width, VOption* opts) { return VImage::thumbnail_buffer(blob, width, opts); });
}

}  // namespace photoatlas::ingest
