// Sprite sheets: every image's thumbnail shrunk into a small square cell (32 px by default) and
// packed, in image order, into JPEG texture atlases of at most 4096 x 4096 px, as many as needed.
// The viewer draws them as textured quads at the points' positions (docs/atlas-format.md,
// "sprites"). Sheets are written one at a time, so memory stays at one sheet whatever the count.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/progress.h"
#include "ingest/image.h"

namespace photoatlas::atlas {

struct SpriteOptions {
  int cell = 32;               // cell side in px; each thumbnail is fitted inside (aspect kept, centred)
  int max_sheet_side = 4096;   // no sheet is wider or taller than this (WebGL's safe texture size)
  int quality = 80;            // JPEG quality of the sheets
  std::array<std::uint8_t, 3> background = {24, 26, 32};  // colour of the unused part of a cell
  int num_threads = 0;         // 0 = one per core
};

struct SpriteSheet {
  std::string file;  // relative to the atlas folder: "data/sprites-0.jpg"
  int width = 0;     // px
  int height = 0;
  std::size_t first = 0;  // image index of the sheet's first cell
  std::size_t count = 0;  // images on this sheet
};

// Where image i is: sheet s = i / per_sheet, slot = i % per_sheet, cell column slot % columns,
// row slot / columns; its thumbnail is sizes[2i] x sizes[2i+1] px, at ((cell - w) / 2, (cell - h) / 2)
// inside the cell (integer division). 0 x 0 = no thumbnail (unreadable), draw a point.
struct SpriteSheets {
  int cell = 0;
  int columns = 0;
  std::size_t per_sheet = 0;
  std::vector<SpriteSheet> sheets;
  std::string sizes_file;           // "data/sprite-sizes.u8": count x (w, h) uint8
  std::vector<std::uint8_t> sizes;  // the same, in memory
  std::size_t missing = 0;          // images whose thumbnail could not be read
};

// Produces the small image of image i (any size: it is fitted into the cell), or an empty image
// when there is none. Called from several threads at once.
using SpriteSource = std::function<ingest::RgbImage(std::size_t index)>;

// Packs `count` images from `source` into sheets under atlas_dir/data/. Throws std::runtime_error
// naming the file when a sheet cannot be written.
SpriteSheets write_sprite_sheets(const std::filesystem::path& atlas_dir, std::size_t count, const SpriteSource& source,
                                 const SpriteOptions& options = {}, const ProgressCallback& progress = {});

// The common case: the thumbnails the pipeline already wrote (atlas_dir/thumbs/<id>.jpg, see
// thumbnail_path), decoded with shrink-on-load. A missing or unreadable thumbnail leaves its cell empty.
SpriteSheets write_sprite_sheets_from_thumbnails(const std::filesystem::path& atlas_dir,
                                                 const std::vector<std::string>& image_ids,
                                                 const SpriteOptions& options = {},
                                                 const ProgressCallback& progress = {});

// The "sprites" object of data/atlas.json (version 2).
nlohmann::json sprites_json(const SpriteSheets& sheets);

}  // namespace photoatlas::atlas
