#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "core/worker_team.h"

namespace photoatlas {
namespace {

TEST(WorkerTeam, RunsEveryWorkerOncePerRunManyTimes) {
  for (int threads : {1, 2, 3}) {
    WorkerTeam team(threads);
    EXPECT_EQ(team.size(), threads);
    std::vector<std::atomic<int>> calls(static_cast<std::size_t>(threads));
    for (int r = 0; r < 500; ++r)
      team.run([&](int worker) { calls[static_cast<std::size_t>(worker)].fetch_add(1); });
    for (auto& c : calls) EXPECT_EQ(c.load(), 500);
  }
  EXPECT_EQ(WorkerTeam(0).size(), 1);
}

TEST(WorkerTeam, BarrierSeparatesStages) {
  // Each stage writes one slot per worker; after the barrier every worker reads all of them.
  const int threads = 3;
  WorkerTeam team(threads);
  std::vector<int> slots(threads, 0);
  std::atomic<int> mismatches{0};
  for (int round = 1; round <= 200; ++round) {
    team.run([&](int worker) {
      slots[static_cast<std::size_t>(worker)] = round;
      team.barrier();
      for (int v : slots)
        if (v != round) mismatches.fetch_add(1);
      team.barrier();
      slots[static_cast<std::size_t>(worker)] = -round;
      team.barrier();
      for (int v : slots)
        if (v != -round) mismatches.fetch_add(1);
    });
  }
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(WorkerTeam, RethrowsAWorkersExceptionAndStaysUsable) {
  WorkerTeam team(2);
  EXPECT_THROW(team.run([](int worker) {
    if (worker == 1) throw std::runtime_error("worker 1 failed");
  }),
               std::runtime_error);
  EXPECT_THROW(team.run([](int worker) {
    if (worker == 0) throw std::logic_error("caller failed");
  }),
               std::logic_error);
  std::atomic<int> calls{0};
  team.run([&](int) { calls.fetch_add(1); });
  EXPECT_EQ(calls.load(), 2);
}

}  // namespace
}  // namespace photoatlas
