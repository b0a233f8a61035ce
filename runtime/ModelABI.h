//===- ModelABI.h - The contract between model.so and the runtime -*- C++ -*-===//
//
// A compiled artifact's model.so exports two entry points with one signature,
// `_mlir_ciface_prefill` (any number of tokens per row) and
// `_mlir_ciface_decode` (exactly one token per row). They are the C interface
// MLIR generates for functions marked `llvm.emit_c_interface`: memref
// arguments are passed as pointers to strided descriptors, `index` as int64_t.
//
// The compiled code holds no weights: `weights` points to an array of
// pointers, one per entry of the manifest's weight table, in table order.
// Each weight is dense row-major in the dtype and shape the table gives,
// except an entry the table marks quantized to int4: its pointer is the
// buffer laid out as below, which the runtime makes when it loads the model.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_MODELABI_H
#define LLAMAC_RUNTIME_MODELABI_H

#include <cstdint>

namespace llamac {

/// MLIR's strided memref descriptor.
template <typename T, int Rank> struct MemRefDescriptor {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};

/// Fills a descriptor for a dense row-major buffer.
template <typename T, int Rank>
MemRefDescriptor<T, Rank> makeDenseMemRef(T *data, const int64_t (&sizes)[Rank]) {
  MemRefDescriptor<T, Rank> desc{};
  desc.allocated = data;
  desc.aligned = data;
  desc.offset = 0;
  int64_t stride = 1;
  for (int i = Rank - 1; i >= 0; --i) {
    desc.sizes[i] = sizes[i];
    desc.strides[i] = stride;
    stride *= sizes[i];
  }
  return desc;
}

/// KV cache: [layers][2 (key, value)][max_batch][kv_heads][max_seq][head_dim].
using KVCacheRef = MemRefDescriptor<float, 6>;

/// prefill / decode:
///   weights    array of weight pointers (manifest weight table order)
///   kvCache    the static cache; rows [0, B) of the batch dimension are used
///   tokens     [B, T] token ids
///   positions  [B, T] rotary positions (token index within its own row)
///   firstSlot  [B] first cache slot that holds a real token of the row; the
///              slots before it are left padding and are masked out
///   startSlot  cache slot of tokens[:, 0]; token t of every row is written
///              to slot startSlot + t and attends to slots
///              [firstSlot[b], startSlot + t]
///   output     [B, P, N] float32 logits (N = vocab size, or num_labels for
///              sequence classification) of the last P positions of each
///              row, 1 <= P <= T: P = T for every position's logits, P = 1
///              for what generation samples from. Prefill's last layer
///              computes o_proj, the MLP, the final norm and the logits at
///              those P positions only.
using EntryPointFn = void (*)(void *const *weights, KVCacheRef *kvCache,
                              MemRefDescriptor<int32_t, 2> *tokens,
                              MemRefDescriptor<int32_t, 2> *positions,
                              MemRefDescriptor<int32_t, 1> *firstSlot,
                              int64_t startSlot,
                              MemRefDescriptor<float, 3> *output);

inline constexpr const char *kPrefillSymbol = "_mlir_ciface_prefill";
inline constexpr const char *kDecodeSymbol = "_mlir_ciface_decode";

/// An int4 weight [rows, cols] with groups of `groupSize` columns: rows *
/// cols / 2 bytes of 4-bit codes (element (n, k) in byte n * cols / 2 + k / 2,
/// the low nibble for even k), then rows * cols / groupSize float16 scales,
/// then as many float16 minimums, both [rows][cols / groupSize]. Element
/// (n, k) is code * scale + min of its group (#llama.int4 in the dialect).
inline constexpr int64_t int4CodeBytes(int64_t rows, int64_t cols) {
  return rows * cols / 2;
}
inline constexpr int64_t int4GroupBytes(int64_t rows, int64_t cols,
                                        int64_t groupSize) {
  return rows * (cols / groupSize) * 2;
}
inline constexpr int64_t int4BufferBytes(int64_t rows, int64_t cols,
                                         int64_t groupSize) {
  return int4CodeBytes(rows, cols) + 2 * int4GroupBytes(rows, cols, groupSize);
}

/// Version of manifest.json's layout and of this ABI; bump on any change.
/// 3: weight-table entries may be quantized to int4.
inline constexpr int kArtifactFormatVersion = 3;
/// The oldest version the runtime reads: a version 2 artifact is a version
/// 3 one without int4 entries, so it runs unchanged.
inline constexpr int kOldestArtifactFormatVersion = 2;

} // namespace llamac

#endif // LLAMAC_RUNTIME_MODELABI_H
