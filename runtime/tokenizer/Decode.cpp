//===- Decode.cpp - Ids to text, at once and as a stream ------------------===//
//
// Both decoders follow Hugging Face's LlamaTokenizerFast: skipped special
// tokens vanish before anything else, so a run of byte pieces continues
// across them; "▁" becomes a space and the first piece of the sequence loses
// its leading one. (SentencePiece strips "▁" for as long as its output is
// empty, so it decodes [▁, ▁Hello] as "Hello"; Hugging Face gives back the
// " Hello" that was encoded.) Byte runs decode as SentencePiece decodes them
// (Utf8.h).
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/Tokenizer.h"

#include "runtime/tokenizer/Utf8.h"

namespace llamac {

const Tokenizer::Piece *Tokenizer::lookUp(TokenId id,
                                          std::string &error) const {
  if (contains(id))
    return &pieces[id];
  error = "token id " + std::to_string(id) +
          " is not in the vocabulary (size " + std::to_string(vocabSize()) +
          ")";
  return nullptr;
}

void Tokenizer::appendPieceText(const Piece &piece, bool isFirst,
                                std::string &out) {
  if (piece.kind == PieceKind::Special) {
    out += piece.spelling;
    return;
  }
  std::string_view text = piece.text;
  if (isFirst && !text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  out += text;
}

std::optional<std::string> Tokenizer::decode(const std::vector<TokenId> &ids,
                                             const DecodeOptions &options,
                                             std::string &error) const {
  std::string out;
  std::string byteRun;
  bool isFirst = true;
  for (TokenId id : ids) {
    const Piece *piece = lookUp(id, error);
    if (!piece)
      return std::nullopt;
    if (piece->kind == PieceKind::Special && options.skipSpecialTokens)
      continue;
    if (piece->kind == PieceKind::Byte) {
      byteRun += piece->byte;
    } else {
      decodeBytesLossy(byteRun, /*moreMayFollow=*/false, out);
      byteRun.clear();
      appendPieceText(*piece, isFirst, out);
    }
    isFirst = false;
  }
  decodeBytesLossy(byteRun, /*moreMayFollow=*/false, out);
  return out;
}

StreamingDecoder::StreamingDecoder(const Tokenizer &tokenizer,
                                   DecodeOptions options)
    : tokenizer(tokenizer), options(options) {}

std::optional<std::string> StreamingDecoder::push(TokenId id,
                                                  std::string &error) {
  const Tokenizer::Piece *piece = tokenizer.lookUp(id, error);
  if (!piece)
    return std::nullopt;
  std::string out;
  if (piece->kind == Tokenizer::PieceKind::Special && options.skipSpecialTokens)
    return out;

  bool isFirst = !sawPiece;
  sawPiece = true;
  if (piece->kind == Tokenizer::PieceKind::Byte) {
    pendingBytes += piece->byte;
    pendingBytes.erase(
        0, decodeBytesLossy(pendingBytes, /*moreMayFollow=*/true, out));
    return out;
  }
  decodeBytesLossy(pendingBytes, /*moreMayFollow=*/false, out);
  pendingBytes.clear();
  Tokenizer::appendPieceText(*piece, isFirst, out);
  return out;
}

std::string StreamingDecoder::finish() {
  std::string out;
  decodeBytesLossy(pendingBytes, /*moreMayFollow=*/false, out);
  pendingBytes.clear();
  sawPiece = false;
  return out;
}

} // namespace llamac
