//===- HttpServer.cpp - A one-connection-at-a-time HTTP/1.1 server --------===//

#include "runtime/server/HttpServer.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace llamac {

namespace {

volatile std::sig_atomic_t stopRequested = 0;

void requestStop(int) { stopRequested = 1; }

/// SIGINT and SIGTERM end serve() after the request in progress; without
/// SA_RESTART they interrupt a waiting accept(). A client that goes away
/// makes writes fail instead of raising SIGPIPE.
void installSignalHandlers() {
  struct sigaction action = {};
  action.sa_handler = requestStop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

constexpr int kIdleSeconds = 30;

void setTimeouts(int socket, int seconds) {
  timeval timeout = {seconds, 0};
  setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

/// Ends a connection so that the response survives: closing a socket with
/// unread bytes (a refused body still arriving) resets it, and the client
/// may lose what was sent. So stop sending, read briefly what is left, close.
void closeGracefully(int connection) {
  shutdown(connection, SHUT_WR);
  setTimeouts(connection, 1);
  char discard[16384];
  size_t drained = 0;
  while (drained < (size_t(1) << 20)) {
    ssize_t count = recv(connection, discard, sizeof(discard), 0);
    if (count <= 0)
      break;
    drained += size_t(count);
  }
  close(connection);
}

int localPort(int socket) {
  sockaddr_storage address = {};
  socklen_t length = sizeof(address);
  if (getsockname(socket, reinterpret_cast<sockaddr *>(&address), &length))
    return -1;
  if (address.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6 *>(&address)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in *>(&address)->sin_port);
}

} // namespace

bool HttpResponder::writeAll(std::string_view data) {
  while (!broken && !data.empty()) {
    ssize_t written = ::send(socket, data.data(), data.size(), MSG_NOSIGNAL);
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0)
      broken = true;
    else
      data.remove_prefix(size_t(written));
  }
  return !broken;
}

bool HttpResponder::writeHead(int status, std::string_view contentType,
                              const std::string &extraHeaders) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                     httpStatusText(status) +
                     "\r\nContent-Type: " + std::string(contentType) +
                     "\r\nConnection: close\r\n" + extraHeaders + "\r\n";
  return writeAll(head);
}

bool HttpResponder::send(int status, std::string_view contentType,
                         std::string_view body) {
  return writeHead(status, contentType,
                   "Content-Length: " + std::to_string(body.size()) + "\r\n") &&
         writeAll(body);
}

bool HttpResponder::startStream(int status, std::string_view contentType) {
  return writeHead(status, contentType, "Cache-Control: no-cache\r\n");
}

bool HttpResponder::sendPiece(std::string_view data) { return writeAll(data); }

std::unique_ptr<HttpServer> HttpServer::listen(const std::string &host,
                                               int port, std::string &error) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo *addresses = nullptr;
  const std::string where = host + ":" + std::to_string(port);
  if (int status = getaddrinfo(host.c_str(), std::to_string(port).c_str(),
                               &hints, &addresses)) {
    error = "cannot resolve '" + host + "': " + gai_strerror(status);
    return nullptr;
  }
  std::string problem = "no address";
  int listening = -1;
  for (addrinfo *address = addresses; address && listening < 0;
       address = address->ai_next) {
    int candidate =
        socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC, 0);
    int reuse = 1;
    if (candidate >= 0 &&
        setsockopt(candidate, SOL_SOCKET, SO_REUSEADDR, &reuse,
                   sizeof(reuse)) == 0 &&
        bind(candidate, address->ai_addr, address->ai_addrlen) == 0 &&
        ::listen(candidate, 64) == 0) {
      listening = candidate;
      break;
    }
    problem = std::strerror(errno);
    if (candidate >= 0)
      close(candidate);
  }
  freeaddrinfo(addresses);
  if (listening < 0) {
    error = "cannot listen on " + where + ": " + problem;
    return nullptr;
  }
  return std::unique_ptr<HttpServer>(
      new HttpServer(listening, localPort(listening)));
}

HttpServer::~HttpServer() { close(listening); }

void HttpServer::stop() {
  stopping = true;
  // A waiting accept() returns once the socket stops listening.
  shutdown(listening, SHUT_RDWR);
}

void HttpServer::serve(const HttpHandlers &handlers, const HttpLimits &limits) {
  installSignalHandlers();
  while (!stopRequested && !stopping) {
    int connection = accept4(listening, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) {
      // A signal or a connection reset before it was accepted: go on. Out of
      // descriptors or memory: wait a little rather than spin.
      if (errno != EINTR && errno != ECONNABORTED)
        usleep(100 * 1000);
      continue;
    }
    serveConnection(connection, handlers, limits);
    closeGracefully(connection);
  }
}

void HttpServer::serveConnection(int connection, const HttpHandlers &handlers,
                                 const HttpLimits &limits) {
  setTimeouts(connection, kIdleSeconds);
  HttpResponder responder(connection);
  std::string received;
  char buffer[16384];
  while (true) {
    HttpParse parse = parseHttpRequest(received, limits);
    if (parse.state == HttpParse::State::Complete)
      return handlers.request(parse.request, responder);
    if (parse.state == HttpParse::State::Invalid)
      return handlers.invalid(parse.status, parse.problem, responder);
    ssize_t count = recv(connection, buffer, sizeof(buffer), 0);
    if (count < 0 && errno == EINTR && !stopRequested)
      continue;
    if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
        !received.empty())
      return handlers.invalid(408,
                              "the request did not arrive within " +
                                  std::to_string(kIdleSeconds) + " s",
                              responder);
    if (count <= 0)
      return;
    received.append(buffer, size_t(count));
  }
}

} // namespace llamac
