//===- TokenizeCommand.h - `llamac-run tokenize` ----------------*- C++ -*-===//
//
//   llamac-run tokenize --tokenizer PATH (--text T | --ids "1,2,3")
//       [--no-bos] [--no-dummy-prefix] [--parse-special [--legacy|--no-legacy]]
//       [--skip-special] [--json]
//
// --text prints the ids comma-separated ({"ids": [...]} with --json); --ids
// prints the text ({"text": "..."}). Errors are one line on stderr; the exit
// status is 2 for a malformed command line and 1 for anything else.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_TOKENIZER_TOKENIZECOMMAND_H
#define LLAMAC_RUNTIME_TOKENIZER_TOKENIZECOMMAND_H

#include <iosfwd>
#include <string>
#include <vector>

namespace llamac {

/// The subcommand; argv[0] is "tokenize". Returns the exit status.
int runTokenizeCommand(int argc, char **argv);

/// The same writing to the given streams.
int runTokenizeCommand(const std::vector<std::string> &args, std::ostream &out,
                       std::ostream &err);

} // namespace llamac

#endif // LLAMAC_RUNTIME_TOKENIZER_TOKENIZECOMMAND_H
