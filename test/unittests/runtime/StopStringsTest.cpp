//===- StopStringsTest.cpp - Ending text at stop strings across pieces ----===//

#include "runtime/StopStrings.h"

#include <gtest/gtest.h>

using namespace llamac;

namespace {

/// What the filter lets through, piece by piece, then at the end.
struct Filtered {
  std::vector<std::string> pieces;
  std::string atEnd;
  bool stopped;
};

Filtered run(const std::vector<std::string> &stops,
             const std::vector<std::string> &pieces) {
  StopStringFilter filter(stops);
  Filtered out;
  for (const std::string &piece : pieces)
    out.pieces.push_back(filter.push(piece));
  out.atEnd = filter.finish();
  out.stopped = filter.stopped();
  return out;
}

} // namespace

TEST(StopStringsTest, WithoutStopStringsAllTextPassesAtOnce) {
  Filtered out = run({}, {"Once", " upon", " a"});
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"Once", " upon", " a"}));
  EXPECT_EQ(out.atEnd, "");
  EXPECT_FALSE(out.stopped);
}

TEST(StopStringsTest, MatchesAcrossPiecesAndDropsTheStopString) {
  Filtered out = run({"User:"}, {"Hi.", " Us", "er", ": more", " text"});
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"Hi.", " ", "", "", ""}));
  EXPECT_EQ(out.atEnd, "");
  EXPECT_TRUE(out.stopped);
}

TEST(StopStringsTest, ReleasesHeldTextThatStopsMatching) {
  Filtered out = run({"\n\n"}, {"a\n", "b\n", "\nc"});
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"a", "\nb", ""}));
  EXPECT_TRUE(out.stopped);
}

TEST(StopStringsTest, TheEarliestOfSeveralStopStringsWins) {
  Filtered out = run({"cd", "bcde"}, {"abcde"});
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(out.stopped);
}

TEST(StopStringsTest, HeldTextComesOutAtTheEnd) {
  Filtered out = run({"The end."}, {"and so The", " end"});
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"and so ", ""}));
  EXPECT_EQ(out.atEnd, "The end");
  EXPECT_FALSE(out.stopped);
}

TEST(StopStringsTest, MultiByteCharactersAreHeldWhole) {
  // "€" is E2 82 AC; the held tail starts where the stop string does.
  Filtered out = run({"€!"}, {"5 €", "!"});
  EXPECT_EQ(out.pieces, (std::vector<std::string>{"5 ", ""}));
  EXPECT_TRUE(out.stopped);
}
