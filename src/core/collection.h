// The values that flow out of ingest: which images exist and which inputs failed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace photoatlas {

// One image of the collection. `id` is stable across runs for the same file content.
struct ImageRecord {
  std::string id;            // short stable identifier (hex of the content hash)
  std::string path;          // path as given/discovered (what points.csv shows)
  std::string relative_path; // path below the input folder it was found in (what the published atlas shows)
  std::string display_name;  // file name shown to the person
  std::uint64_t content_hash = 0;
  std::uint64_t file_size = 0;
  std::optional<std::int64_t> taken_at;  // seconds since epoch, when known
  std::string caption;

  // Where the bytes are when not a plain file: a member of a ZIP archive (`path` is then
  // "<archive>/<member>" for display).
  std::string archive;
  std::string member;

  // From an Instagram export: the post the photo belongs to, and what its caption mentions.
  std::string post_id;
  std::vector<std::string> hashtags;  // without '#', as written
  std::vector<std::string> mentions;  // without '@'
};

// An input that could not be used, and why, in words a person understands.
struct Failure {
  std::string path;
  std::string reason;
};

struct Collection {
  std::vector<ImageRecord> images;
  std::vector<Failure> failures;
  std::size_t videos_skipped = 0;  // videos named by an export: counted, not mapped
  std::size_t posts = 0;           // posts read from an export
};

}  // namespace photoatlas
