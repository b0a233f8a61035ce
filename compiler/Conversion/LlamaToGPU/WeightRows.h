//===- WeightRows.h - How the linear kernels read a weight matrix -*- C++ -*-===//
//
// A linear op's weight [out, in] reaches its kernel as a flat buffer: the
// elements in the compute dtype, or the #llama.int4 layout of
// runtime/ModelABI.h (4-bit codes, then per-group float16 scales and
// minimums). The matrix-vector kernel reads vectors of a row through
// WeightRows, so decode and the CUDA-core prefill take either; prefill's
// tensor-core GEMMs read an int4 weight decoded to float16 in scratch
// (dequantizeToHalf) before them.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_WEIGHTROWS_H
#define LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_WEIGHTROWS_H

#include "compiler/Conversion/LlamaToGPU/Lowering.h"

namespace llamac::gpu {

/// Codes in one 4-byte word of an int4 weight: the narrowest int4 vector,
/// and the width a kernel decodes and accumulates in. A vector is 1, 2 or
/// 4 words (KernelOptions::int4Lanes); an int4 group must hold whole
/// vectors, so a vector's scale and minimum are one each.
inline constexpr int64_t kInt4Lanes = 8;

/// How a linear op's weights are stored: dense in the compute dtype, or
/// int4 in groups of `int4GroupSize` input features.
struct WeightFormat {
  int64_t int4GroupSize = 0;

  /// The format of `weightTensor`, a graph-level weight value.
  static WeightFormat of(mlir::Value weightTensor);
  /// The format of `weightTensors`, which one kernel reads alike: an error
  /// where they differ.
  static mlir::FailureOr<WeightFormat> common(mlir::Location loc,
                                              mlir::ValueRange weightTensors);

  bool isInt4() const { return int4GroupSize != 0; }
  /// The element type of the kernel's flat weight arguments: bytes for int4.
  mlir::Type argumentElement(GPULowering &l) const;
  /// Elements of one weight vector load of a row of `inFeatures`: for int4
  /// the option's int4Lanes, halved until the group and the row hold whole
  /// vectors.
  int64_t lanes(GPULowering &l, int64_t inFeatures) const;
  /// Elements of each vector WeightRows::decode returns from a vector of
  /// `lanes`: one int4 word's, or all of a dense load's.
  int64_t decodedLanes(int64_t lanes) const;
  /// "_q4g128" for int4 (kernel names), else empty.
  std::string suffix() const;
};

/// The rows of one weight argument, [outFeatures, inFeatures], inside a
/// kernel.
class WeightRows {
public:
  /// `buffer` is the kernel's flat weight argument (or a select of them);
  /// `outFeatures` its rows, which place an int4 weight's scales and
  /// minimums after its codes.
  WeightRows(DeviceBuilder &d, mlir::Value buffer, mlir::Value outFeatures,
             int64_t inFeatures, WeightFormat format);

  /// One vector of weights as loaded: the elements as float32, or an int4
  /// vector's words of codes (vector<lanes/8 x i32>) and its group's scale
  /// and minimum. A kernel decodes it only where it multiplies, so the
  /// loads it keeps in flight hold 2 + lanes/8 registers, not `lanes`.
  struct Loaded {
    mlir::Value elements, scale, minimum;
  };

  /// Where a run of vectors begins: its element offset and, for int4, that
  /// offset's code byte and group, divided once so that the vectors at
  /// constant steps from it are loaded at constant address offsets.
  struct Start {
    mlir::Value offset, codeByte, group;
  };
  Start start(DeviceBuilder &d, mlir::Value offset) const;
  /// Elements [start + step, start + step + lanes) of the row-major matrix,
  /// from one aligned load (the offset a multiple of `lanes`, the format's
  /// lanes, and `step` too).
  Loaded load(DeviceBuilder &d, const Start &start, int64_t step, int64_t lanes) const;
  Loaded load(DeviceBuilder &d, mlir::Value offset, int64_t lanes) const {
    return load(d, start(d, offset), 0, lanes);
  }
  /// `loaded` as float32 vectors of decodedLanes(lanes), in order. An int4
  /// element is code * scale + min, one float32 fused multiply-add, as the
  /// CPU kernels compute it.
  llvm::SmallVector<mlir::Value> decode(DeviceBuilder &d, const Loaded &loaded,
                                        int64_t lanes) const;

private:
  mlir::Value buffer;
  mlir::Value scales, minimums; ///< int4: float16 views, [out * in / group].
  int64_t groupSize = 0;
};

/// Launches a kernel that writes the int4 weight `weight` ([outFeatures,
/// inFeatures], its flat byte buffer) decoded to float16 into a scratch
/// buffer, and returns that buffer, for prefill's tensor-core GEMMs: each
/// element is WeightRows' float32 value rounded to float16 once.
mlir::Value dequantizeToHalf(GPULowering &l, mlir::Location loc, mlir::Value weight,
                             int64_t outFeatures, int64_t inFeatures,
                             WeightFormat format);

} // namespace llamac::gpu

#endif // LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_WEIGHTROWS_H
