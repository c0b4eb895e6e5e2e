// Perceptual hash (DCT hash): 64 bits that stay nearly the same when a photo is re-encoded,
// resized, slightly cropped or brightened, and differ in about half their bits between
// unrelated photos. Used to find near-duplicates.
#pragma once

#include <cstdint>

#include "ingest/image.h"

namespace photoatlas::features {

// The photo's luminance resized to 32x32, its 2-D DCT-II, and one bit per coefficient of the 8x8
// lowest frequencies (the DC term excluded: brightness shifts move only it) above their median.
std::uint64_t perceptual_hash(const ingest::RgbImage& image);

inline int hamming_distance(std::uint64_t a, std::uint64_t b) { return __builtin_popcountll(a ^ b); }

}  // namespace photoatlas::features
