//===- CommandLine.cpp - Arguments and errors of llamac-run ---------------===//

#include "tools/llamac-run/CommandLine.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace llamac {

std::string ParsedArguments::get(const std::string &name) const {
  auto it = values.find(name);
  return it == values.end() ? "" : it->second.back();
}

std::vector<std::string>
ParsedArguments::getAll(const std::string &name) const {
  auto it = values.find(name);
  return it == values.end() ? std::vector<std::string>() : it->second;
}

bool ParsedArguments::readInteger(const std::string &name, int64_t &value,
                                  std::string &error) const {
  if (!has(name))
    return true;
  std::string text = get(name);
  char *end = nullptr;
  errno = 0;
  long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    error = name + " expects an integer, got '" + text + "'";
    return false;
  }
  value = parsed;
  return true;
}

bool ParsedArguments::readFloat(const std::string &name, float &value,
                                std::string &error) const {
  if (!has(name))
    return true;
  std::string text = get(name);
  char *end = nullptr;
  float parsed = std::strtof(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(parsed)) {
    error = name + " expects a number, got '" + text + "'";
    return false;
  }
  value = parsed;
  return true;
}

static const OptionSpec *findSpec(const std::vector<OptionSpec> &specs,
                                  const std::string &name) {
  for (const OptionSpec &spec : specs)
    if (spec.name == name)
      return &spec;
  return nullptr;
}

std::optional<ParsedArguments>
parseArguments(int argc, char **argv, const std::vector<OptionSpec> &specs,
               std::string &error) {
  ParsedArguments parsed;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument.size() < 2 || argument[0] != '-') {
      parsed.positional.push_back(argument);
      continue;
    }
    size_t equals = argument.find('=');
    std::string name = argument.substr(0, equals);
    const OptionSpec *spec = findSpec(specs, name);
    if (!spec) {
      error = "unknown option '" + name + "'";
      return std::nullopt;
    }
    std::vector<std::string> &values =
        parsed.values[spec->aliasOf.empty() ? name : spec->aliasOf];
    if (!spec->takesValue) {
      if (equals != std::string::npos) {
        error = name + " takes no value";
        return std::nullopt;
      }
      values.push_back("");
    } else if (equals != std::string::npos) {
      values.push_back(argument.substr(equals + 1));
    } else if (i + 1 < argc) {
      values.push_back(argv[++i]);
    } else {
      error = name + " expects a value";
      return std::nullopt;
    }
  }
  return parsed;
}

bool wantsHelp(int argc, char **argv) {
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h"))
      return true;
  return false;
}

void printNow(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

int reportError(const std::string &message) {
  std::fprintf(stderr, "llamac-run: error: %s\n", message.c_str());
  return 1;
}

int reportUsageError(const std::string &message) {
  reportError(message);
  return 2;
}

} // namespace llamac
