//===- JsonConstraint.cpp - JSON output, token by token -------------------===//

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

uint16_t hexValue(char digit) {
  return isDigit(digit) ? digit - '0'
         : digit >= 'a' ? digit - 'a' + 10
                        : digit - 'A' + 10;
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
  case State::Value:
    return startValue(byte);
  case State::ValueOrEnd:
    return byte == ']' ? close(']') : startItem(byte);
  case State::KeyOrEnd:
    if (byte == '}')
      return close('}');
    [[fallthrough]];
  case State::Key:
    return byte == '"' && startKey();
  case State::Colon:
    if (byte == ':')
      state = State::Value;
    return byte == ':';
  case State::AfterValue:
    return afterValue(byte);
  case State::String:
    return pushStringByte(byte);
  case State::Escape:
    if (byte == 'u') {
      state = State::Unicode;
      hexDigitsLeft = 4;
      codeUnit = 0;
      return true;
    }
    state = State::String;
    return !lowSurrogateDue && byte != 0 && std::strchr("\"\\/bfnrt", byte);
  case State::Unicode:
    return pushHexDigit(byte);
  case State::NumberSign:
    state = byte == '0' ? State::NumberZero : State::NumberInteger;
    return pushIntegerDigit(byte);
  case State::NumberZero:
  case State::NumberInteger:
    if (byte == '.' && !integerOnly) {
      state = State::NumberPoint;
      return true;
    }
    if ((byte == 'e' || byte == 'E') && !integerOnly) {
      state = State::NumberExponent;
      return true;
    }
    if (state == State::NumberInteger && isDigit(byte))
      return pushIntegerDigit(byte);
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
    numberDigits = 1;
    return isDigit(byte);
  case State::NumberExpDigits:
    if (isDigit(byte))
      return ++numberDigits <= kMaxExponentDigits;
    return endNumber(byte);
  case State::Literal:
    if (byte != *literalRest)
      return false;
    if (*++literalRest == 0)
      endValue();
    return true;
  case State::EnumValue:
    return pushEnumByte(byte);
  case State::Done:
    return false;
  }
  return false;
}

bool JsonPrefix::pushStringByte(char byte) {
  if (stringIsKey && !innermost().schema->properties.empty())
    return pushKeyByte(byte);
  if (lowSurrogateDue) {
    state = State::Escape;
    return byte == '\\';
  }
  if (utf8BytesLeft > 0)
    return pushUtf8Byte(uint8_t(byte));
  if (byte == '"') {
    if (stringIsKey)
      return endKey();
    if (stringLength < valueSchema->minLength)
      return false;
    endValue();
    return true;
  }
  // Control characters must be escaped; other characters stand for
  // themselves, in well-formed UTF-8.
  if (uint8_t(byte) < 0x20 || !pushUtf8Byte(uint8_t(byte)))
    return false;
  if (byte == '\\')
    state = State::Escape;
  return stringIsKey || ++stringLength <= valueSchema->maxLength;
}

bool JsonPrefix::pushUtf8Byte(uint8_t byte) {
  const bool inRange = byte >= nextUtf8Low && byte <= nextUtf8High;
  nextUtf8Low = 0x80;
  nextUtf8High = 0xBF;
  if (utf8BytesLeft > 0) {
    --utf8BytesLeft;
    return inRange;
  }
  // A lead byte, by RFC 3629's table: no overlong forms, no surrogates,
  // nothing past U+10FFFF.
  if (byte < 0x80)
    return true;
  if (byte < 0xC2 || byte > 0xF4)
    return false;
  utf8BytesLeft = byte < 0xE0 ? 1 : byte < 0xF0 ? 2 : 3;
  if (byte == 0xE0)
    nextUtf8Low = 0xA0;
  else if (byte == 0xED)
    nextUtf8High = 0x9F;
  else if (byte == 0xF0)
    nextUtf8Low = 0x90;
  else if (byte == 0xF4)
    nextUtf8High = 0x8F;
  return true;
}

bool JsonPrefix::pushHexDigit(char byte) {
  if (!isHexDigit(byte))
    return false;
  codeUnit = uint16_t(codeUnit << 4 | hexValue(byte));
  // A UTF-16 surrogate pair: a high one (D800-DBFF), then "\\u" and a
  // low one (DC00-DFFF); one alone is not text (nor JSON to most parsers).
  switch (4 - --hexDigitsLeft) {
  case 1:
    if (lowSurrogateDue && codeUnit != 0xD)
      return false;
    break;
  case 2:
    if ((codeUnit >= 0xDC && codeUnit <= 0xDF) != lowSurrogateDue)
      return false;
    break;
  }
  if (hexDigitsLeft != 0)
    return true;
  lowSurrogateDue =
      !lowSurrogateDue && codeUnit >= 0xD800 && codeUnit <= 0xDBFF;
  state = State::String;
  return true;
}

bool JsonPrefix::startValue(char byte) {
  const Node &schema = *valueSchema;
  candidates = 0;
  for (size_t i = 0; i < schema.literals.size(); ++i)
    if (schema.literals[i][0] == byte)
      candidates |= uint64_t(1) << i;
  if (candidates != 0) {
    state = State::EnumValue;
    matched = 1;
    endEnumValueIfWhole();
    return true;
  }
  auto allows = [&](uint8_t types) { return (schema.types & types) != 0; };
  switch (byte) {
  case '{':
  case '[':
    return allows(byte == '{' ? JsonSchema::Object : JsonSchema::Array) &&
           open(byte);
  case '"':
    state = State::String;
    stringIsKey = false;
    stringLength = 0;
    return allows(JsonSchema::String);
  case '-':
    state = State::NumberSign;
    integerOnly = !allows(JsonSchema::Number);
    negative = true;
    magnitude = 0;
    numberDigits = 0;
    // -0, or below it, must be within reach.
    return allows(JsonSchema::Number | JsonSchema::Integer) &&
           (!integerOnly || schema.minimum <= 0);
  case 't':
    literalRest = "rue";
    break;
  case 'f':
    literalRest = "alse";
    break;
  case 'n':
    state = State::Literal;
    literalRest = "ull";
    return allows(JsonSchema::Null);
  default:
    state = byte == '0' ? State::NumberZero : State::NumberInteger;
    integerOnly = !allows(JsonSchema::Number);
    negative = false;
    magnitude = 0;
    numberDigits = 0;
    return allows(JsonSchema::Number | JsonSchema::Integer) &&
           pushIntegerDigit(byte);
  }
  state = State::Literal;
  return allows(JsonSchema::Boolean);
}

bool JsonPrefix::startItem(char byte) {
  const Container &array = innermost();
  return array.count < array.schema->maxItems && startValue(byte);
}

bool JsonPrefix::afterValue(char byte) {
  if (byte == '}' || byte == ']')
    return close(byte);
  if (byte != ',')
    return false;
  const Container &container = innermost();
  if (container.bracket == '{') {
    state = State::Key;
    return keysRemain();
  }
  state = State::Value;
  valueSchema = container.schema->items;
  return container.count < container.schema->maxItems;
}

bool JsonPrefix::open(char bracket) {
  if (containers.full())
    return false;
  containers.push({valueSchema, bracket, 0});
  if (bracket == '[')
    valueSchema = valueSchema->items;
  state = bracket == '{' ? State::KeyOrEnd : State::ValueOrEnd;
  return true;
}

bool JsonPrefix::close(char bracket) {
  if (containers.empty() || innermost().bracket != (bracket == '}' ? '{' : '['))
    return false;
  const Container &container = innermost();
  if (bracket == ']' && container.count < container.schema->minItems)
    return false;
  if (bracket == '}') {
    const std::vector<JsonSchema::Property> &properties =
        container.schema->properties;
    for (size_t i = 0; i < properties.size(); ++i)
      if (properties[i].required && !(container.count >> i & 1))
        return false;
  }
  containers.pop();
  endValue();
  return true;
}

bool JsonPrefix::keysRemain() const {
  const Container &object = innermost();
  const size_t named = object.schema->properties.size();
  const uint64_t all = named == 64 ? ~uint64_t(0) : (uint64_t(1) << named) - 1;
  return object.schema->additionalProperties || (all & ~object.count) != 0;
}

bool JsonPrefix::startKey() {
  if (!keysRemain())
    return false;
  state = State::String;
  stringIsKey = true;
  candidates = ~uint64_t(0);
  matched = 0;
  return true;
}

bool JsonPrefix::pushKeyByte(char byte) {
  if (byte == '"' && utf8BytesLeft == 0)
    return endKey();
  // Named properties' keys are matched byte by byte, so written unescaped;
  // other keys are well-formed UTF-8 too.
  if (byte == '\\' || uint8_t(byte) < 0x20 || !pushUtf8Byte(uint8_t(byte)))
    return false;
  const Container &object = innermost();
  const std::vector<JsonSchema::Property> &properties =
      object.schema->properties;
  uint64_t continuing = 0;
  for (size_t i = 0; i < properties.size(); ++i)
    if ((candidates >> i & 1) && properties[i].name.size() > matched &&
        properties[i].name[matched] == byte)
      continuing |= uint64_t(1) << i;
  candidates = continuing;
  ++matched;
  return object.schema->additionalProperties || (candidates & ~object.count);
}

bool JsonPrefix::endKey() {
  Container &object = innermost();
  const std::vector<JsonSchema::Property> &properties =
      object.schema->properties;
  state = State::Colon;
  for (size_t i = 0; i < properties.size(); ++i) {
    if ((candidates >> i & 1) && properties[i].name.size() == matched) {
      if (object.count >> i & 1)
        return false; // Each key once.
      object.count |= uint64_t(1) << i;
      valueSchema = properties[i].schema;
      return true;
    }
  }
  valueSchema = object.schema->additionalProperties;
  return valueSchema != nullptr;
}

bool JsonPrefix::pushEnumByte(char byte) {
  const std::vector<std::string> &literals = valueSchema->literals;
  uint64_t continuing = 0;
  bool oneEnds = false;
  for (size_t i = 0; i < literals.size(); ++i) {
    if (!(candidates >> i & 1))
      continue;
    if (literals[i].size() == matched)
      oneEnds = true;
    else if (literals[i][matched] == byte)
      continuing |= uint64_t(1) << i;
  }
  if (continuing != 0) {
    candidates = continuing;
    ++matched;
    endEnumValueIfWhole();
    return true;
  }
  // A number literal (1 of 1 and 12) ends at the byte after it.
  if (!oneEnds)
    return false;
  endValue();
  return pushByte(byte);
}

void JsonPrefix::endEnumValueIfWhole() {
  const std::vector<std::string> &literals = valueSchema->literals;
  for (size_t i = 0; i < literals.size(); ++i)
    if ((candidates >> i & 1) && literals[i].size() > matched)
      return;
  endValue();
}

void JsonPrefix::endValue() {
  if (containers.empty()) {
    state = State::Done;
    return;
  }
  Container &container = innermost();
  if (container.bracket == '[')
    ++container.count;
  state = State::AfterValue;
}

bool JsonPrefix::pushIntegerDigit(char byte) {
  if (!isDigit(byte) || ++numberDigits > kMaxIntegerDigits)
    return false;
  magnitude = magnitude * 10 + (byte - '0');
  return !integerOnly || integerInReach();
}

bool JsonPrefix::integerInReach() const {
  // The digits so far followed by `more` digits: magnitudes from
  // magnitude * 10^more on, 10^more of them (a leading 0 takes none).
  const int moreAtMost = magnitude == 0 ? 0 : kMaxIntegerDigits - numberDigits;
  int64_t low = magnitude, count = 1;
  for (int more = 0; more <= moreAtMost; ++more, low *= 10, count *= 10) {
    const int64_t high = low + count - 1;
    const int64_t least = negative ? -high : low;
    const int64_t most = negative ? -low : high;
    if (least <= valueSchema->maximum && most >= valueSchema->minimum)
      return true;
  }
  return false;
}

bool JsonPrefix::endNumber(char byte) {
  if (integerOnly) {
    const int64_t value = negative ? -magnitude : magnitude;
    if (value < valueSchema->minimum || value > valueSchema->maximum)
      return false;
  }
  endValue();
  return pushByte(byte);
}

std::optional<uint64_t> JsonPrefix::plainStringRoom() const {
  if (state != State::String || lowSurrogateDue || utf8BytesLeft > 0)
    return std::nullopt;
  if (stringIsKey)
    return innermost().schema->properties.empty()
               ? std::optional<uint64_t>(UINT64_MAX)
               : std::nullopt;
  return valueSchema->maxLength - stringLength;
}

namespace {

/// The characters of `text` inside a JSON string if it is plain there, else
/// 0 (see JsonConstraint::plainCharacters).
uint32_t plainCharactersOf(std::string_view text) {
  uint32_t characters = 0;
  for (size_t i = 0; i < text.size();) {
    const uint8_t lead = uint8_t(text[i]);
    const size_t length = lead < 0x80   ? 1
                          : lead < 0xC2 ? 0
                          : lead < 0xE0 ? 2
                          : lead < 0xF0 ? 3
                          : lead < 0xF5 ? 4
                                        : 0;
    if (length == 0 || lead < 0x20 || lead == '"' || lead == '\\' ||
        i + length > text.size())
      return 0;
    // Check the continuation bytes (and RFC 3629's exclusions) as a
    // string would.
    for (size_t j = 1; j < length; ++j)
      if ((uint8_t(text[i + j]) & 0xC0) != 0x80)
        return 0;
    const uint8_t second = length > 1 ? uint8_t(text[i + 1]) : 0;
    if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) ||
        (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F))
      return 0;
    i += length;
    ++characters;
  }
  return characters;
}

} // namespace

JsonConstraint::JsonConstraint(std::shared_ptr<const TokenTexts> tokens,
                               std::shared_ptr<const JsonSchema> schema,
                               int32_t eosId)
    : tokens(std::move(tokens)), schema(std::move(schema)), eosId(eosId),
      prefix(*this->schema) {
  plainCharacters.reserve(this->tokens->texts.size());
  for (const std::string &text : this->tokens->texts)
    plainCharacters.push_back(plainCharactersOf(text));
}

bool JsonConstraint::continues(size_t id,
                               const std::array<bool, 256> &firstByteTaken,
                               std::optional<uint64_t> plainRoom) const {
  const std::string &text = tokens->texts[id];
  if (plainRoom && plainCharacters[id] > 0)
    return plainCharacters[id] <= *plainRoom;
  return text.empty() ||
         (firstByteTaken[uint8_t(text[0])] && JsonPrefix(prefix).push(text));
}

void JsonConstraint::mask(float *logits, int64_t vocab) const {
  constexpr float kNever = -std::numeric_limits<float>::infinity();
  const bool whole = prefix.complete();
  // Outside strings few bytes may come next: most tokens are refused by
  // their first byte, without copying the prefix for them.
  std::array<bool, 256> firstByteTaken;
  for (int byte = 0; byte < 256; ++byte)
    firstByteTaken[byte] = JsonPrefix(prefix).push(std::string(1, char(byte)));
  const std::optional<uint64_t> plainRoom = prefix.plainStringRoom();
  for (int64_t id = 0; id < vocab; ++id) {
    const bool allowed = whole ? id == eosId
                               : id < int64_t(tokens->texts.size()) &&
                                     tokens->usable[id] &&
                                     continues(id, firstByteTaken, plainRoom);
    if (!allowed)
      logits[id] = kNever;
  }
}

void JsonConstraint::accept(int32_t token) {
  if (!prefix.complete())
    prefix.push(tokens->texts[token]);
}

} // namespace llamac
