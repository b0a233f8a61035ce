//===- TokenizerTestSupport.h - Helpers for the tokenizer tests -*- C++ -*-===//
//
// Helpers throw on failure: GoogleTest reports an exception that escapes a
// test as that test's failure, so a missing shared file fails, never skips.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_TEST_UNITTESTS_TOKENIZER_TOKENIZERTESTSUPPORT_H
#define LLAMAC_TEST_UNITTESTS_TOKENIZER_TOKENIZERTESTSUPPORT_H

#include "runtime/tokenizer/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <vector>

namespace llamac::testing {

inline constexpr const char *kLlama2TokenizerPath =
    "fixtures/tokenizer/llama2/tokenizer.model";
inline constexpr const char *kStoriesTokenizerPath =
    "models/stories260K/hf/tokenizer.model";

/// A path inside the shared reference directory, which must exist.
std::string sharedPath(const std::string &relative);

/// A JSON file of the shared directory, parsed once.
const nlohmann::json &sharedJson(const std::string &relative);

/// A tokenizer of the shared directory, loaded once.
const Tokenizer &sharedTokenizer(const std::string &relative);
inline const Tokenizer &llama2() {
  return sharedTokenizer(kLlama2TokenizerPath);
}

std::vector<TokenId> idsOf(const nlohmann::json &array);

std::vector<TokenId> encodeOrThrow(const Tokenizer &tokenizer,
                                   const std::string &text,
                                   const EncodeOptions &options);
std::string decodeOrThrow(const Tokenizer &tokenizer,
                          const std::vector<TokenId> &ids,
                          const DecodeOptions &options);

/// The id of a vocabulary entry such as "<0xF0>" or "▁Hello".
TokenId pieceId(const Tokenizer &tokenizer, const std::string &spelling);

/// The byte-fallback pieces that spell `bytes`.
std::vector<TokenId> bytePieceIds(const Tokenizer &tokenizer,
                                  const std::string &bytes);

/// Emoji of one to seven code points: ZWJ sequences, variation selectors,
/// skin tones, flags, a keycap.
const std::vector<std::string> &sampleEmoji();

/// Draws from a fixed-seed generator the same way on every platform (the
/// standard distributions are implementation-defined).
class Draw {
public:
  explicit Draw(uint32_t seed) : engine(seed) {}
  /// Uniform in [0, bound).
  uint32_t below(uint32_t bound) { return engine() % bound; }
  /// Uniform in [low, high].
  uint32_t between(uint32_t low, uint32_t high) {
    return low + below(high - low + 1);
  }
  bool chance(uint32_t percent) { return below(100) < percent; }
  template <typename T> const T &oneOf(const std::vector<T> &choices) {
    return choices[below(static_cast<uint32_t>(choices.size()))];
  }

private:
  std::mt19937 engine;
};

/// Appends the UTF-8 encoding of `codePoint`.
void appendUtf8(char32_t codePoint, std::string &out);

} // namespace llamac::testing

#endif // LLAMAC_TEST_UNITTESTS_TOKENIZER_TOKENIZERTESTSUPPORT_H
