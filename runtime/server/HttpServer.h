//===- HttpServer.h - HTTP/1.1, the model's requests in turn ----*- C++ -*-===//
//
// Each connection has a thread of its own that reads one request (bounded by
// HttpLimits and a read timeout) and answers it with "Connection: close", so
// a slow or stalled client holds only its own connection. Requests that need
// no model (a health check, the model list, a refusal) are answered at once
// on that thread; the model's requests wait their turn and are answered in
// the order they arrived, on the thread that called serve(): the one that
// loaded the model, whose CUDA context and OpenMP settings are thread-local.
// Each turn offers every request then waiting, so that the handler may
// answer several at once (as rows of one batch). POSIX sockets and std::thread
// only: the runtime stays free of dependencies.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_SERVER_HTTPSERVER_H
#define LLAMAC_RUNTIME_SERVER_HTTPSERVER_H

#include "runtime/server/HttpRequest.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace llamac {

/// Writes one response to a connection. Each call returns false once the
/// client has gone away (or stopped reading for the write timeout).
class HttpResponder {
public:
  explicit HttpResponder(int socket) : socket(socket) {}

  /// A whole response; `extraHeaders` are lines that each end in CRLF.
  bool send(int status, std::string_view contentType, std::string_view body,
            const std::string &extraHeaders = "");
  /// The head of a response whose body follows in pieces, ended by closing
  /// the connection (server-sent events).
  bool startStream(int status, std::string_view contentType);
  bool sendPiece(std::string_view data);
  /// Whether the client has closed its connection (or its side of it) or
  /// a write to it failed: nobody reads what would be sent.
  bool clientGone();
  /// Ends the response: the client sees the connection's end at once, while
  /// the thread of serve() goes on with others (the connection closes when
  /// their turn ends). Nothing can be sent after.
  void end();
  /// Header lines (each ending in CRLF) that every response on this
  /// connection carries from now on.
  void addHeaders(const std::string &lines) { commonHeaders += lines; }

private:
  bool writeHead(int status, std::string_view contentType,
                 const std::string &extraHeaders);
  bool writeAll(std::string_view data);

  int socket;
  bool broken = false;
  std::string commonHeaders;
};

/// A request waiting for its turn, and where its answer goes.
struct WaitingRequest {
  const HttpRequest &request;
  HttpResponder &responder;
};

struct HttpHandlers {
  /// Answers a request that needs no model, on its connection's thread (so
  /// it must be safe to call from several at once), and returns true; false
  /// leaves the request to `inTurn`.
  std::function<bool(const HttpRequest &, HttpResponder &)> atOnce;
  /// Answers the other requests, on the thread of serve(): given those
  /// waiting, oldest first, answers one or more of the first of them and
  /// returns how many.
  std::function<size_t(const std::vector<WaitingRequest> &)> inTurn;
  /// A request that could not be read, or a connection beyond the limit:
  /// `status` (400, 408, 413, 431, 501, 503, 505) and why. Called as
  /// `atOnce` is.
  std::function<void(int status, const std::string &problem, HttpResponder &)>
      invalid;
};

/// How long a turn may wait for more requests to answer together: with
/// fewer than `enough` waiting, up to `window` after it could have started
/// (the previous turn's end, or its first request's arrival), as Triton's
/// dynamic batcher waits (max_queue_delay). A zero window never waits.
struct TurnGathering {
  std::chrono::milliseconds window{0};
  size_t enough = 1;
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
  /// The requests read and waiting for their answer from the thread of
  /// serve() now, those it is answering included.
  size_t waitingTurns();

  /// Serves until SIGINT or SIGTERM arrives or stop() is called. Then it
  /// accepts no more connections, drops those still sending their request,
  /// answers the requests already read (the one in progress and those
  /// waiting their turn) and returns once every connection is closed.
  void serve(const HttpHandlers &handlers, const HttpLimits &limits,
             const TurnGathering &gathering = {});
  /// Ends serve() from another thread.
  void stop();

private:
  HttpServer(int socket, int port) : listening(socket), boundPort(port) {}

  /// A request read and waiting for the thread of serve().
  struct Turn {
    const HttpRequest &request;
    HttpResponder &responder;
    bool answered = false;
  };
  struct Connection {
    int socket;
    std::thread thread;
    /// Its request was read whole; serve() stopping does not drop it.
    bool requestRead = false;
    /// serve() stopped while its request was still arriving: dropped.
    bool dropped = false;
    bool closed = false;
  };

  bool stopRequested() const;
  /// The acceptor thread's loop.
  void acceptConnections(const HttpHandlers &handlers,
                         const HttpLimits &limits);
  /// Gives `socket` a thread of its own; false when there are too many.
  bool startConnection(int socket, const HttpHandlers &handlers,
                       const HttpLimits &limits);
  /// Joins the threads of closed connections.
  void reapClosedConnections();
  void serveConnection(Connection &connection, const HttpHandlers &handlers,
                       const HttpLimits &limits);
  /// Reads the connection's request; nullopt when there is none to
  /// answer (the client left, serve() dropped it, or it was invalid and
  /// `invalid` answered it).
  std::optional<HttpRequest> readRequest(Connection &connection,
                                         const HttpHandlers &handlers,
                                         const HttpLimits &limits,
                                         HttpResponder &responder);
  /// Hands `turn` to the thread of serve() and waits until it is answered.
  void waitForTurn(Turn &turn);
  /// The loop of serve()'s thread: answers the turns as they come, until
  /// told to stop (`draining` false) or until no connection is left.
  void answerTurns(const HttpHandlers &handlers, const TurnGathering &gathering,
                   bool draining);

  int listening;
  int boundPort;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  /// A turn queued or answered, a connection closed.
  std::condition_variable changed;
  std::deque<Turn *> turns;
  std::list<Connection> connections;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_SERVER_HTTPSERVER_H
