//===- KVCache.cpp - The static key/value cache ---------------------------===//
//
// Anonymous mmap rather than malloc: the pages come zeroed (masked slots hold
// zeros, never NaN garbage that 0 * x would propagate) and are only backed by
// memory once a step writes them, so a long max_seq costs nothing up front.
//
//===----------------------------------------------------------------------===//

#include "runtime/KVCache.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/mman.h>

namespace llamac {

std::unique_ptr<KVCache> KVCache::allocate(const std::array<int64_t, 6> &shape,
                                           std::string &error) {
  size_t bytes = sizeof(float);
  for (int64_t dim : shape)
    bytes *= size_t(dim); // The manifest checked that this cannot overflow.
  void *data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED) {
    error = "cannot allocate the " + std::to_string(bytes >> 20) +
            " MiB KV cache: " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<KVCache>(
      new KVCache(static_cast<float *>(data), bytes, shape));
}

KVCache::~KVCache() { munmap(data, bytes); }

KVCacheRef KVCache::descriptor() const {
  int64_t sizes[6];
  std::copy(shape.begin(), shape.end(), sizes);
  return makeDenseMemRef(data, sizes);
}

} // namespace llamac
