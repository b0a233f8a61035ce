//===- HttpResponderTest.cpp - Writing to a connection and its client -----===//

#include "runtime/server/HttpServer.h"

#include <gtest/gtest.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

using namespace llamac;

namespace {

/// A connected pair of sockets: the server's end and the client's.
struct SocketPair {
  SocketPair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, ends), 0); }
  ~SocketPair() {
    for (int end : ends)
      if (end >= 0)
        close(end);
  }
  void closeClient() {
    close(ends[1]);
    ends[1] = -1;
  }
  int server() const { return ends[0]; }
  int client() const { return ends[1]; }

  int ends[2] = {-1, -1};
};

} // namespace

TEST(HttpResponderTest, AClientStillConnectedIsNotGone) {
  SocketPair pair;
  HttpResponder responder(pair.server());
  EXPECT_FALSE(responder.clientGone());
  // Bytes the client sends after its request are not a goodbye.
  ASSERT_EQ(send(pair.client(), "x", 1, 0), 1);
  EXPECT_FALSE(responder.clientGone());
  EXPECT_TRUE(responder.send(200, "text/plain", "ok"));
}

TEST(HttpResponderTest, AClientThatClosedIsGone) {
  SocketPair pair;
  HttpResponder responder(pair.server());
  pair.closeClient();
  EXPECT_TRUE(responder.clientGone());
  EXPECT_FALSE(responder.send(200, "text/plain", "ok"));
}

TEST(HttpResponderTest, AClientThatClosedItsSideIsGone) {
  SocketPair pair;
  HttpResponder responder(pair.server());
  shutdown(pair.client(), SHUT_WR);
  EXPECT_TRUE(responder.clientGone());
}

TEST(HttpResponderTest, AnEndedResponseEndsForItsClientAtOnce) {
  SocketPair pair;
  HttpResponder responder(pair.server());
  ASSERT_TRUE(responder.startStream(200, "text/event-stream"));
  ASSERT_TRUE(responder.sendPiece("data: [DONE]\n\n"));
  responder.end();
  // The client reads to the end while the server's socket is still open
  // (within 5 s, else it fails rather than hangs).
  timeval timeout = {5, 0};
  setsockopt(pair.client(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string received;
  char buffer[256];
  ssize_t count;
  while ((count = recv(pair.client(), buffer, sizeof(buffer), 0)) > 0)
    received.append(buffer, size_t(count));
  EXPECT_EQ(count, 0) << "no end within 5 s";
  EXPECT_NE(received.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_EQ(received.substr(received.size() - 14), "data: [DONE]\n\n");
  EXPECT_FALSE(responder.sendPiece("late"));
}
