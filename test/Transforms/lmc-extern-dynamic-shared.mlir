// RUN: llamac-opt %s --convert-gpu-to-nvvm --lmc-extern-dynamic-shared | FileCheck %s
// RUN: llamac-opt %s --convert-gpu-to-nvvm | FileCheck %s --check-prefix=UPSTREAM

// gpu.dynamic_shared_memory lowers to an internal zero-length global in the
// shared address space, which NVPTX would print as a one-byte static
// variable; the pass makes it external, CUDA's `extern __shared__ T x[]`,
// aligned to the 1 KiB that wgmma's 128-byte swizzle atoms need.
// Other shared globals (a static workgroup buffer) and zero-length globals
// elsewhere keep their linkage.

// UPSTREAM: llvm.mlir.global internal @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK-DAG: llvm.mlir.global external @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 1024 : i64} : !llvm.array<0 x i8>
// CHECK-DAG: llvm.mlir.global internal @__wg_kernel_0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<4 x f32>
// CHECK-DAG: llvm.mlir.global internal @empty_global() {addr_space = 1 : i32} : !llvm.array<0 x i8>
gpu.module @kernels {
  llvm.mlir.global internal @empty_global() {addr_space = 1 : i32} : !llvm.array<0 x i8>
  gpu.func @kernel(%out: memref<4xf32>) workgroup(%buffer : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel {
    %c0 = arith.constant 0 : index
    %dynamic = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
    %view = memref.view %dynamic[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4xf32, #gpu.address_space<workgroup>>
    %x = memref.load %view[%c0] : memref<4xf32, #gpu.address_space<workgroup>>
    memref.store %x, %buffer[%c0] : memref<4xf32, #gpu.address_space<workgroup>>
    %y = memref.load %buffer[%c0] : memref<4xf32, #gpu.address_space<workgroup>>
    memref.store %y, %out[%c0] : memref<4xf32>
    gpu.return
  }
}
