//===- Utf8.h - The UTF-8 rules the tokenizer shares with SentencePiece -*- C++
//-*-===//
//
// Well-formedness is Unicode's (Table 3-7): no overlong forms, no surrogates,
// nothing above U+10FFFF. SentencePiece decodes byte-fallback pieces with the
// same rule and replaces every byte that does not start a well-formed
// sequence by U+FFFD, one replacement per byte; decodeBytesLossy reproduces
// that so that our decoding equals SentencePiece's.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_TOKENIZER_UTF8_H
#define LLAMAC_RUNTIME_TOKENIZER_UTF8_H

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace llamac {

/// U+FFFD REPLACEMENT CHARACTER.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

/// How many bytes a sequence that starts with `lead` has (1 to 4), or 0 for a
/// byte that cannot start a well-formed sequence.
size_t utf8SequenceLength(unsigned char lead);

/// One code point decoded from the start of a byte string.
struct Utf8Char {
  char32_t codePoint;
  size_t length;
};

/// The code point that `bytes` starts with, or nullopt when `bytes` does not
/// start with a complete, well-formed sequence.
std::optional<Utf8Char> decodeUtf8Char(std::string_view bytes);

/// Byte offset of the first ill-formed sequence in `text`, or nullopt when
/// all of `text` is well-formed.
std::optional<size_t> findIllFormedUtf8(std::string_view text);

/// Decodes `bytes` onto `out`, each byte that does not start a well-formed
/// sequence becoming U+FFFD. With `moreMayFollow` an incomplete sequence at
/// the end is left alone, because the bytes still to come may complete it.
/// Returns how many bytes were consumed.
size_t decodeBytesLossy(std::string_view bytes, bool moreMayFollow,
                        std::string &out);

} // namespace llamac

#endif // LLAMAC_RUNTIME_TOKENIZER_UTF8_H
