//===- Int4Weights.cpp - int4 weight-only quantization at load ------------===//
//
// Per row and group of G columns, every value widened to float32 first:
//
//   lo = min(w), hi = max(w)
//   min_h = f16(lo), scale_h = f16((hi - lo) / 15)   (two float32 operations)
//   m = float(min_h), s = float(scale_h)
//   q = 0 if s == 0, else clamp(nearbyint((w - m) / s), 0, 15)
//
// f16() rounds to nearest even (FloatConversion.h) and nearbyint rounds
// halves to even. Coding against the rounded m and s, not lo and the exact
// step, gives every weight the code nearest to it among the values the
// compiled code can reconstruct.
//
//===----------------------------------------------------------------------===//

#include "runtime/Int4Weights.h"

#include "frontends/FloatConversion.h"
#include "runtime/ModelABI.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <thread>
#include <utility>

namespace llamac {

namespace {

/// Where the parts of one weight's int4 layout lie.
struct Int4Layout {
  int64_t cols;
  int64_t groupSize;
  uint8_t *codes;
  uint8_t *scales;   ///< f16 [rows][groups()]
  uint8_t *minimums; ///< f16 [rows][groups()]

  int64_t groups() const { return cols / groupSize; }
};

/// Row `row` of a [rows, cols] tensor of `dtype`, widened to float32 (exactly:
/// every f16 and bf16 value is a float). The checkpoint's tensors need not be
/// aligned, hence the copies.
void widenRow(const void *data, DType dtype, int64_t row, int64_t cols,
              float *values) {
  const auto *bytes =
      static_cast<const uint8_t *>(data) + row * cols * int64_t(dtypeSize(dtype));
  if (dtype == DType::F32) {
    std::memcpy(values, bytes, cols * sizeof(float));
    return;
  }
  for (int64_t k = 0; k < cols; ++k) {
    uint16_t bits;
    std::memcpy(&bits, bytes + 2 * k, sizeof bits);
    values[k] = dtype == DType::F16 ? halfBitsToFloat(bits)
                                    : bfloat16BitsToFloat(bits);
  }
}

/// Whether any of `count` values is an infinity or a NaN: whether the
/// largest magnitude's bits reach the infinities'. A reduction, so that the
/// scan over every weight vectorizes.
bool anyNonFinite(const float *values, int64_t count) {
  uint32_t largestMagnitude = 0;
  for (int64_t k = 0; k < count; ++k)
    largestMagnitude = std::max(largestMagnitude, floatBits(values[k]) & 0x7fffffff);
  return largestMagnitude >= 0x7f800000;
}

/// A float's bits as an integer that orders as the float does, with -0
/// below +0; the mapping is its own inverse.
int32_t orderedKey(uint32_t bits) {
  const auto key = int32_t(bits);
  return key ^ ((key >> 31) & 0x7fffffff);
}

/// The smallest and the largest of `count` finite values as an in-order scan
/// with std::min and std::max finds them, which keeps the first of equal
/// values: where an extreme is zero, it is the group's first zero, whatever
/// the signs of the later ones. Integer keys let the scan vectorize.
std::pair<float, float> extremes(const float *values, int64_t count) {
  int32_t lo = std::numeric_limits<int32_t>::max();
  int32_t hi = std::numeric_limits<int32_t>::min();
  for (int64_t k = 0; k < count; ++k) {
    const int32_t key = orderedKey(floatBits(values[k]));
    lo = std::min(lo, key);
    hi = std::max(hi, key);
  }
  float smallest = floatFromBits(uint32_t(orderedKey(uint32_t(lo))));
  float largest = floatFromBits(uint32_t(orderedKey(uint32_t(hi))));
  if (smallest == 0 || largest == 0) {
    const float firstZero = *std::find(values, values + count, 0.0f);
    smallest = smallest == 0 ? firstZero : smallest;
    largest = largest == 0 ? firstZero : largest;
  }
  return {smallest, largest};
}

bool isHalfInfinity(uint16_t bits) { return (bits & 0x7fff) == 0x7c00; }

/// The 4-bit code of `w` against minimum `m` and nonzero scale `s`:
/// nearbyint((w - m) / s) clamped to [0, 15]. Clamping before rounding gives
/// the same code, and adding 2^23 to a value in [0, 15] rounds it (half to
/// even) into the float's low mantissa bits: a nearbyint that vectorizes.
uint8_t code(float w, float m, float s) {
  const float step = std::clamp((w - m) / s, 0.0f, 15.0f);
  return uint8_t(floatBits(step + 0x1p23f));
}

/// Quantizes `count` (even) values into count/2 code bytes and the group's
/// f16 scale and minimum; false when either is beyond float16's range.
bool quantizeGroup(const float *values, int64_t count, uint8_t *codes,
                   uint16_t &scaleBits, uint16_t &minimumBits) {
  // lo and hi are the same element when they are equal: a group of zeros
  // has the step +0 whatever their signs, and the minimum has the first
  // zero's sign.
  const auto [lo, hi] = extremes(values, count);
  minimumBits = floatToHalfBits(lo);
  scaleBits = floatToHalfBits((hi - lo) / 15.0f);
  if (isHalfInfinity(minimumBits) || isHalfInfinity(scaleBits))
    return false;
  const float m = halfBitsToFloat(minimumBits);
  const float s = halfBitsToFloat(scaleBits);
  // A constant group, or one whose step float16 rounds to zero, is its
  // minimum throughout.
  if (s == 0) {
    std::fill(codes, codes + count / 2, uint8_t(0));
    return true;
  }
  for (int64_t pair = 0; pair < count / 2; ++pair)
    codes[pair] = code(values[2 * pair], m, s) | code(values[2 * pair + 1], m, s) << 4;
  return true;
}

std::string nonFiniteText(float value) {
  if (std::isnan(value))
    return "NaN";
  return value > 0 ? "inf" : "-inf";
}

/// Quantizes rows [begin, end) into `layout`; returns "" or the first
/// problem in row order.
std::string quantizeRows(const void *data, DType dtype, const Int4Layout &layout,
                         int64_t begin, int64_t end, const std::string &name) {
  const int64_t cols = layout.cols, groupSize = layout.groupSize;
  std::vector<float> values(cols);
  for (int64_t row = begin; row < end; ++row) {
    widenRow(data, dtype, row, cols, values.data());
    if (anyNonFinite(values.data(), cols)) {
      auto nonFinite = std::find_if(values.begin(), values.end(),
                                    [](float value) { return !std::isfinite(value); });
      return "weight '" + name + "' holds " + nonFiniteText(*nonFinite) +
             " at [" + std::to_string(row) + ", " +
             std::to_string(nonFinite - values.begin()) +
             "]; int4 quantization needs finite values";
    }
    for (int64_t g = 0; g < layout.groups(); ++g) {
      const int64_t first = g * groupSize, group = row * layout.groups() + g;
      uint16_t scaleBits, minimumBits;
      if (!quantizeGroup(values.data() + first, groupSize,
                         layout.codes + (row * cols + first) / 2, scaleBits,
                         minimumBits))
        return "weight '" + name + "' has values beyond f16's range in row " +
               std::to_string(row) + ", columns " + std::to_string(first) +
               " to " + std::to_string(first + groupSize - 1) +
               "; int4 scales and minimums are f16";
      std::memcpy(layout.scales + 2 * group, &scaleBits, sizeof scaleBits);
      std::memcpy(layout.minimums + 2 * group, &minimumBits, sizeof minimumBits);
    }
  }
  return "";
}

/// One thread per core, but none for less than a fraction of a millisecond
/// of work: the norms' vectors and small models' matrices are not worth one.
int64_t workerCount(int64_t rows, int64_t cols) {
  constexpr int64_t minValuesPerWorker = 1 << 16;
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::clamp<int64_t>(rows * cols / minValuesPerWorker, 1,
                             std::min(cores, rows));
}

} // namespace

std::optional<std::vector<uint8_t>>
quantizeInt4(const void *data, DType dtype, int64_t rows, int64_t cols,
             int64_t groupSize, const std::string &name, std::string &error) {
  assert(rows > 0 && groupSize > 0 && groupSize % 2 == 0 &&
         cols % groupSize == 0);
  std::vector<uint8_t> buffer;
  try {
    buffer.resize(size_t(int4BufferBytes(rows, cols, groupSize)));
  } catch (const std::bad_alloc &) {
    error = "out of memory for the int4 copy of weight '" + name + "'";
    return std::nullopt;
  }
  uint8_t *scales = buffer.data() + int4CodeBytes(rows, cols);
  const Int4Layout layout{cols, groupSize, buffer.data(), scales,
                          scales + int4GroupBytes(rows, cols, groupSize)};

  // Contiguous slices of rows; each worker's first problem, taken in slice
  // order, is the first of the whole tensor, whatever the thread count.
  const int64_t workers = workerCount(rows, cols);
  const int64_t slice = (rows + workers - 1) / workers;
  std::vector<std::string> problems(workers);
  auto work = [&](int64_t worker) {
    int64_t begin = std::min(rows, worker * slice);
    problems[worker] = quantizeRows(data, dtype, layout, begin,
                                    std::min(rows, begin + slice), name);
  };
  std::vector<std::thread> threads;
  for (int64_t worker = 1; worker < workers; ++worker)
    threads.emplace_back(work, worker);
  work(0);
  for (std::thread &thread : threads)
    thread.join();

  for (const std::string &problem : problems)
    if (!problem.empty()) {
      error = problem;
      return std::nullopt;
    }
  return buffer;
}

std::optional<Int4GroupBeyondHalf> firstGroupBeyondHalf(const void *buffer, int64_t rows,
                                                        int64_t cols, int64_t groupSize) {
  const auto *bytes = static_cast<const uint8_t *>(buffer);
  const uint8_t *scales = bytes + int4CodeBytes(rows, cols);
  const uint8_t *minimums = scales + int4GroupBytes(rows, cols, groupSize);
  const int64_t groups = rows * (cols / groupSize);
  for (int64_t group = 0; group < groups; ++group) {
    uint16_t scaleBits, minimumBits;
    std::memcpy(&scaleBits, scales + 2 * group, sizeof scaleBits);
    std::memcpy(&minimumBits, minimums + 2 * group, sizeof minimumBits);
    const float top =
        std::fma(15.0f, halfBitsToFloat(scaleBits), halfBitsToFloat(minimumBits));
    if (isHalfInfinity(floatToHalfBits(top)))
      return Int4GroupBeyondHalf{group / (cols / groupSize),
                                 group % (cols / groupSize) * groupSize, top};
  }
  return std::nullopt;
}

} // namespace llamac
