//===- Utf8.cpp - The UTF-8 rules the tokenizer shares with SentencePiece -===//

#include "runtime/tokenizer/Utf8.h"

namespace llamac {

namespace {

bool isContinuationByte(unsigned char byte) { return (byte & 0xC0) == 0x80; }

/// The smallest code point each sequence length may encode: anything below
/// is an overlong form.
char32_t minimumCodePoint(size_t length) {
  switch (length) {
  case 2:
    return 0x80;
  case 3:
    return 0x800;
  case 4:
    return 0x10000;
  default:
    return 0;
  }
}

bool isScalarValue(char32_t codePoint) {
  return codePoint < 0xD800 || (codePoint >= 0xE000 && codePoint <= 0x10FFFF);
}

} // namespace

size_t utf8SequenceLength(unsigned char lead) {
  if (lead < 0x80)
    return 1;
  if (lead >= 0xC2 && lead <= 0xDF)
    return 2;
  if (lead >= 0xE0 && lead <= 0xEF)
    return 3;
  if (lead >= 0xF0 && lead <= 0xF4)
    return 4;
  return 0;
}

std::optional<Utf8Char> decodeUtf8Char(std::string_view bytes) {
  if (bytes.empty())
    return std::nullopt;
  auto lead = static_cast<unsigned char>(bytes[0]);
  size_t length = utf8SequenceLength(lead);
  if (length == 0 || bytes.size() < length)
    return std::nullopt;
  if (length == 1)
    return Utf8Char{lead, 1};

  // The lead byte keeps 7 - length payload bits.
  char32_t codePoint = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    auto byte = static_cast<unsigned char>(bytes[i]);
    if (!isContinuationByte(byte))
      return std::nullopt;
    codePoint = (codePoint << 6) | (byte & 0x3F);
  }
  if (codePoint < minimumCodePoint(length) || !isScalarValue(codePoint))
    return std::nullopt;
  return Utf8Char{codePoint, length};
}

std::optional<size_t> findIllFormedUtf8(std::string_view text) {
  size_t offset = 0;
  while (offset < text.size()) {
    std::optional<Utf8Char> next = decodeUtf8Char(text.substr(offset));
    if (!next)
      return offset;
    offset += next->length;
  }
  return std::nullopt;
}

size_t decodeBytesLossy(std::string_view bytes, bool moreMayFollow,
                        std::string &out) {
  size_t offset = 0;
  while (offset < bytes.size()) {
    std::string_view rest = bytes.substr(offset);
    size_t expected = utf8SequenceLength(static_cast<unsigned char>(rest[0]));
    // Deciding needs the whole sequence: a byte still to come may complete
    // it, or may show it to be ill-formed.
    if (moreMayFollow && expected > rest.size())
      break;
    if (std::optional<Utf8Char> next = decodeUtf8Char(rest)) {
      out.append(rest.substr(0, next->length));
      offset += next->length;
    } else {
      out.append(kReplacementCharacter);
      ++offset;
    }
  }
  return offset;
}

} // namespace llamac
