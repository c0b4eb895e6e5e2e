#include "core/worker_team.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PHOTOATLAS_PAUSE() _mm_pause()
#else
#define PHOTOATLAS_PAUSE() std::this_thread::yield()
#endif

namespace photoatlas {
namespace {

// Spins ~20-50 µs (waits in a t-SNE iteration are mostly shorter), then sleeps in the kernel.
constexpr int kSpins = 2000;

void await_change(const std::atomic<std::uint32_t>& value, std::uint32_t old) {
  for (int i = 0; i < kSpins; ++i) {
    if (value.load(std::memory_order_acquire) != old) return;
    PHOTOATLAS_PAUSE();
  }
  while (value.load(std::memory_order_acquire) == old) value.wait(old, std::memory_order_acquire);
}

}  // namespace

WorkerTeam::WorkerTeam(int threads) : size_(std::max(1, threads)) {
  threads_.reserve(static_cast<std::size_t>(size_ - 1));
  for (int t = 1; t < size_; ++t) threads_.emplace_back([this, t] { work(t); });
}

WorkerTeam::~WorkerTeam() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void WorkerTeam::work(int worker) {
  std::uint32_t seen = 0;
  for (;;) {
    await_change(generation_, seen);
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_acquire)) return;
    try {
      (*body_)(worker);
    } catch (...) {
      std::lock_guard lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_all();
  }
}

void WorkerTeam::run(const std::function<void(int)>& body) {
  error_ = nullptr;
  if (size_ > 1) {
    body_ = &body;
    pending_.store(static_cast<std::uint32_t>(size_ - 1), std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();
  }
  try {
    body(0);
  } catch (...) {
    std::lock_guard lock(error_mutex_);
    if (!error_) error_ = std::current_exception();
  }
  if (size_ > 1) {
    for (std::uint32_t left = pending_.load(std::memory_order_acquire); left != 0;
         left = pending_.load(std::memory_order_acquire))
      await_change(pending_, left);
  }
  if (error_) std::rethrow_exception(error_);
}

void WorkerTeam::barrier() {
  if (size_ <= 1) return;
  const std::uint32_t generation = barrier_generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == static_cast<std::uint32_t>(size_)) {
    arrived_.store(0, std::memory_order_relaxed);
    barrier_generation_.fetch_add(1, std::memory_order_acq_rel);
    barrier_generation_.notify_all();
  } else {
    await_change(barrier_generation_, generation);
  }
}

}  // namespace photoatlas
