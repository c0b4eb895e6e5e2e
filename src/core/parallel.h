// A minimal fork-join helper: every parallel stage takes a `num_threads` option
// and calls this, so there is one place that decides how threads are spawned.
#pragma once

#include <cstddef>
#include <functional>

namespace photoatlas {

// Number of threads to use: `requested` if > 0, else the hardware concurrency (at least 1).
int resolve_threads(int requested);

// Runs body(begin, end, thread_index) over [0, n) split into contiguous chunks,
// one per thread. Deterministic partition for a given (n, num_threads).
// Exceptions thrown by a body are rethrown on the calling thread.
void parallel_for_chunks(std::size_t n, int num_threads,
                         const std::function<void(std::size_t, std::size_t, int)>& body);

// Runs body(i) for each i in [0, n) with dynamic scheduling (good for uneven work such
// as decoding images). Exceptions thrown by a body are rethrown on the calling thread.
void parallel_for_dynamic(std::size_t n, int num_threads, const std::function<void(std::size_t)>& body);

}  // namespace photoatlas
