// A fixed set of threads for many short parallel regions. parallel_for_chunks starts threads per
// call (~20-50 µs of CPU each, kernel time included); a t-SNE run enters a region per iteration,
// ~1000 of them at ~1 ms each, where that and std::barrier's sched_yield loop were ~10% of the CPU
// time. The team's threads live as long as it does and wait by spinning briefly, then sleeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace photoatlas {

class WorkerTeam {
 public:
  explicit WorkerTeam(int threads);  // threads < 1 counts as 1; threads - 1 background threads
  ~WorkerTeam();
  WorkerTeam(const WorkerTeam&) = delete;
  WorkerTeam& operator=(const WorkerTeam&) = delete;

  int size() const { return size_; }
  // Runs body(worker) for every worker in [0, size()), worker 0 on the calling thread; returns
  // when all have finished and rethrows the first exception one of them raised. Not reentrant.
  void run(const std::function<void(int)>& body);
  // Inside run(): returns when every worker has called it (the same number of times). A body
  // that throws must do so on every worker before, or after, its barriers (or none).
  void barrier();

 private:
  void work(int worker);

  int size_ = 1;
  std::vector<std::thread> threads_;
  const std::function<void(int)>* body_ = nullptr;
  std::atomic<std::uint32_t> generation_{0};  // bumped per run(); workers wait for a change
  std::atomic<std::uint32_t> pending_{0};     // background workers still in the current run
  std::atomic<std::uint32_t> arrived_{0};     // at the current barrier
  std::atomic<std::uint32_t> barrier_generation_{0};
  std::atomic<bool> stop_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace photoatlas
