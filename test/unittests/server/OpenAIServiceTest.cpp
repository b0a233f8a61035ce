//===- OpenAIServiceTest.cpp - The server over the fake model, on loopback ===//
//
// The whole stack (sockets, HTTP, the API, the generator) in one process, so
// that the sanitizer builds run it: replies must carry what generateText
// gives for the same prompt on the fake model.
//
//===----------------------------------------------------------------------===//

#include "runtime/server/OpenAIService.h"

#include "runtime/Classifier.h"
#include "test/unittests/runtime/FakeArtifact.h"

#include <algorithm>
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>

using namespace llamac;
using namespace llamac::test;
using nlohmann::json;
using ::testing::HasSubstr;

namespace {

LlamaConfig textConfig() {
  LlamaConfig config = tinyCausalConfig();
  config.vocabSize = 512; // stories260K's tokenizer
  return config;
}

class OpenAIServiceTest : public ::testing::Test {
protected:
  void SetUp() override {
    artifact = makeFakeArtifactWithTokenizer(root, config, maxBatch, 64);
    std::string error;
    model = CompiledModel::load(artifact.artifactDir, "", error);
    ASSERT_TRUE(model) << error;
    tokenizer = loadArtifactTokenizer(model->manifest(), error);
    ASSERT_TRUE(tokenizer) << error;
    server = HttpServer::listen("127.0.0.1", 0, error);
    ASSERT_TRUE(server) << error;
    options.modelName = "fake";
    service = std::make_unique<OpenAIService>(
        *model, *tokenizer, options,
        [this](const std::string &line) { log.push_back(line); });
    serving = std::thread(
        [this] { server->serve(service->handlers(), limits, gathering); });
  }

  void TearDown() override { stopServing(); }

  /// Afterwards the server thread's writes (the log) are visible here.
  void stopServing() {
    if (server)
      server->stop();
    if (serving.joinable())
      serving.join();
  }

  /// A connection to the server that has sent `data`, and then closed its
  /// side when `halfClose` (the end of data and of the stream in one
  /// segment: the server sees both at once). A reply must come within 10 s
  /// (the server's read timeout is 30 s).
  int connectAndSend(const std::string &data, bool halfClose = false) {
    int client = socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout = {10, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(server->port()));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr *>(&address),
                      sizeof(address)),
              0);
    int cork = halfClose;
    setsockopt(client, IPPROTO_TCP, TCP_CORK, &cork, sizeof(cork));
    EXPECT_EQ(send(client, data.data(), data.size(), 0), ssize_t(data.size()));
    if (halfClose)
      shutdown(client, SHUT_WR);
    return client;
  }

  /// Sends `request` and returns everything the server answers.
  std::string exchange(const std::string &request) {
    int client = connectAndSend(request);
    std::string response;
    char buffer[4096];
    for (ssize_t count; (count = recv(client, buffer, sizeof(buffer), 0)) > 0;)
      response.append(buffer, size_t(count));
    close(client);
    return response;
  }

  static std::string postRequest(const std::string &path, const json &body) {
    std::string data = body.dump();
    return "POST " + path +
           " HTTP/1.1\r\nContent-Length: " + std::to_string(data.size()) +
           "\r\n\r\n" + data;
  }

  std::string post(const std::string &path, const json &body) {
    return exchange(postRequest(path, body));
  }

  /// Posts `body` and reads the answer as a client that does not wait for
  /// the connection to close does: to its Content-Length, or to a stream's
  /// [DONE].
  std::string postUntilAnswered(const std::string &path, const json &body) {
    int client = connectAndSend(postRequest(path, body));
    std::string response;
    char buffer[4096];
    for (ssize_t count; !isWhole(response) &&
                        (count = recv(client, buffer, sizeof(buffer), 0)) > 0;)
      response.append(buffer, size_t(count));
    close(client);
    return response;
  }

  static bool isWhole(const std::string &response) {
    const size_t headerEnd = response.find("\r\n\r\n");
    if (headerEnd == std::string::npos)
      return false;
    const size_t length = response.find("Content-Length: ");
    if (length == std::string::npos || length > headerEnd) {
      const std::string done = "data: [DONE]\n\n";
      return response.size() >= done.size() &&
             response.compare(response.size() - done.size(), done.size(),
                              done) == 0;
    }
    return response.size() ==
           headerEnd + 4 + std::stoul(response.substr(length + 16));
  }

  static json bodyOf(const std::string &response) {
    return json::parse(response.substr(response.find("\r\n\r\n") + 4));
  }

  /// A stream's events before [DONE], which must end it.
  static std::vector<json> eventsOf(const std::string &response) {
    std::vector<json> events;
    size_t at = response.find("\r\n\r\n") + 4;
    for (size_t end; (end = response.find("\n\n", at)) != std::string::npos;
         at = end + 2) {
      std::string event = response.substr(at + 6, end - at - 6); // "data: "
      if (event == "[DONE]") {
        EXPECT_EQ(end + 2, response.size());
        return events;
      }
      events.push_back(json::parse(event));
    }
    ADD_FAILURE() << "no [DONE]: " << response;
    return events;
  }

  /// What generateText gives the prompt on the fake model.
  std::string reference(const std::string &prompt, int64_t maxTokens) {
    std::string error;
    std::optional<std::vector<TokenId>> ids =
        tokenizer->encode(prompt, EncodeOptions(), error);
    TextGenerationOptions options;
    options.generation.maxNewTokens = maxTokens;
    std::optional<TextGenerationResult> result =
        generateText(*model, *tokenizer, {*ids}, options, {}, error);
    EXPECT_TRUE(result) << error;
    return result ? result->texts[0] : "";
  }

  LlamaConfig config = textConfig();
  int64_t maxBatch = 1;
  ServiceOptions options;
  HttpLimits limits;
  TurnGathering gathering;
  TemporaryDirectory root;
  FakeArtifact artifact;
  std::unique_ptr<CompiledModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<OpenAIService> service;
  std::vector<std::string> log;
  std::thread serving;
};

class OpenAIServiceWithBatchesTest : public OpenAIServiceTest {
protected:
  void SetUp() override {
    maxBatch = 4;
    OpenAIServiceTest::SetUp();
  }

  void TearDown() override {
    fakeModelHold(false);
    OpenAIServiceTest::TearDown();
  }

  /// Waits until `count` requests wait for their answer, 10 s at most.
  void waitForTurns(size_t count) {
    for (int tries = 0; tries < 1000 && server->waitingTurns() != count;
         ++tries)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(server->waitingTurns(), count);
  }

  /// The log's line for completion `id`.
  std::string logLine(const std::string &id) const {
    for (const std::string &line : log)
      if (line.find(" 200 " + id + ": ") != std::string::npos)
        return line;
    return "none for " + id;
  }
};

class OpenAIServiceWithClassifierTest : public OpenAIServiceTest {
protected:
  void SetUp() override {
    config.architecture = Architecture::SequenceClassification;
    config.numLabels = 3;
    config.labels = {"negative", "neutral", "positive"};
    config.padTokenId = 0;
    maxBatch = 2;
    OpenAIServiceTest::SetUp();
  }
};

class OpenAIServiceWithGatheringTest : public OpenAIServiceWithBatchesTest {
protected:
  void SetUp() override {
    // Long enough for clients on a loaded machine to arrive within it.
    gathering = {std::chrono::milliseconds(3000), 3};
    OpenAIServiceWithBatchesTest::SetUp();
  }
};

class OpenAIServiceWithPromptLookupTest : public OpenAIServiceTest {
protected:
  void SetUp() override {
    options.promptLookup.draftTokens = 4;
    OpenAIServiceTest::SetUp();
  }
};

class OpenAIServiceWithApiKeyTest : public OpenAIServiceTest {
protected:
  void SetUp() override {
    options.apiKey = "sk-local-1";
    OpenAIServiceTest::SetUp();
  }

  /// GET `path` with `authorization`, when not empty, as that header.
  std::string get(const std::string &path, const std::string &authorization) {
    return exchange("GET " + path + " HTTP/1.1\r\n" +
                    (authorization.empty()
                         ? ""
                         : "Authorization: " + authorization + "\r\n") +
                    "\r\n");
  }
};

class OpenAIServiceWithAllowedOriginTest : public OpenAIServiceWithApiKeyTest {
protected:
  void SetUp() override {
    options.allowedOrigins = {"http://localhost:3000", "https://chat.example"};
    OpenAIServiceWithApiKeyTest::SetUp();
  }

  /// What a browser asks before a page at `origin` posts JSON with a key.
  std::string preflight(const std::string &origin) {
    return exchange(
        "OPTIONS /v1/chat/completions HTTP/1.1\r\nOrigin: " + origin +
        "\r\nAccess-Control-Request-Method: POST\r\n"
        "Access-Control-Request-Headers: authorization, "
        "content-type\r\n\r\n");
  }
};

class OpenAIServiceWithOneConnectionTest : public OpenAIServiceTest {
protected:
  void SetUp() override {
    limits.maxConnections = 1;
    OpenAIServiceTest::SetUp();
  }
};

/// The start of a completion whose body never comes.
const char *kStalledRequest =
    "POST /v1/completions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{";

} // namespace

TEST_F(OpenAIServiceTest, CompletesAsTheGeneratorDoes) {
  std::string response = post(
      "/v1/completions",
      {{"prompt", "Once upon a time"}, {"max_tokens", 8}, {"temperature", 0}});
  EXPECT_THAT(response, HasSubstr("HTTP/1.1 200 OK\r\n"));
  json reply = bodyOf(response);
  EXPECT_EQ(reply["choices"][0]["text"], reference("Once upon a time", 8));
  EXPECT_EQ(reply["usage"]["completion_tokens"].get<int64_t>() +
                reply["usage"]["prompt_tokens"].get<int64_t>(),
            reply["usage"]["total_tokens"].get<int64_t>());
}

TEST_F(OpenAIServiceTest, StreamsTheSameTextInEvents) {
  std::string response = post("/v1/completions", {{"prompt", "Once"},
                                                  {"max_tokens", 8},
                                                  {"temperature", 0},
                                                  {"stream", true}});
  EXPECT_THAT(response, HasSubstr("Content-Type: text/event-stream\r\n"));
  std::string text;
  for (const json &event : eventsOf(response))
    text += event["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(text, reference("Once", 8));
}

TEST_F(OpenAIServiceTest, StreamsLogprobsThatJoinToTheWholeReplys) {
  const std::string prompt = "Once upon a time";
  json body = {{"prompt", prompt},
               {"max_tokens", 24},
               {"temperature", 0},
               {"logprobs", 2}};
  json whole = bodyOf(post("/v1/completions", body))["choices"][0];
  // A stop string from the middle of the answer holds its tokens back.
  const std::string text = whole["text"];
  size_t stop = text.size() / 2;
  auto ascii = [](char c) { return (unsigned char)c < 0x80; };
  while (stop + 3 <= text.size() &&
         !std::all_of(text.begin() + stop, text.begin() + stop + 3, ascii))
    ++stop;
  ASSERT_LE(stop + 3, text.size()) << text;
  body["stop"] = text.substr(stop, 3);
  whole = bodyOf(post("/v1/completions", body))["choices"][0];
  ASSERT_EQ(whole["finish_reason"], "stop");
  body["stream"] = true;
  json joined = {{"tokens", json::array()},
                 {"token_logprobs", json::array()},
                 {"top_logprobs", json::array()}};
  std::string streamedText;
  for (const json &event : eventsOf(post("/v1/completions", body))) {
    const json &choice = event["choices"][0];
    streamedText += choice["text"].get<std::string>();
    if (choice["logprobs"].is_null())
      continue;
    for (const auto &[key, values] : choice["logprobs"].items())
      for (const json &value : values)
        joined[key].push_back(value);
  }
  EXPECT_EQ(streamedText, whole["text"]);
  EXPECT_EQ(joined, whole["logprobs"]);
}

TEST_F(OpenAIServiceTest, AnswersBadRequestsWithTheirStatus) {
  EXPECT_THAT(exchange("GET /v1/nothing HTTP/1.1\r\n\r\n"),
              HasSubstr("HTTP/1.1 404 Not Found"));
  EXPECT_THAT(exchange("GET / HTTP/3\r\n\r\n"),
              HasSubstr("HTTP/1.1 505 HTTP Version Not Supported"));
  std::string refused = post("/v1/chat/completions", {{"messages", 5}});
  EXPECT_THAT(refused, HasSubstr("HTTP/1.1 400 Bad Request"));
  EXPECT_THAT(bodyOf(refused)["error"]["message"].get<std::string>(),
              HasSubstr("messages must be a non-empty list"));
  stopServing();
  EXPECT_THAT(log, ::testing::Contains(HasSubstr("404: no such route")));
}

TEST_F(OpenAIServiceWithPromptLookupTest, CompletesAsTheGeneratorDoesAlone) {
  // A prompt that repeats itself gives the lookup drafts to score.
  const std::string prompt = "the cat sat on the mat, the cat sat on the";
  json reply = bodyOf(
      post("/v1/completions",
           {{"prompt", prompt}, {"max_tokens", 24}, {"temperature", 0}}));
  EXPECT_EQ(reply["choices"][0]["text"], reference(prompt, 24));
  stopServing();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_THAT(log[0], HasSubstr(" generated, kept "));
}

TEST_F(OpenAIServiceTest, AStalledClientHoldsOnlyItsOwnConnection) {
  int stalled = connectAndSend(kStalledRequest);
  EXPECT_THAT(exchange("GET /health HTTP/1.1\r\n\r\n"),
              HasSubstr("HTTP/1.1 200 OK"));
  json reply =
      bodyOf(post("/v1/completions",
                  {{"prompt", "Once"}, {"max_tokens", 6}, {"temperature", 0}}));
  EXPECT_EQ(reply["choices"][0]["text"], reference("Once", 6));
  // Stopping drops the request still arriving: the client sees the end.
  stopServing();
  char byte;
  EXPECT_EQ(recv(stalled, &byte, 1, 0), 0);
  close(stalled);
}

TEST_F(OpenAIServiceTest, CompletionsSentAtOnceAreAnsweredInTurn) {
  const std::vector<std::string> prompts = {"Once", "Tom had", "The sun",
                                            "Lily saw"};
  std::vector<std::string> texts(prompts.size());
  std::vector<json> tokenized(prompts.size());
  std::vector<std::thread> clients;
  // Beside them, what is answered at once: the tokenizer and the metrics.
  for (size_t i = 0; i < prompts.size(); ++i) {
    clients.emplace_back([&, i] {
      texts[i] = bodyOf(
          post("/v1/completions", {{"prompt", prompts[i]},
                                   {"max_tokens", 12},
                                   {"temperature", 0}}))["choices"][0]["text"];
    });
    clients.emplace_back([&, i] {
      tokenized[i] = bodyOf(post("/tokenize", {{"prompt", prompts[i]}}));
      exchange("GET /metrics HTTP/1.1\r\n\r\n");
    });
  }
  for (std::thread &client : clients)
    client.join();
  std::string error;
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(texts[i], reference(prompts[i], 12)) << prompts[i];
    EXPECT_EQ(tokenized[i]["tokens"].get<std::vector<TokenId>>(),
              tokenizer->encode(prompts[i], EncodeOptions(), error))
        << prompts[i];
  }
  stopServing();
  EXPECT_EQ(std::count_if(log.begin(), log.end(),
                          [](const std::string &line) {
                            return line.find(" 200 cmpl-") != std::string::npos;
                          }),
            4);
}

TEST_F(OpenAIServiceWithOneConnectionTest, RefusesConnectionsBeyondTheLimit) {
  int stalled = connectAndSend(kStalledRequest);
  // The stalled connection's thread may still be starting: the limit counts
  // it from its accept, which comes before the next one's.
  std::string refused = exchange("GET /health HTTP/1.1\r\n\r\n");
  EXPECT_THAT(refused, HasSubstr("HTTP/1.1 503 Service Unavailable"));
  EXPECT_THAT(bodyOf(refused)["error"]["message"].get<std::string>(),
              HasSubstr("cannot take more connections (at most 1 at once)"));
  close(stalled);
}

TEST_F(OpenAIServiceWithBatchesTest, CompletionsWaitingTogetherRunAsOneBatch) {
  // The first completion holds the model while three more arrive: a long
  // one, a short stream, and two rows of one prompt (n = 2).
  fakeModelHold(true);
  const int64_t callsBefore = fakeModelCallCount();
  std::vector<std::thread> clients;
  json first;
  clients.emplace_back([&] {
    first = bodyOf(
        post("/v1/completions",
             {{"prompt", "Once"}, {"max_tokens", 12}, {"temperature", 0}}));
  });
  for (int tries = 0; tries < 1000 && fakeModelCallCount() == callsBefore;
       ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(fakeModelCallCount(), callsBefore + 1) << "the model is held";
  json longReply, pairReply;
  std::string shortStream;
  clients.emplace_back([&] {
    longReply = bodyOf(post(
        "/v1/completions",
        {{"prompt", "Tom had a big"}, {"max_tokens", 40}, {"temperature", 0}}));
  });
  waitForTurns(2);
  clients.emplace_back([&] {
    shortStream = post("/v1/completions", {{"prompt", "The sun"},
                                           {"max_tokens", 3},
                                           {"temperature", 0},
                                           {"stream", true}});
  });
  waitForTurns(3);
  clients.emplace_back([&] {
    pairReply = bodyOf(post("/v1/completions", {{"prompt", "Lily saw"},
                                                {"max_tokens", 6},
                                                {"temperature", 0},
                                                {"n", 2}}));
  });
  waitForTurns(4);
  fakeModelHold(false);
  for (std::thread &client : clients)
    client.join();

  EXPECT_EQ(first["choices"][0]["text"], reference("Once", 12));
  EXPECT_EQ(longReply["choices"][0]["text"], reference("Tom had a big", 40));
  std::string streamed;
  for (const json &event : eventsOf(shortStream))
    streamed += event["choices"][0].value("text", "");
  EXPECT_EQ(streamed, reference("The sun", 3));
  ASSERT_EQ(pairReply["choices"].size(), 2u);
  for (const json &choice : pairReply["choices"])
    EXPECT_EQ(choice["text"], reference("Lily saw", 6));
  EXPECT_EQ(pairReply["usage"]["completion_tokens"], 12);
  EXPECT_THAT(
      exchange("GET /metrics HTTP/1.1\r\n\r\n"),
      HasSubstr(
          "llamac_batch_requests_sum 4\nllamac_batch_requests_count 2\n"));
  stopServing();
  EXPECT_THAT(logLine("cmpl-1"), ::testing::Not(HasSubstr("batch")));
  for (const char *id : {"cmpl-2", "cmpl-3", "cmpl-4"})
    EXPECT_THAT(logLine(id), HasSubstr(", in a batch of 3, ")) << id;
  // The short ones were answered as their rows ended, before the long one.
  const auto position = [&](const std::string &id) {
    return std::find(log.begin(), log.end(), logLine(id)) - log.begin();
  };
  EXPECT_LT(position("cmpl-3"), position("cmpl-2"));
  EXPECT_LT(position("cmpl-4"), position("cmpl-2"));
}

TEST_F(OpenAIServiceWithBatchesTest, CompletionsThatCannotShareABatchRunApart) {
  // Behind a held one: one past EOS, then a long prompt whose slots and a
  // short one's many new tokens would overflow max_seq (64) together.
  const std::string longPrompt =
      "Once upon a time, there was a little girl named Lily who liked to play";
  std::string error;
  ASSERT_GT(tokenizer->encode(longPrompt, EncodeOptions(), error)->size(), 14u);
  fakeModelHold(true);
  std::vector<json> bodies = {
      {{"prompt", "Once"}, {"max_tokens", 4}, {"temperature", 0}},
      {{"prompt", "Tom"},
       {"max_tokens", 30},
       {"temperature", 0},
       {"ignore_eos", true}},
      {{"prompt", longPrompt}, {"max_tokens", 8}, {"temperature", 0}},
      {{"prompt", "The sun"}, {"max_tokens", 50}, {"temperature", 0}}};
  std::vector<json> replies(bodies.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < bodies.size(); ++i) {
    clients.emplace_back([&, i] {
      replies[i] = bodyOf(post("/v1/completions", bodies[i]));
    });
    waitForTurns(i + 1);
  }
  fakeModelHold(false);
  for (std::thread &client : clients)
    client.join();

  EXPECT_EQ(replies[1]["usage"]["completion_tokens"], 30);
  for (size_t i : {0, 2, 3})
    EXPECT_EQ(replies[i]["choices"][0]["text"],
              reference(bodies[i]["prompt"], bodies[i]["max_tokens"]))
        << i;
  EXPECT_THAT(
      exchange("GET /metrics HTTP/1.1\r\n\r\n"),
      HasSubstr("llamac_batch_requests_sum 4\nllamac_batch_requests_count 4\n"));
}

TEST_F(OpenAIServiceWithGatheringTest, ATurnWaitsForAFullerBatch) {
  const std::vector<std::string> prompts = {"Once", "Tom had", "The sun"};
  std::vector<json> replies(prompts.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < prompts.size(); ++i)
    clients.emplace_back([&, i] {
      replies[i] = bodyOf(post(
          "/v1/completions",
          {{"prompt", prompts[i]}, {"max_tokens", 10}, {"temperature", 0}}));
    });
  for (std::thread &client : clients)
    client.join();
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(replies[i]["choices"][0]["text"], reference(prompts[i], 10));
  // A lone one waits out the window, then runs alone.
  json lone = bodyOf(
      post("/v1/completions",
           {{"prompt", "Lily"}, {"max_tokens", 10}, {"temperature", 0}}));
  EXPECT_EQ(lone["choices"][0]["text"], reference("Lily", 10));
  EXPECT_THAT(
      exchange("GET /metrics HTTP/1.1\r\n\r\n"),
      HasSubstr(
          "llamac_batch_requests_sum 4\nllamac_batch_requests_count 2\n"));
}

TEST_F(OpenAIServiceWithGatheringTest, StoppingAnswersATurnStillGathering) {
  std::thread client([&] {
    json reply = bodyOf(
        post("/v1/completions",
             {{"prompt", "Once"}, {"max_tokens", 5}, {"temperature", 0}}));
    EXPECT_EQ(reply["choices"][0]["text"], reference("Once", 5));
  });
  waitForTurns(1);
  stopServing();
  client.join();
}

TEST_F(OpenAIServiceTest, JsonModeAnswersWithAnObject) {
  // Led by the logit bias to close the object it opens.
  auto idOf = [&](const std::string &text) {
    for (TokenId id = 0; id < tokenizer->vocabSize(); ++id)
      if (!tokenizer->isSpecial(id) && tokenizer->pieceBytes(id) == text)
        return std::to_string(id);
    ADD_FAILURE() << "no token for " << text;
    return std::string();
  };
  json reply = bodyOf(
      post("/v1/chat/completions",
           {{"messages", {{{"role", "user"}, {"content", "Answer in JSON."}}}},
            {"max_tokens", 20},
            {"response_format", {{"type", "json_object"}}},
            {"logit_bias", {{idOf("{"), 50}, {idOf("}"), 100}}}}));
  EXPECT_EQ(reply["choices"][0]["message"]["content"], "{}");
  EXPECT_EQ(reply["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(reply["usage"]["completion_tokens"], 3) << "{, } and EOS";
}

TEST_F(OpenAIServiceWithClassifierTest, ClassifiesTextsAndIds) {
  std::string error;
  const std::vector<TokenId> once =
      *tokenizer->encode("Once upon a time", EncodeOptions(), error);
  const std::vector<std::vector<TokenId>> rows = {once, {1, 10, 20}, {1, 7}};
  std::optional<std::vector<std::vector<float>>> scores =
      classify(*model, rows, error);
  ASSERT_TRUE(scores) << error;
  json reply = bodyOf(post(
      "/classify", {{"model", "fake"},
                    {"input", {"Once upon a time", {1, 10, 20}, {1, 7}}}}));
  EXPECT_EQ(reply["object"], "list");
  EXPECT_EQ(reply["model"], "fake");
  EXPECT_EQ(reply["usage"]["prompt_tokens"], int64_t(once.size()) + 5);
  ASSERT_EQ(reply["data"].size(), 3u);
  const std::vector<std::string> labels = {"negative", "neutral", "positive"};
  for (size_t row = 0; row < rows.size(); ++row) {
    const json &result = reply["data"][row];
    const std::vector<float> &logits = (*scores)[row];
    EXPECT_EQ(result["index"], row);
    EXPECT_EQ(result["num_classes"], 3);
    EXPECT_EQ(result["label"], labels[size_t(argmax(logits.data(), 3))]);
    const double normalizer = logSumExp(logits.data(), 3);
    for (size_t label = 0; label < 3; ++label)
      EXPECT_NEAR(result["probs"][label].get<double>(),
                  std::exp(logits[label] - normalizer), 1e-6);
  }
  for (const auto &[body, problem] : std::vector<std::pair<json, std::string>>{
           {{{"prompt", "x"}}, "input is required"},
           {{{"input", {1, -2}}}, "input has a token id out of range"},
           {{{"input", {{1, 9999}}}}, "9999"}}) {
    std::string refused = post("/classify", body);
    EXPECT_THAT(refused, HasSubstr("HTTP/1.1 400"));
    EXPECT_THAT(bodyOf(refused)["error"]["message"].get<std::string>(),
                HasSubstr(problem));
  }
  EXPECT_THAT(
      bodyOf(post("/v1/completions", {{"prompt", "Once"}}))["error"]["message"]
          .get<std::string>(),
      HasSubstr("classification scores, not logits"));
}

TEST_F(OpenAIServiceTest, ClassifyNeedsAClassifier) {
  std::string refused = post("/classify", {{"input", "Once"}});
  EXPECT_THAT(refused, HasSubstr("HTTP/1.1 400"));
  EXPECT_THAT(bodyOf(refused)["error"]["message"].get<std::string>(),
              HasSubstr("/classify needs a sequence classification artifact"));
}

TEST_F(OpenAIServiceTest, AClientGoneIsNotAnswered) {
  const std::string body = json{{"prompt", "Once"}, {"max_tokens", 40}}.dump();
  int client =
      connectAndSend("POST /v1/completions HTTP/1.1\r\n"
                     "Content-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body,
                     /*halfClose=*/true);
  char byte;
  EXPECT_EQ(recv(client, &byte, 1, 0), 0);
  close(client);
  stopServing();
  EXPECT_THAT(log, ::testing::Contains(::testing::ContainsRegex(
                       " 499 cmpl-1: the client went away before its turn")));
}

TEST_F(OpenAIServiceTest, MetricsCountAnAnswerBeforeItsClientHasIt) {
  for (bool stream : {false, true}) {
    postUntilAnswered("/v1/completions", {{"prompt", "Once upon a time"},
                                          {"max_tokens", 3},
                                          {"stream", stream}});
    EXPECT_THAT(exchange("GET /metrics HTTP/1.1\r\n\r\n"),
                HasSubstr("llamac_requests_total{status=\"200\"} " +
                          std::to_string(1 + stream) + "\n"));
  }
}

TEST_F(OpenAIServiceTest, MetricsCountWhatWasAnswered) {
  json reply = bodyOf(post(
      "/v1/completions",
      {{"prompt", "Once upon a time"}, {"max_tokens", 7}, {"temperature", 0}}));
  post("/v1/completions", {{"prompt", 5}});
  std::string metrics = exchange("GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_THAT(metrics, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  const int64_t generated = reply["usage"]["completion_tokens"];
  const int64_t prompted = reply["usage"]["prompt_tokens"];
  for (const std::string &line :
       {std::string("llamac_requests_total{status=\"200\"} 1\n"),
        std::string("llamac_requests_total{status=\"400\"} 1\n"),
        std::string("llamac_requests_running 0\n"),
        std::string("llamac_requests_waiting 0\n"),
        std::string("llamac_request_duration_seconds_count 2\n"),
        std::string("llamac_request_queue_seconds_count 2\n"),
        std::string("llamac_time_to_first_token_seconds_count 1\n"),
        "llamac_generation_tokens_total " + std::to_string(generated) + "\n",
        "llamac_prompt_tokens_total " + std::to_string(prompted) + "\n",
        std::string("# TYPE llamac_decode_seconds_total counter\n")})
    EXPECT_THAT(metrics, HasSubstr(line));
}

TEST_F(OpenAIServiceWithApiKeyTest, RefusesRequestsWithoutTheKey) {
  for (const std::string &authorization :
       {std::string(), std::string("Bearer sk-local-2"),
        std::string("Bearer sk-local-1x"), std::string("Bearer sk-local-"),
        std::string("Basic sk-local-1"), std::string("Bearersk-local-1")}) {
    for (const char *path : {"/v1/models", "/v1/models/fake", "/nowhere"}) {
      std::string response = get(path, authorization);
      EXPECT_THAT(response, HasSubstr("HTTP/1.1 401 Unauthorized\r\n"))
          << authorization << " " << path;
      EXPECT_THAT(response, HasSubstr("\r\nWWW-Authenticate: Bearer\r\n"));
      EXPECT_EQ(bodyOf(response)["error"]["code"], "invalid_api_key");
    }
  }
  EXPECT_THAT(post("/v1/completions", {{"prompt", "Once"}}),
              HasSubstr("HTTP/1.1 401 Unauthorized\r\n"));
  EXPECT_THAT(post("/tokenize", {{"prompt", "Once"}}),
              HasSubstr("HTTP/1.1 401 Unauthorized\r\n"));
  EXPECT_EQ(bodyOf(get("/v1/models", ""))["error"]["message"],
            "an API key is needed: send \"Authorization: Bearer KEY\"");
  EXPECT_EQ(bodyOf(get("/v1/models", "Bearer sk-other"))["error"]["message"],
            "the API key is not the server's");
  stopServing();
  for (const std::string &line : log)
    EXPECT_THAT(line, Not(HasSubstr("sk-"))) << "the log shows a key";
}

TEST_F(OpenAIServiceWithApiKeyTest, AnswersRequestsThatNameTheKey) {
  for (const char *authorization :
       {"Bearer sk-local-1", "bearer sk-local-1", "BEARER   sk-local-1"})
    EXPECT_EQ(bodyOf(get("/v1/models", authorization))["data"][0]["id"], "fake")
        << authorization;
  const std::string body = json{
      {"prompt", "Once upon a time"},
      {"max_tokens", 6},
      {"temperature", 0}}.dump();
  std::string reply = exchange(
      "POST /v1/completions HTTP/1.1\r\nAuthorization: Bearer sk-local-1\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(bodyOf(reply)["choices"][0]["text"],
            reference("Once upon a time", 6));
}

TEST_F(OpenAIServiceWithApiKeyTest, HealthAndMetricsNeedNoKey) {
  EXPECT_THAT(get("/health", ""), HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(get("/metrics", ""), HasSubstr("HTTP/1.1 200 OK\r\n"));
}

TEST_F(OpenAIServiceWithAllowedOriginTest,
       AnswersThePreflightOfAnAllowedOrigin) {
  std::string response = preflight("https://chat.example");
  EXPECT_THAT(response, HasSubstr("HTTP/1.1 200 OK\r\n"));
  for (const char *header :
       {"\r\nAccess-Control-Allow-Origin: https://chat.example\r\n",
        "\r\nVary: Origin\r\n",
        "\r\nAccess-Control-Allow-Methods: GET, POST\r\n",
        "\r\nAccess-Control-Allow-Headers: Authorization, Content-Type\r\n"})
    EXPECT_THAT(response, HasSubstr(header));
  response = preflight("http://localhost:3001");
  EXPECT_THAT(response, HasSubstr("HTTP/1.1 403 Forbidden\r\n"));
  EXPECT_THAT(response, Not(HasSubstr("Access-Control-Allow-Origin")));
  EXPECT_EQ(bodyOf(response)["error"]["message"],
            "the origin http://localhost:3001 may not call this server (see "
            "--allowed-origins)");
}

TEST_F(OpenAIServiceWithAllowedOriginTest, NamesAnAllowedOriginInItsAnswers) {
  const std::string body =
      json{{"prompt", "Once upon a time"}, {"max_tokens", 4}}.dump();
  auto complete = [&](const std::string &origin) {
    return exchange("POST /v1/completions HTTP/1.1\r\nOrigin: " + origin +
                    "\r\nAuthorization: Bearer sk-local-1\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body);
  };
  std::string answer = complete("http://localhost:3000");
  EXPECT_THAT(answer, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(answer, HasSubstr("\r\nAccess-Control-Allow-Origin: "
                                "http://localhost:3000\r\n"));
  EXPECT_THAT(complete("http://evil.example"),
              Not(HasSubstr("Access-Control-Allow-Origin")));
  // A refusal is readable too: the page can tell its user why.
  EXPECT_THAT(exchange("GET /v1/models HTTP/1.1\r\nOrigin: "
                       "http://localhost:3000\r\n\r\n"),
              HasSubstr("\r\nAccess-Control-Allow-Origin: "
                        "http://localhost:3000\r\n"));
}

TEST_F(OpenAIServiceTest, SharesNothingAcrossOriginsUnlessAllowed) {
  EXPECT_THAT(exchange("GET /health HTTP/1.1\r\nOrigin: http://a.example\r\n"
                       "\r\n"),
              Not(HasSubstr("Access-Control-Allow-Origin")));
}

class OpenAIServiceWithAnyOriginTest : public OpenAIServiceTest {
protected:
  void SetUp() override {
    options.allowedOrigins = {"*"};
    OpenAIServiceTest::SetUp();
  }
};

TEST_F(OpenAIServiceWithAnyOriginTest, LetsAnyOriginRead) {
  std::string response =
      exchange("GET /v1/models HTTP/1.1\r\nOrigin: http://a.example\r\n\r\n");
  EXPECT_THAT(response, HasSubstr("\r\nAccess-Control-Allow-Origin: *\r\n"));
  EXPECT_THAT(response, Not(HasSubstr("Vary: Origin")));
}
