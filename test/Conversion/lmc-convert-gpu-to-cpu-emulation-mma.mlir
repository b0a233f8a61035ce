// RUN: llamac-opt %s --split-input-file --verify-diagnostics --lmc-convert-gpu-to-cpu-emulation | FileCheck %s

// nvvm.mma.sync becomes a call of lmcEmuMma with each 32-bit operand
// register as an i32 (f16 pairs bitcast, bf16 words as they are), the
// accumulators, and a four-float buffer allocated at the kernel's entry
// that the emulator fills; the result struct is rebuilt from it.

// CHECK-LABEL: func.func @lmc_emu_kernel_mma_f16(
// CHECK:         %[[FOUR:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK:         %[[D:.*]] = llvm.alloca %[[FOUR]] x f32 {alignment = 16 : i64}
// CHECK:         %[[A0:.*]] = llvm.bitcast %{{.*}} : vector<2xf16> to i32
// CHECK:         call @lmcEmuMma(%c0_i32, %[[A0]], %{{.*}}, %[[D]]) : (i32, i32, i32, i32, i32, i32, i32, f32, f32, f32, f32, !llvm.ptr) -> ()
// CHECK:         %[[SLOT3:.*]] = llvm.getelementptr %[[D]][3] : (!llvm.ptr) -> !llvm.ptr, f32
// CHECK:         %[[D3:.*]] = llvm.load %[[SLOT3]] : !llvm.ptr -> f32
// CHECK:         %[[RESULT:.*]] = llvm.insertvalue %[[D3]], %{{.*}}[3] : !llvm.struct<(f32, f32, f32, f32)>
// CHECK:         llvm.extractvalue %[[RESULT]][0]
// CHECK-NOT:     nvvm.mma.sync
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma_f16(%out: memref<?xf32>, %word: i32, %c: f32) kernel {
      %pair = llvm.bitcast %word : i32 to vector<2xf16>
      %d = nvvm.mma.sync A[%pair, %pair, %pair, %pair] B[%pair, %pair] C[%c, %c, %c, %c]
          {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
           multiplicandAPtxType = #nvvm.mma_type<f16>, multiplicandBPtxType = #nvvm.mma_type<f16>,
           shape = #nvvm.shape<m = 16, n = 8, k = 16>}
          : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      %d0 = llvm.extractvalue %d[0] : !llvm.struct<(f32, f32, f32, f32)>
      %c0 = arith.constant 0 : index
      memref.store %d0, %out[%c0] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// CHECK-LABEL: func.func @lmc_emu_kernel_mma_bf16(
// CHECK:         call @lmcEmuMma(%c1_i32, %[[W:.*]], %[[W]], %[[W]], %[[W]], %[[W]], %[[W]],
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma_bf16(%out: memref<?xf32>, %word: i32, %c: f32) kernel {
      %d = nvvm.mma.sync A[%word, %word, %word, %word] B[%word, %word] C[%c, %c, %c, %c]
          {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
           multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
           shape = #nvvm.shape<m = 16, n = 8, k = 16>}
          : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      %d0 = llvm.extractvalue %d[0] : !llvm.struct<(f32, f32, f32, f32)>
      %c0 = arith.constant 0 : index
      memref.store %d0, %out[%c0] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// Other shapes are refused by name.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma_k8(%out: memref<?xf32>, %word: i32, %c: f32) kernel {
      %pair = llvm.bitcast %word : i32 to vector<2xf16>
      // expected-error @+1 {{the emulator runs mma.sync m16n8k16 with f16 or bf16 operands and float32 accumulators only}}
      %d = nvvm.mma.sync A[%pair, %pair] B[%pair] C[%c, %c, %c, %c]
          {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
           multiplicandAPtxType = #nvvm.mma_type<f16>, multiplicandBPtxType = #nvvm.mma_type<f16>,
           shape = #nvvm.shape<m = 16, n = 8, k = 8>}
          : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      %d0 = llvm.extractvalue %d[0] : !llvm.struct<(f32, f32, f32, f32)>
      %c0 = arith.constant 0 : index
      memref.store %d0, %out[%c0] : memref<?xf32>
      gpu.return
    }
  }
}
