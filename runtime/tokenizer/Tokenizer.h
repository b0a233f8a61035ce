//===- Tokenizer.h - The Llama 2 SentencePiece tokenizer --------*- C++ -*-===//
//
// Encodes and decodes like Hugging Face's LlamaTokenizerFast (what
// AutoTokenizer gives for a Llama 2 checkpoint) on top of the SentencePiece
// library, which does the BPE itself.
//
// Special-token strings ("<s>", "</s>", "<unk>") in the text are plain text
// unless the caller opts in to parsing them: text from a user must not be
// able to inject control tokens.
//
// Errors never throw and never abort: functions return nullopt/nullptr and
// set `error` to one line.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_TOKENIZER_TOKENIZER_H
#define LLAMAC_RUNTIME_TOKENIZER_TOKENIZER_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
} // namespace sentencepiece

namespace llamac {

/// The compiled model's token type (see runtime/ModelABI.h).
using TokenId = int32_t;

/// What encoding does with special-token strings found in the text.
enum class SpecialTokenText {
  /// Encoded as ordinary text, as SentencePiece does ("<s>" gives '<' 's' '>').
  Plain,
  /// Parsed into their ids as Hugging Face does with `legacy=True`: every
  /// stretch of text between special tokens gets the dummy "▁" prefix.
  ParseLegacy,
  /// Parsed as Hugging Face does with `legacy=False` (the fixed behaviour,
  /// which its chat template tokenization uses): only text at the very start
  /// of the input gets the dummy prefix, and not when it already starts with
  /// a space.
  Parse,
};

struct EncodeOptions {
  /// Prepend BOS, like Hugging Face's `add_special_tokens=True`.
  bool addSpecialTokens = true;
  /// SentencePiece's `add_dummy_prefix`: a "▁" before the text, so that its
  /// first word is encoded like a word in the middle of a sentence. This
  /// overrides the model file's own setting, as Hugging Face does.
  bool addDummyPrefix = true;
  SpecialTokenText specialTokens = SpecialTokenText::Plain;
};

struct DecodeOptions {
  /// Drop <s>, </s> and <unk>; otherwise they appear as their piece strings.
  bool skipSpecialTokens = false;
};

class StreamingDecoder;

class Tokenizer {
public:
  /// Loads a SentencePiece `tokenizer.model`. On failure returns nullptr and
  /// sets `error` to "PATH: problem".
  static std::unique_ptr<Tokenizer> load(const std::string &path,
                                         std::string &error);
  /// The same from the model file's bytes; `name` stands for the path in
  /// error messages.
  static std::unique_ptr<Tokenizer> loadFromBytes(const std::string &bytes,
                                                  const std::string &name,
                                                  std::string &error);
  ~Tokenizer();
  Tokenizer(const Tokenizer &) = delete;
  Tokenizer &operator=(const Tokenizer &) = delete;

  /// Text (UTF-8; ill-formed input is an error) to token ids.
  std::optional<std::vector<TokenId>> encode(std::string_view text,
                                             const EncodeOptions &options,
                                             std::string &error) const;

  /// Token ids to text. The first piece loses its leading "▁" (decoding
  /// [15043] gives "Hello"); runs of byte-fallback pieces are joined before
  /// UTF-8 decoding, and each byte that starts no character becomes U+FFFD
  /// (as SentencePiece decodes them).
  /// An id outside the vocabulary is an error.
  std::optional<std::string> decode(const std::vector<TokenId> &ids,
                                    const DecodeOptions &options,
                                    std::string &error) const;

  int32_t vocabSize() const { return static_cast<int32_t>(pieces.size()); }
  bool contains(TokenId id) const { return id >= 0 && id < vocabSize(); }
  TokenId bosId() const { return bos; }
  TokenId eosId() const { return eos; }
  /// <s>, </s> and <unk> (SentencePiece's control and unknown pieces).
  bool isSpecial(TokenId id) const;
  /// The vocabulary entry, e.g. "▁Hello", "<0x0A>" or "<s>"; `id` must be in
  /// the vocabulary.
  const std::string &pieceString(TokenId id) const;
  /// The bytes `id` stands for in a text: a text piece's with "▁" as a space
  /// (" Hello"), a byte piece's one byte, a special piece's spelling ("</s>").
  /// `id` must be in the vocabulary.
  std::string pieceBytes(TokenId id) const;

private:
  friend class StreamingDecoder;

  enum class PieceKind { Text, Byte, Special };

  /// What one id decodes to, computed once at load.
  struct Piece {
    PieceKind kind = PieceKind::Text;
    /// The vocabulary entry as it is stored.
    std::string spelling;
    /// Text pieces: the spelling with "▁" turned into spaces.
    std::string text;
    /// Byte pieces: the byte.
    char byte = 0;
  };

  Tokenizer();
  bool initialize(const std::string &bytes, std::string &problem);
  bool appendSegment(std::string_view text, bool dummyPrefix,
                     std::vector<TokenId> &ids, std::string &error) const;
  bool appendWithSpecialTokens(std::string_view text,
                               const EncodeOptions &options,
                               std::vector<TokenId> &ids,
                               std::string &error) const;
  /// The special piece `text` starts with, if any.
  std::optional<TokenId> matchSpecial(std::string_view text) const;
  /// Looks `id` up for decoding; nullptr (and `error` set) when it is not in
  /// the vocabulary.
  const Piece *lookUp(TokenId id, std::string &error) const;
  /// Appends a text or special piece; `isFirst` applies the leading-space
  /// rule.
  static void appendPieceText(const Piece &piece, bool isFirst,
                              std::string &out);

  std::unique_ptr<sentencepiece::SentencePieceProcessor> withDummyPrefix;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> withoutDummyPrefix;
  std::vector<Piece> pieces;
  /// The special pieces' ids, the longest spelling first so that matching
  /// prefers it.
  std::vector<TokenId> specialIds;
  TokenId bos = -1;
  TokenId eos = -1;
};

/// Decodes ids one at a time for printing as they are generated: push()
/// returns only text that is final, holding back an incomplete UTF-8
/// character until the byte pieces that complete it arrive. The pieces of all
/// push() calls and finish() concatenated equal Tokenizer::decode of the same
/// ids.
class StreamingDecoder {
public:
  StreamingDecoder(const Tokenizer &tokenizer, DecodeOptions options = {});

  /// The text `id` adds; nullopt (and `error` set) for an id outside the
  /// vocabulary, which leaves the decoder as it was.
  std::optional<std::string> push(TokenId id, std::string &error);
  /// Flushes held-back bytes (as U+FFFD: nothing can complete them now) and
  /// starts a new sequence.
  std::string finish();

private:
  const Tokenizer &tokenizer;
  DecodeOptions options;
  std::string pendingBytes;
  bool sawPiece = false;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_TOKENIZER_TOKENIZER_H
