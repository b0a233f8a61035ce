//===- AttentionMaskTest.cpp - The prompt's attention mask, drawn ---------===//

#include "runtime/AttentionMask.h"

#include <gtest/gtest.h>

namespace llamac {
namespace {

TEST(AttentionMaskTest, IsCausalFromTheRowsFirstRealSlot) {
  TokenBatch batch = padLeft({{1, 7, 8}, {1, 9}}, 0);
  // Row 0: slot i attends to 0..i.
  EXPECT_TRUE(attends(batch, 0, 0, 0));
  EXPECT_FALSE(attends(batch, 0, 0, 1));
  EXPECT_TRUE(attends(batch, 0, 2, 1));
  // Row 1 starts at slot 1: its pad slot is never attended to and attends to
  // nothing.
  EXPECT_FALSE(attends(batch, 1, 2, 0));
  EXPECT_TRUE(attends(batch, 1, 2, 1));
  EXPECT_TRUE(attends(batch, 1, 2, 2));
  EXPECT_FALSE(attends(batch, 1, 0, 0));
}

TEST(AttentionMaskTest, DrawsARowPerSlotWithItsToken) {
  TokenBatch batch = padLeft({{1, 7, 8}, {1, 9}}, 0);
  std::string drawing = drawAttentionMask(
      batch, [](int32_t id) { return id == 1 ? "'<s>'" : "'\u2581t" + std::to_string(id) + "'"; });
  EXPECT_EQ(drawing,
            "row 0\n"
            "  '<s>' 0 \u25A0 \u2B1A \u2B1A\n"
            "  '\u2581t7' 1 \u25A0 \u25A0 \u2B1A\n"
            "  '\u2581t8' 2 \u25A0 \u25A0 \u25A0\n"
            "row 1 (1 pad slot)\n"
            "  <pad> 0 \u2B1A \u2B1A \u2B1A\n"
            "  '<s>' 1 \u2B1A \u25A0 \u2B1A\n"
            "  '\u2581t9' 2 \u2B1A \u25A0 \u25A0\n");
}

} // namespace
} // namespace llamac
