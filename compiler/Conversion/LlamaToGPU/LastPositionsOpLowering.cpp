//===- LastPositionsOpLowering.cpp - llama.last_positions to a row copy ---===//
//
// One block per kept row: its threads copy row seq - count + t of the
// input's batch row b into row b * count + t of the result, in the input's
// element type (a float16 activation stays float16 for the GEMM that reads
// it; see activationType).
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/Lowering.h"
#include "dialects/llama/IR/LlamaOps.h"

using namespace mlir;

namespace llamac::gpu {

LogicalResult lowerLastPositions(llama::LastPositionsOp op, GPULowering &l) {
  OpBuilder &b = l.builder();
  Location loc = op.getLoc();
  int64_t features = op.getType().getDimSize(2);
  Value input = l.bufferOf(op.getInput());
  Type element = elementType(input);
  Value count = op.getCount();
  Value result = l.allocateScratch(
      loc, MemRefType::get(op.getType().getShape(), element),
      {l.dim(loc, input, 0), count});

  std::string name = "last_positions_h" + std::to_string(features) +
                     narrowedSuffix("rows", element);
  Type indexType = b.getIndexType();
  auto kernel = l.getOrCreateKernel(
      name, {l.flatType(element), l.flatType(element), indexType, indexType}, {},
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        Value in = f.getArgument(0), out = f.getArgument(1),
              seq = f.getArgument(2), kept = f.getArgument(3);
        Value row = d.blockId(mlir::gpu::Dimension::x);
        Value batchRow = d.div(row, kept);
        Value position = d.add(d.sub(seq, kept),
                               arith::RemUIOp::create(b, loc, row, kept));
        Value source = d.mul(d.add(d.mul(batchRow, seq), position), d.index(features));
        Value target = d.mul(row, d.index(features));
        d.forLoop(d.threadId(), d.index(features), d.index(kBlockThreads),
                  [&](Value j) {
                    d.storeF32(d.loadF32(in, d.add(source, j)), out,
                               d.add(target, j));
                  });
      });
  Value one = l.index(loc, 1);
  l.launch(loc, kernel, {l.rowCount(loc, result), one, one}, kBlockThreads,
           {l.flatten(loc, input), l.flatten(loc, result), l.dim(loc, input, 1), count});
  l.setBuffer(op.getResult(), result);
  return success();
}

} // namespace llamac::gpu
