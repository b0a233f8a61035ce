//===- llamac-run.cpp - Runs compiled llamac artifacts --------------------===//
//
// A thin dispatcher: each subcommand lives in its own file over the runtime
// library.
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/TokenizeCommand.h"
#include "tools/llamac-run/CommandLine.h"
#include "tools/llamac-run/Commands.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

using namespace llamac;

namespace {
struct Subcommand {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
};
} // namespace

static const Subcommand kSubcommands[] = {
    {"generate", runGenerateCommand,
     "generate text (or token ids) after prompts"},
    {"chat", runChatCommand, "a Llama-2-chat conversation on stdin/stdout"},
    {"classify", runClassifyCommand,
     "sequence-classification scores of prompts"},
    {"perplexity", runPerplexityCommand,
     "how well the model predicts a text (sliding windows)"},
    {"bench", runBenchCommand,
     "prefill and decode speed against the memory-bandwidth floor"},
    {"serve", runServeCommand,
     "an OpenAI-compatible HTTP server (completions, chat completions)"},
    {"synth", runSynthCommand,
     "write a random Hugging Face checkpoint of a config's shape"},
    {"quantize", runQuantizeCommand,
     "write an int4 artifact's checkpoint with its weights quantized"},
    {"tokenize", runTokenizeCommand, "text to token ids and back"},
};

static void printUsage(FILE *out) {
  std::fprintf(out, "usage: llamac-run COMMAND [ARGS...]  (COMMAND --help "
                    "for its options)\n");
  for (const Subcommand &command : kSubcommands)
    std::fprintf(out, "  %-10s %s\n", command.name, command.summary);
}

static int dispatch(int argc, char **argv) {
  if (argc < 2) {
    printUsage(stderr);
    return 2;
  }
  if (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    printUsage(stdout);
    return 0;
  }
  for (const Subcommand &command : kSubcommands)
    if (!std::strcmp(argv[1], command.name))
      return command.run(argc - 1, argv + 1);
  return reportUsageError(std::string("unknown command '") + argv[1] +
                          "' (see llamac-run --help)");
}

int main(int argc, char **argv) {
  // The library reports failures as values; what still escapes is resource
  // exhaustion, which gets the same one-line treatment instead of an abort.
  try {
    return dispatch(argc, argv);
  } catch (const std::bad_alloc &) {
    return reportError("out of memory");
  } catch (const std::exception &e) {
    return reportError(e.what());
  }
}
