#include "core/rng.h"

#include <cmath>

namespace photoatlas {

double standard_normal(Rng& rng) {
  double u1 = uniform01(rng);
  double u2 = uniform01(rng);
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) {
  // splitmix64 of the pair: cheap, well-mixed, reproducible.
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace photoatlas
