//===- TokenizeCommand.cpp - `llamac-run tokenize` ------------------------===//

#include "runtime/tokenizer/TokenizeCommand.h"

#include "runtime/tokenizer/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <optional>

namespace llamac {

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char *kUsage =
    "usage: llamac-run tokenize --tokenizer PATH (--text T | --ids \"1,2,3\")"
    " [--no-bos] [--no-dummy-prefix] [--parse-special [--legacy|--no-legacy]]"
    " [--skip-special] [--json]\n"
    "  --text T           print the ids of T (BOS first unless --no-bos)\n"
    "  --ids LIST         print the text of comma-separated ids\n"
    "  --no-dummy-prefix  no \"\xE2\x96\x81\" before the text\n"
    "  --parse-special    turn <s>, </s>, <unk> in T into their ids, like "
    "Hugging Face\n"
    "                     with legacy=False (the default) or --legacy\n"
    "  --skip-special     leave <s>, </s>, <unk> out of the text\n"
    "  --json             print {\"ids\": [...]} or {\"text\": \"...\"}\n";

struct CommandLine {
  bool help = false;
  std::optional<std::string> tokenizerPath;
  std::optional<std::string> text;
  std::optional<std::string> ids;
  EncodeOptions encodeOptions;
  bool parseSpecial = false;
  std::optional<bool> legacy;
  DecodeOptions decodeOptions;
  bool json = false;
  /// Flags that only make sense with --text, or only with --ids, as given.
  std::vector<std::string> textOnlyFlags;
  std::vector<std::string> idsOnlyFlags;
};

/// Sets the flag `name` in `line`; false when there is no such flag.
bool applyFlag(const std::string &name, CommandLine &line) {
  if (name == "--help" || name == "-h") {
    line.help = true;
    return true;
  }
  if (name == "--json") {
    line.json = true;
    return true;
  }
  if (name == "--skip-special") {
    line.decodeOptions.skipSpecialTokens = true;
    line.idsOnlyFlags.push_back(name);
    return true;
  }
  if (name == "--no-bos")
    line.encodeOptions.addSpecialTokens = false;
  else if (name == "--no-dummy-prefix")
    line.encodeOptions.addDummyPrefix = false;
  else if (name == "--parse-special")
    line.parseSpecial = true;
  else if (name == "--legacy" || name == "--no-legacy")
    line.legacy = name == "--legacy";
  else
    return false;
  line.textOnlyFlags.push_back(name);
  return true;
}

/// Where the option `name` keeps its value; nullptr for a flag.
std::optional<std::string> *valueSlot(const std::string &name,
                                      CommandLine &line) {
  if (name == "--tokenizer")
    return &line.tokenizerPath;
  if (name == "--text")
    return &line.text;
  if (name == "--ids")
    return &line.ids;
  return nullptr;
}

std::optional<std::string> checkConsistency(const CommandLine &line) {
  if (!line.tokenizerPath)
    return "--tokenizer PATH is required";
  if (line.text.has_value() == line.ids.has_value())
    return "give exactly one of --text and --ids";
  if (line.legacy && !line.parseSpecial)
    return std::string(*line.legacy ? "--legacy" : "--no-legacy") +
           " needs --parse-special";
  if (line.ids && !line.textOnlyFlags.empty())
    return line.textOnlyFlags.front() + " applies to --text only";
  if (line.text && !line.idsOnlyFlags.empty())
    return line.idsOnlyFlags.front() + " applies to --ids only";
  return std::nullopt;
}

std::optional<CommandLine>
parseCommandLine(const std::vector<std::string> &args, std::string &error) {
  CommandLine line;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> attachedValue;
    size_t equals = name.find('=');
    if (name.rfind("--", 0) == 0 && equals != std::string::npos) {
      attachedValue = name.substr(equals + 1);
      name.resize(equals);
    }
    if (std::optional<std::string> *slot = valueSlot(name, line)) {
      if (!attachedValue && i + 1 == args.size()) {
        error = name + " needs a value";
        return std::nullopt;
      }
      *slot = attachedValue ? *attachedValue : args[++i];
    } else if (attachedValue) {
      error = name + " takes no value";
      return std::nullopt;
    } else if (!applyFlag(name, line)) {
      error = "unknown argument '" + name + "'";
      return std::nullopt;
    }
  }
  if (line.parseSpecial)
    line.encodeOptions.specialTokens = line.legacy.value_or(false)
                                           ? SpecialTokenText::ParseLegacy
                                           : SpecialTokenText::Parse;
  if (!line.help)
    if (std::optional<std::string> problem = checkConsistency(line)) {
      error = *problem;
      return std::nullopt;
    }
  return line;
}

std::string_view trimSpaces(std::string_view text) {
  size_t first = text.find_first_not_of(' ');
  if (first == std::string_view::npos)
    return {};
  return text.substr(first, text.find_last_not_of(' ') + 1 - first);
}

/// "1, 2,3" -> {1, 2, 3}; "" -> {}.
std::optional<std::vector<TokenId>> parseIdList(std::string_view list,
                                                std::string &error) {
  std::vector<TokenId> ids;
  if (trimSpaces(list).empty())
    return ids;
  for (size_t begin = 0; begin <= list.size();) {
    size_t end = std::min(list.find(',', begin), list.size());
    std::string_view item = trimSpaces(list.substr(begin, end - begin));
    const char *itemEnd = item.data() + item.size();
    TokenId id = 0;
    auto [parsedEnd, ec] = std::from_chars(item.data(), itemEnd, id);
    if (item.empty() || ec != std::errc() || parsedEnd != itemEnd) {
      error = "--ids: '" + std::string(item) + "' is not a token id";
      return std::nullopt;
    }
    ids.push_back(id);
    begin = end + 1;
  }
  return ids;
}

int reportError(std::ostream &err, const std::string &message, int status) {
  err << "llamac-run tokenize: error: " << message << "\n";
  return status;
}

std::string jsonText(const nlohmann::json &value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int encodeText(const Tokenizer &tokenizer, const CommandLine &line,
               std::ostream &out, std::ostream &err) {
  std::string error;
  std::optional<std::vector<TokenId>> ids =
      tokenizer.encode(*line.text, line.encodeOptions, error);
  if (!ids)
    return reportError(err, error, kExitFailure);
  if (line.json) {
    out << jsonText({{"ids", *ids}}) << "\n";
    return 0;
  }
  for (size_t i = 0; i < ids->size(); ++i)
    out << (i ? "," : "") << (*ids)[i];
  out << "\n";
  return 0;
}

int decodeIds(const Tokenizer &tokenizer, const CommandLine &line,
              std::ostream &out, std::ostream &err) {
  std::string error;
  std::optional<std::vector<TokenId>> ids = parseIdList(*line.ids, error);
  if (!ids)
    return reportError(err, error, kExitUsage);
  std::optional<std::string> text =
      tokenizer.decode(*ids, line.decodeOptions, error);
  if (!text)
    return reportError(err, error, kExitFailure);
  if (line.json)
    out << jsonText({{"text", *text}}) << "\n";
  else
    out << *text << "\n";
  return 0;
}

int run(const std::vector<std::string> &args, std::ostream &out,
        std::ostream &err) {
  std::string error;
  std::optional<CommandLine> line = parseCommandLine(args, error);
  if (!line)
    return reportError(err, error + " (see --help)", kExitUsage);
  if (line->help) {
    out << kUsage;
    return 0;
  }
  std::unique_ptr<Tokenizer> tokenizer =
      Tokenizer::load(*line->tokenizerPath, error);
  if (!tokenizer)
    return reportError(err, error, kExitFailure);
  return line->text ? encodeText(*tokenizer, *line, out, err)
                    : decodeIds(*tokenizer, *line, out, err);
}

} // namespace

int runTokenizeCommand(const std::vector<std::string> &args, std::ostream &out,
                       std::ostream &err) {
  try {
    return run(args, out, err);
  } catch (const std::exception &e) {
    return reportError(err, e.what(), kExitFailure);
  }
}

int runTokenizeCommand(int argc, char **argv) {
  return runTokenizeCommand(std::vector<std::string>(argv, argv + argc),
                            std::cout, std::cerr);
}

} // namespace llamac
