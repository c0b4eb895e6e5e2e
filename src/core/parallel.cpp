#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace photoatlas {

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

namespace {
// Runs worker(0 .. count-1): worker 0 on the calling thread (it would otherwise only wait in
// join; a t-SNE run starts a region per iteration, and each spawned thread costs ~10-20 µs of
// CPU), the others on new threads. Joins them all and rethrows the first exception raised.
void run_workers(int count, const std::function<void(int)>& worker) {
  if (count <= 1) {
    worker(0);
    return;
  }
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto guarded = [&](int t) {
    try {
      worker(t);
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(count - 1);
  for (int t = 1; t < count; ++t) threads.emplace_back(guarded, t);
  guarded(0);
  for (auto& th : threads) th.join();
  if (first_error) std::rethrow_exception(first_error);
}
}  // namespace

void parallel_for_chunks(std::size_t n, int num_threads,
                         const std::function<void(std::size_t, std::size_t, int)>& body) {
  if (n == 0) return;
  int threads = static_cast<int>(std::min<std::size_t>(resolve_threads(num_threads), n));
  run_workers(threads, [&](int t) {
    std::size_t begin = n * t / threads;
    std::size_t end = n * (t + 1) / threads;
    if (begin < end) body(begin, end, t);
  });
}

void parallel_for_dynamic(std::size_t n, int num_threads, const std::function<void(std::size_t)>& body) {
  if (n == 0) return;
  int threads = static_cast<int>(std::min<std::size_t>(resolve_threads(num_threads), n));
  std::atomic<std::size_t> next{0};
  run_workers(threads, [&](int) {
    for (std::size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) body(i);
  });
}

}  // namespace photoatlas
