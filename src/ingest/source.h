// Where an image's bytes come from: a plain file, or a member of a ZIP archive.
#pragma once

#include <cstdint>
#include <string>

#include "core/collection.h"
#include "ingest/decode.h"

namespace photoatlas::ingest {

// The bytes of an archive member (archives are opened once per process and shared). Throws
// std::runtime_error with a readable reason.
std::string read_archive_member(const std::string& archive, const std::string& member,
                                std::uint64_t max_bytes = 512ull << 20);

// Content hash (xxHash3-64) of the image's bytes, wherever they are.
std::uint64_t hash_record(const ImageRecord& record);

// Decodes the image, wherever its bytes are. Throws DecodeError.
DecodedImage decode_record(const ImageRecord& record, const DecodeOptions& options);

}  // namespace photoatlas::ingest
