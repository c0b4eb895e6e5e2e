// Near-duplicate groups: photos whose perceptual hashes are close and, when feature vectors are
// given, whose features agree too (the study noticed two macchiatos with slightly different latte art).
#pragma once

#include <cstdint>
#include <vector>

#include "core/matrix.h"

namespace photoatlas::cluster {

// A pair is near-identical when its perceptual hashes differ in at most `strong_hamming` bits, or,
// when features are given, in at most `max_hamming` bits with feature cosine at least `min_cosine`.
// Measured on intel_scenes photos (40 originals, 4 edits each, 780 distinct pairs; InceptionV3
// mixed5 features centred by PCA): re-encoding at quality 60, resizing to 60% and +20 brightness
// move at most 4 bits, a 5% crop up to 16 bits with centred cosine >= 0.78; distinct photos differ
// in at least 18 bits and reach centred cosine 0.67 at most. Uncentred CNN features are useless
// here (distinct photos reach cosine 0.96), hence centred (PCA) features. On all 2158 photos,
// looser limits (6 / 20 / 0.70) chained similar forests and streets into 145 false groups; these
// find the 4 true duplicate groups the set contains and nothing else.
struct DuplicateOptions {
  int strong_hamming = 5;         // this close, the hashes alone decide (of 64 bits; unrelated photos differ by ~32)
  int max_hamming = 12;           // with features: hashes this close...
  double min_cosine = 0.85;       // ... and centred features at least this similar
  std::size_t max_images = 300000;  // all-pairs comparison beyond this would take too long: returns no groups
  int num_threads = 0;            // 0 = all cores
};

// Groups (each sorted, at least two members, ordered by first member) of near-identical images.
// `features` may be empty (hash only) or have one row per hash (centred: e.g. PCA-reduced).
std::vector<std::vector<std::size_t>> find_duplicate_groups(const std::vector<std::uint64_t>& hashes,
                                                            const FloatMatrix& features,
                                                            const DuplicateOptions& options = {});

}  // namespace photoatlas::cluster
