// RUN: llamac-opt %s --split-input-file --verify-diagnostics --lmc-convert-gpu-to-cpu-emulation | FileCheck %s

// A kernel's dynamic shared memory, read through one view from its start
// (the tensor-core GEMM's stages), becomes a module global of the view's
// type, as a workgroup buffer does; the launch's byte count is not needed,
// since blocks run one at a time.

// CHECK-LABEL: func.func @lmc_emu_kernel_stages(
// CHECK-NOT:     gpu.dynamic_shared_memory
// CHECK-NOT:     memref.view
// CHECK:         %[[STAGES:.*]] = memref.get_global @lmc_emu_shared_stages_dynamic : memref<64xf16>
// CHECK:         memref.store %{{.*}}, %[[STAGES]][%{{.*}}] : memref<64xf16>
// CHECK:       memref.global "private" @lmc_emu_shared_stages_dynamic : memref<64xf16> {alignment = 64 : i64}
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @stages(%x: memref<?xf16>) kernel {
      %c0 = arith.constant 0 : index
      %dynamic = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %stages = memref.view %dynamic[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xf16, #gpu.address_space<workgroup>>
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<?xf16>
      memref.store %v, %stages[%t] : memref<64xf16, #gpu.address_space<workgroup>>
      gpu.barrier
      gpu.return
    }
  }
}

// -----

// Views at an offset would alias in a way one global per view does not.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @two_views(%x: memref<?xf16>) kernel {
      %c0 = arith.constant 0 : index
      %c128 = arith.constant 128 : index
      // expected-error @+1 {{'gpu.dynamic_shared_memory' op is emulated only when read through one memref.view from its start}}
      %dynamic = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %a = memref.view %dynamic[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xf16, #gpu.address_space<workgroup>>
      %b = memref.view %dynamic[%c128][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xf16, #gpu.address_space<workgroup>>
      gpu.return
    }
  }
}
