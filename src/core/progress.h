// Progress reporting: stages call a plain callback; the CLI decides how to show it.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace photoatlas {

// Called as work advances: `done` of `total` units of the named stage.
// A stage may call it from any thread but never concurrently with itself
// (stages serialise their calls). An empty function means "no progress wanted".
using ProgressCallback = std::function<void(std::size_t done, std::size_t total)>;

inline void report(const ProgressCallback& cb, std::size_t done, std::size_t total) {
  if (cb) cb(done, total);
}

}  // namespace photoatlas
