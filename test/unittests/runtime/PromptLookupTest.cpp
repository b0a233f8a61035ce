//===- PromptLookupTest.cpp - Drafts copied from the context --------------===//

#include "runtime/PromptLookup.h"

#include <gtest/gtest.h>

using namespace llamac;

namespace {

using Ids = std::vector<int32_t>;
constexpr int32_t kEos = 2;

Ids draft(const Ids &sequence, int64_t maxNgram, int64_t limit = 10,
          int64_t draftTokens = 10) {
  return lookUpDraft(sequence, {draftTokens, maxNgram}, limit, kEos);
}

TEST(PromptLookupTest, CopiesWhatFollowedTheLastNgramsEarliestOccurrence) {
  // "7 8" occurs at 1 and 5; the earliest wins, as in Hugging Face.
  EXPECT_EQ(draft({1, 7, 8, 30, 31, 7, 8, 40, 7, 8}, 2),
            (Ids{30, 31, 7, 8, 40, 7, 8}));
}

TEST(PromptLookupTest, PrefersTheLongestNgram) {
  // The bigram "5 6" matches only at 4; the unigram "6" earlier at 1.
  EXPECT_EQ(draft({1, 6, 20, 21, 5, 6, 30, 31, 5, 6}, 2), (Ids{30, 31, 5, 6}));
  EXPECT_EQ(draft({1, 6, 20, 21, 5, 6, 30, 31, 5, 6}, 1),
            (Ids{20, 21, 5, 6, 30, 31, 5, 6}));
}

TEST(PromptLookupTest, FallsBackToShorterNgrams) {
  EXPECT_EQ(draft({1, 9, 4, 3, 9}, 3), (Ids{4, 3, 9}));
}

TEST(PromptLookupTest, TakesAtMostTheLimitAndTheDraftSize) {
  Ids sequence = {1, 9, 4, 5, 6, 7, 9};
  EXPECT_EQ(draft(sequence, 2, /*limit=*/2), (Ids{4, 5}));
  EXPECT_EQ(draft(sequence, 2, /*limit=*/10, /*draftTokens=*/3),
            (Ids{4, 5, 6}));
  EXPECT_EQ(draft(sequence, 2, /*limit=*/0), Ids{});
}

TEST(PromptLookupTest, CutsTheDraftBeforeEos) {
  EXPECT_EQ(draft({1, 9, 4, kEos, 6, 9}, 2), (Ids{4}));
  EXPECT_EQ(draft({1, 9, kEos, 6, 9}, 2), Ids{});
}

TEST(PromptLookupTest, FindsNothingWithoutAnEarlierOccurrence) {
  EXPECT_EQ(draft({1, 2, 3, 4}, 2), Ids{});
  EXPECT_EQ(draft({5}, 2), Ids{});
  EXPECT_EQ(draft({}, 2), Ids{});
  // The last n-gram matching itself is followed by nothing.
  EXPECT_EQ(draft({4, 4}, 2), (Ids{4}));
}

TEST(PromptLookupTest, ValidatesItsOptions) {
  EXPECT_EQ(validatePromptLookupOptions({0, 2}), "");
  EXPECT_EQ(validatePromptLookupOptions({-1, 2}),
            "--prompt-lookup must be >= 0");
  EXPECT_EQ(validatePromptLookupOptions({4, 0}), "--lookup-ngram must be >= 1");
}

} // namespace
