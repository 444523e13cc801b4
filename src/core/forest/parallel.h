// Runs independent tasks on worker threads while the calling thread keeps polling the host's
// cancel check (worker threads must never call into the host).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

#include "core/cancel.h"

namespace ltv::forest {

// Calls task(index, worker, stop) for every index in [0, n_tasks), on min(threads, n_tasks)
// workers numbered 0..; a task reads `stop` to abandon long work. The calling thread polls
// cancel.Check() about every 20 ms. The first exception (from Check() or from a task) stops
// the remaining work, and is rethrown here once every worker has finished.
// Results must be written to per-index slots: which worker runs which index varies.
void ParallelFor(
    size_t n_tasks, int threads, CancelCheck& cancel,
    const std::function<void(size_t index, int worker, const std::atomic<bool>& stop)>& task);

// ParallelFor for tasks that each take well under a second: with one worker (threads = 1 or a
// single task) they run on the calling thread, which polls cancel.Check() between tasks, so
// no thread is started (starting one costs more than, e.g., binning 2,000 rows). Tasks that
// may run long (growing a tree) need ParallelFor, whose `stop` flag is raised mid-task.
void ParallelForShortTasks(
    size_t n_tasks, int threads, CancelCheck& cancel,
    const std::function<void(size_t index, int worker, const std::atomic<bool>& stop)>& task);

}  // namespace ltv::forest
