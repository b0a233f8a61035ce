//===- CommandLine.h - Arguments and errors of llamac-run -------*- C++ -*-===//
//
// Every subcommand parses its arguments with parseArguments() against its own
// option list and reports failures with reportError (exit 1) or
// reportUsageError (exit 2): one line "llamac-run: error: ..." on stderr.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_TOOLS_LLAMAC_RUN_COMMANDLINE_H
#define LLAMAC_TOOLS_LLAMAC_RUN_COMMANDLINE_H

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace llamac {

struct OptionSpec {
  std::string name; ///< As typed, e.g. "--weights" or "-p".
  bool takesValue;
  /// Set for a second spelling of an option ("-p" for "--prompt"): its
  /// values are recorded under that option's name.
  std::string aliasOf = "";
};

class ParsedArguments {
public:
  std::vector<std::string> positional;
  /// Every value given to each option, in command-line order; a flag gets
  /// "" each time.
  std::map<std::string, std::vector<std::string>> values;

  bool has(const std::string &name) const { return values.count(name); }
  /// The last value given to `name`, or "".
  std::string get(const std::string &name) const;
  /// Every value given to a repeatable option, in order.
  std::vector<std::string> getAll(const std::string &name) const;

  /// Leave `value` as it is when `name` is absent; false (and `error` set)
  /// when it is present but not a number of that kind.
  bool readInteger(const std::string &name, int64_t &value,
                   std::string &error) const;
  bool readFloat(const std::string &name, float &value,
                 std::string &error) const;
  /// Reads `name` into `field` (an integer or float type) when it is
  /// present; false (and `error` set) when it is not a number of that kind.
  template <typename T>
  bool readOptional(const std::string &name, std::optional<T> &field,
                    std::string &error) const {
    if (!has(name))
      return true;
    T value{};
    bool read;
    if constexpr (std::is_integral_v<T>)
      read = readInteger(name, value, error);
    else
      read = readFloat(name, value, error);
    if (read)
      field = value;
    return read;
  }
};

/// Parses argv[1..argc) (argv[0] is the subcommand) as "--name value",
/// "--name=value", flags and positional arguments. Returns nullopt and sets
/// `error` for an unknown option or a missing value.
std::optional<ParsedArguments>
parseArguments(int argc, char **argv, const std::vector<OptionSpec> &specs,
               std::string &error);

/// True when argv asks for the subcommand's usage text.
bool wantsHelp(int argc, char **argv);

/// Print "llamac-run: error: MESSAGE" and return the exit code.
int reportError(const std::string &message);
int reportUsageError(const std::string &message);

/// Writes `text` to stdout and flushes it: streamed text is read as it is
/// produced.
void printNow(std::string_view text);

/// JSON whose floats are float32: each prints as the shortest text that
/// reads back as the same float (at most 9 significant digits).
using OutputJson = nlohmann::basic_json<std::map, std::vector, std::string,
                                        bool, int64_t, uint64_t, float>;

} // namespace llamac

#endif // LLAMAC_TOOLS_LLAMAC_RUN_COMMANDLINE_H
