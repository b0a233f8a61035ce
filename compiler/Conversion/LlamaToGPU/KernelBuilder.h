//===- KernelBuilder.h - Building gpu.func kernel bodies --------*- C++ -*-===//
//
// The building blocks every kernel of the CUDA backend is written with:
// thread and warp coordinates, loops, widening loads, 16-byte vector loads,
// and the warp-shuffle / shared-memory reductions. Kernels read every buffer
// as a flat `memref<?xT>` and accumulate in float32.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_KERNELBUILDER_H
#define LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace llamac::gpu {

enum class Reduction { Sum, Max };

class DeviceBuilder {
public:
  DeviceBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::OpBuilder &builder() { return b; }
  mlir::Location location() const { return loc; }

  mlir::Value index(int64_t value);
  mlir::Value f32(float value);
  mlir::Value i32(int32_t value);

  mlir::Value threadId();
  mlir::Value blockId(mlir::gpu::Dimension dimension);
  mlir::Value laneId();
  mlir::Value warpId();

  mlir::Value add(mlir::Value lhs, mlir::Value rhs);
  mlir::Value mul(mlir::Value lhs, mlir::Value rhs);
  mlir::Value div(mlir::Value lhs, mlir::Value rhs);
  mlir::Value sub(mlir::Value lhs, mlir::Value rhs);
  mlir::Value fadd(mlir::Value lhs, mlir::Value rhs);
  mlir::Value fmul(mlir::Value lhs, mlir::Value rhs);
  mlir::Value fsub(mlir::Value lhs, mlir::Value rhs);
  mlir::Value cmp(mlir::arith::CmpIPredicate predicate, mlir::Value lhs,
                  mlir::Value rhs);
  /// An i32 buffer element as an index.
  mlir::Value loadIndex(mlir::Value buffer, mlir::Value position);

  /// `buffer[position]` widened to float32.
  mlir::Value loadF32(mlir::Value buffer, mlir::Value position);
  /// `value` (float32) narrowed to the buffer's element type and stored.
  void storeF32(mlir::Value value, mlir::Value buffer, mlir::Value position);
  /// `lanes` consecutive elements at `position` (a multiple of `lanes`), one
  /// aligned vector load (16 bytes when lanes * element size is 16), widened
  /// to vector<lanes x f32>.
  mlir::Value loadVectorF32(mlir::Value buffer, mlir::Value position,
                            int64_t lanes);
  /// `vector` (float32 lanes) narrowed to the buffer's element type and
  /// stored at `position`, aligned like loadVectorF32's loads.
  void storeVectorF32(mlir::Value vector, mlir::Value buffer, mlir::Value position);

  /// for (iv = lb; iv < ub; iv += step) body(iv).
  void forLoop(mlir::Value lb, mlir::Value ub, mlir::Value step,
               llvm::function_ref<void(mlir::Value)> body);
  /// The same with loop-carried values; returns their final values.
  mlir::ValueRange
  forLoop(mlir::Value lb, mlir::Value ub, mlir::Value step,
          mlir::ValueRange init,
          llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::Value,
                                                            mlir::ValueRange)>
              body);
  void ifThen(mlir::Value condition, llvm::function_ref<void()> body);

  /// Reduces `value` over aligned groups of `lanes` lanes (a power of two
  /// up to the 32 of a warp) with butterfly shuffles; every lane of a group
  /// gets its group's result. All 32 lanes of the warp must take part.
  mlir::Value warpReduce(mlir::Value value, Reduction kind, int32_t lanes = 32);
  /// Reduces `value` over the block (`threads` threads, a multiple of 32)
  /// through `scratch`, a shared buffer of at least threads / 32 floats.
  /// Every thread gets the result; `scratch` is free again on return.
  mlir::Value blockReduce(mlir::Value value, Reduction kind,
                          mlir::Value scratch, int64_t threads);
  void barrier();
  /// membar.gl (__threadfence): this thread's memory accesses before it are
  /// seen by every block of the grid before those after it.
  void gridFence();
  /// The kernel's dynamic shared memory as a buffer of each of `types`
  /// (static workgroup memrefs, all from its start: they alias), for
  /// buffers past the 48 KiB a kernel may declare statically; the launch
  /// gives the bytes.
  llvm::SmallVector<mlir::Value> dynamicShared(llvm::ArrayRef<mlir::MemRefType> types);

private:
  mlir::Value combine(mlir::Value lhs, mlir::Value rhs, Reduction kind);

  mlir::OpBuilder &b;
  mlir::Location loc;
};

/// Lanes of the vector loads for rows of `rowLength` elements of `type`: 16
/// bytes' worth when that divides the row, else the largest power of two
/// that does (rows then stay aligned to the vector width).
int64_t vectorLanes(mlir::Type type, int64_t rowLength);

} // namespace llamac::gpu

#endif // LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_KERNELBUILDER_H
