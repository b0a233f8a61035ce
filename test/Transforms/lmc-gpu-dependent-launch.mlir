// RUN: llamac-opt %s --pass-pipeline="builtin.module(gpu.module(lmc-gpu-dependent-launch))" | FileCheck %s

// Every kernel starts by waiting for the previous grid and then releasing
// the next one, before its first instruction; device functions that are not
// kernels are left alone.

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // CHECK-LABEL: gpu.func @scale
    // CHECK-NEXT:    nvvm.griddepcontrol wait
    // CHECK-NEXT:    nvvm.griddepcontrol launch_dependents
    // CHECK-NEXT:    gpu.thread_id x
    gpu.func @scale(%buffer: memref<?xf32>) kernel {
      %i = gpu.thread_id x
      %x = memref.load %buffer[%i] : memref<?xf32>
      %y = arith.addf %x, %x : f32
      memref.store %y, %buffer[%i] : memref<?xf32>
      gpu.return
    }
    // CHECK-LABEL: gpu.func @helper
    // CHECK-NOT:     nvvm.griddepcontrol
    // CHECK:         gpu.return
    gpu.func @helper(%x: f32) {
      gpu.return
    }
  }
}
