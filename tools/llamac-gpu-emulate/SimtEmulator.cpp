//===- SimtEmulator.cpp - GPU blocks run as fibers on one CPU thread ------===//
#include "SimtEmulator.h"

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ucontext.h>

namespace llamac::emu {
namespace {

constexpr int64_t kWarpSize = 32;
constexpr int64_t kWarpgroupSize = 4 * kWarpSize;
constexpr size_t kStackBytes = 256 * 1024;

enum class State { Ready, AtBarrier, AtShuffle, AtMma, AtLdMatrix, Done };

bool isWarpCollective(State state) {
  return state == State::AtShuffle || state == State::AtMma ||
         state == State::AtLdMatrix;
}

const char *collectiveName(State state) {
  switch (state) {
  case State::AtShuffle:
    return "a shuffle";
  case State::AtMma:
    return "an mma.sync";
  default:
    return "an ldmatrix";
  }
}

/// One lane's registers of an mma.sync m16n8k16: A, B as 32-bit words of
/// two f16 or bf16 elements (the lower element in the low half), C then D.
struct MmaFragments {
  bool bf16 = false;
  uint32_t a[4] = {};
  uint32_t b[2] = {};
  float c[4] = {};
};

/// A GPU thread as a fiber. It runs the threads of that index in every block
/// of every launch: started once (makecontext), it parks between blocks, as
/// getcontext and setcontext each make a system call (sigprocmask).
struct Thread {
  /// Where the fiber resumes: _setjmp/_longjmp switch without the signal
  /// mask system calls of swapcontext, millions of times per generation.
  jmp_buf resume;
  bool started = false;
  /// Left uninitialized: its pages are only touched as the stack grows.
  std::unique_ptr<char[]> stack{new char[kStackBytes]};
  State state = State::Ready;
  float value = 0;  ///< What it offers to a shuffle, then what it gets.
  int32_t offset = 0;
  MmaFragments mma;
  /// ldmatrix: the row this lane names, whether the matrices are
  /// transposed, then the four words it receives.
  const char *matrixRow = nullptr;
  bool matrixTranspose = false;
  uint32_t matrixWords[4] = {};
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

/// A fiber's body: thread `current` of each block it is resumed in. It
/// never returns (its context has no successor). Launches may move the
/// Thread (growing the vector), so it is looked up after each switch.
void runThread() {
  Launch &l = active();
  while (true) {
    void *words = l.words;
    void *args[] = {&words};
    l.kernel(args);
    l.threads[l.current].state = State::Done;
    yieldToScheduler();
  }
}

/// How much lower than its stack's end thread `index` starts. Stacks that
/// all start at the same offset of their 256 KiB put the hot tops of a
/// block's threads in the same cache sets; spread over 128 KiB in steps of
/// 1088 bytes (17 cache lines), the emulator runs 15-25 % faster.
size_t stackColour(int64_t index) {
  return size_t(index) * 1088 % (128 * 1024);
}

/// Runs thread `current` until it waits or finishes.
void resume(Launch &l) {
  Thread &thread = l.threads[l.current];
  if (_setjmp(l.scheduler) != 0)
    return;
  if (thread.started)
    _longjmp(thread.resume, 1);
  thread.started = true;
  ucontext_t start;
  getcontext(&start);
  start.uc_stack.ss_sp = thread.stack.get();
  start.uc_stack.ss_size = kStackBytes - stackColour(l.current);
  start.uc_link = nullptr;
  makecontext(&start, runThread, 0);
  setcontext(&start);
}

/// The collective (shuffle, mma.sync, ldmatrix) that all lanes of warp
/// [first, end) wait at; Ready if none does. Fails if only some lanes wait
/// at one, or lanes wait at different ones.
State warpCollective(Launch &l, int64_t first, int64_t end) {
  State collective = State::Ready;
  int64_t waiting = 0, live = 0;
  for (int64_t t = first; t < end; ++t) {
    State state = l.threads[t].state;
    live += state != State::Done;
    if (!isWarpCollective(state))
      continue;
    if (waiting && state != collective)
      fail("warp " + std::to_string(first / kWarpSize) + ": its lanes wait at " +
           collectiveName(collective) + " and at " + collectiveName(state));
    collective = state;
    ++waiting;
  }
  if (!waiting)
    return State::Ready;
  if (waiting != end - first)
    fail("warp " + std::to_string(first / kWarpSize) + ": " + std::to_string(waiting) +
         " of its " + std::to_string(end - first) + " lanes wait at " +
         collectiveName(collective) + ", the others do not (" + std::to_string(live) +
         " live)");
  return collective;
}

void exchangeShuffle(Launch &l, int64_t first, int64_t end) {
  std::vector<float> offered(end - first);
  for (int64_t t = first; t < end; ++t)
    offered[t - first] = l.threads[t].value;
  for (int64_t t = first; t < end; ++t) {
    int64_t partner = (t - first) ^ l.threads[t].offset;
    if (partner >= end - first)
      fail("shuffle partner outside the warp");
    l.threads[t].value = offered[partner];
  }
}

float halfToFloat(uint16_t bits) {
  float sign = (bits & 0x8000) ? -1.0f : 1.0f;
  int exponent = (bits >> 10) & 0x1f;
  int mantissa = bits & 0x3ff;
  if (exponent == 0)
    return sign * std::ldexp(float(mantissa), -24);
  if (exponent == 31)
    return mantissa ? NAN : sign * INFINITY;
  return sign * std::ldexp(float(mantissa | 0x400), exponent - 25);
}

float bf16ToFloat(uint16_t bits) {
  uint32_t word = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &word, sizeof value);
  return value;
}

/// c + a[0] b[0] + ... + a[15] b[15], summed in that order: one output of
/// an m16n8k16 mma.sync or of an m64nNk16 wgmma, which therefore agree.
float multiplyAccumulate16(float c, const float *a, const float *b) {
  for (int k = 0; k < 16; ++k)
    c += a[k] * b[k];
  return c;
}

/// D = A B + C for the warp, with the PTX ISA's fragment layout of
/// mma.m16n8k16: lane 4g + t holds A[g + 8(r & 1)][2t + 8(r >> 1) + {0,1}]
/// in register r, B[2t + 8r + {0,1}][g], and C/D[g + 8(i >> 1)][2t + (i & 1)].
void multiplyAccumulate(Launch &l, int64_t first, int64_t end) {
  if (end - first != kWarpSize)
    fail("mma.sync in a warp of " + std::to_string(end - first) + " lanes");
  bool bf16 = l.threads[first].mma.bf16;
  auto element = [&](uint32_t word, int half) {
    uint16_t bits = uint16_t(word >> (16 * half));
    return bf16 ? bf16ToFloat(bits) : halfToFloat(bits);
  };
  float a[16][16], b[8][16], c[16][8];
  for (int64_t lane = 0; lane < kWarpSize; ++lane) {
    const MmaFragments &f = l.threads[first + lane].mma;
    if (f.bf16 != bf16)
      fail("mma.sync lanes disagree on the operand type");
    int64_t g = lane / 4, t = lane % 4;
    for (int r = 0; r < 4; ++r)
      for (int half = 0; half < 2; ++half)
        a[g + 8 * (r & 1)][2 * t + 8 * (r >> 1) + half] = element(f.a[r], half);
    for (int r = 0; r < 2; ++r)
      for (int half = 0; half < 2; ++half)
        b[g][2 * t + 8 * r + half] = element(f.b[r], half);
    for (int i = 0; i < 4; ++i)
      c[g + 8 * (i >> 1)][2 * t + (i & 1)] = f.c[i];
  }
  for (int64_t lane = 0; lane < kWarpSize; ++lane) {
    MmaFragments &f = l.threads[first + lane].mma;
    int64_t g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
      int64_t row = g + 8 * (i >> 1), column = 2 * t + (i & 1);
      f.c[i] = multiplyAccumulate16(c[row][column], a[row], b[column]);
    }
  }
}

/// ldmatrix .x4 .b16: lane 8i + j names row j of matrix i (8 16-bit
/// elements); lane 4g + t receives word t of row g of each matrix, or
/// transposed, elements g of rows 2t and 2t + 1 (the lower half first).
void loadMatrices(Launch &l, int64_t first, int64_t end) {
  if (end - first != kWarpSize)
    fail("ldmatrix in a warp of " + std::to_string(end - first) + " lanes");
  bool transpose = l.threads[first].matrixTranspose;
  for (int64_t lane = 0; lane < kWarpSize; ++lane) {
    if (l.threads[first + lane].matrixTranspose != transpose)
      fail("ldmatrix lanes disagree on .trans");
    int64_t g = lane / 4, t = lane % 4;
    for (int64_t matrix = 0; matrix < 4; ++matrix) {
      uint32_t &word = l.threads[first + lane].matrixWords[matrix];
      auto row = [&](int64_t r) { return l.threads[first + 8 * matrix + r].matrixRow; };
      if (!transpose) {
        std::memcpy(&word, row(g) + 4 * t, sizeof word);
        continue;
      }
      uint16_t low, high;
      std::memcpy(&low, row(2 * t) + 2 * g, sizeof low);
      std::memcpy(&high, row(2 * t + 1) + 2 * g, sizeof high);
      word = uint32_t(low) | uint32_t(high) << 16;
    }
  }
}

/// Runs the collectives of the warps whose lanes all wait at one; false if
/// none does.
bool releaseWarpCollectives(Launch &l) {
  bool released = false;
  for (int64_t first = 0; first < l.count; first += kWarpSize) {
    int64_t end = std::min(l.count, first + kWarpSize);
    State collective = warpCollective(l, first, end);
    if (collective == State::Ready)
      continue;
    if (collective == State::AtShuffle)
      exchangeShuffle(l, first, end);
    else if (collective == State::AtMma)
      multiplyAccumulate(l, first, end);
    else
      loadMatrices(l, first, end);
    for (int64_t t = first; t < end; ++t)
      l.threads[t].state = State::Ready;
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
  for (int64_t t = 0; t < l.count; ++t)
    l.threads[t].state = State::Ready;
  while (true) {
    for (l.current = 0; l.current < l.count; ++l.current)
      if (l.threads[l.current].state == State::Ready)
        resume(l);
    bool done = true;
    for (int64_t t = 0; t < l.count; ++t)
      done &= l.threads[t].state == State::Done;
    if (done)
      return;
    if (!releaseWarpCollectives(l) && !releaseBarrier(l))
      fail("the block's threads wait at different barriers and warp collectives");
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

static void lmcEmuMma(int32_t bf16, uint32_t a0, uint32_t a1, uint32_t a2,
                      uint32_t a3, uint32_t b0, uint32_t b1, float c0, float c1,
                      float c2, float c3, float *d) {
  Thread &thread = active().threads[active().current];
  thread.state = State::AtMma;
  thread.mma = {bf16 != 0, {a0, a1, a2, a3}, {b0, b1}, {c0, c1, c2, c3}};
  yieldToScheduler();
  const MmaFragments &result = active().threads[active().current].mma;
  std::copy(result.c, result.c + 4, d);
}

/// One row of 16 f16 elements of a wgmma operand: row `row` of the
/// K-major, 128-byte swizzled matrix that `descriptor` describes in the
/// dynamic shared memory at `shared` (see swizzledMatrixDescriptor). The
/// descriptor's 18-bit start address is taken relative to the buffer's own
/// low bits, and the swizzle is applied to offsets from the buffer's start,
/// which the kernels align to 1 KiB on the GPU.
void loadSwizzledRow(uint64_t descriptor, const char *shared, int64_t sharedBytes,
                     int64_t row, float *k16) {
  constexpr uint64_t kAddressMask = 0x3FFFF, kFieldMask = 0x3FFF;
  if (descriptor >> 62 != 1)
    fail("wgmma descriptor without the 128-byte swizzle");
  uint64_t start = (descriptor & kFieldMask) << 4;
  uint64_t atomBytes = ((descriptor >> 32) & kFieldMask) << 4;
  uint64_t offset = (start - (reinterpret_cast<uintptr_t>(shared) & kAddressMask)) &
                    kAddressMask;
  for (int64_t k = 0; k < 16; ++k) {
    uint64_t address = offset + uint64_t(row / 8) * atomBytes + uint64_t(row % 8) * 128 +
                       uint64_t(2 * k);
    address ^= ((address >> 7) & 7) << 4;
    if (address + 2 > uint64_t(sharedBytes))
      fail("wgmma reads past the dynamic shared memory");
    uint16_t bits;
    std::memcpy(&bits, shared + address, sizeof bits);
    k16[k] = halfToFloat(bits);
  }
}

/// wgmma.mma_async m64nNk16, f16 operands from shared memory, float32
/// accumulators: this thread's `n` / 2 of them (TensorCoreOps.h gives the
/// layout). Each output depends on shared memory only, which no thread
/// writes between the barriers around a warpgroup's wgmma, so the thread
/// computes its own without waiting for the others.
static void lmcEmuWgmma(int64_t descriptorA, int64_t descriptorB, const char *shared,
                        int64_t sharedBytes, int32_t n, float *acc) {
  Launch &l = active();
  if (l.count % kWarpgroupSize != 0)
    fail("wgmma in a block of " + std::to_string(l.count) + " threads");
  int64_t inGroup = l.current % kWarpgroupSize;
  int64_t warp = inGroup / kWarpSize, lane = inGroup % kWarpSize;
  float a[2][16], b[16];
  for (int half = 0; half < 2; ++half)
    loadSwizzledRow(descriptorA, shared, sharedBytes, 16 * warp + lane / 4 + 8 * half,
                    a[half]);
  // Accumulator 4j + 2 * half + p: row half, column 8j + 2t + p.
  for (int32_t j = 0; j < n / 8; ++j)
    for (int32_t p = 0; p < 2; ++p) {
      loadSwizzledRow(descriptorB, shared, sharedBytes, 8 * j + 2 * (lane % 4) + p, b);
      for (int32_t half = 0; half < 2; ++half) {
        float &sum = acc[4 * j + 2 * half + p];
        sum = multiplyAccumulate16(sum, a[half], b);
      }
    }
}

static void lmcEmuLdMatrix(const char *row, int32_t transpose, uint32_t *words) {
  Thread &thread = active().threads[active().current];
  thread.state = State::AtLdMatrix;
  thread.matrixRow = row;
  thread.matrixTranspose = transpose != 0;
  yieldToScheduler();
  const Thread &loaded = active().threads[active().current];
  std::copy(loaded.matrixWords, loaded.matrixWords + 4, words);
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
          {"lmcEmuMma", reinterpret_cast<void *>(&lmcEmuMma)},
          {"lmcEmuLdMatrix", reinterpret_cast<void *>(&lmcEmuLdMatrix)},
          {"lmcEmuWgmma", reinterpret_cast<void *>(&lmcEmuWgmma)},
          {"lmcEmuLaunch", reinterpret_cast<void *>(&lmcEmuLaunch)}};
}

} // namespace llamac::emu
