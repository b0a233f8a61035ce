//===- TokenizeCommandTest.cpp - `llamac-run tokenize` --------------------===//

#include "TokenizerTestSupport.h"

#include "runtime/tokenizer/TokenizeCommand.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

namespace llamac::testing {
namespace {

struct CommandResult {
  int status;
  std::string out;
  std::string err;
};

CommandResult runTokenize(std::vector<std::string> args) {
  args.insert(args.begin(), "tokenize");
  std::ostringstream out, err;
  int status = runTokenizeCommand(args, out, err);
  return {status, out.str(), err.str()};
}

/// A command on the Llama 2 tokenizer.
CommandResult runOnLlama2(std::vector<std::string> args) {
  args.insert(args.begin(), {"--tokenizer", sharedPath(kLlama2TokenizerPath)});
  return runTokenize(std::move(args));
}

::testing::AssertionResult succeedsWith(const CommandResult &result,
                                        const std::string &out) {
  if (result.status == 0 && result.out == out && result.err.empty())
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "status " << result.status << ", stdout '" << result.out
         << "', stderr '" << result.err << "'";
}

/// Fails with `status` and one line on stderr that contains `part`.
::testing::AssertionResult failsWith(const CommandResult &result, int status,
                                     const std::string &part) {
  bool oneLine = std::count(result.err.begin(), result.err.end(), '\n') == 1 &&
                 result.err.back() == '\n';
  if (result.status == status && result.out.empty() && oneLine &&
      result.err.find(part) != std::string::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "status " << result.status << ", stdout '" << result.out
         << "', stderr '" << result.err << "'";
}

TEST(TokenizeCommand, EncodesText) {
  EXPECT_TRUE(
      succeedsWith(runOnLlama2({"--text", "Hello world"}), "1,15043,3186\n"));
  EXPECT_TRUE(succeedsWith(runOnLlama2({"--text=Hello world", "--no-bos"}),
                           "15043,3186\n"));
  EXPECT_TRUE(succeedsWith(
      runOnLlama2({"--text", "hello", "--no-bos", "--no-dummy-prefix"}),
      "12199\n"));
  EXPECT_TRUE(succeedsWith(runOnLlama2({"--text", "Hello", "--json"}),
                           "{\"ids\":[1,15043]}\n"));
  EXPECT_TRUE(succeedsWith(runOnLlama2({"--text", "", "--no-bos"}), "\n"));
}

TEST(TokenizeCommand, ParsesSpecialTokensOnRequest) {
  EXPECT_TRUE(succeedsWith(runOnLlama2({"--text", "<s>", "--no-bos"}),
                           "529,29879,29958\n"));
  EXPECT_TRUE(
      succeedsWith(runOnLlama2({"--text", "Hello <s>.", "--parse-special"}),
                   "1,15043,29871,1,29889\n"));
  EXPECT_TRUE(succeedsWith(
      runOnLlama2({"--text", "Hello <s>.", "--parse-special", "--no-legacy"}),
      "1,15043,29871,1,29889\n"));
  EXPECT_TRUE(succeedsWith(
      runOnLlama2({"--text", "Hello <s>.", "--parse-special", "--legacy"}),
      "1,15043,29871,1,869\n"));
}

TEST(TokenizeCommand, DecodesIds) {
  EXPECT_TRUE(succeedsWith(runOnLlama2({"--ids", "1,15043,3186"}),
                           "<s> Hello world\n"));
  EXPECT_TRUE(
      succeedsWith(runOnLlama2({"--ids", " 1, 15043 ,3186 ", "--skip-special"}),
                   "Hello world\n"));
  EXPECT_TRUE(succeedsWith(
      runOnLlama2({"--ids", "15043,29908,13,243,162,169,156", "--json"}),
      "{\"text\":\"Hello\\\"\\n\xF0\x9F\xA6\x99\"}\n"));
  EXPECT_TRUE(succeedsWith(runOnLlama2({"--ids", ""}), "\n"));
}

TEST(TokenizeCommand, Help) {
  CommandResult result = runTokenize({"--help"});
  EXPECT_EQ(result.status, 0);
  EXPECT_NE(result.out.find("usage: llamac-run tokenize"), std::string::npos);
}

TEST(TokenizeCommand, UsageErrorsExitWithTwo) {
  std::string model = sharedPath(kLlama2TokenizerPath);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--text", "x"}, "--tokenizer PATH is required"},
      {{"--tokenizer", model}, "exactly one of --text and --ids"},
      {{"--tokenizer", model, "--text", "x", "--ids", "1"}, "exactly one"},
      {{"--tokenizer", model, "--text", "x", "--legacy"},
       "needs --parse-special"},
      {{"--tokenizer", model, "--ids", "1", "--no-bos"},
       "--no-bos applies to --text only"},
      {{"--tokenizer", model, "--text", "x", "--skip-special"},
       "applies to --ids only"},
      {{"--tokenizer", model, "--text"}, "--text needs a value"},
      {{"--tokenizer", model, "--text", "x", "--json=1"},
       "--json takes no value"},
      {{"--tokenizer", model, "--text", "x", "--frobnicate"},
       "unknown argument '--frobnicate'"},
      {{"--tokenizer", model, "--ids", "1,,2"}, "'' is not a token id"},
      {{"--tokenizer", model, "--ids", "1,x"}, "'x' is not a token id"},
      {{"--tokenizer", model, "--ids", "99999999999"}, "is not a token id"},
  };
  for (const auto &[args, message] : cases)
    EXPECT_TRUE(failsWith(runTokenize(args), 2, message)) << message;
}

TEST(TokenizeCommand, FailuresExitWithOne) {
  std::string missing =
      sharedPath("fixtures/tokenizer/llama2") + "/absent.model";
  EXPECT_TRUE(failsWith(runTokenize({"--tokenizer", missing, "--text", "x"}), 1,
                        missing + ": "));
  EXPECT_TRUE(
      failsWith(runOnLlama2({"--text", "bad \xC3("}), 1, "not valid UTF-8"));
  EXPECT_TRUE(failsWith(runOnLlama2({"--ids", "1,32000"}), 1,
                        "token id 32000 is not in the vocabulary"));
  EXPECT_TRUE(failsWith(runOnLlama2({"--ids", "-1"}), 1,
                        "token id -1 is not in the vocabulary"));
}

} // namespace
} // namespace llamac::testing
