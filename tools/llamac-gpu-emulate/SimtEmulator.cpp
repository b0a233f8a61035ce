//===- SimtEmulator.cpp - GPU blocks run as fibers on one CPU thread ------===//
#include "SimtEmulator.h"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <ucontext.h>

namespace llamac::emu {
namespace {

constexpr int64_t kWarpSize = 32;
constexpr size_t kStackBytes = 256 * 1024;

enum class State { Ready, AtBarrier, AtShuffle, Done };

struct Thread {
  /// Where the thread starts (makecontext) ...
  ucontext_t context;
  /// ... and where it resumes: _setjmp/_longjmp switch without the signal
  /// mask system calls of swapcontext, millions of times per generation.
  jmp_buf resume;
  bool started = false;
  /// Left uninitialized: its pages are only touched as the stack grows.
  std::unique_ptr<char[]> stack{new char[kStackBytes]};
  State state = State::Ready;
  float value = 0;  ///< What it offers to a shuffle, then what it gets.
  int32_t offset = 0;
};

struct Launch {
  PackedKernel kernel = nullptr;
  void *words = nullptr;
  int64_t blockId[3] = {0, 0, 0};
  /// The block's threads are the first `count`; more stay from larger
  /// launches, so their stacks are allocated once.
  std::vector<Thread> threads;
  int64_t count = 0;
  int64_t current = 0;
  jmp_buf scheduler;
};

std::vector<PackedKernel> &kernelTable() {
  static std::vector<PackedKernel> table;
  return table;
}

Launch &active() {
  static Launch launch;
  return launch;
}

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "error: GPU emulator: %s\n", message.c_str());
  std::exit(1);
}

void yieldToScheduler() {
  Launch &l = active();
  if (_setjmp(l.threads[l.current].resume) == 0)
    _longjmp(l.scheduler, 1);
}

/// A fiber's body; it never returns (its context has no successor).
void runThread() {
  Launch &l = active();
  void *words = l.words;
  void *args[] = {&words};
  l.kernel(args);
  l.threads[l.current].state = State::Done;
  _longjmp(l.scheduler, 1);
}

/// Runs thread `current` until it waits or finishes.
void resume(Launch &l) {
  Thread &thread = l.threads[l.current];
  if (_setjmp(l.scheduler) != 0)
    return;
  if (thread.started)
    _longjmp(thread.resume, 1);
  thread.started = true;
  setcontext(&thread.context);
}

/// Releases the warps whose live lanes all wait at a shuffle; false if none.
bool releaseShuffles(Launch &l) {
  bool released = false;
  for (int64_t first = 0; first < l.count; first += kWarpSize) {
    int64_t end = std::min(l.count, first + kWarpSize);
    int64_t waiting = 0, live = 0;
    for (int64_t t = first; t < end; ++t) {
      live += l.threads[t].state != State::Done;
      waiting += l.threads[t].state == State::AtShuffle;
    }
    if (waiting == 0)
      continue;
    if (waiting != end - first)
      fail("warp " + std::to_string(first / kWarpSize) + ": " +
           std::to_string(waiting) + " of its " + std::to_string(end - first) +
           " lanes wait at a shuffle, the others do not (" + std::to_string(live) +
           " live)");
    std::vector<float> offered(end - first);
    for (int64_t t = first; t < end; ++t)
      offered[t - first] = l.threads[t].value;
    for (int64_t t = first; t < end; ++t) {
      int64_t partner = (t - first) ^ l.threads[t].offset;
      if (partner >= end - first)
        fail("shuffle partner outside the warp");
      l.threads[t].value = offered[partner];
      l.threads[t].state = State::Ready;
    }
    released = true;
  }
  return released;
}

/// Releases the barrier when every live thread waits at it.
bool releaseBarrier(Launch &l) {
  bool any = false;
  for (int64_t t = 0; t < l.count; ++t) {
    Thread &thread = l.threads[t];
    if (thread.state == State::Done)
      continue;
    if (thread.state != State::AtBarrier)
      return false;
    any = true;
  }
  if (!any)
    return false;
  for (int64_t t = 0; t < l.count; ++t)
    if (l.threads[t].state == State::Done)
      fail("a barrier some threads of the block never reach (they returned)");
  for (int64_t t = 0; t < l.count; ++t)
    l.threads[t].state = State::Ready;
  return true;
}

void runBlock(Launch &l) {
  for (int64_t t = 0; t < l.count; ++t) {
    Thread &thread = l.threads[t];
    thread.state = State::Ready;
    thread.started = false;
    getcontext(&thread.context);
    thread.context.uc_stack.ss_sp = thread.stack.get();
    thread.context.uc_stack.ss_size = kStackBytes;
    thread.context.uc_link = nullptr;
    makecontext(&thread.context, runThread, 0);
  }
  while (true) {
    for (l.current = 0; l.current < l.count; ++l.current)
      if (l.threads[l.current].state == State::Ready)
        resume(l);
    bool done = true;
    for (int64_t t = 0; t < l.count; ++t)
      done &= l.threads[t].state == State::Done;
    if (done)
      return;
    if (!releaseShuffles(l) && !releaseBarrier(l))
      fail("the block's threads wait at different barriers and shuffles");
  }
}

} // namespace

void setKernels(std::vector<PackedKernel> kernels) { kernelTable() = std::move(kernels); }

extern "C" {

static int64_t lmcEmuThreadId(int32_t dimension) {
  return dimension == 0 ? active().current : 0;
}

static int64_t lmcEmuBlockId(int32_t dimension) {
  if (dimension < 0 || dimension > 2)
    fail("block id dimension " + std::to_string(dimension));
  return active().blockId[dimension];
}

static void lmcEmuBarrier() {
  active().threads[active().current].state = State::AtBarrier;
  yieldToScheduler();
}

static float lmcEmuShuffleXor(float value, int32_t offset) {
  Thread &thread = active().threads[active().current];
  thread.state = State::AtShuffle;
  thread.value = value;
  thread.offset = offset;
  yieldToScheduler();
  return active().threads[active().current].value;
}

static void lmcEmuLaunch(int64_t kernel, void *words, int64_t gridX, int64_t gridY,
                         int64_t gridZ, int64_t blockX) {
  if (kernel < 0 || kernel >= int64_t(kernelTable().size()))
    fail("launch of unknown kernel " + std::to_string(kernel));
  if (blockX <= 0 || blockX > 1024 || gridX <= 0 || gridY <= 0 || gridZ <= 0)
    fail("launch shape out of range");
  Launch &l = active();
  l.kernel = kernelTable()[kernel];
  l.words = words;
  if (int64_t(l.threads.size()) < blockX)
    l.threads.resize(blockX);
  l.count = blockX;
  for (int64_t z = 0; z < gridZ; ++z)
    for (int64_t y = 0; y < gridY; ++y)
      for (int64_t x = 0; x < gridX; ++x) {
        l.blockId[0] = x;
        l.blockId[1] = y;
        l.blockId[2] = z;
        runBlock(l);
      }
}

} // extern "C"

std::vector<std::pair<std::string, void *>> runtimeSymbols() {
  return {{"lmcEmuThreadId", reinterpret_cast<void *>(&lmcEmuThreadId)},
          {"lmcEmuBlockId", reinterpret_cast<void *>(&lmcEmuBlockId)},
          {"lmcEmuBarrier", reinterpret_cast<void *>(&lmcEmuBarrier)},
          {"lmcEmuShuffleXor", reinterpret_cast<void *>(&lmcEmuShuffleXor)},
          {"lmcEmuLaunch", reinterpret_cast<void *>(&lmcEmuLaunch)}};
}

} // namespace llamac::emu
