//===- FakeModel.cpp - A test-only stand-in for a compiled model.so -------===//
//
// Implements runtime/ModelABI.h with the rule of FakeModelRule.h, so that
// the runtime's generation loop can be tested without the compiler. It also
// counts its calls, so tests can check that a refused request computed
// nothing, and can be held at its next call, so that a server's requests
// queue behind one that is running.
//
//===----------------------------------------------------------------------===//

#include "runtime/ModelABI.h"
#include "test/unittests/runtime/FakeModelRule.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

using namespace llamac;

/// Read by tests while a server's thread calls the model.
static std::atomic<int64_t> callCount{0};

static std::mutex holdMutex;
static std::condition_variable released;
static bool held = false;

/// Waits while the model is held.
static void waitUntilReleased() {
  std::unique_lock<std::mutex> lock(holdMutex);
  released.wait(lock, [] { return !held; });
}

template <typename T, int Rank>
static T &element(MemRefDescriptor<T, Rank> *ref,
                  const std::vector<int64_t> &index) {
  int64_t offset = ref->offset;
  for (int i = 0; i < Rank; ++i)
    offset += index[i] * ref->strides[i];
  return ref->aligned[offset];
}

/// Layer 0, keys, kv head 0: element 0 of a slot holds its token, element 1
/// its position.
static float &cacheEntry(KVCacheRef *cache, int64_t row, int64_t slot,
                         int64_t field) {
  return element(cache, {0, 0, row, 0, slot, field});
}

/// The weights are not read: the rule depends on the tokens alone.
static void run(KVCacheRef *cache, MemRefDescriptor<int32_t, 2> *tokens,
                MemRefDescriptor<int32_t, 2> *positions,
                MemRefDescriptor<int32_t, 1> *firstSlot, int64_t startSlot,
                MemRefDescriptor<float, 3> *output) {
  ++callCount;
  waitUntilReleased();
  const int64_t batch = tokens->sizes[0], length = tokens->sizes[1];
  // The output holds the last `kept` positions of each row.
  const int64_t kept = output->sizes[1], outputSize = output->sizes[2];
  for (int64_t row = 0; row < batch; ++row) {
    for (int64_t t = 0; t < length; ++t) {
      cacheEntry(cache, row, startSlot + t, 0) =
          float(element(tokens, {row, t}));
      cacheEntry(cache, row, startSlot + t, 1) =
          float(element(positions, {row, t}));
    }
    for (int64_t t = length - kept; t < length; ++t) {
      std::vector<int32_t> visibleTokens, visiblePositions;
      for (int64_t slot = element(firstSlot, {row}); slot <= startSlot + t;
           ++slot) {
        visibleTokens.push_back(int32_t(cacheEntry(cache, row, slot, 0)));
        visiblePositions.push_back(int32_t(cacheEntry(cache, row, slot, 1)));
      }
      int32_t winner =
          fake::nextIndex(visibleTokens.data(), visiblePositions.data(),
                          int64_t(visibleTokens.size()), outputSize);
      for (int64_t i = 0; i < outputSize; ++i)
        element(output, {row, t - (length - kept), i}) =
            fake::outputValue(i, winner);
    }
  }
}

extern "C" {
void _mlir_ciface_prefill(void *const *, KVCacheRef *cache,
                          MemRefDescriptor<int32_t, 2> *tokens,
                          MemRefDescriptor<int32_t, 2> *positions,
                          MemRefDescriptor<int32_t, 1> *firstSlot,
                          int64_t startSlot,
                          MemRefDescriptor<float, 3> *output) {
  run(cache, tokens, positions, firstSlot, startSlot, output);
}

void _mlir_ciface_decode(void *const *, KVCacheRef *cache,
                         MemRefDescriptor<int32_t, 2> *tokens,
                         MemRefDescriptor<int32_t, 2> *positions,
                         MemRefDescriptor<int32_t, 1> *firstSlot,
                         int64_t startSlot,
                         MemRefDescriptor<float, 3> *output) {
  run(cache, tokens, positions, firstSlot, startSlot, output);
}

int64_t fakeModelCallCount() { return callCount; }

void fakeModelHold(bool hold) {
  {
    std::lock_guard<std::mutex> lock(holdMutex);
    held = hold;
  }
  released.notify_all();
}
}
