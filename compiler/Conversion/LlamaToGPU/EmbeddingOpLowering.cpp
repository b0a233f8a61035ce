//===- EmbeddingOpLowering.cpp - llama.embedding to a gather kernel -------===//
//
// One block per token row: the threads copy the row of the table that the
// token id selects, widening it to float32.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/Lowering.h"
#include "dialects/llama/IR/LlamaOps.h"

using namespace mlir;

namespace llamac::gpu {

LogicalResult lowerEmbedding(llama::EmbeddingOp op, GPULowering &l) {
  OpBuilder &b = l.builder();
  Location loc = op.getLoc();
  int64_t hidden = op.getTable().getType().getDimSize(1);
  FailureOr<Value> table = l.weight(loc, op.getTable());
  if (failed(table))
    return failure();
  Value ids = l.bufferOf(op.getIds());
  Value result = l.allocate(loc, op.getResult(), ids);

  std::string name = "embedding_" + typeName(l.computeType()) + "_h" +
                     std::to_string(hidden);
  auto kernel = l.getOrCreateKernel(
      name,
      {l.flatType(l.computeType()), l.flatType(b.getI32Type()),
       l.flatType(b.getF32Type())},
      {}, [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        Value table = f.getArgument(0), ids = f.getArgument(1),
              out = f.getArgument(2);
        Value row = d.blockId(mlir::gpu::Dimension::x);
        Value token = d.loadIndex(ids, row);
        Value source = d.mul(token, d.index(hidden));
        Value target = d.mul(row, d.index(hidden));
        d.forLoop(d.threadId(), d.index(hidden), d.index(kBlockThreads),
                  [&](Value j) {
                    Value value = d.loadF32(table, d.add(source, j));
                    d.storeF32(value, out, d.add(target, j));
                  });
      });
  Value rows = l.rowCount(loc, result);
  Value one = l.index(loc, 1);
  l.launch(loc, kernel, {rows, one, one}, kBlockThreads,
           {*table, l.flatten(loc, ids), l.flatten(loc, result)});
  l.setBuffer(op.getResult(), result);
  return success();
}

} // namespace llamac::gpu
