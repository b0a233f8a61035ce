//===- TokenizerModelFuzzer.cpp - tokenizer.model files -------------------===//
//
// Input: a SentencePiece model file (tokenizer.model travels with
// checkpoints and artifacts, so it is untrusted too). Loading it must fail
// with one line or give a tokenizer that encodes and decodes without
// crashing: its ids in range, BOS and EOS in the vocabulary, every piece
// decodable alone and in a stream. SentencePiece and protobuf themselves are
// not instrumented (Debian's builds): coverage comes from our side of the
// interface, but a crash anywhere in the process is found.
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzSupport.h"
#include "runtime/tokenizer/Tokenizer.h"

#include <algorithm>

using namespace llamac;
using namespace llamac::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  std::string error;
  std::unique_ptr<Tokenizer> tokenizer =
      Tokenizer::loadFromBytes(bytes, "tokenizer.model", error);
  if (!tokenizer) {
    checkErrorMessage(error, "tokenizer.model: ");
    return 0;
  }
  FUZZ_CHECK(tokenizer->contains(tokenizer->bosId()) &&
                 tokenizer->contains(tokenizer->eosId()),
             "BOS or EOS outside the vocabulary");
  for (const char *text : {"Hello world", " <s>x</s> \xF0\x9F\xA6\x99 \n\t", ""}) {
    for (SpecialTokenText special :
         {SpecialTokenText::Plain, SpecialTokenText::Parse,
          SpecialTokenText::ParseLegacy}) {
      EncodeOptions options;
      options.specialTokens = special;
      std::optional<std::vector<TokenId>> ids =
          tokenizer->encode(text, options, error);
      if (!ids)
        continue; // SentencePiece may refuse; the message was checked above.
      for (TokenId id : *ids)
        FUZZ_CHECK(tokenizer->contains(id), "encode gave an unknown id");
      FUZZ_CHECK(tokenizer->decode(*ids, {}, error).has_value(),
                 "its own ids refused: " + error);
    }
  }
  std::vector<TokenId> all;
  for (TokenId id = 0; id < std::min(tokenizer->vocabSize(), 600); ++id)
    all.push_back(id);
  std::optional<std::string> text = tokenizer->decode(all, {}, error);
  FUZZ_CHECK(text.has_value(), "known ids refused: " + error);
  StreamingDecoder stream(*tokenizer);
  std::string streamed;
  for (TokenId id : all) {
    std::optional<std::string> piece = stream.push(id, error);
    FUZZ_CHECK(piece.has_value(), "stream refused a known id");
    streamed += *piece;
  }
  streamed += stream.finish();
  FUZZ_CHECK(streamed == *text, "streamed text differs from decode()");
  return 0;
}
