//===- FakeArtifact.h - Artifacts around the fake model for tests -*- C++ -*-===//
//
// Builds what `llamac compile` would: a manifest.json whose library is the
// test-only fake model (FakeModel.cpp) and whose weight table is that of a
// synthesized checkpoint, so the runtime can be tested without the compiler.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_TEST_UNITTESTS_RUNTIME_FAKEARTIFACT_H
#define LLAMAC_TEST_UNITTESTS_RUNTIME_FAKEARTIFACT_H

#include "frontends/ModelSpec.h"

#include <nlohmann/json.hpp>
#include <string>

namespace llamac::test {

/// A fresh directory under the system's temporary directory, removed with
/// everything in it when the object goes away.
class TemporaryDirectory {
public:
  TemporaryDirectory();
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory &) = delete;
  TemporaryDirectory &operator=(const TemporaryDirectory &) = delete;

  const std::string &path() const { return root; }
  std::string operator/(const std::string &name) const;

private:
  std::string root;
};

/// Vocabulary 64, so that a hashed next token hits EOS (2) now and then.
LlamaConfig tinyCausalConfig();
/// Three labels, pad id 0.
LlamaConfig tinyClassifierConfig();

struct FakeArtifact {
  std::string checkpointDir;
  std::string artifactDir;
  nlohmann::json manifest; ///< What artifactDir/manifest.json holds.
};

/// Synthesizes a checkpoint of `config` in `root`/checkpoint and writes
/// `root`/artifact.lmc/manifest.json for it. Test assertions fail on error.
FakeArtifact makeFakeArtifact(const TemporaryDirectory &root,
                              const LlamaConfig &config, int64_t maxBatch,
                              int64_t maxSeq);

/// The fake artifact of `config` with stories260K's tokenizer (tok512.model,
/// 512 pieces) copied in as `llamac compile` copies a checkpoint's.
FakeArtifact makeFakeArtifactWithTokenizer(const TemporaryDirectory &root,
                                           const LlamaConfig &config,
                                           int64_t maxBatch, int64_t maxSeq);

/// Writes `artifactDir`/manifest.json.
void writeManifest(const std::string &artifactDir,
                   const nlohmann::json &manifest);

/// Calls to the fake model's entry points so far in this process, a held
/// one included.
int64_t fakeModelCallCount();

/// Holds the fake model's calls from now on (`hold`), or lets them go on.
void fakeModelHold(bool hold);

} // namespace llamac::test

#endif // LLAMAC_TEST_UNITTESTS_RUNTIME_FAKEARTIFACT_H
