//===- HttpServer.h - HTTP/1.1, one connection at a time --------*- C++ -*-===//
//
// The model runs one request at a time, so the server does too: it accepts a
// connection, reads one request (bounded by HttpLimits and a read timeout,
// so a stalled client cannot hold it), answers with "Connection: close" and
// closes. Connections that arrive meanwhile wait in the listen backlog.
// POSIX sockets only: the runtime stays free of dependencies.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_SERVER_HTTPSERVER_H
#define LLAMAC_RUNTIME_SERVER_HTTPSERVER_H

#include "runtime/server/HttpRequest.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace llamac {

/// Writes one response to a connection. Each call returns false once the
/// client has gone away (or stopped reading for the write timeout).
class HttpResponder {
public:
  explicit HttpResponder(int socket) : socket(socket) {}

  /// A whole response.
  bool send(int status, std::string_view contentType, std::string_view body);
  /// The head of a response whose body follows in pieces, ended by closing
  /// the connection (server-sent events).
  bool startStream(int status, std::string_view contentType);
  bool sendPiece(std::string_view data);

private:
  bool writeHead(int status, std::string_view contentType,
                 const std::string &extraHeaders);
  bool writeAll(std::string_view data);

  int socket;
  bool broken = false;
};

struct HttpHandlers {
  std::function<void(const HttpRequest &, HttpResponder &)> request;
  /// A request that could not be read: `status` (400, 408, 413, 431, 501,
  /// 505) and why.
  std::function<void(int status, const std::string &problem, HttpResponder &)>
      invalid;
};

class HttpServer {
public:
  /// Listens on `host`:`port` (port 0: one the system picks). On failure
  /// returns null and sets `error` to one line.
  static std::unique_ptr<HttpServer> listen(const std::string &host, int port,
                                            std::string &error);
  ~HttpServer();
  HttpServer(const HttpServer &) = delete;
  HttpServer &operator=(const HttpServer &) = delete;

  int port() const { return boundPort; }

  /// Serves connections one at a time until SIGINT or SIGTERM arrives or
  /// stop() is called (the request in progress completes first).
  void serve(const HttpHandlers &handlers, const HttpLimits &limits);
  /// Ends serve() from another thread.
  void stop();

private:
  HttpServer(int socket, int port) : listening(socket), boundPort(port) {}
  void serveConnection(int connection, const HttpHandlers &handlers,
                       const HttpLimits &limits);

  int listening;
  int boundPort;
  std::atomic<bool> stopping{false};
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_SERVER_HTTPSERVER_H
