//===- SharedTokenizer.h - A tokenizer of the shared fixtures ---*- C++ -*-===//
#ifndef LLAMAC_FUZZ_SHAREDTOKENIZER_H
#define LLAMAC_FUZZ_SHAREDTOKENIZER_H

#include "fuzz/FuzzSupport.h"
#include "runtime/tokenizer/Tokenizer.h"

#include <cstdio>
#include <cstdlib>

namespace llamac::fuzz {

/// Loads sharedDir()/`relativePath` on the first call (a target reads one
/// tokenizer); a target that cannot exits with status 2 before fuzzing.
inline const Tokenizer &sharedTokenizer(const char *relativePath) {
  static std::unique_ptr<Tokenizer> loaded = [&] {
    std::string error;
    std::unique_ptr<Tokenizer> result =
        Tokenizer::load(sharedDir() + "/" + relativePath, error);
    if (!result) {
      std::fprintf(stderr, "fuzz setup: %s\n", error.c_str());
      std::exit(2);
    }
    return result;
  }();
  return *loaded;
}

} // namespace llamac::fuzz

#endif // LLAMAC_FUZZ_SHAREDTOKENIZER_H
