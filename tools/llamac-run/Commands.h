//===- Commands.h - The subcommands of llamac-run ---------------*- C++ -*-===//
//
// Each takes argv starting at the subcommand's name and returns the exit
// code: 0, 1 for a failure, 2 for a usage error.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_TOOLS_LLAMAC_RUN_COMMANDS_H
#define LLAMAC_TOOLS_LLAMAC_RUN_COMMANDS_H

namespace llamac {

int runGenerateCommand(int argc, char **argv);
int runChatCommand(int argc, char **argv);
int runClassifyCommand(int argc, char **argv);
int runPerplexityCommand(int argc, char **argv);
int runBenchCommand(int argc, char **argv);
int runServeCommand(int argc, char **argv);
int runSynthCommand(int argc, char **argv);
int runQuantizeCommand(int argc, char **argv);

} // namespace llamac

#endif // LLAMAC_TOOLS_LLAMAC_RUN_COMMANDS_H
