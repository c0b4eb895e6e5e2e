// The ZIP reader: the input is written as a .zip file, opened with ZipArchive, every safe entry
// read (bounded), then the whole export path (read_instagram_export) on the same file.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "ingest/archive.h"
#include "ingest/instagram.h"

using namespace photoatlas;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = fuzz::scratch() / "input.zip";
  fuzz::write_file(file, data, size);
  try {
    ingest::ZipArchive zip(file);
    for (const auto& entry : zip.entries()) {
      if (!ingest::is_safe_member_name(entry.name)) __builtin_trap();
      try {
        (void)zip.read(entry, 1 << 20);
      } catch (const std::runtime_error&) {
      }
    }
  } catch (const std::runtime_error&) {
  }
  const Collection collection = ingest::read_instagram_export(file);
  for (const auto& image : collection.images)
    if (!ingest::is_safe_member_name(image.member)) __builtin_trap();
  return 0;
}
