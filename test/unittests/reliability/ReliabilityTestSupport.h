//===- ReliabilityTestSupport.h - Helpers for the reliability tests -*- C++ -*-===//
#ifndef LLAMAC_TEST_UNITTESTS_RELIABILITY_RELIABILITYTESTSUPPORT_H
#define LLAMAC_TEST_UNITTESTS_RELIABILITY_RELIABILITYTESTSUPPORT_H

#include <cstdint>
#include <functional>
#include <gtest/gtest.h>
#include <initializer_list>
#include <string>

namespace llamac::reliability {

/// A fresh directory under $TMPDIR, removed with its contents at the end.
class ScratchDir {
public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir &) = delete;
  ScratchDir &operator=(const ScratchDir &) = delete;
  std::string path(const std::string &name = "") const;
  /// Writes `bytes` to `name` in the directory; returns its path.
  std::string write(const std::string &name, const std::string &bytes) const;

private:
  std::string root;
};

/// Runs `body` in a child process and returns how much its peak resident
/// memory grew while it ran, in MiB (the child resets the peak first), or -1
/// when the child did not exit normally. `body` must not leave the process
/// in a state the parent cares about: it runs in a copy.
int64_t peakMemoryGrowthMiB(const std::function<void()> &body);

/// Passes when `error` is one line that contains every part.
::testing::AssertionResult isOneLineNaming(const std::string &error,
                                           std::initializer_list<std::string> parts);

/// A safetensors file: little-endian header length, `header`, `dataBytes`
/// zero bytes.
std::string safetensorsBytes(const std::string &header, size_t dataBytes);

/// A llama2.c header: seven little-endian int32 fields.
std::string llama2cHeader(int32_t dim, int32_t hiddenDim, int32_t layers,
                          int32_t heads, int32_t kvHeads, int32_t vocab,
                          int32_t seqLen);

} // namespace llamac::reliability

#endif // LLAMAC_TEST_UNITTESTS_RELIABILITY_RELIABILITYTESTSUPPORT_H
