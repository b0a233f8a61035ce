//===- TokenizerFuzzer.cpp - The tokenizer front on arbitrary bytes -------===//
//
// With the real Llama 2 tokenizer.model from the shared fixtures, the first
// input byte picks a mode and the encode options, the rest is the text (or
// the ids). Promises checked (Tokenizer.h):
//   encode: fails exactly when the text is not well-formed UTF-8, with one
//           line; otherwise every id is in the vocabulary, BOS first when
//           asked for, and special-token strings become ids only when
//           parsing them was asked for;
//   decode: ids outside the vocabulary are an error; otherwise the pieces of
//           StreamingDecoder concatenate to exactly what decode() returns,
//           and the text is well-formed UTF-8.
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzSupport.h"
#include "fuzz/SharedTokenizer.h"
#include "runtime/tokenizer/Tokenizer.h"
#include "runtime/tokenizer/Utf8.h"

#include <algorithm>

using namespace llamac;
using namespace llamac::fuzz;

static const Tokenizer &tokenizer() {
  return sharedTokenizer("fixtures/tokenizer/llama2/tokenizer.model");
}

static void fuzzEncode(uint8_t mode, std::string_view text) {
  const Tokenizer &tok = tokenizer();
  EncodeOptions options;
  options.addSpecialTokens = mode & 1;
  options.addDummyPrefix = mode & 2;
  options.specialTokens = (mode >> 2) % 3 == 0   ? SpecialTokenText::Plain
                          : (mode >> 2) % 3 == 1 ? SpecialTokenText::Parse
                                                 : SpecialTokenText::ParseLegacy;
  std::string error;
  std::optional<std::vector<TokenId>> ids = tok.encode(text, options, error);
  const bool wellFormed = !findIllFormedUtf8(text).has_value();
  FUZZ_CHECK(ids.has_value() == wellFormed,
             ids ? "ill-formed UTF-8 encoded" : "well-formed text refused: " + error);
  if (!ids) {
    checkErrorMessage(error, "text is not valid UTF-8");
    return;
  }
  FUZZ_CHECK(!options.addSpecialTokens || (!ids->empty() && ids->front() == tok.bosId()),
             "no BOS first");
  for (size_t i = 0; i < ids->size(); ++i) {
    TokenId id = (*ids)[i];
    FUZZ_CHECK(tok.contains(id), "id outside the vocabulary");
    if (options.specialTokens == SpecialTokenText::Plain &&
        !(i == 0 && options.addSpecialTokens))
      FUZZ_CHECK(!tok.isSpecial(id) || id == 0,
                 "a control token injected from plain text: " + std::to_string(id));
  }
}

static void fuzzDecode(uint8_t mode, std::string_view bytes) {
  const Tokenizer &tok = tokenizer();
  // Two bytes per id, over a range a little past the vocabulary; the byte
  // pieces (3..258) are made likely so incomplete UTF-8 runs occur.
  std::vector<TokenId> ids;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    unsigned value = uint8_t(bytes[i]) | unsigned(uint8_t(bytes[i + 1])) << 8;
    ids.push_back(value & 0x8000 ? TokenId(3 + value % 256)
                                 : TokenId(value % (tok.vocabSize() + 16)) -
                                       (value & 0x4000 ? 8 : 0));
  }
  DecodeOptions options;
  options.skipSpecialTokens = mode & 1;
  std::string error;
  std::optional<std::string> text = tok.decode(ids, options, error);
  bool allKnown = std::all_of(ids.begin(), ids.end(),
                              [&](TokenId id) { return tok.contains(id); });
  FUZZ_CHECK(text.has_value() == allKnown,
             text ? "unknown id decoded" : "known ids refused: " + error);
  if (!text) {
    checkErrorMessage(error, "token id ");
    return;
  }
  FUZZ_CHECK(!findIllFormedUtf8(*text), "decode gave ill-formed UTF-8");
  StreamingDecoder stream(tok, options);
  std::string streamed;
  for (TokenId id : ids) {
    std::optional<std::string> piece = stream.push(id, error);
    FUZZ_CHECK(piece.has_value(), "stream refused a known id: " + error);
    streamed += *piece;
  }
  streamed += stream.finish();
  FUZZ_CHECK(streamed == *text, "streamed text differs from decode()");
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  const uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char *>(data + 1), size - 1);
  if (mode & 0x80)
    fuzzDecode(mode, rest);
  else
    fuzzEncode(mode, rest);
  return 0;
}
