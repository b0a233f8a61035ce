//===- JsonConstraint.h - JSON mode: a JSON object, token by token -*- C++ -*-//
//
// OpenAI's response_format {"type": "json_object"} (MLC-LLM's and
// llama.cpp's JSON mode): each token is chosen among those whose text
// continues a JSON object (RFC 8259), and once the object is whole, the row
// may only end. Whitespace between the parts is limited as llama.cpp's JSON
// grammar limits it, to one space or a newline and up to 20 spaces or tabs,
// so that a model cannot spend its answer on it. JsonPrefix recognizes
// the prefixes of such texts byte by byte, with a stack of open containers,
// so a token is tried on a copy of the row's state.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_JSONCONSTRAINT_H
#define LLAMAC_RUNTIME_JSONCONSTRAINT_H

#include "runtime/TokenConstraint.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llamac {

/// Whether the bytes seen so far begin a JSON text whose value is an object.
class JsonPrefix {
public:
  /// Arrays and objects open at once, at most; deeper ones are refused.
  static constexpr uint8_t kMaxDepth = 32;
  /// The spaces and tabs a newline between parts may have after it.
  static constexpr uint8_t kMaxIndent = 20;

  /// Takes `bytes` after those seen; false if no JSON object text starts
  /// with them all (the state is then of no use).
  bool push(std::string_view bytes);
  /// The object is whole: only whitespace may follow.
  bool complete() const { return state == State::Done; }

private:
  enum class State : uint8_t {
    Start,           ///< Before the object.
    Value,           ///< A value must come.
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
    Done,            ///< The object closed.
  };

  bool pushByte(char byte);
  /// Whether whitespace may come between parts here.
  bool allowsWhitespace() const;
  bool pushWhitespace(char byte);
  bool startValue(char byte);
  bool open(char bracket);
  bool close(char bracket);
  /// A value ended: what follows it.
  void endValue() { state = depth == 0 ? State::Done : State::AfterValue; }
  /// A number ends before `byte`, which comes after it.
  bool endNumber(char byte);

  State state = State::Start;
  bool stringIsKey = false;
  uint8_t hexDigitsLeft = 0;
  const char *literalRest = nullptr;
  uint8_t depth = 0;
  /// The whitespace bytes just before, between parts, and how they began.
  uint8_t whitespaceRun = 0;
  bool runStartsWithNewline = false;
  std::array<char, kMaxDepth> containers{};
};

/// The text each token of a vocabulary adds to a generated text, and whether
/// it may be generated at all (special pieces and ids past the tokenizer's
/// may not).
struct TokenTexts {
  std::vector<std::string> texts;
  std::vector<bool> usable;
};

/// Keeps a row to a JSON object, then to `eosId` once it is whole.
class JsonObjectConstraint final : public TokenConstraint {
public:
  JsonObjectConstraint(std::shared_ptr<const TokenTexts> tokens, int32_t eosId)
      : tokens(std::move(tokens)), eosId(eosId) {}

  void mask(float *logits, int64_t vocab) const override;
  void accept(int32_t token) override;

private:
  std::shared_ptr<const TokenTexts> tokens;
  int32_t eosId;
  JsonPrefix prefix;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_JSONCONSTRAINT_H
