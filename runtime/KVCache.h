//===- KVCache.h - The static key/value cache -------------------*- C++ -*-===//
//
// One float32 buffer [layers][2][max_batch][kv_heads][max_seq][head_dim],
// allocated once per loaded model and handed to every prefill/decode call.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_KVCACHE_H
#define LLAMAC_RUNTIME_KVCACHE_H

#include "runtime/ModelABI.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace llamac {

class KVCache {
public:
  /// Allocates a zeroed, page-aligned (so at least 64-byte aligned) cache.
  /// On failure returns null and sets `error`.
  static std::unique_ptr<KVCache> allocate(const std::array<int64_t, 6> &shape,
                                           std::string &error);
  ~KVCache();
  KVCache(const KVCache &) = delete;
  KVCache &operator=(const KVCache &) = delete;

  /// A fresh descriptor each call: the compiled code may not keep it.
  KVCacheRef descriptor() const;

private:
  KVCache(float *data, size_t bytes, const std::array<int64_t, 6> &shape)
      : data(data), bytes(bytes), shape(shape) {}

  float *data;
  size_t bytes;
  std::array<int64_t, 6> shape;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_KVCACHE_H
