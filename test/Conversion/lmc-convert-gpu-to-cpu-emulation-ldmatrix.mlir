// RUN: llamac-opt %s --split-input-file --verify-diagnostics --lmc-convert-gpu-to-cpu-emulation | FileCheck %s

// nvgpu.ldmatrix becomes a call of lmcEmuLdMatrix with the address of the
// 16-byte row this lane names (in the kernel's shared buffer, now a module
// global) and a four-word buffer allocated at the kernel's entry that the
// emulator fills; the vector<4x2xf16> result is read back from it.
// nvgpu.device_async_copy becomes a copy done at once: a masked load of its
// srcElements (zero past them) stored to shared memory; its group and wait
// disappear.

// CHECK-LABEL: func.func @lmc_emu_kernel_stage_and_load(
// CHECK:         %[[FOUR:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK:         %[[WORDS:.*]] = llvm.alloca %[[FOUR]] x i32 {alignment = 16 : i64}
// CHECK:         %[[SHARED:.*]] = memref.get_global @lmc_emu_shared_stage_and_load_0 : memref<64xf16>
// CHECK:         %[[MASK:.*]] = vector.create_mask %{{.*}} : vector<8xi1>
// CHECK:         %[[CHUNK:.*]] = vector.maskedload %{{.*}}[%{{.*}}], %[[MASK]], %{{.*}} : memref<?xf16>, vector<8xi1>, vector<8xf16> into vector<8xf16>
// CHECK:         vector.store %[[CHUNK]], %[[SHARED]][%{{.*}}] : memref<64xf16>, vector<8xf16>
// CHECK-NOT:     nvgpu.device_async
// CHECK:         %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %[[SHARED]]
// CHECK:         %[[ROW:.*]] = llvm.inttoptr %{{.*}} : i64 to !llvm.ptr
// CHECK:         call @lmcEmuLdMatrix(%[[ROW]], %c0_i32, %[[WORDS]]) : (!llvm.ptr, i32, !llvm.ptr) -> ()
// CHECK:         %[[LOADED:.*]] = llvm.load %[[WORDS]] : !llvm.ptr -> vector<8xf16>
// CHECK:         vector.shape_cast %[[LOADED]] : vector<8xf16> to vector<4x2xf16>
// CHECK-NOT:     nvgpu.ldmatrix
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @stage_and_load(%x: memref<?xf16>, %out: memref<?xf16>, %i: index, %n: index)
        workgroup(%staged: memref<64xf16, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %copy = nvgpu.device_async_copy %x[%i], %staged[%c0], 8, %n {bypassL1} : memref<?xf16> to memref<64xf16, #gpu.address_space<workgroup>>
      %group = nvgpu.device_async_create_group %copy
      nvgpu.device_async_wait %group {numGroups = 0 : i32}
      %m = nvgpu.ldmatrix %staged[%i] {numTiles = 4 : i32, transpose = false} : memref<64xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      %pair = vector.extract %m[1] : vector<2xf16> from vector<4x2xf16>
      vector.store %pair, %out[%c0] : memref<?xf16>, vector<2xf16>
      gpu.return
    }
  }
}

// -----

// A transposed ldmatrix says so to the emulator.
// CHECK-LABEL: func.func @lmc_emu_kernel_transposed(
// CHECK:         call @lmcEmuLdMatrix(%{{.*}}, %c1_i32, %{{.*}}) : (!llvm.ptr, i32, !llvm.ptr) -> ()
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @transposed(%out: memref<?xf16>, %i: index)
        workgroup(%staged: memref<64xf16, #gpu.address_space<workgroup>>) kernel {
      %m = nvgpu.ldmatrix %staged[%i] {numTiles = 4 : i32, transpose = true} : memref<64xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      %pair = vector.extract %m[1] : vector<2xf16> from vector<4x2xf16>
      %c0 = arith.constant 0 : index
      vector.store %pair, %out[%c0] : memref<?xf16>, vector<2xf16>
      gpu.return
    }
  }
}

// -----

// Fewer matrices are refused by name.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @two_matrices(%out: memref<?xf16>, %i: index)
        workgroup(%staged: memref<64xf16, #gpu.address_space<workgroup>>) kernel {
      // expected-error @+1 {{the emulator runs ldmatrix of four 8 x 8 matrices of 16-bit elements from a flat buffer only}}
      %m = nvgpu.ldmatrix %staged[%i] {numTiles = 2 : i32, transpose = false} : memref<64xf16, #gpu.address_space<workgroup>> -> vector<2x2xf16>
      %pair = vector.extract %m[1] : vector<2xf16> from vector<2x2xf16>
      %c0 = arith.constant 0 : index
      vector.store %pair, %out[%c0] : memref<?xf16>, vector<2xf16>
      gpu.return
    }
  }
}
