// RUN: llamac-opt %s --split-input-file --verify-diagnostics --lmc-convert-gpu-to-cpu-emulation | FileCheck %s

// A kernel's dynamic shared memory, read through views from its start (the
// tensor-core GEMM's stages, as f16 activation rows and as bf16 weights),
// becomes one module global of bytes, as large as the largest view, and
// each view a host view of it, so the views alias as on the GPU; the
// launch's byte count is not needed, since blocks run one at a time.

// CHECK-LABEL: func.func @lmc_emu_kernel_stages(
// CHECK-NOT:     gpu.dynamic_shared_memory
// CHECK:         %[[BYTES:.*]] = memref.get_global @lmc_emu_shared_stages_dynamic : memref<256xi8>
// CHECK:         %[[ROWS:.*]] = memref.view %[[BYTES]][%{{.*}}][] : memref<256xi8> to memref<64xf16>
// CHECK:         %[[WEIGHTS:.*]] = memref.view %[[BYTES]][%{{.*}}][] : memref<256xi8> to memref<128xbf16>
// CHECK:         memref.store %{{.*}}, %[[ROWS]][%{{.*}}] : memref<64xf16>
// CHECK:         memref.load %[[WEIGHTS]][%{{.*}}] : memref<128xbf16>
// CHECK:       memref.global "private" @lmc_emu_shared_stages_dynamic : memref<256xi8> {alignment = 64 : i64}
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @stages(%x: memref<?xf16>) kernel {
      %c0 = arith.constant 0 : index
      %dynamic = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %rows = memref.view %dynamic[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xf16, #gpu.address_space<workgroup>>
      %weights = memref.view %dynamic[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<128xbf16, #gpu.address_space<workgroup>>
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<?xf16>
      memref.store %v, %rows[%t] : memref<64xf16, #gpu.address_space<workgroup>>
      gpu.barrier
      %w = memref.load %weights[%t] : memref<128xbf16, #gpu.address_space<workgroup>>
      gpu.return
    }
  }
}

// -----

// A view at an offset is not emulated.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @view_at_offset(%x: memref<?xf16>) kernel {
      %c0 = arith.constant 0 : index
      %c128 = arith.constant 128 : index
      // expected-error @+1 {{'gpu.dynamic_shared_memory' op is emulated only when read through memref.views of static shape from its start}}
      %dynamic = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %a = memref.view %dynamic[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xf16, #gpu.address_space<workgroup>>
      %b = memref.view %dynamic[%c128][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xf16, #gpu.address_space<workgroup>>
      gpu.return
    }
  }
}
