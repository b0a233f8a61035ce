// RUN: llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=f16" | FileCheck %s --check-prefix=DEFAULT
// RUN: llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=f16 gemm-tile=128x256/wgmma narrow-gemm-tile=64x128" | FileCheck %s --check-prefix=MIXED
// RUN: not llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=f16 narrow-gemm-tile=8x8" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=bf16 narrow-gemm-tile=128x128/wgmma" 2>&1 | FileCheck %s --check-prefix=BF16

// A prefill cut down to a norm, a GEMM that widens its rows (32 -> 96, as
// q/k/v and gate/up do) and one that projects them back (96 -> 32, as o_proj
// and down_proj do). `narrow-gemm-tile` applies to the second only; unset,
// both take `gemm-tile`.

// DEFAULT: gpu.launch_func async [%{{.*}}] @llama_kernels::@gemm_f16_k32_n96_t128x128w4_out_f16
// DEFAULT: gpu.launch_func async [%{{.*}}] @llama_kernels::@gemm_f16_k96_n32_t128x128w4{{ }}
// MIXED:   gpu.launch_func async [%{{.*}}] @llama_kernels::@gemm_f16_k32_n96_t128x256wg_out_f16
// MIXED:   gpu.launch_func async [%{{.*}}] @llama_kernels::@gemm_f16_k96_n32_t64x128{{ }}
// BAD:  error: narrow-gemm-tile must be one of 128x128/4, 128x128, 64x128, 64x256, 128x256, 128x128/wgmma, 128x256/wgmma, not '8x8'
// BF16: error: narrow-gemm-tile 128x128/wgmma multiplies f16 operands (wgmma), not 'bf16'
module attributes {llama.model = {max_batch = 2 : i64, max_seq = 16 : i64}} {
  llama.weight_decl @norm : tensor<32xf32>
  llama.weight_decl @up : tensor<96x32xf32>
  llama.weight_decl @down : tensor<32x96xf32>

  func.func @prefill(%table: !llvm.ptr {llama.weight_table}, %in: memref<?x?x32xf32>,
                     %out: memref<?x?x32xf32>) {
    %x = bufferization.to_tensor %in restrict : memref<?x?x32xf32> to tensor<?x?x32xf32>
    %w = llama.weight @norm : tensor<32xf32>
    %n = llama.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : tensor<?x?x32xf32>, tensor<32xf32>
    %u = llama.weight @up : tensor<96x32xf32>
    %h = llama.matmul %n, %u : tensor<?x?x32xf32>, tensor<96x32xf32> -> tensor<?x?x96xf32>
    %d = llama.weight @down : tensor<32x96xf32>
    %y = llama.matmul %h, %d : tensor<?x?x96xf32>, tensor<32x96xf32> -> tensor<?x?x32xf32>
    bufferization.materialize_in_destination %y in writable %out
        : (tensor<?x?x32xf32>, memref<?x?x32xf32>) -> ()
    return
  }
}
