//===- FakeModelRule.h - What the test-only fake model computes -*- C++ -*-===//
//
// FakeModel.cpp stands in for a compiled model.so. For every token it
// records (token, position) in the KV cache and then derives its output
// from the cache slots it may see, [firstSlot[b], its own slot]: a hash of
// that visible history picks a "next token" that gets the largest logit.
// The tests compute the same rule directly on unpadded histories, so any
// slip in slots, positions, masking or row order changes the outcome.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_TEST_UNITTESTS_RUNTIME_FAKEMODELRULE_H
#define LLAMAC_TEST_UNITTESTS_RUNTIME_FAKEMODELRULE_H

#include <cstdint>
#include <vector>

namespace llamac::fake {

/// The output index the fake makes most likely after a history of `count`
/// (token, position) pairs, out of `outputSize`.
inline int32_t nextIndex(const int32_t *tokens, const int32_t *positions,
                         int64_t count, int64_t outputSize) {
  uint64_t hash = 1469598103934665603ull; // FNV-1a
  for (int64_t i = 0; i < count; ++i) {
    hash = (hash ^ uint64_t(uint32_t(tokens[i]))) * 1099511628211ull;
    hash = (hash ^ uint64_t(uint32_t(positions[i]))) * 1099511628211ull;
  }
  // FNV's low bits only see the inputs' low bits; mix the high ones in.
  hash ^= hash >> 29;
  hash *= 0xbf58476d1ce4e5b9ull;
  hash ^= hash >> 32;
  return int32_t(hash % uint64_t(outputSize));
}

/// The fake's full output row: `winner` far ahead, the rest spread out so
/// that sampling has something to choose from.
inline float outputValue(int64_t index, int32_t winner) {
  if (index == winner)
    return 4.0f;
  return -float((index * 37 + winner) % 101) / 50.0f;
}

/// What the fake generates greedily after `prompt` run alone, unpadded:
/// at most `maxNewTokens` ids, ending early with `eos`.
inline std::vector<int32_t> greedy(const std::vector<int32_t> &prompt,
                                   int64_t maxNewTokens, int64_t outputSize,
                                   int32_t eos) {
  std::vector<int32_t> tokens = prompt, positions, generated;
  for (int32_t position = 0; position < int32_t(prompt.size()); ++position)
    positions.push_back(position);
  while (int64_t(generated.size()) < maxNewTokens) {
    int32_t next = nextIndex(tokens.data(), positions.data(),
                             int64_t(tokens.size()), outputSize);
    generated.push_back(next);
    if (next == eos)
      break;
    positions.push_back(int32_t(tokens.size()));
    tokens.push_back(next);
  }
  return generated;
}

} // namespace llamac::fake

#endif // LLAMAC_TEST_UNITTESTS_RUNTIME_FAKEMODELRULE_H
