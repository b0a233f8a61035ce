// RUN: llamac-opt %s --split-input-file --verify-diagnostics --lmc-convert-gpu-to-cpu-emulation | FileCheck %s

// nvvm.wgmma.mma_async becomes a call of lmcEmuWgmma with both descriptors,
// the emulated dynamic shared memory and its size in bytes, N, and a buffer
// of the N / 2 accumulators (allocated at the kernel's entry) that goes in
// and comes back; the fences, commits and waits around it go, as the
// emulator runs a wgmma where it is issued.

// CHECK-LABEL: func.func @lmc_emu_kernel_wgmma(
// CHECK:         %[[EIGHT:.*]] = llvm.mlir.constant(8 : i32) : i32
// CHECK:         %[[ACC:.*]] = llvm.alloca %[[EIGHT]] x f32 {alignment = 16 : i64}
// CHECK:         %[[SLOTA:.*]] = llvm.getelementptr %arg0[1]
// CHECK-NEXT:    %[[DESCA:.*]] = llvm.load %[[SLOTA]] : !llvm.ptr -> i64
// CHECK-NEXT:    %[[SLOTB:.*]] = llvm.getelementptr %arg0[2]
// CHECK-NEXT:    %[[DESCB:.*]] = llvm.load %[[SLOTB]] : !llvm.ptr -> i64
// CHECK:         %[[SHARED:.*]] = memref.get_global @lmc_emu_shared_wgmma_dynamic : memref<4096xi8>
// CHECK-NOT:     nvvm.
// CHECK:         %[[SLOT7:.*]] = llvm.getelementptr %[[ACC]][7] : (!llvm.ptr) -> !llvm.ptr, f32
// CHECK-NEXT:    %[[IN7:.*]] = llvm.extractvalue %{{.*}}[7] : !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32)>
// CHECK:         llvm.store %[[IN7]], %[[SLOT7]] : f32, !llvm.ptr
// CHECK:         %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %[[SHARED]]
// CHECK:         %[[ADDRESS:.*]] = arith.index_cast %[[BASE]] : index to i64
// CHECK:         %[[POINTER:.*]] = llvm.inttoptr %[[ADDRESS]] : i64 to !llvm.ptr
// CHECK:         call @lmcEmuWgmma(%[[DESCA]], %[[DESCB]], %[[POINTER]], %c4096_i64, %c16_i32, %[[ACC]]) : (i64, i64, !llvm.ptr, i64, i32, !llvm.ptr) -> ()
// CHECK:         llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK-NOT:     nvvm.
// CHECK:         return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @wgmma(%out: memref<?xf32>, %a: i64, %b: i64, %c: f32) kernel {
      %c0 = arith.constant 0 : index
      %dynamic = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %stages = memref.view %dynamic[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2048xf16, #gpu.address_space<workgroup>>
      %poison = llvm.mlir.poison : !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32)>
      %acc = llvm.insertvalue %c, %poison[7] : !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32)>
      nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
      nvvm.wgmma.fence.aligned
      %d = nvvm.wgmma.mma_async %a, %b, %acc, #nvvm.shape<m = 64, n = 16, k = 16>,
          D [<f32>, #nvvm.wgmma_scale_out<one>], A [<f16>, #nvvm.wgmma_scale_in<one>, <row>],
          B [<f16>, #nvvm.wgmma_scale_in<one>, <col>]
          : !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32)> -> !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32)>
      nvvm.wgmma.commit.group.sync.aligned
      nvvm.wgmma.wait.group.sync.aligned 0
      %d0 = llvm.extractvalue %d[0] : !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32)>
      memref.store %d0, %out[%c0] : memref<?xf32>
      %h = memref.load %stages[%c0] : memref<2048xf16, #gpu.address_space<workgroup>>
      gpu.return
    }
  }
}

// -----

// A transposed operand (or bf16, or f16 accumulators) is refused by name.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @wgmma_transposed(%out: memref<?xf32>, %a: i64, %b: i64) kernel {
      %c0 = arith.constant 0 : index
      %dynamic = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %stages = memref.view %dynamic[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2048xf16, #gpu.address_space<workgroup>>
      %acc = llvm.mlir.poison : !llvm.struct<(f32, f32, f32, f32)>
      // expected-error @+1 {{the emulator runs wgmma m64nNk16 with f16 operands and float32 accumulators only}}
      %d = nvvm.wgmma.mma_async %a, %b, %acc, #nvvm.shape<m = 64, n = 8, k = 16>,
          D [<f32>, #nvvm.wgmma_scale_out<one>], A [<f16>, #nvvm.wgmma_scale_in<one>, <col>],
          B [<f16>, #nvvm.wgmma_scale_in<one>, <col>]
          : !llvm.struct<(f32, f32, f32, f32)> -> !llvm.struct<(f32, f32, f32, f32)>
      %d0 = llvm.extractvalue %d[0] : !llvm.struct<(f32, f32, f32, f32)>
      memref.store %d0, %out[%c0] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// Without dynamic shared memory there is nothing for a descriptor to point
// into.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @wgmma_unshared(%out: memref<?xf32>, %a: i64, %b: i64) kernel {
      %c0 = arith.constant 0 : index
      %acc = llvm.mlir.poison : !llvm.struct<(f32, f32, f32, f32)>
      // expected-error @+1 {{is emulated only in a kernel with dynamic shared memory}}
      %d = nvvm.wgmma.mma_async %a, %b, %acc, #nvvm.shape<m = 64, n = 8, k = 16>,
          D [<f32>, #nvvm.wgmma_scale_out<one>], A [<f16>, #nvvm.wgmma_scale_in<one>, <row>],
          B [<f16>, #nvvm.wgmma_scale_in<one>, <col>]
          : !llvm.struct<(f32, f32, f32, f32)> -> !llvm.struct<(f32, f32, f32, f32)>
      %d0 = llvm.extractvalue %d[0] : !llvm.struct<(f32, f32, f32, f32)>
      memref.store %d0, %out[%c0] : memref<?xf32>
      gpu.return
    }
  }
}
