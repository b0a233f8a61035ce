//===- TestSupport.h - Helpers for the frontend tests -----------*- C++ -*-===//
#ifndef LLAMAC_TEST_UNITTESTS_FRONTENDS_TESTSUPPORT_H
#define LLAMAC_TEST_UNITTESTS_FRONTENDS_TESTSUPPORT_H

#include "frontends/ModelSpec.h"
#include "frontends/SafetensorsWriter.h"

#include <gtest/gtest.h>
#include <initializer_list>
#include <string>

namespace llamac::testing {

/// A fresh directory under $TMPDIR, removed with its contents at the end.
class TempDir {
public:
  TempDir();
  ~TempDir();
  std::string path(const std::string &name = "") const;
  /// Writes `bytes` to `name` inside the directory and returns its path.
  std::string write(const std::string &name, const std::string &bytes) const;

private:
  std::string root;
};

/// A path inside the shared reference directory. Tests that use it fail
/// (rather than skip) when it is missing.
std::string sharedPath(const std::string &relative);

/// Passes when `error` is one line that contains every part.
::testing::AssertionResult mentions(const std::string &error,
                                    std::initializer_list<std::string> parts);

/// A safetensors file with a hand-written header and `dataBytes` zero bytes.
std::string rawSafetensors(const std::string &header, size_t dataBytes);

/// A small, valid config: 2 layers, 4 heads, 2 kv heads, head_dim 4.
LlamaConfig tinyConfig();

/// The weights of `spec` as writable tensors (to rewrite them modified).
std::vector<SafetensorsTensorData> tensorsOf(const ModelSpec &spec);

/// Compares every field; the message names the first that differs.
::testing::AssertionResult sameConfig(const LlamaConfig &actual,
                                      const LlamaConfig &expected);

} // namespace llamac::testing

#endif // LLAMAC_TEST_UNITTESTS_FRONTENDS_TESTSUPPORT_H
