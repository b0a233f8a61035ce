//===- JsonSchemaFuzzer.cpp - JSON Schemas and the texts kept to them -----===//
//
// Input: a JSON Schema, a NUL byte, then the bytes of a generated text.
// Promises checked (JsonSchema.h, JsonConstraint.h):
//   JsonSchema::compile refuses with one line, or compiles;
//   JsonPrefix, fed the text byte by byte up to the first it refuses, never
//     takes a prefix that no byte continues (a row's mask would leave no
//     token) unless the text is whole, and a whole text is JSON.
//
//===----------------------------------------------------------------------===//

#include "frontends/Errors.h"
#include "frontends/Json.h"
#include "fuzz/FuzzSupport.h"
#include "runtime/JsonConstraint.h"

#include <cstring>
#include <optional>

using namespace llamac;
using namespace llamac::fuzz;

static bool continues(const JsonPrefix &prefix) {
  for (int byte = 0; byte < 256; ++byte)
    if (JsonPrefix(prefix).push(std::string(1, char(byte))))
      return true;
  return false;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *separator =
      static_cast<const uint8_t *>(std::memchr(data, 0, size));
  const uint8_t *end = data + size;
  // As the server reads a request's body: nesting bounded.
  std::string error;
  const std::optional<nlohmann::json> document =
      reportFailures("schema", error, [&] {
        return std::optional<nlohmann::json>(
            parseJson(data, separator ? separator : end, false));
      });
  if (!document)
    return 0;
  const std::shared_ptr<const JsonSchema> schema =
      JsonSchema::compile(*document, error);
  if (!schema) {
    checkErrorMessage(error, "");
    return 0;
  }
  if (!separator)
    return 0;
  JsonPrefix prefix(*schema);
  std::string text;
  for (const uint8_t *byte = separator + 1; byte < end; ++byte) {
    if (!prefix.push(std::string(1, char(*byte))))
      break;
    text += char(*byte);
    FUZZ_CHECK(prefix.complete() || continues(prefix),
               "no byte continues " + text);
  }
  if (prefix.complete())
    FUZZ_CHECK(nlohmann::json::accept(text), "whole but not JSON: " + text);
  return 0;
}
