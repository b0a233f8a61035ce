//===- JsonSchema.h - A JSON Schema, as constrained decoding checks it -*- C++
//-*-//
//
// OpenAI's response_format {"type": "json_schema"} (structured outputs, as
// vLLM, MLC-LLM and llama.cpp take it) keeps a row to texts that a JSON
// Schema accepts. JsonPrefix (JsonConstraint.h) checks them byte by byte, so
// a schema is compiled to what can be checked that way: at each value, the
// types its first byte may start, and for objects and arrays the schemas of
// their parts. Keywords outside that subset (pattern, minimum, ...) are
// refused by name rather than ignored, so that no text the schema refuses is
// ever generated as if it conformed.
//
// Taken: type (one or a list), properties, required, additionalProperties
// (a schema or a boolean; absent, as in JSON Schema, allows any other key),
// items, minItems, maxItems, minLength, maxLength, an integer's minimum,
// maximum, exclusiveMinimum and exclusiveMaximum, enum, const, anyOf and oneOf
// whose alternatives start with different bytes (Optional fields: a type or
// null), local $ref into $defs or definitions, and the annotations (title,
// description, ...).
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_JSONSCHEMA_H
#define LLAMAC_RUNTIME_JSONSCHEMA_H

#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace llamac {

class JsonSchema {
public:
  /// The JSON types a value may have, as bits.
  enum Type : uint8_t {
    Object = 1,
    Array = 2,
    String = 4,
    Number = 8,
    /// A number without a fraction or an exponent.
    Integer = 16,
    Boolean = 32,
    Null = 64,
    AnyType = Object | Array | String | Number | Boolean | Null,
  };
  /// An object's properties and an enum's values are tracked in 64-bit sets.
  static constexpr size_t kMaxChoices = 64;
  /// A number's integer digits, at most (llama.cpp's bound): every number
  /// then fits a double.
  static constexpr int kMaxIntegerDigits = 16;
  /// Objects and arrays open at once, at most (JsonPrefix's stack); schemas
  /// nest at most as deep (counting anyOf and $ref levels too).
  static constexpr size_t kMaxDepth = 32;

  struct Node;
  struct Property {
    std::string name;
    const Node *schema;
    bool required;
  };
  struct Node {
    /// Type bits; a value of another type may only be one of `literals`.
    uint8_t types = 0;
    /// enum and const: compact JSON texts the value may be, whatever the
    /// types. No two of them, nor a literal and a type, start alike.
    std::vector<std::string> literals;
    std::vector<Property> properties;
    /// The schema of keys other than `properties`'; null if none may come.
    const Node *additionalProperties = nullptr;
    const Node *items = nullptr;
    uint64_t minItems = 0;
    uint64_t maxItems = UINT64_MAX;
    /// A string's length in characters (code points).
    uint64_t minLength = 0;
    uint64_t maxLength = UINT64_MAX;
    /// An integer's bounds, inclusive.
    int64_t minimum = INT64_MIN;
    int64_t maximum = INT64_MAX;
  };

  /// Compiles `schema`; null with `error` set if it is not a schema of an
  /// object this subset takes.
  static std::shared_ptr<const JsonSchema> compile(const nlohmann::json &schema,
                                                   std::string &error);
  /// JSON mode: any object.
  static std::shared_ptr<const JsonSchema> anyObject();

  const Node &root() const { return *rootNode; }

private:
  class Compiler;

  /// Nodes point at each other (an any-value node at itself): they stay put.
  std::deque<Node> nodes;
  const Node *rootNode = nullptr;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_JSONSCHEMA_H
