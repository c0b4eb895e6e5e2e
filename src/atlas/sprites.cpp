#include "atlas/sprites.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "atlas/writer.h"
#include "core/parallel.h"
#include "ingest/decode.h"

namespace fs = std::filesystem;

namespace photoatlas::atlas {

namespace {

void write_bytes(const fs::path& file, const void* data, std::size_t size) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

// Copies `tile` (at most cell x cell) centred into the cell at (x0, y0) of `sheet`.
void blit(ingest::RgbImage& sheet, const ingest::RgbImage& tile, int x0, int y0, int cell) {
  const int ox = x0 + (cell - tile.width) / 2;
  const int oy = y0 + (cell - tile.height) / 2;
  for (int y = 0; y < tile.height; ++y) {
    std::uint8_t* dst = sheet.pixels.data() + (static_cast<std::size_t>(oy + y) * sheet.width + ox) * 3;
    std::copy_n(tile.at(0, y), static_cast<std::size_t>(tile.width) * 3, dst);
  }
}

}  // namespace

SpriteSheets write_sprite_sheets(const fs::path& atlas_dir, std::size_t count, const SpriteSource& source,
                                 const SpriteOptions& options, const ProgressCallback& progress) {
  if (options.cell < 1 || options.cell > 255 || options.cell > options.max_sheet_side)
    throw std::invalid_argument("sprite cell must be in [1, 255] and fit in a sheet");
  SpriteSheets out;
  out.cell = options.cell;
  out.columns = options.max_sheet_side / options.cell;
  out.per_sheet = static_cast<std::size_t>(out.columns) * static_cast<std::size_t>(out.columns);
  out.sizes_file = "data/sprite-sizes.u8";
  out.sizes.assign(count * 2, 0);

  std::error_code ec;
  fs::create_directories(atlas_dir / "data", ec);
  if (ec) throw std::runtime_error("cannot create " + (atlas_dir / "data").string() + ": " + ec.message());

  const int threads = resolve_threads(options.num_threads);
  std::atomic<std::size_t> missing{0};
  std::size_t done = 0;
  for (std::size_t first = 0; first < count; first += out.per_sheet) {
    const std::size_t n = std::min(out.per_sheet, count - first);
    const int cols_used = static_cast<int>(std::min<std::size_t>(n, static_cast<std::size_t>(out.columns)));
    const int rows_used = static_cast<int>((n + out.columns - 1) / out.columns);
    ingest::RgbImage sheet;
    sheet.width = cols_used * out.cell;
    sheet.height = rows_used * out.cell;
    sheet.pixels.resize(static_cast<std::size_t>(sheet.width) * sheet.height * 3);
    for (std::size_t p = 0; p < sheet.pixels.size(); p += 3)
      std::copy(options.background.begin(), options.background.end(), sheet.pixels.begin() + p);

    std::mutex progress_mutex;
    parallel_for_dynamic(n, threads, [&](std::size_t k) {
      const std::size_t i = first + k;
      ingest::RgbImage tile;
      try {
        tile = source(i);
        if (!tile.empty() && (tile.width > out.cell || tile.height > out.cell))
          tile = ingest::resize_to_fit(tile, out.cell);
      } catch (const std::exception&) {
        tile = {};
      }
      if (tile.empty() || tile.width > out.cell || tile.height > out.cell) {
        ++missing;
      } else {
        const int col = static_cast<int>(k % out.columns), row = static_cast<int>(k / out.columns);
        blit(sheet, tile, col * out.cell, row * out.cell, out.cell);  // disjoint cells: no lock needed
        out.sizes[2 * i] = static_cast<std::uint8_t>(tile.width);
        out.sizes[2 * i + 1] = static_cast<std::uint8_t>(tile.height);
      }
      if (progress) {
        std::lock_guard lock(progress_mutex);
        report(progress, ++done, count);
      }
    });

    SpriteSheet s;
    s.file = "data/sprites-" + std::to_string(out.sheets.size()) + ".jpg";
    s.width = sheet.width;
    s.height = sheet.height;
    s.first = first;
    s.count = n;
    const std::string jpeg = ingest::encode_jpeg(sheet, options.quality);
    write_bytes(atlas_dir / s.file, jpeg.data(), jpeg.size());
    out.sheets.push_back(std::move(s));
  }
  write_bytes(atlas_dir / out.sizes_file, out.sizes.data(), out.sizes.size());
  out.missing = missing.load();
  return out;
}

SpriteSheets write_sprite_sheets_from_thumbnails(const fs::path& atlas_dir, const std::vector<std::string>& image_ids,
                                                 const SpriteOptions& options, const ProgressCallback& progress) {
  ingest::DecodeOptions decode;
  decode.min_short_side = options.cell;  // shrink-on-load: a 256 px JPEG thumbnail decodes at 1/8 scale
  decode.fail_on_truncated = false;
  return write_sprite_sheets(
      atlas_dir, image_ids.size(),
      [&](std::size_t i) -> ingest::RgbImage {
        const fs::path file = atlas_dir / thumbnail_path(image_ids[i]);
        std::error_code ec;
        if (!fs::is_regular_file(file, ec)) return {};
        return ingest::resize_to_fit(ingest::decode_file(file, decode).image, options.cell);
      },
      options, progress);
}

nlohmann::json sprites_json(const SpriteSheets& s) {
  nlohmann::json sheets = nlohmann::json::array();
  for (const auto& sheet : s.sheets)
    sheets.push_back({{"file", sheet.file}, {"width", sheet.width}, {"height", sheet.height},
                      {"first", sheet.first}, {"count", sheet.count}});
  return {{"cell", s.cell},
          {"columns", s.columns},
          {"per_sheet", s.per_sheet},
          {"sheets", sheets},
          {"sizes", {{"file", s.sizes_file}, {"dtype", "uint8"}, {"count", s.sizes.size()}}}};
}

}  // namespace photoatlas::atlas
