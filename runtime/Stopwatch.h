//===- Stopwatch.h - Wall-clock time of a piece of work ---------*- C++ -*-===//
#ifndef LLAMAC_RUNTIME_STOPWATCH_H
#define LLAMAC_RUNTIME_STOPWATCH_H

#include <chrono>
#include <cstdint>

namespace llamac {

/// The seconds since `start`.
inline double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// Runs `work` and returns the seconds it took.
template <typename Work> double secondsSpentIn(Work &&work) {
  auto start = std::chrono::steady_clock::now();
  work();
  return secondsSince(start);
}

/// `count` things done in `seconds`, per second; 0 when no time passed.
inline double perSecond(int64_t count, double seconds) {
  return seconds > 0 ? double(count) / seconds : 0;
}

} // namespace llamac

#endif // LLAMAC_RUNTIME_STOPWATCH_H
