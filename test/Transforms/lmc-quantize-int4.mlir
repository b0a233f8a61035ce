// RUN: llamac-opt %s --lmc-quantize-int4=group-size=32 --split-input-file --verify-diagnostics | FileCheck %s
// RUN: not llamac-opt %s --lmc-quantize-int4=group-size=3 -o /dev/null 2>&1 | FileCheck %s --check-prefix=ODD

// The linear layers' weights become int4 codes; the embedding, the norm and
// the output head (written to the function's output) keep their dtypes, and
// every read of a quantized weight follows its declaration.
// CHECK-DAG: llama.weight_decl @embed : tensor<512x64xf16>
// CHECK-DAG: llama.weight_decl @norm : tensor<64xf16>
// CHECK-DAG: llama.weight_decl @wq : tensor<64x64xi4, #llama.int4<group_size = 32>>
// CHECK-DAG: llama.weight_decl @gate : tensor<96x64xi4, #llama.int4<group_size = 32>>
// CHECK-DAG: llama.weight_decl @up : tensor<96x64xi4, #llama.int4<group_size = 32>>
// CHECK-DAG: llama.weight_decl @down : tensor<64x96xi4, #llama.int4<group_size = 32>>
// CHECK-DAG: llama.weight_decl @head : tensor<512x64xf16>
// CHECK-LABEL: func.func @layer
// CHECK: llama.weight @wq : tensor<64x64xi4, #llama.int4<group_size = 32>>
// CHECK: llama.matmul %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<64x64xi4, #llama.int4<group_size = 32>> -> tensor<?x?x64xf32>
// CHECK: llama.swiglu %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<96x64xi4, #llama.int4<group_size = 32>> -> tensor<?x?x96xf32>
// CHECK: llama.matmul %{{.*}}, %{{.*}} : tensor<?x?x96xf32>, tensor<64x96xi4, #llama.int4<group_size = 32>> -> tensor<?x?x64xf32>
// CHECK: llama.matmul %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<512x64xf16> -> tensor<?x?x512xf32>
llama.weight_decl @embed : tensor<512x64xf16>
llama.weight_decl @norm : tensor<64xf16>
llama.weight_decl @wq : tensor<64x64xf16>
llama.weight_decl @gate : tensor<96x64xf16>
llama.weight_decl @up : tensor<96x64xf16>
llama.weight_decl @down : tensor<64x96xf16>
llama.weight_decl @head : tensor<512x64xf16>

func.func @layer(%ids: tensor<?x?xi32>, %out: memref<?x?x512xf32>) {
  %embed = llama.weight @embed : tensor<512x64xf16>
  %x = llama.embedding %embed[%ids] : tensor<512x64xf16>, tensor<?x?xi32> -> tensor<?x?x64xf32>
  %norm = llama.weight @norm : tensor<64xf16>
  %n = llama.rms_norm %x, %norm {epsilon = 1.0e-05 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
  %wq = llama.weight @wq : tensor<64x64xf16>
  %q = llama.matmul %n, %wq : tensor<?x?x64xf32>, tensor<64x64xf16> -> tensor<?x?x64xf32>
  %gate = llama.weight @gate : tensor<96x64xf16>
  %up = llama.weight @up : tensor<96x64xf16>
  %h = llama.swiglu %q, %gate, %up : tensor<?x?x64xf32>, tensor<96x64xf16> -> tensor<?x?x96xf32>
  %down = llama.weight @down : tensor<64x96xf16>
  %y = llama.matmul %h, %down : tensor<?x?x96xf32>, tensor<64x96xf16> -> tensor<?x?x64xf32>
  %head = llama.weight @head : tensor<512x64xf16>
  %logits = llama.matmul %y, %head : tensor<?x?x64xf32>, tensor<512x64xf16> -> tensor<?x?x512xf32>
  bufferization.materialize_in_destination %logits in writable %out : (tensor<?x?x512xf32>, memref<?x?x512xf32>) -> ()
  return
}

// -----

// A weight the embedding also reads stays as stored.
// CHECK-LABEL: llama.weight_decl @tied : tensor<512x64xf16>
// CHECK-LABEL: func.func @tied_projection
llama.weight_decl @tied : tensor<512x64xf16>

func.func @tied_projection(%ids: tensor<?x?xi32>) -> tensor<?x?x512xf32> {
  %t = llama.weight @tied : tensor<512x64xf16>
  %x = llama.embedding %t[%ids] : tensor<512x64xf16>, tensor<?x?xi32> -> tensor<?x?x64xf32>
  %t2 = llama.weight @tied : tensor<512x64xf16>
  %y = llama.matmul %x, %t2 : tensor<?x?x64xf32>, tensor<512x64xf16> -> tensor<?x?x512xf32>
  return %y : tensor<?x?x512xf32>
}

// -----

// A group must divide the input features of every weight it quantizes.
// expected-error @+1 {{int4 group size 32 does not divide the 48 input features of 'w48'}}
llama.weight_decl @w48 : tensor<64x48xf16>

func.func @narrow(%x: tensor<?x?x48xf32>) -> tensor<?x?x64xf32> {
  %w = llama.weight @w48 : tensor<64x48xf16>
  %y = llama.matmul %x, %w : tensor<?x?x48xf32>, tensor<64x48xf16> -> tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}

// ODD: lmc-quantize-int4: int4 group_size must be positive and even, got 3
