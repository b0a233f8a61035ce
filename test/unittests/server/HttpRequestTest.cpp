//===- HttpRequestTest.cpp - Parsing one HTTP/1.x request -----------------===//

#include "runtime/server/HttpRequest.h"

#include <gtest/gtest.h>

using namespace llamac;

namespace {

HttpParse parse(std::string_view received, HttpLimits limits = HttpLimits()) {
  return parseHttpRequest(received, limits);
}

void expectInvalid(std::string_view received, int status,
                   HttpLimits limits = HttpLimits()) {
  HttpParse result = parse(received, limits);
  EXPECT_EQ(result.state, HttpParse::State::Invalid) << received;
  EXPECT_EQ(result.status, status) << received << ": " << result.problem;
  EXPECT_FALSE(result.problem.empty());
}

} // namespace

TEST(HttpRequestTest, ReadsARequestWithItsBody) {
  HttpParse result = parse("POST /v1/completions?x=1 HTTP/1.1\r\n"
                           "Host: localhost\r\n"
                           "Content-Type:  application/json \r\n"
                           "Content-Length: 7\r\n\r\n"
                           "{\"a\":1}trailing bytes are not the body");
  ASSERT_EQ(result.state, HttpParse::State::Complete) << result.problem;
  EXPECT_EQ(result.request.method, "POST");
  EXPECT_EQ(result.request.target, "/v1/completions?x=1");
  ASSERT_NE(result.request.header("content-type"), nullptr);
  EXPECT_EQ(*result.request.header("content-type"), "application/json");
  EXPECT_EQ(result.request.header("Content-Type"), nullptr);
  EXPECT_EQ(result.request.body, "{\"a\":1}");
  EXPECT_EQ(result.length, 114u);
}

TEST(HttpRequestTest, WaitsForTheHeadAndTheWholeBody) {
  const std::string request =
      "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody";
  for (size_t length = 0; length < request.size(); ++length)
    EXPECT_EQ(parse(request.substr(0, length)).state,
              HttpParse::State::Incomplete)
        << length;
  EXPECT_EQ(parse(request).state, HttpParse::State::Complete);
}

TEST(HttpRequestTest, AcceptsBareLineFeedsAndLeadingEmptyLines) {
  HttpParse result = parse("\r\n\nGET /health HTTP/1.0\nHost: x\n\n");
  ASSERT_EQ(result.state, HttpParse::State::Complete) << result.problem;
  EXPECT_EQ(result.request.target, "/health");
  EXPECT_TRUE(result.request.body.empty());
}

TEST(HttpRequestTest, RefusesMalformedRequestLines) {
  expectInvalid("GET\r\n\r\n", 400);
  expectInvalid("GET /  HTTP/1.1\r\n\r\n", 400);
  expectInvalid("G(T / HTTP/1.1\r\n\r\n", 400);
  expectInvalid("GET http://host/ HTTP/1.1\r\n\r\n", 400);
  expectInvalid("GET / FTP/1.1\r\n\r\n", 400);
  expectInvalid("GET / HTTP/2.0\r\n\r\n", 505);
}

TEST(HttpRequestTest, RefusesMalformedHeaders) {
  expectInvalid("GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400);
  expectInvalid("GET / HTTP/1.1\r\nName : value\r\n\r\n", 400);
  expectInvalid("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400);
  expectInvalid(std::string_view("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 26), 400);
  expectInvalid("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400);
}

TEST(HttpRequestTest, RefusesBodiesItCannotReadSafely) {
  expectInvalid("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
  expectInvalid("POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 400);
  expectInvalid(
      "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400);
  expectInvalid("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: "
                "4\r\n\r\nabcd",
                400);
  expectInvalid("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
  HttpLimits limits;
  limits.maxBodyBytes = 10;
  expectInvalid("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 413, limits);
  EXPECT_EQ(
      parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits)
          .state,
      HttpParse::State::Complete);
}

TEST(HttpRequestTest, BoundsTheHeadBeforeItEnds) {
  HttpLimits limits;
  limits.maxHeadBytes = 64;
  // No end of the head in sight: refused once it passes the limit.
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nX: " + std::string(40, 'a'), limits).state,
            HttpParse::State::Incomplete);
  expectInvalid("GET / HTTP/1.1\r\nX: " + std::string(60, 'a'), 431, limits);
  expectInvalid(std::string(100, '\n'), 431, limits);
}
