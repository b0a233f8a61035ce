//===- HttpRequestFuzzer.cpp - What `llamac-run serve` reads from a socket ===//
//
// Input: the bytes a client sends. Promises checked (HttpRequest.h,
// CompletionRequest.h):
//   parseHttpRequest: a complete request has a token method, a target
//     starting with '/', lowercase header names, and exactly the body its
//     Content-Length declares, within the limits; a refused one has one of
//     the statuses the server sends and a one-line reason; a complete
//     request ends with its body, and without its last byte it is not one;
//   parseCompletionRequest on the body of a complete request (as a text
//     and as a chat completion, with stories260K's tokenizer): refused with
//     one line, or a non-empty prompt of ids in the vocabulary and sampling
//     settings that validate;
//   parseClassifyRequest on it: refused with one line, or non-empty rows
//     of non-negative ids.
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzSupport.h"
#include "fuzz/SharedTokenizer.h"
#include "runtime/server/CompletionRequest.h"
#include "runtime/server/HttpRequest.h"

using namespace llamac;
using namespace llamac::fuzz;

namespace {

const Tokenizer &tokenizer() {
  return sharedTokenizer("models/stories260K/hf/tokenizer.model");
}

const Manifest &manifest() {
  static Manifest model = [] {
    Manifest result;
    result.maxSeq = 512;
    result.maxBatch = 4;
    result.outputSize = 512;
    result.config.vocabSize = 512;
    return result;
  }();
  return model;
}

bool oneLine(const std::string &text) {
  return !text.empty() && text.find('\n') == std::string::npos;
}

/// Whether the request's rows are its prompts' candidates, each with its
/// seed (several within the fuzzed artifact's max_batch of 4; the generator
/// checks a prompt each), and its choices some of them (all when streamed).
bool rowsAgree(const CompletionRequest &request, CompletionKind kind) {
  const size_t rows = request.prompts.size();
  const std::vector<SamplingOptions> &seeds =
      request.options.generation.rowSampling;
  const int64_t candidates = request.candidatesPerPrompt;
  const int64_t choices = request.choicesPerPrompt;
  const bool seeded =
      candidates == 1 ? seeds.empty() : seeds.size() == rows && rows <= 4;
  return rows > 0 && rows == request.promptTexts.size() &&
         rows % size_t(candidates) == 0 && seeded &&
         (kind == CompletionKind::Text || rows == size_t(candidates)) &&
         choices >= 1 && choices <= candidates &&
         (!request.stream || candidates == choices);
}

void checkCompletionRequest(const std::string &body, CompletionKind kind) {
  std::string error;
  std::optional<CompletionRequest> request = parseCompletionRequest(
      body, kind, manifest(), tokenizer(), ChatTemplate::MetaReference, error);
  if (!request) {
    FUZZ_CHECK(oneLine(error), error);
    return;
  }
  FUZZ_CHECK(rowsAgree(*request, kind),
             std::to_string(request->prompts.size()) + " rows, n " +
                 std::to_string(request->choicesPerPrompt) + ", best_of " +
                 std::to_string(request->candidatesPerPrompt));
  for (const std::vector<TokenId> &prompt : request->prompts) {
    FUZZ_CHECK(!prompt.empty(), "an empty prompt was accepted");
    for (TokenId id : prompt)
      FUZZ_CHECK(id >= 0, std::to_string(id));
  }
  FUZZ_CHECK(request->options.generation.maxNewTokens >= 0,
             std::to_string(request->options.generation.maxNewTokens));
  FUZZ_CHECK(validateSamplingOptions(request->options.generation.sampling,
                                     manifest().outputSize, SettingNames::Json)
                 .empty(),
             "accepted sampling settings that do not validate");
}

/// /tokenize and /detokenize: ids in the vocabulary, or a one-line error.
void checkTokenRequests(const std::string &body) {
  std::string error;
  for (bool tokenize : {true, false}) {
    std::optional<std::vector<TokenId>> ids =
        tokenize ? parseTokenizeRequest(body, tokenizer(),
                                        ChatTemplate::MetaReference, error)
                 : parseDetokenizeRequest(body, tokenizer(), error);
    if (!ids) {
      FUZZ_CHECK(oneLine(error), error);
      continue;
    }
    for (TokenId id : *ids)
      FUZZ_CHECK(tokenizer().contains(id), std::to_string(id));
  }
}

/// /classify: non-empty rows of non-negative ids, or a one-line error (the
/// classifier checks them against its vocabulary).
void checkClassifyRequest(const std::string &body) {
  std::string error;
  std::optional<std::vector<std::vector<TokenId>>> rows =
      parseClassifyRequest(body, tokenizer(), error);
  if (!rows) {
    FUZZ_CHECK(oneLine(error), error);
    return;
  }
  FUZZ_CHECK(!rows->empty(), "no rows were accepted");
  for (const std::vector<TokenId> &row : *rows) {
    FUZZ_CHECK(!row.empty(), "an empty row was accepted");
    for (TokenId id : row)
      FUZZ_CHECK(id >= 0, std::to_string(id));
  }
}

void checkComplete(const HttpParse &parse, std::string_view input,
                   const HttpLimits &limits) {
  const HttpRequest &request = parse.request;
  FUZZ_CHECK(!request.method.empty() && request.target.front() == '/',
             request.method + " " + request.target);
  for (const auto &[name, value] : request.headers)
    for (char c : name)
      FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), name);
  const std::string *length = request.header("content-length");
  FUZZ_CHECK(request.body.size() == (length ? std::stoull(*length) : 0),
             "a body of " + std::to_string(request.body.size()) + " bytes");
  FUZZ_CHECK(request.body.size() <= limits.maxBodyBytes, "body over limit");
  FUZZ_CHECK(parse.length <= input.size() &&
                 input.substr(parse.length - request.body.size(),
                              request.body.size()) == request.body,
             "the body is not where the request ends");
  HttpParse shorter =
      parseHttpRequest(input.substr(0, parse.length - 1), limits);
  FUZZ_CHECK(shorter.state != HttpParse::State::Complete,
             "complete without its last byte");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  HttpLimits limits;
  limits.maxHeadBytes = 4096;
  limits.maxBodyBytes = 32768;
  std::string_view input(reinterpret_cast<const char *>(data), size);
  HttpParse parse = parseHttpRequest(input, limits);
  switch (parse.state) {
  case HttpParse::State::Incomplete:
    break;
  case HttpParse::State::Invalid:
    FUZZ_CHECK(parse.status == 400 || parse.status == 413 ||
                   parse.status == 431 || parse.status == 501 ||
                   parse.status == 505,
               std::to_string(parse.status));
    FUZZ_CHECK(oneLine(parse.problem), parse.problem);
    break;
  case HttpParse::State::Complete:
    checkComplete(parse, input, limits);
    checkCompletionRequest(parse.request.body, CompletionKind::Text);
    checkCompletionRequest(parse.request.body, CompletionKind::Chat);
    checkTokenRequests(parse.request.body);
    checkClassifyRequest(parse.request.body);
    break;
  }
  return 0;
}
