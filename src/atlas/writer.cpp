#include "atlas/writer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "atlas/binary.h"
#include "atlas/sprites.h"
#include "core/csv.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace photoatlas::atlas {

namespace {

void write_file(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::string iso8601_utc(std::int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string format_coordinate(float v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", static_cast<double>(v));
  return text;
}

std::string format_degrees(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", v);
  return text;
}

void write_points_csv(const AtlasContent& content, const fs::path& file) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  std::vector<std::string> header = {"path"};
  for (const auto& layout : content.layouts) {
    header.push_back(layout.id + "_x");
    header.push_back(layout.id + "_y");
    header.push_back(layout.id + "_cluster");
  }
  for (const char* column :
       {"id", "name", "width", "height", "taken_at", "caption", "hashtags", "post_id", "camera", "latitude", "longitude",
        "class", "category"})
    header.emplace_back(column);
  if (!content.objects_model.empty()) header.emplace_back("objects");
  write_csv_row(out, header);
  for (std::size_t i = 0; i < content.images.size(); ++i) {
    const auto& image = content.images[i];
    std::vector<std::string> row = {image.record.path};
    for (const auto& layout : content.layouts) {
      row.push_back(format_coordinate(layout.xy.at(i, 0)));
      row.push_back(format_coordinate(layout.xy.at(i, 1)));
      row.push_back(std::to_string(layout.cluster[i]));
    }
    row.push_back(image.record.id);
    row.push_back(image.record.display_name);
    row.push_back(std::to_string(image.width));
    row.push_back(std::to_string(image.height));
    row.push_back(image.record.taken_at ? iso8601_utc(*image.record.taken_at) : "");
    row.push_back(image.record.caption);
    std::string tags;
    for (const auto& tag : image.record.hashtags) tags += (tags.empty() ? "#" : " #") + tag;
    row.push_back(tags);
    row.push_back(image.record.post_id);
    row.push_back(image.camera);
    row.push_back(image.latitude ? format_degrees(*image.latitude) : "");
    row.push_back(image.longitude ? format_degrees(*image.longitude) : "");
    row.push_back(image.class_name);
    row.push_back(image.category);
    if (!content.objects_model.empty()) {
      std::string objects;  // "person ×3, dog"
      for (const auto& tag : image.objects) {
        objects += (objects.empty() ? "" : ", ") + tag.label;
        if (tag.count > 1) objects += " \u00d7" + std::to_string(tag.count);
      }
      row.push_back(objects);
    }
    write_csv_row(out, row);
  }
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

void write_clusters_csv(const AtlasContent& content, const fs::path& file) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  write_csv_row(out, {"layout", "cluster", "name", "size", "medoid_path"});
  for (const auto& layout : content.layouts) {
    std::vector<std::size_t> sizes(layout.cluster_names.size(), 0);
    for (int c : layout.cluster)
      if (c >= 0 && static_cast<std::size_t>(c) < sizes.size()) ++sizes[c];
    for (std::size_t c = 0; c < layout.cluster_names.size(); ++c) {
      const std::ptrdiff_t medoid = c < layout.cluster_medoids.size() ? layout.cluster_medoids[c] : -1;
      const std::string medoid_path =
          medoid >= 0 && static_cast<std::size_t>(medoid) < content.images.size() ? content.images[medoid].record.path : "";
      write_csv_row(out, {layout.id, std::to_string(c), layout.cluster_names[c], std::to_string(sizes[c]), medoid_path});
    }
  }
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

void write_duplicates_csv(const AtlasContent& content, const fs::path& file) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  write_csv_row(out, {"group", "path"});
  for (std::size_t g = 0; g < content.duplicate_groups.size(); ++g)
    for (std::size_t index : content.duplicate_groups[g]) write_csv_row(out, {std::to_string(g), content.images.at(index).record.path});
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

void write_failures_csv(const std::vector<Failure>& failures, const fs::path& file) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  write_csv_row(out, {"path", "reason"});
  for (const auto& failure : failures) write_csv_row(out, {failure.path, failure.reason});
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

json layout_json(const Layout& layout, std::size_t index, const fs::path& atlas_dir) {
  // Coordinates and labels go to binary files (format version 2): 1M points load in a blink.
  const json arrays = write_layout_arrays(atlas_dir, index, layout.id, normalise_layout(layout.xy), layout.cluster);
  std::vector<std::size_t> sizes(layout.cluster_names.size(), 0);
  for (int c : layout.cluster)
    if (c >= 0 && static_cast<std::size_t>(c) < sizes.size()) ++sizes[c];
  json clusters = json::array();
  for (std::size_t c = 0; c < layout.cluster_names.size(); ++c) {
    json entry = {{"id", c}, {"name", layout.cluster_names[c]}, {"size", sizes[c]}};
    if (c < layout.cluster_medoids.size() && layout.cluster_medoids[c] >= 0) entry["medoid"] = layout.cluster_medoids[c];
    if (layout.unclustered >= 0 && c == static_cast<std::size_t>(layout.unclustered)) entry["unclustered"] = true;
    clusters.push_back(std::move(entry));
  }
  json out = {{"id", layout.id},           {"name", layout.name},   {"features", layout.features},
              {"x", arrays["x"]},          {"y", arrays["y"]},      {"cluster", arrays["cluster"]},
              {"clusters", clusters}};
  if (!layout.k_curve.empty()) {
    json curve = json::array();
    for (const auto& [k, score] : layout.k_curve) curve.push_back({{"k", k}, {"silhouette", score}});
    out["k_selection"] = {{"method", "silhouette"}, {"curve", curve}};
  }
  return out;
}

void write_atlas_json(const AtlasContent& content, const fs::path& atlas_dir, const json& sprites) {
  json images = json::array();
  for (const auto& image : content.images) {
    json entry = {{"id", image.record.id},
                  {"name", image.record.display_name},
                  // Relative to the input folder: a published atlas should not reveal local folder names.
                  {"path", image.record.relative_path.empty() ? image.record.display_name
                                                              : image.record.relative_path},
                  {"thumb", thumbnail_path(image.record.id)},
                  {"width", image.width},
                  {"height", image.height}};
    if (image.record.taken_at) entry["taken_at"] = iso8601_utc(*image.record.taken_at);
    if (!image.record.caption.empty()) entry["caption"] = image.record.caption;
    if (!image.record.hashtags.empty()) entry["tags"] = image.record.hashtags;
    if (!image.record.post_id.empty()) entry["post"] = image.record.post_id;
    if (!image.camera.empty()) entry["camera"] = image.camera;
    if (image.latitude && image.longitude) entry["gps"] = {*image.latitude, *image.longitude};
    if (!image.class_name.empty()) entry["class"] = image.class_name;
    if (!image.category.empty()) entry["category"] = image.category;
    if (!image.top_classes.empty()) {
      json top = json::array();
      for (const auto& [name, probability] : image.top_classes) top.push_back({name, probability});
      entry["top_classes"] = std::move(top);
    }
    if (!image.objects.empty()) {
      json objects = json::array();
      for (const auto& tag : image.objects) objects.push_back({tag.label, tag.count, std::round(tag.score * 1000.0) / 1000.0});
      entry["objects"] = std::move(objects);
    }
    images.push_back(std::move(entry));
  }
  json layouts = json::array();
  for (std::size_t li = 0; li < content.layouts.size(); ++li)
    layouts.push_back(layout_json(content.layouts[li], li, atlas_dir));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  json doc = {{"format", "photoatlas"},          {"version", 2},      {"title", content.title},
              {"created", iso8601_utc(now)},     {"count", content.images.size()},
              {"failures", content.failures.size()}, {"images", images}, {"layouts", layouts}};
  if (!sprites.is_null()) doc["sprites"] = sprites;
  if (content.similar_k > 0 && content.similar.size() == content.images.size() * content.similar_k) {
    const std::string file = "data/similar.u32";
    write_file(atlas_dir / file, std::string(reinterpret_cast<const char*>(content.similar.data()),
                                             content.similar.size() * sizeof(std::uint32_t)));
    doc["similar"] = {{"features", content.similar_features},
                      {"k", content.similar_k},
                      {"neighbors", {{"file", file}, {"dtype", "uint32"}, {"count", content.similar.size()}}}};
  }
  if (!content.duplicate_groups.empty()) doc["duplicate_groups"] = content.duplicate_groups;
  if (!content.categories.empty()) doc["categories"] = content.categories;
  if (!content.categories_source.empty()) doc["categories_source"] = content.categories_source;
  if (!content.objects_model.empty())
    doc["objects"] = {{"model", content.objects_model},
                      {"threshold", std::round(static_cast<double>(content.objects_threshold) * 1000.0) / 1000.0}};
  // File names may hold bytes that are not UTF-8; replace them rather than fail the run.
  write_file(atlas_dir / "data" / "atlas.json", doc.dump(-1, ' ', false, json::error_handler_t::replace));
}

void copy_viewer(const fs::path& viewer_dir, const fs::path& atlas_dir) {
  if (!fs::is_regular_file(viewer_dir / "index.html"))
    throw std::runtime_error("the viewer is not built (no index.html in " + viewer_dir.string() +
                             "); run scripts/setup or set PHOTOATLAS_VIEWER_DIR");
  std::error_code ec;
  fs::copy(viewer_dir, atlas_dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  if (ec) throw std::runtime_error("cannot copy the viewer from " + viewer_dir.string() + ": " + ec.message());
}

}  // namespace

std::string thumbnail_path(const std::string& image_id) { return "thumbs/" + image_id + ".jpg"; }

void write_thumbnail_file(const fs::path& atlas_dir, const std::string& image_id, const std::string& jpeg_bytes) {
  const fs::path file = atlas_dir / thumbnail_path(image_id);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  write_file(file, jpeg_bytes);
}

FloatMatrix normalise_layout(const FloatMatrix& xy) {
  FloatMatrix out = xy;
  if (xy.rows == 0) return out;
  float lo[2] = {std::numeric_limits<float>::max(), std::numeric_limits<float>::max()};
  float hi[2] = {std::numeric_limits<float>::lowest(), std::numeric_limits<float>::lowest()};
  for (std::size_t i = 0; i < xy.rows; ++i)
    for (int d = 0; d < 2; ++d) {
      lo[d] = std::min(lo[d], xy.at(i, d));
      hi[d] = std::max(hi[d], xy.at(i, d));
    }
  const float half_extent = std::max(hi[0] - lo[0], hi[1] - lo[1]) / 2.0f;
  for (std::size_t i = 0; i < xy.rows; ++i)
    for (int d = 0; d < 2; ++d) {
      const float centre = (lo[d] + hi[d]) / 2.0f;
      out.at(i, d) = half_extent > 0 ? (xy.at(i, d) - centre) / half_extent : 0.0f;
    }
  return out;
}

void write_atlas(const AtlasContent& content, const fs::path& atlas_dir, const AtlasOptions& options) {
  for (const auto& layout : content.layouts) {
    if (layout.xy.rows != content.images.size() || layout.cluster.size() != content.images.size())
      throw std::invalid_argument("layout " + layout.id + " does not cover every image");
  }
  std::error_code ec;
  fs::create_directories(atlas_dir / "data", ec);
  if (ec) throw std::runtime_error("cannot create " + (atlas_dir / "data").string() + ": " + ec.message());
  if (!options.viewer_dir.empty()) copy_viewer(options.viewer_dir, atlas_dir);
  write_points_csv(content, atlas_dir / "points.csv");
  write_clusters_csv(content, atlas_dir / "clusters.csv");
  write_duplicates_csv(content, atlas_dir / "duplicates.csv");
  write_failures_csv(content.failures, atlas_dir / "failures.csv");
  json sprites;
  if (options.sprites) {
    std::vector<std::string> ids;
    for (const auto& image : content.images) ids.push_back(image.record.id);
    SpriteOptions sprite_options;
    sprite_options.num_threads = options.num_threads;
    sprites = sprites_json(write_sprite_sheets_from_thumbnails(atlas_dir, ids, sprite_options));
  }
  write_atlas_json(content, atlas_dir, sprites);
}

}  // namespace photoatlas::atlas
