//===- HttpServer.cpp - HTTP/1.1, a thread a connection, the model in turn ===//

#include "runtime/server/HttpServer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <system_error>
#include <unistd.h>

namespace llamac {

namespace {

volatile std::sig_atomic_t stopSignalled = 0;

void requestStop(int) { stopSignalled = 1; }

/// SIGINT and SIGTERM end serve() (which looks for them between requests).
/// A client that goes away makes writes fail instead of raising SIGPIPE.
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

/// Blocks SIGINT and SIGTERM on the calling thread while it lives: the
/// threads it starts keep the mask and leave the signals to serve()'s.
class SignalsBlocked {
public:
  SignalsBlocked() {
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGINT);
    sigaddset(&stopSignals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopSignals, &previous);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &previous, nullptr); }
  SignalsBlocked(const SignalsBlocked &) = delete;
  SignalsBlocked &operator=(const SignalsBlocked &) = delete;

private:
  sigset_t previous;
};

/// Ends a connection so that the response survives: closing a socket with
/// unread bytes (a refused body still arriving) resets it, and the client
/// may lose what was sent. So stop sending and read briefly what is left;
/// the caller closes it.
void finishGracefully(int connection) {
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
  std::string head =
      "HTTP/1.1 " + std::to_string(status) + " " + httpStatusText(status) +
      "\r\nContent-Type: " + std::string(contentType) +
      "\r\nConnection: close\r\n" + commonHeaders + extraHeaders + "\r\n";
  return writeAll(head);
}

bool HttpResponder::send(int status, std::string_view contentType,
                         std::string_view body,
                         const std::string &extraHeaders) {
  return writeHead(status, contentType,
                   extraHeaders + "Content-Length: " +
                       std::to_string(body.size()) + "\r\n") &&
         writeAll(body);
}

bool HttpResponder::startStream(int status, std::string_view contentType) {
  return writeHead(status, contentType, "Cache-Control: no-cache\r\n");
}

bool HttpResponder::sendPiece(std::string_view data) { return writeAll(data); }

void HttpResponder::end() {
  shutdown(socket, SHUT_WR);
  broken = true;
}

bool HttpResponder::clientGone() {
  pollfd connection = {socket, POLLRDHUP, 0};
  if (!broken && poll(&connection, 1, 0) > 0 &&
      (connection.revents & (POLLRDHUP | POLLHUP | POLLERR)))
    broken = true;
  return broken;
}

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

bool HttpServer::stopRequested() const { return stopping || stopSignalled; }

size_t HttpServer::waitingTurns() {
  std::lock_guard<std::mutex> lock(mutex);
  return turns.size();
}

void HttpServer::stop() {
  stopping = true;
  changed.notify_all();
}

void HttpServer::serve(const HttpHandlers &handlers, const HttpLimits &limits,
                       const TurnGathering &gathering) {
  installSignalHandlers();
  std::thread acceptor;
  {
    SignalsBlocked blocked;
    acceptor = std::thread([&] { acceptConnections(handlers, limits); });
  }
  answerTurns(handlers, gathering, /*draining=*/false);
  // A waiting accept() returns once the socket stops listening.
  shutdown(listening, SHUT_RDWR);
  acceptor.join();
  {
    // Requests still arriving are dropped: reads of them end at once. (Not
    // those read: a shut-down read side would look like a client gone.)
    std::lock_guard<std::mutex> lock(mutex);
    for (Connection &connection : connections)
      if (!connection.closed && !connection.requestRead) {
        connection.dropped = true;
        shutdown(connection.socket, SHUT_RD);
      }
  }
  answerTurns(handlers, gathering, /*draining=*/true);
  std::lock_guard<std::mutex> lock(mutex);
  reapClosedConnections();
}

void HttpServer::acceptConnections(const HttpHandlers &handlers,
                                   const HttpLimits &limits) {
  while (!stopRequested()) {
    int socket = accept4(listening, nullptr, nullptr, SOCK_CLOEXEC);
    if (socket < 0) {
      // A connection reset before it was accepted: go on. Out of
      // descriptors or memory: wait a little rather than spin.
      if (errno != EINTR && errno != ECONNABORTED && !stopRequested())
        usleep(100 * 1000);
      continue;
    }
    if (!startConnection(socket, handlers, limits)) {
      setTimeouts(socket, 1);
      HttpResponder responder(socket);
      handlers.invalid(503,
                       "the server cannot take more connections (at most " +
                           std::to_string(limits.maxConnections) +
                           " at once); try again",
                       responder);
      finishGracefully(socket);
      close(socket);
    }
  }
}

bool HttpServer::startConnection(int socket, const HttpHandlers &handlers,
                                 const HttpLimits &limits) {
  std::lock_guard<std::mutex> lock(mutex);
  reapClosedConnections();
  if (connections.size() >= limits.maxConnections)
    return false;
  Connection &connection = connections.emplace_back();
  connection.socket = socket;
  try {
    connection.thread = std::thread([this, &connection, &handlers, &limits] {
      serveConnection(connection, handlers, limits);
    });
  } catch (const std::system_error &) { // Out of threads: as if full.
    connections.pop_back();
    return false;
  }
  return true;
}

void HttpServer::reapClosedConnections() {
  for (auto it = connections.begin(); it != connections.end();) {
    if (!it->closed) {
      ++it;
      continue;
    }
    it->thread.join();
    it = connections.erase(it);
  }
}

void HttpServer::serveConnection(Connection &connection,
                                 const HttpHandlers &handlers,
                                 const HttpLimits &limits) {
  setTimeouts(connection.socket, kIdleSeconds);
  HttpResponder responder(connection.socket);
  std::optional<HttpRequest> request =
      readRequest(connection, handlers, limits, responder);
  if (request && !handlers.atOnce(*request, responder)) {
    Turn turn{*request, responder};
    waitForTurn(turn);
  }
  finishGracefully(connection.socket);
  // Closed under the lock: serve() shuts down the sockets of the open
  // connections, and a closed one's number may already be another file's.
  std::lock_guard<std::mutex> lock(mutex);
  close(connection.socket);
  connection.closed = true;
  changed.notify_all();
}

std::optional<HttpRequest> HttpServer::readRequest(Connection &connection,
                                                   const HttpHandlers &handlers,
                                                   const HttpLimits &limits,
                                                   HttpResponder &responder) {
  std::string received;
  char buffer[16384];
  while (true) {
    HttpParse parse = parseHttpRequest(received, limits);
    if (parse.state == HttpParse::State::Complete) {
      std::lock_guard<std::mutex> lock(mutex);
      if (connection.dropped)
        return std::nullopt;
      connection.requestRead = true;
      parse.request.received = std::chrono::steady_clock::now();
      return std::move(parse.request);
    }
    if (parse.state == HttpParse::State::Invalid) {
      handlers.invalid(parse.status, parse.problem, responder);
      return std::nullopt;
    }
    ssize_t count = recv(connection.socket, buffer, sizeof(buffer), 0);
    if (count < 0 && errno == EINTR)
      continue;
    if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
        !received.empty()) {
      handlers.invalid(408,
                       "the request did not arrive within " +
                           std::to_string(kIdleSeconds) + " s",
                       responder);
      return std::nullopt;
    }
    if (count <= 0)
      return std::nullopt;
    received.append(buffer, size_t(count));
  }
}

void HttpServer::waitForTurn(Turn &turn) {
  std::unique_lock<std::mutex> lock(mutex);
  turns.push_back(&turn);
  changed.notify_all();
  changed.wait(lock, [&] { return turn.answered; });
}

void HttpServer::answerTurns(const HttpHandlers &handlers,
                             const TurnGathering &gathering, bool draining) {
  using Clock = std::chrono::steady_clock;
  // A signal does not wake the wait: it looks for one every 100 ms.
  constexpr std::chrono::milliseconds kPoll(100);
  Clock::time_point lastTurnEnd;
  std::unique_lock<std::mutex> lock(mutex);
  while (draining || !stopRequested()) {
    if (turns.empty()) {
      if (draining && std::all_of(connections.begin(), connections.end(),
                                  [](const Connection &connection) {
                                    return connection.closed;
                                  }))
        return;
      changed.wait_for(lock, kPoll);
      continue;
    }
    const Clock::time_point gatherUntil =
        std::max(lastTurnEnd, turns.front()->request.received) +
        gathering.window;
    if (!draining && turns.size() < gathering.enough &&
        Clock::now() < gatherUntil) {
      changed.wait_until(lock, std::min(gatherUntil, Clock::now() + kPoll));
      continue;
    }
    // Only this loop takes turns off the queue: its first ones stay the
    // ones offered while the lock is released.
    std::vector<WaitingRequest> waiting;
    for (Turn *turn : turns)
      waiting.push_back({turn->request, turn->responder});
    lock.unlock();
    const size_t answered =
        std::clamp<size_t>(handlers.inTurn(waiting), 1, waiting.size());
    lock.lock();
    for (size_t i = 0; i < answered; ++i) {
      turns.front()->answered = true;
      turns.pop_front();
    }
    lastTurnEnd = Clock::now();
    changed.notify_all();
  }
}

} // namespace llamac
