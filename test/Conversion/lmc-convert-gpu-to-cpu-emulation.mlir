// RUN: llamac-opt %s --lmc-convert-gpu-to-cpu-emulation | FileCheck %s

// A kernel becomes a host function over an array of argument words, its
// workgroup buffer a module global, its ids, barrier and shuffle calls of
// the emulator, and its memory barrier goes (one block runs at a time); the
// launch becomes lmcEmuLaunch with the kernel's number, the device
// allocation a host one, and the waits disappear.

// CHECK: module attributes {lmc.emulated_kernels = ["lmc_emu_kernel_scale"]}
module attributes {gpu.container_module} {
  // CHECK-LABEL: func.func @run(
  // CHECK-SAME:      %[[X:.*]]: memref<?xf32>, %[[N:.*]]: index)
  // CHECK-NOT:     gpu.
  // CHECK:         %[[SCRATCH:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xi8>
  // CHECK:         %[[WORDS:.*]] = llvm.alloca %{{.*}} x i64 : (i64) -> !llvm.ptr
  // CHECK:         memref.extract_aligned_pointer_as_index %[[X]]
  // CHECK:         llvm.store %{{.*}}, %{{.*}} : i64, !llvm.ptr
  // CHECK:         %[[BITS:.*]] = arith.bitcast %{{.*}} : f32 to i32
  // CHECK:         arith.extui %[[BITS]] : i32 to i64
  // CHECK:         call @lmcEmuLaunch(%c0_i64, %[[WORDS]], %[[N]], %c1, %c1, %c64)
  // CHECK:         memref.dealloc %[[SCRATCH]]
  // CHECK-NEXT:    return
  func.func @run(%x: memref<?xf32>, %n: index) {
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %bytes = arith.constant 256 : index
    %factor = arith.constant 2.0 : f32
    %t0 = gpu.wait async
    %scratch, %t1 = gpu.alloc async [%t0] (%bytes) : memref<?xi8>
    %t2 = gpu.launch_func async [%t1] @kernels::@scale blocks in (%n, %c1, %c1)
        threads in (%c64, %c1, %c1) args(%x : memref<?xf32>, %factor : f32)
    %t3 = gpu.dealloc async [%t2] %scratch : memref<?xi8>
    gpu.wait [%t3]
    return
  }

  gpu.module @kernels {
    gpu.func @scale(%x: memref<?xf32>, %factor: f32)
        workgroup(%partial : memref<2xf32, #gpu.address_space<workgroup>>) kernel {
      %c64 = arith.constant 64 : index
      %c16 = arith.constant 16 : i32
      %c32 = arith.constant 32 : i32
      %t = gpu.thread_id x
      %b = gpu.block_id x
      %base = arith.muli %b, %c64 : index
      %i = arith.addi %base, %t : index
      %v = memref.load %x[%i] : memref<?xf32>
      %s, %valid = gpu.shuffle xor %v, %c16, %c32 : f32
      %w = arith.mulf %s, %factor : f32
      memref.store %w, %partial[%t] : memref<2xf32, #gpu.address_space<workgroup>>
      nvvm.memory.barrier <gpu>
      gpu.barrier
      memref.store %w, %x[%i] : memref<?xf32>
      gpu.return
    }
  }
}

// CHECK-LABEL: func.func @lmc_emu_kernel_scale(
// CHECK-SAME:      %[[WORDS:.*]]: !llvm.ptr)
// CHECK:         llvm.getelementptr %[[WORDS]][0] : (!llvm.ptr) -> !llvm.ptr, i64
// CHECK:         llvm.inttoptr
// CHECK:         builtin.unrealized_conversion_cast {{.*}} to memref<?xf32>
// CHECK:         llvm.getelementptr %[[WORDS]][1] : (!llvm.ptr) -> !llvm.ptr, i64
// CHECK:         arith.trunci %{{.*}} : i64 to i32
// CHECK:         arith.bitcast %{{.*}} : i32 to f32
// CHECK:         %[[SHARED:.*]] = memref.get_global @lmc_emu_shared_scale_0 : memref<2xf32>
// CHECK:         call @lmcEmuThreadId(%{{.*}}) : (i32) -> index
// CHECK:         call @lmcEmuBlockId(%{{.*}}) : (i32) -> index
// CHECK:         call @lmcEmuShuffleXor(%{{.*}}, %c16_i32) : (f32, i32) -> f32
// CHECK:         memref.store %{{.*}}, %[[SHARED]][%{{.*}}] : memref<2xf32>
// CHECK-NEXT:    call @lmcEmuBarrier() : () -> ()
// CHECK:         return
// CHECK:       memref.global "private" @lmc_emu_shared_scale_0 : memref<2xf32> {alignment = 64 : i64}
// CHECK-NOT:   gpu.module
