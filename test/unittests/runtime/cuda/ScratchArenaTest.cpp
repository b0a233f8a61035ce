//===- ScratchArenaTest.cpp - Bump allocation for the compiled code -------===//

#include "runtime/cuda/ScratchArena.h"

#include <gtest/gtest.h>

using llamac::cuda::ScratchArena;

TEST(ScratchArenaTest, AlignsEveryAllocation) {
  ScratchArena arena;
  arena.reset(0x10000, 4096);
  EXPECT_EQ(arena.allocate(10), 0x10000u);
  EXPECT_EQ(arena.allocate(300), 0x10100u);
  EXPECT_EQ(arena.allocate(1), 0x10300u);
  EXPECT_EQ(arena.bytesUsed(), 0x301u);
}

TEST(ScratchArenaTest, RewindingRepeatsTheAddresses) {
  // What keeps a captured CUDA graph valid: the same calls get the same
  // addresses after every rewind.
  ScratchArena arena;
  arena.reset(0x20000, 1 << 20);
  std::vector<uint64_t> first, second;
  for (uint64_t size : {512u, 100u, 4096u})
    first.push_back(*arena.allocate(size));
  arena.rewind();
  for (uint64_t size : {512u, 100u, 4096u})
    second.push_back(*arena.allocate(size));
  EXPECT_EQ(first, second);
}

TEST(ScratchArenaTest, RefusesWhatDoesNotFit) {
  ScratchArena arena;
  arena.reset(0x1000, 1024);
  EXPECT_TRUE(arena.allocate(1000));
  EXPECT_FALSE(arena.allocate(1)); // 1000 rounds up to 1024.
  arena.rewind();
  EXPECT_TRUE(arena.allocate(1024));
  EXPECT_FALSE(arena.allocate(~uint64_t(0)));
}
