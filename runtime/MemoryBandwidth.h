//===- MemoryBandwidth.h - This machine's memory read bandwidth -*- C++ -*-===//
//
// Batch-1 decode reads every weight once per token, so the read bandwidth
// of main memory bounds its speed. Measured in the same process as the model
// it is compared with, under the same thread count.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_MEMORYBANDWIDTH_H
#define LLAMAC_RUNTIME_MEMORYBANDWIDTH_H

#include <cstddef>
#include <optional>
#include <string>

namespace llamac {

/// Bytes per second of `threads` threads streaming through a `bytes` buffer
/// (far larger than the last-level cache), the median of `passes` passes.
/// On failure (no memory) returns nullopt and sets `error`.
std::optional<double> measureReadBandwidth(size_t bytes, int threads,
                                           int passes, std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_MEMORYBANDWIDTH_H
