// Seeded randomness: every random choice in a stage derives from its options' seed.
#pragma once

#include <cstdint>
#include <random>

namespace photoatlas {

// A fixed, portable engine (std::mt19937_64 is specified bit-exactly by the standard;
// the std distributions are not, so stages draw uniforms/normals through these helpers).
using Rng = std::mt19937_64;

// Uniform in [0, 1).
inline double uniform01(Rng& rng) { return (rng() >> 11) * (1.0 / 9007199254740992.0); }

// Standard normal by Box-Muller (portable across standard libraries, unlike std::normal_distribution).
double standard_normal(Rng& rng);

// Derives an independent stream seed for sub-task `index` of a stage seeded with `seed`.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index);

}  // namespace photoatlas
