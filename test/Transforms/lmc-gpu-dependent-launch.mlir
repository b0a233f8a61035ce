// RUN: llamac-opt %s --pass-pipeline="builtin.module(gpu.module(lmc-gpu-dependent-launch))" | FileCheck %s

// Every kernel first lets the next grid launch, then waits for the previous
// one before its first operation that touches memory other than reading an
// argument marked llama.invariant (the weights, which no kernel writes) and
// writing the block's shared memory.
// The wait is inline assembly that clobbers memory, so that LLVM moves no
// load across it. Device functions that are not kernels are left alone.

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // CHECK-LABEL: gpu.func @scale
    // CHECK-NEXT:    nvvm.griddepcontrol launch_dependents
    // CHECK-NEXT:    gpu.thread_id x
    // CHECK-NEXT:    llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
    // CHECK-NEXT:    memref.load
    gpu.func @scale(%buffer: memref<?xf32>) kernel {
      %i = gpu.thread_id x
      %x = memref.load %buffer[%i] : memref<?xf32>
      %y = arith.addf %x, %x : f32
      memref.store %y, %buffer[%i] : memref<?xf32>
      gpu.return
    }

    // Weight reads, also through a select of two weights, come first.
    // CHECK-LABEL: gpu.func @prefetch
    // CHECK-NEXT:    nvvm.griddepcontrol launch_dependents
    // CHECK-NEXT:    gpu.thread_id x
    // CHECK-NEXT:    memref.load %arg1
    // CHECK-NEXT:    arith.select
    // CHECK-NEXT:    vector.load
    // CHECK-NEXT:    llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
    // CHECK-NEXT:    memref.load %arg0
    gpu.func @prefetch(%x: memref<?xf32>, %w0: memref<?xf16> {llama.invariant},
                       %w1: memref<?xf16> {llama.invariant}, %out: memref<?xf32>,
                       %first: i1) kernel {
      %i = gpu.thread_id x
      %a = memref.load %w0[%i] : memref<?xf16>
      %w = arith.select %first, %w0, %w1 : memref<?xf16>
      %b = vector.load %w[%i] : memref<?xf16>, vector<8xf16>
      %v = memref.load %x[%i] : memref<?xf32>
      memref.store %v, %out[%i] : memref<?xf32>
      gpu.return
    }

    // A select between a weight and anything else may read written memory.
    // CHECK-LABEL: gpu.func @mixed_select
    // CHECK:         arith.select
    // CHECK-NEXT:    llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
    // CHECK-NEXT:    memref.load
    gpu.func @mixed_select(%x: memref<?xf16>, %w: memref<?xf16> {llama.invariant},
                           %first: i1) kernel {
      %i = gpu.thread_id x
      %m = arith.select %first, %w, %x : memref<?xf16>
      %a = memref.load %m[%i] : memref<?xf16>
      gpu.return
    }

    // Stores to a weight, barriers and loops reading other memory wait.
    // CHECK-LABEL: gpu.func @store_to_weight
    // CHECK-NEXT:    nvvm.griddepcontrol launch_dependents
    // CHECK-NEXT:    gpu.thread_id x
    // CHECK-NEXT:    arith.constant
    // CHECK-NEXT:    llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
    // CHECK-NEXT:    memref.store
    gpu.func @store_to_weight(%w: memref<?xf32> {llama.invariant}) kernel {
      %i = gpu.thread_id x
      %zero = arith.constant 0.0 : f32
      memref.store %zero, %w[%i] : memref<?xf32>
      gpu.return
    }
    // CHECK-LABEL: gpu.func @barrier
    // CHECK-NEXT:    nvvm.griddepcontrol launch_dependents
    // CHECK-NEXT:    llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
    // CHECK-NEXT:    gpu.barrier
    gpu.func @barrier(%w: memref<?xf32> {llama.invariant}) kernel {
      gpu.barrier
      gpu.return
    }
    // CHECK-LABEL: gpu.func @loop
    // CHECK:         arith.constant 4
    // CHECK-NEXT:    llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
    // CHECK-NEXT:    scf.for
    gpu.func @loop(%x: memref<?xf32>, %w: memref<?xf32> {llama.invariant}) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c4 = arith.constant 4 : index
      scf.for %k = %c0 to %c4 step %c1 {
        %a = memref.load %w[%k] : memref<?xf32>
        %b = memref.load %x[%k] : memref<?xf32>
      }
      gpu.return
    }

    // cp.async of weight chunks into the block's shared memory comes first
    // (it writes only memory no other block sees); a copy of activations
    // waits.
    // CHECK-LABEL: gpu.func @async_copies
    // CHECK-NEXT:    nvvm.griddepcontrol launch_dependents
    // CHECK-NEXT:    nvgpu.device_async_copy %arg1
    // CHECK-NEXT:    llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
    // CHECK-NEXT:    nvgpu.device_async_copy %arg0
    gpu.func @async_copies(%x: memref<?xf16>, %w: memref<?xf16> {llama.invariant},
                           %i: index)
        workgroup(%staged: memref<64xf16, #gpu.address_space<workgroup>>) kernel {
      %a = nvgpu.device_async_copy %w[%i], %staged[%i], 8 : memref<?xf16> to memref<64xf16, #gpu.address_space<workgroup>>
      %b = nvgpu.device_async_copy %x[%i], %staged[%i], 8 : memref<?xf16> to memref<64xf16, #gpu.address_space<workgroup>>
      gpu.return
    }

    // The same into a view of the dynamic shared memory (the GEMM's
    // stages), which no other block sees either.
    // CHECK-LABEL: gpu.func @dynamic_shared_copies
    // CHECK-NEXT:    nvvm.griddepcontrol launch_dependents
    // CHECK-NEXT:    arith.constant
    // CHECK-NEXT:    gpu.dynamic_shared_memory
    // CHECK-NEXT:    memref.view
    // CHECK-NEXT:    nvgpu.device_async_copy %arg1
    // CHECK-NEXT:    llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
    // CHECK-NEXT:    nvgpu.device_async_copy %arg0
    gpu.func @dynamic_shared_copies(%x: memref<?xf16>, %w: memref<?xf16> {llama.invariant},
                                    %i: index) kernel {
      %c0 = arith.constant 0 : index
      %dynamic = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %staged = memref.view %dynamic[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xf16, #gpu.address_space<workgroup>>
      %a = nvgpu.device_async_copy %w[%i], %staged[%i], 8 : memref<?xf16> to memref<64xf16, #gpu.address_space<workgroup>>
      %b = nvgpu.device_async_copy %x[%i], %staged[%i], 8 : memref<?xf16> to memref<64xf16, #gpu.address_space<workgroup>>
      gpu.return
    }

    // CHECK-LABEL: gpu.func @helper
    // CHECK-NOT:     griddepcontrol
    // CHECK:         gpu.return
    gpu.func @helper(%x: f32) {
      gpu.return
    }
  }
}
