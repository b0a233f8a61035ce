//===- Median.h - The median of repeated measurements -----------*- C++ -*-===//
#ifndef LLAMAC_RUNTIME_MEDIAN_H
#define LLAMAC_RUNTIME_MEDIAN_H

#include <algorithm>
#include <cassert>
#include <vector>

namespace llamac {

/// The middle value (the mean of the two middle ones for an even count).
inline double median(std::vector<double> values) {
  assert(!values.empty());
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle]
                           : (values[middle - 1] + values[middle]) / 2;
}

} // namespace llamac

#endif // LLAMAC_RUNTIME_MEDIAN_H
