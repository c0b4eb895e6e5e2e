// Instagram's "Download your information" export (JSON format), as a ZIP or an unpacked folder.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/collection.h"

namespace photoatlas::ingest {

struct InstagramOptions {
  bool include_unreferenced = true;          // photos in the export that no post names are still mapped
  std::uint64_t max_json_bytes = 256ull << 20;  // refuse larger posts files
  int max_json_depth = 64;                   // refuse absurdly nested posts files
};

// True for a .zip file, or a folder holding a posts file in one of the known layouts.
bool looks_like_instagram_export(const std::filesystem::path& input);

// Reads every post's photos with their dates and captions (text repaired, hashtags and
// mentions extracted). Media named by a post but missing from the export, unreadable posts
// files and unsafe archive names become failures; videos are counted and skipped.
// Record paths are "<export>/<uri>"; for a ZIP, `archive` and `member` say where the bytes are.
Collection read_instagram_export(const std::filesystem::path& input, const InstagramOptions& options = {});

// Instagram writes text as UTF-8 bytes escaped one per "\u00XX"; after JSON decoding each byte is
// a code point below 256. This turns such text back into proper UTF-8 (unchanged when it isn't).
std::string repair_instagram_text(const std::string& text);

std::vector<std::string> extract_hashtags(const std::string& text);
std::vector<std::string> extract_mentions(const std::string& text);

}  // namespace photoatlas::ingest
