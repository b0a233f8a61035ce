//===- MemoryBandwidth.cpp - This machine's memory read bandwidth ---------===//

#include "runtime/MemoryBandwidth.h"

#include "runtime/Median.h"
#include "runtime/Stopwatch.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <sys/mman.h>
#include <thread>
#include <vector>

namespace llamac {

/// Sums 16-byte vectors (GCC/Clang vector extensions, one SSE2/NEON
/// register each) into four independent accumulators, so the loop is bound
/// by loads alone whatever the optimizer decides about vectorization.
static uint64_t sumWords(const uint64_t *begin, const uint64_t *end) {
  typedef uint64_t Vector __attribute__((vector_size(16)));
  auto load = [](const uint64_t *address) {
    Vector loaded;
    __builtin_memcpy(&loaded, address, sizeof(Vector));
    return loaded;
  };
  Vector sum0 = {}, sum1 = {}, sum2 = {}, sum3 = {};
  const uint64_t *word = begin;
  for (; word + 8 <= end; word += 8) {
    sum0 += load(word);
    sum1 += load(word + 2);
    sum2 += load(word + 4);
    sum3 += load(word + 6);
  }
  Vector sum = sum0 + sum1 + sum2 + sum3;
  uint64_t total = sum[0] + sum[1];
  for (; word < end; ++word)
    total += *word;
  return total;
}

/// Runs `work(thread, begin, end)` on `threads` threads, each over its own
/// slice of `words`.
template <typename Work>
static void forEachSlice(uint64_t *words, size_t count, int threads,
                         Work &&work) {
  std::vector<std::thread> workers;
  size_t slice = (count + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    size_t begin = std::min(count, t * slice);
    size_t end = std::min(count, begin + slice);
    workers.emplace_back([&work, t, words, begin, end] {
      work(t, words + begin, words + end);
    });
  }
  for (std::thread &worker : workers)
    worker.join();
}

std::optional<double> measureReadBandwidth(size_t bytes, int threads,
                                           int passes, std::string &error) {
  void *buffer = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buffer == MAP_FAILED) {
    error = "cannot allocate " + std::to_string(bytes >> 20) +
            " MiB to measure memory bandwidth: " + std::strerror(errno);
    return std::nullopt;
  }
  auto *words = static_cast<uint64_t *>(buffer);
  size_t count = bytes / sizeof(uint64_t);
  // Each thread first touches the pages it will read, so they are backed
  // (and, on NUMA machines, placed) before anything is timed.
  forEachSlice(words, count, threads,
               [](int, uint64_t *begin, uint64_t *end) {
                 for (uint64_t *word = begin; word < end; ++word)
                   *word = uint64_t(word - begin);
               });
  std::vector<uint64_t> sums(threads);
  std::vector<double> rates;
  for (int pass = 0; pass < passes; ++pass) {
    double seconds = secondsSpentIn([&] {
      forEachSlice(words, count, threads,
                   [&](int thread, const uint64_t *begin, const uint64_t *end) {
                     sums[thread] += sumWords(begin, end);
                   });
    });
    rates.push_back(double(count * sizeof(uint64_t)) / seconds);
  }
  munmap(buffer, bytes);
  // The sums are otherwise unused; reading them keeps the loads alive.
  volatile uint64_t sink = 0;
  for (uint64_t sum : sums)
    sink = sink + sum;
  return median(rates);
}

} // namespace llamac
