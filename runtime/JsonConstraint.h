//===- JsonConstraint.h - JSON output, token by token ------------*- C++
//-*-===//
//
// JSON mode (OpenAI's response_format {"type": "json_object"}, MLC-LLM's and
// llama.cpp's) and structured outputs ({"type": "json_schema"}): each token
// is chosen among those whose text continues a JSON text (RFC 8259) that the
// row's schema (JsonSchema.h; any object in JSON mode) accepts, and once the
// text is whole, the row may only end. Whitespace between the parts is
// limited as llama.cpp's JSON grammar limits it, to one space or a newline
// and up to 20 spaces or tabs, so that a model cannot spend its answer on
// it; numbers are kept to what a double holds. JsonPrefix recognizes the
// prefixes of such texts byte by byte, with a stack of open containers and
// their schemas, so a token is tried on a copy of the row's state. It never
// takes a prefix that no accepted text has, so some token (or EOS) always
// remains.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_JSONCONSTRAINT_H
#define LLAMAC_RUNTIME_JSONCONSTRAINT_H

#include "runtime/JsonSchema.h"
#include "runtime/TokenConstraint.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llamac {

/// Whether the bytes seen so far begin a JSON text that a schema accepts.
class JsonPrefix {
public:
  /// Arrays and objects open at once, at most; deeper ones are refused.
  static constexpr size_t kMaxDepth = JsonSchema::kMaxDepth;
  /// The spaces and tabs a newline between parts may have after it.
  static constexpr uint8_t kMaxIndent = 20;
  /// A number's integer digits and exponent digits, at most.
  static constexpr int kMaxIntegerDigits = JsonSchema::kMaxIntegerDigits;
  static constexpr int kMaxExponentDigits = 2;

  /// `schema` must outlive the prefix and its copies.
  explicit JsonPrefix(const JsonSchema &schema) : valueSchema(&schema.root()) {}

  /// Takes `bytes` after those seen; false if no accepted text starts with
  /// them all (the state is then of no use).
  bool push(std::string_view bytes);
  /// The text is whole: only whitespace may follow.
  bool complete() const { return state == State::Done; }
  /// Inside a string, between characters, where any character stands for
  /// itself but '"', '\\' and control characters: how many more the string
  /// may take. Nullopt elsewhere (and in keys of named properties).
  std::optional<uint64_t> plainStringRoom() const;

private:
  using Node = JsonSchema::Node;

  enum class State : uint8_t {
    Start,           ///< Before the text.
    Value,           ///< A value of `valueSchema` must come.
    ValueOrEnd,      ///< After '[': a value, or ']'.
    KeyOrEnd,        ///< After '{': a key, or '}'.
    Key,             ///< After ',' in an object: a key.
    Colon,           ///< After a key.
    AfterValue,      ///< ',' or the end of the innermost container.
    String,          ///< Inside a string.
    Escape,          ///< After '\' in a string.
    Unicode,         ///< In the four hex digits of "\u".
    NumberSign,      ///< After '-'.
    NumberZero,      ///< A leading 0.
    NumberInteger,   ///< In the integer's digits.
    NumberPoint,     ///< After '.'.
    NumberFraction,  ///< In the fraction's digits.
    NumberExponent,  ///< After 'e' or 'E'.
    NumberExpSign,   ///< After the exponent's sign.
    NumberExpDigits, ///< In the exponent's digits.
    Literal,         ///< In true, false or null.
    EnumValue,       ///< In one of `valueSchema`'s literals.
    Done,            ///< The text is whole.
  };

  /// An open object or array.
  struct Container {
    const Node *schema;
    char bracket;
    /// An object's properties seen, as bits; an array's items so far.
    uint64_t count;
  };

  /// The open containers, innermost last. A copy copies only those open:
  /// a mask copies the row's prefix once per token of the vocabulary.
  class ContainerStack {
  public:
    ContainerStack() = default;
    ContainerStack(const ContainerStack &other) { *this = other; }
    ContainerStack &operator=(const ContainerStack &other) {
      size = other.size;
      std::copy_n(other.entries.begin(), size, entries.begin());
      return *this;
    }

    bool empty() const { return size == 0; }
    bool full() const { return size == kMaxDepth; }
    void push(const Container &container) { entries[size++] = container; }
    void pop() { --size; }
    Container &top() { return entries[size - 1]; }
    const Container &top() const { return entries[size - 1]; }

  private:
    uint8_t size = 0;
    std::array<Container, kMaxDepth> entries;
  };

  bool pushByte(char byte);
  /// Whether whitespace may come between parts here.
  bool allowsWhitespace() const;
  bool pushWhitespace(char byte);
  bool pushStringByte(char byte);
  bool pushUtf8Byte(uint8_t byte);
  bool pushHexDigit(char byte);
  /// A digit of a number's integer part; an integer's must leave a value
  /// within the schema's bounds in reach.
  bool pushIntegerDigit(char byte);
  bool integerInReach() const;
  bool startValue(char byte);
  bool startItem(char byte);
  bool afterValue(char byte);
  bool open(char bracket);
  bool close(char bracket);
  /// Whether another key may come in the innermost object.
  bool keysRemain() const;
  bool startKey();
  bool pushKeyByte(char byte);
  /// The key's closing quote: the schema of the value that follows it.
  bool endKey();
  bool pushEnumByte(char byte);
  /// Ends the enum value once no literal still open is longer.
  void endEnumValueIfWhole();
  /// A value ended: what follows it.
  void endValue();
  /// A number ends before `byte`, which comes after it.
  bool endNumber(char byte);
  Container &innermost() { return containers.top(); }
  const Container &innermost() const { return containers.top(); }

  State state = State::Start;
  /// The schema of the value that comes or is being read.
  const Node *valueSchema;
  bool stringIsKey = false;
  bool integerOnly = false;
  uint8_t hexDigitsLeft = 0;
  /// The "\\u" escape's UTF-16 code unit so far.
  uint16_t codeUnit = 0;
  /// A string value's characters so far.
  uint64_t stringLength = 0;
  /// The continuation bytes a UTF-8 character still needs, and the range
  /// of the next one.
  uint8_t utf8BytesLeft = 0;
  uint8_t nextUtf8Low = 0x80;
  uint8_t nextUtf8High = 0xBF;
  /// The digits so far of a number's integer part or exponent.
  uint8_t numberDigits = 0;
  /// A number's sign and the value of its integer part's digits so far.
  bool negative = false;
  int64_t magnitude = 0;
  /// A high surrogate's escape came: its low one must follow.
  bool lowSurrogateDue = false;
  const char *literalRest = nullptr;
  /// The properties (in a key) or literals (in an enum value) the bytes so
  /// far begin, as bits, and how many bytes that is.
  uint64_t candidates = 0;
  uint32_t matched = 0;
  /// The whitespace bytes just before, between parts, and how they began.
  uint8_t whitespaceRun = 0;
  bool runStartsWithNewline = false;
  ContainerStack containers;
};

/// The text each token of a vocabulary adds to a generated text, and whether
/// it may be generated at all (special pieces and ids past the tokenizer's
/// may not).
struct TokenTexts {
  std::vector<std::string> texts;
  std::vector<bool> usable;
};

/// Keeps a row to a JSON text `schema` accepts, then to `eosId` once it is
/// whole.
class JsonConstraint final : public TokenConstraint {
public:
  JsonConstraint(std::shared_ptr<const TokenTexts> tokens,
                 std::shared_ptr<const JsonSchema> schema, int32_t eosId);

  void mask(float *logits, int64_t vocab) const override;
  void accept(int32_t token) override;

private:
  /// Whether token `id`'s text may come next.
  bool continues(size_t id, const std::array<bool, 256> &firstByteTaken,
                 std::optional<uint64_t> plainRoom) const;

  std::shared_ptr<const TokenTexts> tokens;
  std::shared_ptr<const JsonSchema> schema;
  int32_t eosId;
  JsonPrefix prefix;
  /// Per token, the characters its text is inside a string when it is
  /// plain there (well-formed UTF-8 without '"', '\\' or control
  /// characters), else 0: most of a string's tokens are taken or refused
  /// by it alone.
  std::vector<uint32_t> plainCharacters;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_JSONCONSTRAINT_H
