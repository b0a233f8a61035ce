//===- HttpRequest.cpp - Parsing one HTTP/1.x request ---------------------===//

#include "runtime/server/HttpRequest.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace llamac {

const std::string *HttpRequest::header(std::string_view name) const {
  for (const auto &[headerName, value] : headers)
    if (headerName == name)
      return &value;
  return nullptr;
}

namespace {

/// RFC 9110's tchar: what method and header names are made of.
bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && std::strchr("!#$%&'*+-.^_`|~", c));
}

bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), isTokenChar);
}

/// Control characters other than tab, which may not appear in a target or a
/// header value (a CR or NUL there smuggles a line end).
bool hasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
  });
}

HttpParse invalid(int status, std::string problem) {
  HttpParse parse;
  parse.state = HttpParse::State::Invalid;
  parse.status = status;
  parse.problem = std::move(problem);
  return parse;
}

/// Splits the head into lines (CRLF, or LF alone, ends one) up to the empty
/// line that ends it; returns where the body starts, or nullopt when that
/// line has not arrived.
std::optional<size_t> splitHead(std::string_view received,
                                std::vector<std::string_view> &lines) {
  size_t start = 0;
  while (true) {
    size_t end = received.find('\n', start);
    if (end == std::string_view::npos)
      return std::nullopt;
    std::string_view line = received.substr(start, end - start);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    start = end + 1;
    if (line.empty()) {
      // Empty lines before the request line are to be ignored (RFC 9112).
      if (lines.empty())
        continue;
      return start;
    }
    lines.push_back(line);
  }
}

bool parseRequestLine(std::string_view line, HttpRequest &request,
                      HttpParse &failure) {
  size_t first = line.find(' ');
  size_t second =
      first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos ||
      line.find(' ', second + 1) != std::string_view::npos) {
    failure = invalid(400, "the request line is not METHOD TARGET VERSION");
    return false;
  }
  std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, second - first - 1);
  std::string_view version = line.substr(second + 1);
  if (!isToken(method)) {
    failure = invalid(400, "the method is not a token");
    return false;
  }
  if (target.empty() || target.front() != '/' || hasControlCharacter(target)) {
    failure = invalid(400, "the target is not a path starting with '/'");
    return false;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    failure = version.substr(0, 5) == "HTTP/"
                  ? invalid(505, "only HTTP/1.0 and HTTP/1.1 are served")
                  : invalid(400, "the request line has no HTTP version");
    return false;
  }
  request.method = method;
  request.target = target;
  return true;
}

bool parseHeader(std::string_view line, HttpRequest &request,
                 HttpParse &failure) {
  if (line.front() == ' ' || line.front() == '\t') {
    failure = invalid(400, "a header line is folded (starts with whitespace)");
    return false;
  }
  size_t colon = line.find(':');
  std::string_view name = line.substr(0, colon);
  if (colon == std::string_view::npos || !isToken(name)) {
    failure = invalid(400, "a header line is not NAME: VALUE");
    return false;
  }
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  if (hasControlCharacter(value)) {
    failure = invalid(400, "the value of header '" + std::string(name) +
                               "' holds a control character");
    return false;
  }
  std::string lowered(name);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; });
  request.headers.emplace_back(std::move(lowered), value);
  return true;
}

/// The body's length from Content-Length (0 without one); nullopt and
/// `failure` set for a body that cannot be read.
std::optional<size_t> bodyLength(const HttpRequest &request,
                                 const HttpLimits &limits, HttpParse &failure) {
  if (request.header("transfer-encoding")) {
    failure = invalid(501, "Transfer-Encoding request bodies are not "
                           "supported; send Content-Length");
    return std::nullopt;
  }
  std::optional<std::string> length;
  for (const auto &[name, value] : request.headers) {
    if (name != "content-length")
      continue;
    if (value.empty() || value.size() > 18 ||
        !std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        (length && *length != value)) {
      failure = invalid(400, "Content-Length is not one decimal number");
      return std::nullopt;
    }
    length = value;
  }
  size_t bytes = length ? std::stoull(*length) : 0;
  if (bytes > limits.maxBodyBytes) {
    failure = invalid(413, "the body of " + std::to_string(bytes) +
                               " bytes exceeds the limit of " +
                               std::to_string(limits.maxBodyBytes));
    return std::nullopt;
  }
  return bytes;
}

} // namespace

HttpParse parseHttpRequest(std::string_view received,
                           const HttpLimits &limits) {
  std::vector<std::string_view> lines;
  std::optional<size_t> bodyStart = splitHead(received, lines);
  if ((bodyStart ? *bodyStart : received.size()) > limits.maxHeadBytes)
    return invalid(431, "the request line and headers exceed " +
                            std::to_string(limits.maxHeadBytes) + " bytes");
  if (!bodyStart)
    return HttpParse();
  HttpParse parse;
  if (!parseRequestLine(lines.front(), parse.request, parse))
    return parse;
  for (size_t i = 1; i < lines.size(); ++i)
    if (!parseHeader(lines[i], parse.request, parse))
      return parse;
  std::optional<size_t> length = bodyLength(parse.request, limits, parse);
  if (!length)
    return parse;
  if (received.size() - *bodyStart < *length)
    return HttpParse();
  parse.request.body = received.substr(*bodyStart, *length);
  parse.length = *bodyStart + *length;
  parse.state = HttpParse::State::Complete;
  return parse;
}

const char *httpStatusText(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 413:
    return "Content Too Large";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 503:
    return "Service Unavailable";
  case 505:
    return "HTTP Version Not Supported";
  }
  return "Unknown";
}

} // namespace llamac
