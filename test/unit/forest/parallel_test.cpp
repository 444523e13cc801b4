#include "core/forest/parallel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace ltv::forest;

TEST(ParallelForShortTasks, OneWorkerRunsOnTheCallingThreadInOrder) {
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<size_t> order;
  bool elsewhere = false;
  ParallelForShortTasks(50, 1, ltv::CancelCheck::None(),
                        [&](size_t i, int worker, const std::atomic<bool>&) {
                          elsewhere |= std::this_thread::get_id() != caller || worker != 0;
                          order.push_back(i);
                        });
  EXPECT_FALSE(elsewhere);
  ASSERT_EQ(order.size(), 50u);
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], i);
}

TEST(ParallelForShortTasks, PollsTheHostBetweenTasksAndStopsWhenItThrows) {
  int polls = 0;
  ltv::CancelCheck cancel([&] {
    if (++polls == 3) throw std::runtime_error("cancelled");
  });
  int ran = 0;
  // Tasks of ~10 ms: the host is polled every ~20 ms, so the third poll comes after about
  // four tasks, and nothing runs after it.
  EXPECT_THROW(ParallelForShortTasks(100, 1, cancel,
                                     [&](size_t, int, const std::atomic<bool>&) {
                                       std::this_thread::sleep_for(std::chrono::milliseconds(10));
                                       ++ran;
                                     }),
               std::runtime_error);
  EXPECT_EQ(polls, 3);
  EXPECT_GE(ran, 2);
  EXPECT_LT(ran, 20);
}

TEST(ParallelForShortTasks, SeveralWorkersRunEveryTaskOnce) {
  std::vector<std::atomic<int>> runs(1000);
  ParallelForShortTasks(runs.size(), 3, ltv::CancelCheck::None(),
                        [&](size_t i, int, const std::atomic<bool>&) { ++runs[i]; });
  for (size_t i = 0; i < runs.size(); ++i) ASSERT_EQ(runs[i].load(), 1) << i;
}
