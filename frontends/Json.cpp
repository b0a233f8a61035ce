//===- Json.cpp - Parsing the JSON files of a checkpoint ------------------===//

#include "frontends/Json.h"

#include "frontends/Errors.h"
#include "frontends/ModelSpec.h"

#include <set>

namespace llamac {

using nlohmann::json;

/// nlohmann's messages start with a tag like "[json.exception.parse_error.101] ".
static std::string withoutExceptionTag(const std::string &message) {
  if (message.empty() || message.front() != '[')
    return message;
  size_t close = message.find("] ");
  return close == std::string::npos ? message : message.substr(close + 2);
}

/// Long strings and arrays are cut to this many characters.
constexpr size_t kBriefChars = 48;

static std::string briefScalar(const json &value) {
  if (value.is_array())
    return "[...]";
  if (value.is_object())
    return "{...}";
  std::string text = value.dump(-1, ' ', false,
                                json::error_handler_t::replace);
  if (text.size() > kBriefChars)
    text = text.substr(0, kBriefChars) + "...";
  return text;
}

std::string briefJson(const json &value) {
  if (!value.is_array())
    return briefScalar(value);
  std::string text = "[";
  for (const json &element : value) {
    if (text.size() > kBriefChars)
      return text + ", ...]";
    text += (text.size() > 1 ? ", " : "") + briefScalar(element);
  }
  return text + "]";
}

json parseJson(const uint8_t *begin, const uint8_t *end,
               bool rejectDuplicateKeys) {
  std::set<std::string> topLevelKeys;
  json::parser_callback_t onEvent =
      [&](int depth, json::parse_event_t event, json &parsed) {
        // Each level costs some 75 bytes of DOM per byte of input: a 100 MiB
        // header of '[' would take gigabytes. No checkpoint file nests deeply.
        if (depth >= kMaxJsonDepth &&
            (event == json::parse_event_t::object_start ||
             event == json::parse_event_t::array_start))
          fail("invalid JSON: nested more than " +
               std::to_string(kMaxJsonDepth) + " levels deep");
        if (rejectDuplicateKeys && depth == 1 &&
            event == json::parse_event_t::key &&
            !topLevelKeys.insert(parsed.get<std::string>()).second)
          fail("duplicate key '" + parsed.get<std::string>() + "'");
        return true;
      };
  try {
    return json::parse(begin, end, onEvent);
  } catch (const json::exception &e) {
    fail("invalid JSON: " + withoutExceptionTag(e.what()));
  }
}

json readJsonObjectFile(const std::string &path, uint64_t maxBytes) {
  std::string error;
  std::shared_ptr<MappedFile> file = MappedFile::open(path, error);
  if (!file)
    failReported(error);
  if (file->size() > maxBytes)
    fail("file is " + std::to_string(file->size()) + " bytes, more than the " +
         std::to_string(maxBytes >> 20) + " MiB a JSON file may have");
  json document =
      parseJson(file->data(), file->data() + file->size(), false);
  if (!document.is_object())
    fail("expected a JSON object, got " + std::string(document.type_name()));
  return document;
}

} // namespace llamac
