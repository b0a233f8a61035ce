//===- ServeCommand.cpp - llamac-run serve --------------------------------===//

#include "runtime/TextGeneration.h"
#include "runtime/server/OpenAIService.h"
#include "tools/llamac-run/Commands.h"
#include "tools/llamac-run/GenerationArguments.h"
#include "tools/llamac-run/ModelArguments.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace llamac {

static const char *const kUsage =
    "usage: llamac-run serve OUT.lmc [--host HOST] [--port PORT] [--template "
    "meta|hf]\n"
    "         [--model-name NAME] [--api-key KEY] [--allowed-origins "
    "ORIGIN,...|*]\n"
    "         [--max-batch-requests N] [--batch-wait-ms MS] [--weights MODEL]\n"
    "         [--threads N] [--prompt-lookup N [--lookup-ngram M]]\n"
    "Serves the model over HTTP with OpenAI's API until SIGINT or SIGTERM:\n"
    "  POST /v1/completions, /v1/chat/completions (\"stream\": true for "
    "server-sent events),\n"
    "  in the order they arrive, those waiting together as one batch;\n"
    "  GET /health, /v1/models, /metrics (Prometheus), POST /tokenize, "
    "/detokenize, at once;\n"
    "  POST /classify on a sequence classifier (each row's probs and "
    "label).\n"
    "Sampling defaults to the artifact's generation_config; max_tokens to "
    "what max_seq leaves.\n"
    "--host defaults to 127.0.0.1 (0.0.0.0: every interface), --port to 8080 "
    "(0: any free\n"
    "port); the address is printed on stderr, then a line per request. "
    "--template: the\n"
    "chat format (meta: Meta's reference, hf: Hugging Face's template); "
    "--model-name: the\n"
    "id /v1/models reports (default: the artifact's name). --api-key (or "
    "LLAMAC_API_KEY in\n"
    "the environment, kept out of the process list): every route but /health "
    "and /metrics\n"
    "needs \"Authorization: Bearer KEY\"; others get 401. --allowed-origins: "
    "the origins\n"
    "(scheme://host[:port], or * for any) whose web pages may call the API "
    "from a browser.\n"
    "--max-batch-requests: the most completions run together (default: as "
    "many as fit in the\n"
    "artifact's max_batch rows and max_seq; 1: one at a time). "
    "--batch-wait-ms: "
    "with fewer\n"
    "waiting than a batch can take, wait up to MS after the last batch (or "
    "the first arrival)\n"
    "for more (default 0: start at once).\n";

namespace {
struct ServeArguments {
  ModelArguments model;
  std::string host = "127.0.0.1";
  int64_t port = 8080;
  int64_t batchWaitMs = 0;
  ServiceOptions service;
};
} // namespace

/// "chat.lmc/" -> "chat".
static std::string artifactName(const std::string &artifactDir) {
  std::filesystem::path path(artifactDir);
  if (!path.has_filename())
    path = path.parent_path();
  return path.stem().string();
}

/// --api-key, else LLAMAC_API_KEY, else none: printable ASCII, as a header
/// carries it.
static bool readApiKey(const ParsedArguments &args, std::string &key,
                       std::string &error) {
  const bool given = args.has("--api-key");
  const char *environment = std::getenv("LLAMAC_API_KEY");
  if (!given && !environment)
    return true;
  const std::string source = given ? "--api-key" : "LLAMAC_API_KEY";
  key = given ? args.get("--api-key") : environment;
  if (key.empty()) {
    error = source + " is empty";
    return false;
  }
  if (!std::all_of(key.begin(), key.end(),
                   [](char c) { return c > ' ' && c < 0x7f; })) {
    error = source +
            " must be printable ASCII without spaces, as a header carries it";
    return false;
  }
  return true;
}

/// --allowed-origins: "*", or a comma-separated list of scheme://host[:port]
/// as browsers send them in Origin.
static bool readAllowedOrigins(const ParsedArguments &args,
                               std::vector<std::string> &origins,
                               std::string &error) {
  if (!args.has("--allowed-origins"))
    return true;
  const std::string list = args.get("--allowed-origins");
  for (size_t start = 0; start <= list.size();) {
    size_t end = std::min(list.find(',', start), list.size());
    origins.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  for (const std::string &origin : origins) {
    const size_t host = origin.find("://");
    const std::string scheme = origin.substr(0, host);
    const bool isOrigin =
        host != std::string::npos && (scheme == "http" || scheme == "https") &&
        origin.size() > host + 3 &&
        origin.find_first_of("/ ", host + 3) == std::string::npos;
    if (origin != "*" && !isOrigin) {
      error = "--allowed-origins: '" + origin +
              "' is not * or an origin (scheme://host[:port], no path)";
      return false;
    }
  }
  return true;
}

static bool readServeArguments(int argc, char **argv, ServeArguments &parsed,
                               std::string &error) {
  std::vector<OptionSpec> specs = modelOptionSpecs();
  specs.insert(specs.end(), {{"--host", true},
                             {"--port", true},
                             {"--template", true},
                             {"--model-name", true},
                             {"--api-key", true},
                             {"--allowed-origins", true},
                             {"--max-batch-requests", true},
                             {"--batch-wait-ms", true}});
  for (const OptionSpec &spec : promptLookupOptionSpecs())
    specs.push_back(spec);
  std::optional<ParsedArguments> args =
      parseArguments(argc, argv, specs, error);
  if (!args || !readModelArguments(*args, parsed.model, error) ||
      !args->readInteger("--port", parsed.port, error) ||
      !readChatTemplate(*args, parsed.service.style, error) ||
      !readPromptLookupArguments(*args, parsed.service.promptLookup, error) ||
      !readApiKey(*args, parsed.service.apiKey, error) ||
      !readAllowedOrigins(*args, parsed.service.allowedOrigins, error) ||
      !args->readInteger("--max-batch-requests",
                         parsed.service.maxBatchRequests, error) ||
      !args->readInteger("--batch-wait-ms", parsed.batchWaitMs, error))
    return false;
  if (parsed.batchWaitMs < 0 || parsed.batchWaitMs > 60000) {
    error = "--batch-wait-ms must be between 0 and 60000";
    return false;
  }
  if (args->has("--max-batch-requests") &&
      parsed.service.maxBatchRequests < 1) {
    error = "--max-batch-requests must be >= 1";
    return false;
  }
  if (parsed.port < 0 || parsed.port > 65535) {
    error = "--port must be between 0 and 65535";
    return false;
  }
  if (args->has("--host"))
    parsed.host = args->get("--host");
  parsed.service.modelName = args->has("--model-name")
                                 ? args->get("--model-name")
                                 : artifactName(parsed.model.artifactDir);
  return true;
}

int runServeCommand(int argc, char **argv) {
  if (wantsHelp(argc, argv)) {
    std::printf("%s%s", kUsage, kPromptLookupUsage);
    return 0;
  }
  ServeArguments args;
  std::string error;
  if (!readServeArguments(argc, argv, args, error))
    return reportUsageError(error);
  std::optional<ModelWithTokenizer> loaded =
      loadModelWithTokenizer(args.model, error);
  if (!loaded)
    return reportError(error);
  std::unique_ptr<HttpServer> server =
      HttpServer::listen(args.host, int(args.port), error);
  if (!server)
    return reportError(error);

  OpenAIService service(*loaded->model, *loaded->tokenizer, args.service,
                        [](const std::string &line) {
                          std::fprintf(stderr, "%s\n", line.c_str());
                        });
  std::fprintf(stderr, "llamac-run: serving %s on http://%s:%d%s\n",
               args.service.modelName.c_str(), args.host.c_str(),
               server->port(),
               args.service.apiKey.empty() ? "" : " (API key required)");
  std::fflush(stderr);
  server->serve(service.handlers(), HttpLimits(),
                {std::chrono::milliseconds(args.batchWaitMs),
                 service.mostBatchedRequests()});
  std::fprintf(stderr, "llamac-run: stopped\n");
  return 0;
}

} // namespace llamac
