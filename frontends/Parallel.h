//===- Parallel.h - Independent work items on every core --------*- C++ -*-===//
//
// For work whose items do not depend on each other or on the order they run
// in: drawing and encoding the weights of a synthetic model, one shard or one
// tensor an item.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FRONTENDS_PARALLEL_H
#define LLAMAC_FRONTENDS_PARALLEL_H

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace llamac {

/// Runs `work(0..count-1)` on up to one thread per core. The first failure
/// (an exception) stops the items not yet started and is rethrown once all
/// threads have stopped.
template <typename Work> void forEachInParallel(size_t count, Work work) {
  const size_t threads =
      std::min<size_t>(count, std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failureMutex;
  auto worker = [&] {
    for (size_t i; (i = next++) < count;) {
      try {
        work(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failureMutex);
        if (!failure)
          failure = std::current_exception();
        next = count;
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t i = 1; i < threads; ++i)
    pool.emplace_back(worker);
  worker();
  for (std::thread &thread : pool)
    thread.join();
  if (failure)
    std::rethrow_exception(failure);
}

} // namespace llamac

#endif // LLAMAC_FRONTENDS_PARALLEL_H
