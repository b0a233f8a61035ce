// RUN: llamac-opt %s --lmc-convert-llama-to-gpu --verify-diagnostics
// The CUDA kernels read float weights: an int4 weight is refused at its
// declaration, not miscompiled.

module attributes {llama.model = {max_batch = 1 : i64, max_seq = 16 : i64}} {
  // expected-error @+1 {{is int4: the CUDA kernels read float weights (int4 lowers for the CPU)}}
  llama.weight_decl @proj : tensor<96x64xi4, #llama.int4<group_size = 32>>
}
