//===- JsonConstraint.cpp - JSON mode: a JSON object, token by token ------===//

#include "runtime/JsonConstraint.h"

#include <cstring>
#include <limits>

namespace llamac {

namespace {

bool isWhitespace(char byte) {
  return byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r';
}

bool isDigit(char byte) { return byte >= '0' && byte <= '9'; }

bool isHexDigit(char byte) {
  return isDigit(byte) || (byte >= 'a' && byte <= 'f') ||
         (byte >= 'A' && byte <= 'F');
}

} // namespace

bool JsonPrefix::push(std::string_view bytes) {
  for (char byte : bytes)
    if (!pushByte(byte))
      return false;
  return true;
}

bool JsonPrefix::allowsWhitespace() const {
  switch (state) {
  case State::Start:
  case State::Value:
  case State::ValueOrEnd:
  case State::KeyOrEnd:
  case State::Key:
  case State::Colon:
  case State::AfterValue:
  case State::Done:
    return true;
  default:
    return false;
  }
}

bool JsonPrefix::pushWhitespace(char byte) {
  if (whitespaceRun == 0) {
    if (byte != ' ' && byte != '\n')
      return false;
    runStartsWithNewline = byte == '\n';
  } else if (!runStartsWithNewline || (byte != ' ' && byte != '\t') ||
             whitespaceRun > kMaxIndent) {
    return false;
  }
  ++whitespaceRun;
  return true;
}

bool JsonPrefix::pushByte(char byte) {
  if (isWhitespace(byte) && allowsWhitespace())
    return pushWhitespace(byte);
  whitespaceRun = 0;
  switch (state) {
  case State::Start:
    return byte == '{' && open('{');
  case State::Value:
    return startValue(byte);
  case State::ValueOrEnd:
    return byte == ']' ? close(']') : startValue(byte);
  case State::KeyOrEnd:
    if (byte == '}')
      return close('}');
    [[fallthrough]];
  case State::Key:
    if (byte != '"')
      return false;
    state = State::String;
    stringIsKey = true;
    return true;
  case State::Colon:
    if (byte == ':')
      state = State::Value;
    return byte == ':';
  case State::AfterValue:
    if (byte == ',') {
      state = containers[depth - 1] == '{' ? State::Key : State::Value;
      return true;
    }
    return (byte == '}' || byte == ']') && close(byte);
  case State::String:
    if (byte == '"') {
      if (stringIsKey)
        state = State::Colon;
      else
        endValue();
    } else if (byte == '\\') {
      state = State::Escape;
    }
    // Control characters must be escaped; other bytes, UTF-8's too, stand
    // for themselves.
    return uint8_t(byte) >= 0x20;
  case State::Escape:
    if (byte == 'u') {
      state = State::Unicode;
      hexDigitsLeft = 4;
      return true;
    }
    state = State::String;
    return byte != 0 && std::strchr("\"\\/bfnrt", byte);
  case State::Unicode:
    if (--hexDigitsLeft == 0)
      state = State::String;
    return isHexDigit(byte);
  case State::NumberSign:
    state = byte == '0' ? State::NumberZero : State::NumberInteger;
    return isDigit(byte);
  case State::NumberZero:
  case State::NumberInteger:
    if (byte == '.') {
      state = State::NumberPoint;
      return true;
    }
    if (byte == 'e' || byte == 'E') {
      state = State::NumberExponent;
      return true;
    }
    if (state == State::NumberInteger && isDigit(byte))
      return true;
    return endNumber(byte);
  case State::NumberPoint:
    state = State::NumberFraction;
    return isDigit(byte);
  case State::NumberFraction:
    if (byte == 'e' || byte == 'E') {
      state = State::NumberExponent;
      return true;
    }
    return isDigit(byte) || endNumber(byte);
  case State::NumberExponent:
    if (byte == '+' || byte == '-') {
      state = State::NumberExpSign;
      return true;
    }
    [[fallthrough]];
  case State::NumberExpSign:
    state = State::NumberExpDigits;
    return isDigit(byte);
  case State::NumberExpDigits:
    return isDigit(byte) || endNumber(byte);
  case State::Literal:
    if (byte != *literalRest)
      return false;
    if (*++literalRest == 0)
      endValue();
    return true;
  case State::Done:
    return false;
  }
  return false;
}

bool JsonPrefix::startValue(char byte) {
  switch (byte) {
  case '{':
  case '[':
    return open(byte);
  case '"':
    state = State::String;
    stringIsKey = false;
    return true;
  case '-':
    state = State::NumberSign;
    return true;
  case 't':
    literalRest = "rue";
    break;
  case 'f':
    literalRest = "alse";
    break;
  case 'n':
    literalRest = "ull";
    break;
  default:
    if (!isDigit(byte))
      return false;
    state = byte == '0' ? State::NumberZero : State::NumberInteger;
    return true;
  }
  state = State::Literal;
  return true;
}

bool JsonPrefix::open(char bracket) {
  if (depth == kMaxDepth)
    return false;
  containers[depth++] = bracket;
  state = bracket == '{' ? State::KeyOrEnd : State::ValueOrEnd;
  return true;
}

bool JsonPrefix::close(char bracket) {
  const char opening = bracket == '}' ? '{' : '[';
  if (depth == 0 || containers[depth - 1] != opening)
    return false;
  --depth;
  endValue();
  return true;
}

bool JsonPrefix::endNumber(char byte) {
  endValue();
  return pushByte(byte);
}

void JsonObjectConstraint::mask(float *logits, int64_t vocab) const {
  constexpr float kNever = -std::numeric_limits<float>::infinity();
  const bool whole = prefix.complete();
  for (int64_t id = 0; id < vocab; ++id) {
    const bool allowed = whole ? id == eosId
                               : id < int64_t(tokens->texts.size()) &&
                                     tokens->usable[id] &&
                                     JsonPrefix(prefix).push(tokens->texts[id]);
    if (!allowed)
      logits[id] = kNever;
  }
}

void JsonObjectConstraint::accept(int32_t token) {
  if (!prefix.complete())
    prefix.push(tokens->texts[token]);
}

} // namespace llamac
