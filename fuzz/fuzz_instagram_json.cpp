// The Instagram posts reader: the input is a posts_1.json in an unpacked export (with one photo
// that posts may name), plus the caption helpers on the raw bytes.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "ingest/instagram.h"

using namespace photoatlas;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // Caption helpers take any bytes: repaired text must stay within bounds, hashtags be substrings.
  const std::string repaired = ingest::repair_instagram_text(text);
  if (repaired.size() > text.size()) __builtin_trap();
  for (const auto& tag : ingest::extract_hashtags(repaired))
    if (tag.empty() || repaired.find(tag) == std::string::npos) __builtin_trap();
  (void)ingest::extract_mentions(repaired);

  static const auto root = [] {
    const auto dir = fuzz::scratch() / "export";
    const std::uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xD9};
    fuzz::write_file(dir / "media" / "posts" / "202001" / "a.jpg", jpeg, sizeof jpeg);
    return dir;
  }();
  fuzz::write_file(root / "content" / "posts_1.json", data, size);
  ingest::InstagramOptions options;
  options.max_json_depth = 32;
  const Collection collection = ingest::read_instagram_export(root, options);
  for (const auto& image : collection.images)
    if (image.relative_path.find("..") != std::string::npos) __builtin_trap();  // never outside the export
  return 0;
}
