//===- ChatCommand.cpp - llamac-run chat ----------------------------------===//

#include "runtime/ChatSession.h"
#include "runtime/Stopwatch.h"
#include "runtime/tokenizer/Utf8.h"
#include "tools/llamac-run/Commands.h"
#include "tools/llamac-run/GenerationArguments.h"
#include "tools/llamac-run/ModelArguments.h"

#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace llamac {

static const char *const kUsage =
    "usage: llamac-run chat OUT.lmc [--system TEXT] [--template meta|hf] "
    "[--max-new-tokens N]\n"
    "         [--stop STR]... [--json-object] [--json-schema FILE] "
    "[--print-ids]\n"
    "         [--temperature T] [--top-k K]"
    " [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S]\n"
    "         [--weights MODEL] [--threads N] [--prompt-lookup N "
    "[--lookup-ngram M]]\n"
    "Reads user messages from stdin, one per line, and streams each answer "
    "to stdout.\n"
    "Llama-2-chat format: Meta's reference chat_completion (the default) or "
    "the Hugging Face\n"
    "chat template (--template hf); --system folds a system prompt into the "
    "first message.\n"
    "The conversation stays in the KV cache: each turn prefills only its new "
    "tokens. /reset\n"
    "starts a new conversation; /exit or the end of input quits. After each "
    "answer, stderr\n"
    "gets \"[turn N: prefilled P tokens, generated G tokens, R tok/s]\" "
    "(with the draft tokens\n"
    "kept, under --prompt-lookup); --print-ids also prints the ids each turn "
    "prefills and\n"
    "answers with. A turn that would not fit in max_seq "
    "is refused with a note on stderr,\n"
    "and an answer stops where the context ends.\n";

namespace {
struct ChatArguments {
  ModelArguments model;
  GenerationArguments generation;
  ChatTemplate style = ChatTemplate::MetaReference;
  std::string systemPrompt;
  bool printIds = false;
};
} // namespace

static bool readChatArguments(int argc, char **argv, ChatArguments &parsed,
                              std::string &error) {
  std::vector<OptionSpec> specs = modelOptionSpecs();
  std::vector<OptionSpec> generationSpecs = generationOptionSpecs();
  specs.insert(specs.end(), generationSpecs.begin(), generationSpecs.end());
  specs.insert(
      specs.end(),
      {{"--system", true}, {"--template", true}, {"--print-ids", false}});
  std::optional<ParsedArguments> args =
      parseArguments(argc, argv, specs, error);
  if (!args || !readModelArguments(*args, parsed.model, error) ||
      !readGenerationArguments(*args, parsed.generation, error))
    return false;
  if (parsed.generation.maxNewTokens && *parsed.generation.maxNewTokens < 1) {
    error = "--max-new-tokens must be >= 1 in a chat";
    return false;
  }
  if (!readChatTemplate(*args, parsed.style, error))
    return false;
  parsed.systemPrompt = args->get("--system");
  if (std::optional<size_t> offset = findIllFormedUtf8(parsed.systemPrompt)) {
    error = "--system is not valid UTF-8 (ill-formed sequence at byte " +
            std::to_string(*offset) + ")";
    return false;
  }
  parsed.printIds = args->has("--print-ids");
  return true;
}

/// Answers user messages until /exit or the end of input.
class ChatLoop {
public:
  ChatLoop(ChatSession &session, bool printIds)
      : session(session), printIds(printIds),
        interactive(isatty(STDIN_FILENO)) {}

  /// Returns the exit code.
  int run() {
    std::string line;
    while (prompt(), std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      if (line == "/exit")
        return 0;
      if (line == "/reset") {
        session.reset();
        turn = 1;
        std::fprintf(stderr, "[conversation reset]\n");
      } else if (line.find_first_not_of(" \t") != std::string::npos &&
                 !answer(line)) {
        return 1;
      }
    }
    if (interactive)
      printNow("\n");
    return 0;
  }

private:
  void prompt() const {
    if (interactive)
      printNow("> ");
  }

  /// False when the conversation cannot go on.
  bool answer(const std::string &message) {
    std::string error;
    std::optional<PreparedTurn> prepared = session.prepare(message, error);
    if (!prepared) {
      // A message the tokenizer refuses costs that message, not the chat.
      reportError(error);
      return true;
    }
    if (printIds)
      printTurnIds("ids", prepared->prefill);
    if (!session.fits(*prepared)) {
      std::fprintf(stderr,
                   "[the conversation is full: turn %d needs %zu more tokens, "
                   "%lld of max_seq %lld are in use; /reset starts a new "
                   "one]\n",
                   turn, prepared->prefill.size(), (long long)session.length(),
                   (long long)session.maxLength());
      return true;
    }
    std::optional<ChatTurn> reply = session.respond(
        *prepared, [](size_t, const TextPiece &piece) { printNow(piece.text); },
        error);
    if (!reply) {
      reportError(error);
      return false;
    }
    printNow("\n");
    const GenerationResult &ids = reply->answer.ids;
    if (printIds)
      printTurnIds("answer ids", ids.generated.front());
    const std::string drafts = describeDrafts(ids);
    std::fprintf(stderr,
                 "[turn %d: prefilled %lld tokens, generated %zu tokens, %.1f "
                 "tok/s%s%s]\n",
                 turn++, (long long)ids.promptTokens,
                 ids.generated.front().size(),
                 perSecond(ids.decodeTokens, ids.decodeSeconds),
                 drafts.empty() ? "" : "; ", drafts.c_str());
    if (reply->filledContext)
      std::fprintf(stderr,
                   "[the answer filled the context (max_seq %lld); /reset "
                   "starts a new conversation]\n",
                   (long long)session.maxLength());
    return true;
  }

  /// "[turn N WHAT: id id ...]" on stderr.
  void printTurnIds(const char *what, const std::vector<TokenId> &ids) const {
    std::fprintf(stderr, "[turn %d %s:", turn, what);
    for (TokenId id : ids)
      std::fprintf(stderr, " %d", id);
    std::fprintf(stderr, "]\n");
  }

  ChatSession &session;
  bool printIds;
  bool interactive;
  int turn = 1;
};

int runChatCommand(int argc, char **argv) {
  if (wantsHelp(argc, argv)) {
    std::printf("%s%s%s", kUsage, kGenerationUsage, kPromptLookupUsage);
    return 0;
  }
  ChatArguments args;
  std::string error;
  if (!readChatArguments(argc, argv, args, error))
    return reportUsageError(error);
  std::optional<ModelWithTokenizer> loaded =
      loadModelWithTokenizer(args.model, error);
  if (!loaded)
    return reportError(error);
  CompiledModel &model = *loaded->model;
  const Tokenizer &tokenizer = *loaded->tokenizer;

  ChatOptions options;
  options.style = args.style;
  options.systemPrompt = args.systemPrompt;
  options.sampling = args.generation.sampling(model.manifest());
  options.stopStrings = args.generation.stopStrings;
  options.jsonSchema = args.generation.jsonSchema;
  options.maxAnswerTokens = args.generation.maxNewTokens;
  options.promptLookup = args.generation.promptLookup;
  // Refuse up front what every turn would refuse (a classifier, sampling
  // settings out of range).
  GenerationOptions firstToken;
  firstToken.sampling = options.sampling;
  error = checkGenerationRequest(model.manifest(), {{tokenizer.bosId()}},
                                 firstToken);
  if (!error.empty())
    return reportError(error);
  ChatSession session(model, tokenizer, std::move(options));
  return ChatLoop(session, args.printIds).run();
}

} // namespace llamac
