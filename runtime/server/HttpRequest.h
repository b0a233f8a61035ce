//===- HttpRequest.h - Parsing one HTTP/1.x request -------------*- C++ -*-===//
//
// The server reads one request per connection (it answers with
// "Connection: close"), so parsing is a pure function of the bytes received
// so far: they hold a whole request, the start of one, or something that is
// not one (with the status to answer). Request bodies need Content-Length;
// chunked ones are refused. Limits bound what a client can make us hold.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_SERVER_HTTPREQUEST_H
#define LLAMAC_RUNTIME_SERVER_HTTPREQUEST_H

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llamac {

struct HttpLimits {
  size_t maxHeadBytes = size_t(64) << 10; ///< Request line and headers.
  size_t maxBodyBytes = size_t(8) << 20;
  /// Connections open at once (each holds a thread); more are answered 503.
  size_t maxConnections = 64;
};

struct HttpRequest {
  std::string method; ///< As sent: methods are case-sensitive.
  std::string target; ///< The path and query, e.g. "/v1/completions".
  /// Names lowercased (they are case-insensitive), values without the
  /// whitespace around them, in the order sent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// When the server had all of it (HttpServer sets it, not the parser).
  std::chrono::steady_clock::time_point received;

  /// The first header named `name` (lowercase), or null.
  const std::string *header(std::string_view name) const;
};

struct HttpParse {
  enum class State { Incomplete, Complete, Invalid };
  State state = State::Incomplete;
  HttpRequest request; ///< Complete only.
  /// Complete only: the request's bytes, head and body; what follows them
  /// is not part of it.
  size_t length = 0;
  /// Invalid only: the status to answer (400, 413, 431, 501 or 505) and why.
  int status = 0;
  std::string problem;
};

/// Parses the bytes a connection has received so far.
HttpParse parseHttpRequest(std::string_view received, const HttpLimits &limits);

/// "OK", "Not Found", ... for the statuses the server sends.
const char *httpStatusText(int status);

} // namespace llamac

#endif // LLAMAC_RUNTIME_SERVER_HTTPREQUEST_H
