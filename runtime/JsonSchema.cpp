//===- JsonSchema.cpp - A JSON Schema, as constrained decoding checks it --===//

#include "runtime/JsonSchema.h"

#include "frontends/Json.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

namespace llamac {

using nlohmann::json;

namespace {

/// The largest integer JsonPrefix takes: kMaxIntegerDigits nines.
constexpr int64_t largestInteger() {
  int64_t largest = 0;
  for (int digit = 0; digit < JsonSchema::kMaxIntegerDigits; ++digit)
    largest = largest * 10 + 9;
  return largest;
}

/// A bound as an integer, rounded `up` or down, within one past the
/// largest integer either way (exact for integers, as doubles are not).
int64_t integerBound(const json &bound, bool up) {
  constexpr int64_t limit = largestInteger() + 1;
  if (bound.is_number_unsigned())
    return int64_t(std::min<uint64_t>(bound.get<uint64_t>(), limit));
  if (bound.is_number_integer())
    return std::clamp<int64_t>(bound.get<int64_t>(), -limit, limit);
  const double number =
      up ? std::ceil(bound.get<double>()) : std::floor(bound.get<double>());
  return int64_t(std::clamp(number, double(-limit), double(limit)));
}

/// Why a schema cannot be compiled; caught by JsonSchema::compile.
struct SchemaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void refuse(const std::string &why) { throw SchemaError(why); }

/// Keywords that describe a schema without constraining its values.
bool isAnnotation(const std::string &keyword) {
  static const std::set<std::string> annotations = {
      "title",    "description", "default",  "examples",
      "$schema",  "$id",         "$comment", "deprecated",
      "readOnly", "writeOnly",   "$defs",    "definitions"};
  return annotations.count(keyword) != 0;
}

/// Keywords a node of types, properties, items and literals takes.
bool isNodeKeyword(const std::string &keyword) {
  static const std::set<std::string> keywords = {"type",
                                                 "properties",
                                                 "required",
                                                 "additionalProperties",
                                                 "items",
                                                 "minItems",
                                                 "maxItems",
                                                 "minLength",
                                                 "maxLength",
                                                 "minimum",
                                                 "maximum",
                                                 "exclusiveMinimum",
                                                 "exclusiveMaximum",
                                                 "enum",
                                                 "const"};
  return keywords.count(keyword) != 0;
}

const char *const kBoundKeywords[] = {"minimum", "maximum", "exclusiveMinimum",
                                      "exclusiveMaximum"};

bool hasBounds(const json &value) {
  for (const char *keyword : kBoundKeywords)
    if (value.contains(keyword))
      return true;
  return false;
}

uint8_t typeNamed(const json &name) {
  static const std::pair<const char *, uint8_t> types[] = {
      {"object", JsonSchema::Object},   {"array", JsonSchema::Array},
      {"string", JsonSchema::String},   {"number", JsonSchema::Number},
      {"integer", JsonSchema::Integer}, {"boolean", JsonSchema::Boolean},
      {"null", JsonSchema::Null}};
  for (const auto &[typeName, type] : types)
    if (name == typeName)
      return type;
  refuse("\"type\" must be one of object, array, string, number, integer, "
         "boolean and null, or a list of them, not " +
         briefJson(name));
}

uint8_t typesOf(const json &type) {
  if (!type.is_array())
    return typeNamed(type);
  uint8_t types = 0;
  for (const json &name : type)
    types |= typeNamed(name);
  if (types == 0)
    refuse("\"type\" lists no type");
  return types;
}

/// Whether `value` has one of `types`.
bool hasType(const json &value, uint8_t types) {
  switch (value.type()) {
  case json::value_t::object:
    return types & JsonSchema::Object;
  case json::value_t::array:
    return types & JsonSchema::Array;
  case json::value_t::string:
    return types & JsonSchema::String;
  case json::value_t::boolean:
    return types & JsonSchema::Boolean;
  case json::value_t::null:
    return types & JsonSchema::Null;
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return types & (JsonSchema::Number | JsonSchema::Integer);
  default:
    return types & JsonSchema::Number;
  }
}

/// The bytes a value of `types` may start with.
std::string startBytes(uint8_t types) {
  std::string bytes;
  if (types & JsonSchema::Object)
    bytes += '{';
  if (types & JsonSchema::Array)
    bytes += '[';
  if (types & JsonSchema::String)
    bytes += '"';
  if (types & (JsonSchema::Number | JsonSchema::Integer))
    bytes += "-0123456789";
  if (types & JsonSchema::Boolean)
    bytes += "tf";
  if (types & JsonSchema::Null)
    bytes += 'n';
  return bytes;
}

uint64_t readCount(const json &schema, const char *keyword, uint64_t fallback) {
  if (!schema.contains(keyword))
    return fallback;
  const json &count = schema[keyword];
  if (!count.is_number_unsigned())
    refuse(std::string("\"") + keyword + "\" must be a non-negative integer");
  return count.get<uint64_t>();
}

/// A property's name as the model writes it: one that needs no escape, so
/// that a key is matched byte by byte.
void checkPropertyName(const std::string &name) {
  for (char byte : name)
    if (byte == '"' || byte == '\\' || uint8_t(byte) < 0x20)
      refuse("property name " + briefJson(json(name)) +
             " needs escaping, which is not supported");
}

} // namespace

class JsonSchema::Compiler {
public:
  Compiler(JsonSchema &schema, const json &document)
      : schema(schema), document(document) {}

  const Node *compile(const json &value, size_t depth) {
    if (depth >= kMaxDepth)
      refuse("the schema nests deeper than " + std::to_string(kMaxDepth) +
             " levels");
    if (value.is_boolean()) {
      if (!value.get<bool>())
        refuse("the schema false accepts no value");
      return anyValue();
    }
    if (!value.is_object())
      refuse("a schema must be an object or a boolean, not " +
             briefJson(value));
    if (value.contains("$ref"))
      return reference(value, depth);
    if (value.contains("anyOf") || value.contains("oneOf"))
      return alternatives(value, depth);
    return node(value, depth);
  }

  /// The node of any JSON value, itself its items' and properties'.
  const Node *anyValue() {
    if (!anyNode) {
      Node &any = schema.nodes.emplace_back();
      any.types = AnyType;
      any.additionalProperties = &any;
      any.items = &any;
      anyNode = &any;
    }
    return anyNode;
  }

private:
  /// Refuses the keywords of `value` that are neither annotations nor one of
  /// `taken`.
  void checkKeywords(const json &value,
                     bool (*taken)(const std::string &keyword)) {
    for (const auto &[keyword, unused] : value.items())
      if (!isAnnotation(keyword) && !taken(keyword))
        refuse("the schema keyword " + briefJson(json(keyword)) +
               " is not supported" +
               (value.contains("$ref") ? " beside $ref" : ""));
  }

  const Node *reference(const json &value, size_t depth) {
    checkKeywords(value, [](const std::string &k) { return k == "$ref"; });
    const json &ref = value["$ref"];
    const std::string path = ref.is_string() ? ref.get<std::string>() : "";
    if (path.rfind("#/$defs/", 0) != 0 && path.rfind("#/definitions/", 0) != 0)
      refuse("\"$ref\" must point into the schema's $defs or definitions, "
             "not " +
             briefJson(ref));
    const json::json_pointer pointer(path.substr(1));
    if (!document.contains(pointer))
      refuse("\"$ref\" " + briefJson(ref) + " names no definition");
    if (!referencing.insert(path).second)
      refuse("\"$ref\" " + briefJson(ref) +
             " refers to itself, and recursive schemas are not supported");
    const Node *target = compile(document.at(pointer), depth + 1);
    referencing.erase(path);
    return target;
  }

  const Node *alternatives(const json &value, size_t depth) {
    checkKeywords(value, [](const std::string &k) {
      return k == "anyOf" || k == "oneOf";
    });
    if (value.contains("anyOf") && value.contains("oneOf"))
      refuse("anyOf and oneOf together are not supported");
    const char *keyword = value.contains("anyOf") ? "anyOf" : "oneOf";
    const json &list = value[keyword];
    if (!list.is_array() || list.empty())
      refuse(std::string("\"") + keyword + "\" must be a non-empty list");
    Node merged;
    for (const json &alternative : list)
      mergeInto(merged, *compile(alternative, depth + 1), keyword);
    return add(std::move(merged));
  }

  /// Adds `alternative`'s values to `merged`'s; alternatives must start with
  /// different bytes (different types, or literals), so that the first byte
  /// of a value tells which one it follows.
  void mergeInto(Node &merged, const Node &alternative, const char *keyword) {
    const bool bothNumbers = (merged.types & (Number | Integer)) &&
                             (alternative.types & (Number | Integer));
    if ((merged.types & alternative.types) || bothNumbers)
      refuse(std::string("\"") + keyword +
             "\" alternatives must have different types");
    merged.types |= alternative.types;
    merged.literals.insert(merged.literals.end(), alternative.literals.begin(),
                           alternative.literals.end());
    if (alternative.types & Object) {
      merged.properties = alternative.properties;
      merged.additionalProperties = alternative.additionalProperties;
    }
    if (alternative.types & Array) {
      merged.items = alternative.items;
      merged.minItems = alternative.minItems;
      merged.maxItems = alternative.maxItems;
    }
    if (alternative.types & String) {
      merged.minLength = alternative.minLength;
      merged.maxLength = alternative.maxLength;
    }
    if (alternative.types & Integer) {
      merged.minimum = alternative.minimum;
      merged.maximum = alternative.maximum;
    }
  }

  const Node *node(const json &value, size_t depth) {
    checkKeywords(value, isNodeKeyword);
    Node result;
    result.types =
        value.contains("type") ? typesOf(value["type"]) : impliedTypes(value);
    if (result.types == AnyType && constrainsNothing(value))
      return anyValue();
    if (result.types & Integer && result.types & Number)
      result.types &= ~Integer;
    readLiterals(value, result);
    if (result.types & Object)
      readObject(value, depth, result);
    if (result.types & Array)
      readArray(value, depth, result);
    if (result.types & String)
      readString(value, result);
    if (result.types & (Number | Integer))
      readBounds(value, result);
    return add(std::move(result));
  }

  /// Whether `value` has no keyword but annotations and "type".
  static bool constrainsNothing(const json &value) {
    for (const auto &[keyword, unused] : value.items())
      if (keyword != "type" && !isAnnotation(keyword))
        return false;
    return true;
  }

  /// The types a schema without "type" allows: those its keywords are about.
  static uint8_t impliedTypes(const json &value) {
    uint8_t types = 0;
    for (const char *keyword :
         {"properties", "required", "additionalProperties"})
      if (value.contains(keyword))
        types |= Object;
    for (const char *keyword : {"items", "minItems", "maxItems"})
      if (value.contains(keyword))
        types |= Array;
    for (const char *keyword : {"minLength", "maxLength"})
      if (value.contains(keyword))
        types |= String;
    if (hasBounds(value))
      types |= Number;
    return types == 0 ? uint8_t(AnyType) : types;
  }

  /// enum and const: the node's values become those of them it allows.
  static void readLiterals(const json &value, Node &result) {
    if (value.contains("enum") && value.contains("const"))
      refuse("enum and const together are not supported");
    if ((value.contains("enum") || value.contains("const")) && hasBounds(value))
      refuse("minimum and maximum beside enum or const are not supported");
    if (!value.contains("enum") && !value.contains("const"))
      return;
    const json values =
        value.contains("const") ? json::array({value["const"]}) : value["enum"];
    if (!values.is_array() || values.empty())
      refuse("\"enum\" must be a non-empty list");
    std::set<std::string> seen;
    for (const json &literal : values)
      if (hasType(literal,
                  value.contains("type") ? result.types : uint8_t(AnyType)) &&
          seen.insert(literal.dump()).second)
        result.literals.push_back(literal.dump());
    if (result.literals.empty())
      refuse("no value of \"enum\" or \"const\" has the schema's type");
    if (result.literals.size() > kMaxChoices)
      refuse("an enum of more than " + std::to_string(kMaxChoices) +
             " values is not supported");
    result.types = 0;
  }

  void readObject(const json &value, size_t depth, Node &result) {
    const json properties = value.value("properties", json::object());
    if (!properties.is_object())
      refuse("\"properties\" must be an object");
    if (properties.size() > kMaxChoices)
      refuse("an object of more than " + std::to_string(kMaxChoices) +
             " properties is not supported");
    const json required = value.value("required", json::array());
    if (!required.is_array())
      refuse("\"required\" must be a list of property names");
    for (const auto &[name, property] : properties.items()) {
      checkPropertyName(name);
      result.properties.push_back({name, compile(property, depth + 1),
                                   std::find(required.begin(), required.end(),
                                             name) != required.end()});
    }
    for (const json &name : required)
      if (!name.is_string() || !properties.contains(name.get<std::string>()))
        refuse("required property " + briefJson(name) +
               " is not one of \"properties\"");
    const json additional = value.value("additionalProperties", json(true));
    if (!(additional.is_boolean() && !additional.get<bool>()))
      result.additionalProperties = compile(additional, depth + 1);
  }

  void readArray(const json &value, size_t depth, Node &result) {
    result.items = compile(value.value("items", json(true)), depth + 1);
    result.minItems = readCount(value, "minItems", 0);
    result.maxItems = readCount(value, "maxItems", UINT64_MAX);
    if (result.minItems > result.maxItems)
      refuse("\"minItems\" is above \"maxItems\"");
  }

  static void readString(const json &value, Node &result) {
    result.minLength = readCount(value, "minLength", 0);
    result.maxLength = readCount(value, "maxLength", UINT64_MAX);
    if (result.minLength > result.maxLength)
      refuse("\"minLength\" is above \"maxLength\"");
  }

  /// An integer's bounds, made inclusive and kept to the numbers JsonPrefix
  /// takes.
  static void readBounds(const json &value, Node &result) {
    if (!hasBounds(value))
      return;
    if (result.types & Number)
      refuse("minimum and maximum are supported on integers only");
    int64_t low = -largestInteger(), high = largestInteger();
    for (const char *keyword : kBoundKeywords) {
      if (!value.contains(keyword))
        continue;
      const json &bound = value[keyword];
      if (!bound.is_number())
        refuse(std::string("\"") + keyword + "\" must be a number");
      const std::string name = keyword;
      if (name == "minimum")
        low = std::max(low, integerBound(bound, /*up=*/true));
      else if (name == "exclusiveMinimum")
        low = std::max(low, integerBound(bound, /*up=*/false) + 1);
      else if (name == "maximum")
        high = std::min(high, integerBound(bound, /*up=*/false));
      else
        high = std::min(high, integerBound(bound, /*up=*/true) - 1);
    }
    if (low > high)
      refuse("no integer of at most " + std::to_string(kMaxIntegerDigits) +
             " digits lies within the schema's minimum and maximum");
    result.minimum = low;
    result.maximum = high;
  }

  /// Keeps `node` once its values' first bytes are checked to tell its
  /// literals and types apart.
  const Node *add(Node &&node) {
    const std::string typeStarts = startBytes(node.types);
    std::set<std::string> literals;
    for (const std::string &literal : node.literals) {
      if (typeStarts.find(literal[0]) != std::string::npos)
        refuse("the enum or const value " + literal +
               " starts like a value of another alternative's type");
      literals.insert(literal);
    }
    node.literals.assign(literals.begin(), literals.end());
    if (node.literals.size() > kMaxChoices)
      refuse("more than " + std::to_string(kMaxChoices) +
             " enum and const values are not supported");
    return &schema.nodes.emplace_back(std::move(node));
  }

  JsonSchema &schema;
  const json &document;
  const Node *anyNode = nullptr;
  /// The $refs being compiled, to refuse recursion.
  std::set<std::string> referencing;
};

std::shared_ptr<const JsonSchema> JsonSchema::compile(const json &document,
                                                      std::string &error) {
  auto schema = std::make_shared<JsonSchema>();
  try {
    Compiler compiler(*schema, document);
    schema->rootNode = compiler.compile(document, 0);
    if (schema->rootNode->types != Object ||
        !schema->rootNode->literals.empty())
      refuse("the schema's root must be an object (\"type\": \"object\")");
  } catch (const SchemaError &refusal) {
    error = refusal.what();
    return nullptr;
  } catch (const json::exception &malformed) {
    error = malformed.what();
    return nullptr;
  }
  return schema;
}

std::shared_ptr<const JsonSchema> JsonSchema::anyObject() {
  auto schema = std::make_shared<JsonSchema>();
  Compiler compiler(*schema, json());
  Node &root = schema->nodes.emplace_back();
  root.types = Object;
  root.additionalProperties = compiler.anyValue();
  schema->rootNode = &root;
  return schema;
}

} // namespace llamac
