//===- ScratchArena.h - Bump allocation over preallocated memory -*- C++ -*-===//
//
// The compiled host code asks for its scratch buffers with gpu.alloc at the
// start of every prefill/decode call. Serving them from one preallocated
// device buffer, rewound before each call, makes the addresses identical
// from call to call: a decode step captured into a CUDA graph stays valid.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_CUDA_SCRATCHARENA_H
#define LLAMAC_RUNTIME_CUDA_SCRATCHARENA_H

#include <cstdint>
#include <optional>

namespace llamac::cuda {

class ScratchArena {
public:
  /// Every allocation starts at a multiple of this (as cuMemAlloc does).
  static constexpr uint64_t kAlignment = 256;

  void reset(uint64_t base, uint64_t bytes) {
    this->base = base;
    capacity = bytes;
    used = 0;
  }
  void rewind() { used = 0; }

  /// The address of `bytes` fresh bytes, or nullopt when they do not fit.
  std::optional<uint64_t> allocate(uint64_t bytes) {
    uint64_t start = (used + kAlignment - 1) / kAlignment * kAlignment;
    if (start > capacity || bytes > capacity - start)
      return std::nullopt;
    used = start + bytes;
    return base + start;
  }

  uint64_t bytesUsed() const { return used; }

private:
  uint64_t base = 0;
  uint64_t capacity = 0;
  uint64_t used = 0;
};

} // namespace llamac::cuda

#endif // LLAMAC_RUNTIME_CUDA_SCRATCHARENA_H
