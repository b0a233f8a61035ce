//===- Json.h - Parsing the JSON files of a checkpoint ----------*- C++ -*-===//
//
// config.json, model.safetensors.index.json and safetensors headers are read
// with nlohmann/json; these helpers bound what is parsed and turn parse
// failures into FormatError.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FRONTENDS_JSON_H
#define LLAMAC_FRONTENDS_JSON_H

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace llamac {

/// Objects and arrays nested deeper than this are refused: the files read
/// here nest a few levels, and deep nesting multiplies the parsed size.
inline constexpr int kMaxJsonDepth = 64;

/// Parses [begin, end). Throws FormatError on invalid JSON, on nesting deeper
/// than kMaxJsonDepth and, with `rejectDuplicateKeys`, on a key that occurs
/// twice in the top-level object (nlohmann/json would silently keep one of
/// them).
nlohmann::json parseJson(const uint8_t *begin, const uint8_t *end,
                         bool rejectDuplicateKeys);

/// Maps `path` and parses it as a JSON object, refusing a file larger than
/// `maxBytes` before parsing. Throws FormatError (message without the path)
/// or ReportedError when the file cannot be opened.
nlohmann::json readJsonObjectFile(const std::string &path, uint64_t maxBytes);

/// A short rendering of `value` for messages, e.g. `string "4096"` style
/// scalars and one level of arrays ("[-4, [...]]"). Never recurses: a header
/// may nest millions of levels deep, and dump() would overflow the stack.
std::string briefJson(const nlohmann::json &value);

} // namespace llamac

#endif // LLAMAC_FRONTENDS_JSON_H
