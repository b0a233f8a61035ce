// RUN: llamac-opt %s --lmc-llvm-loop-annotations | FileCheck %s

// The annotation that convert-scf-to-cf leaves on a back edge as a
// discardable attribute becomes the branch's loop_annotation, which
// translation turns into !llvm.loop metadata; other branches keep theirs.

#unroll = #llvm.loop_unroll<disable = true>
#annotation = #llvm.loop_annotation<unroll = #unroll>

// CHECK: #[[UNROLL:.*]] = #llvm.loop_unroll<disable = true>
// CHECK: #[[ANNOTATION:.*]] = #llvm.loop_annotation<unroll = #[[UNROLL]]>
// CHECK:       llvm.func @loop(
// CHECK:         llvm.br ^bb1(%{{.*}} : i64){{$}}
// CHECK:         llvm.br ^bb1(%{{.*}} : i64) {loop_annotation = #[[ANNOTATION]]}
// CHECK-NOT:     llvm.loop_annotation
llvm.func @loop(%n: i64) {
  %zero = llvm.mlir.constant(0 : i64) : i64
  %one = llvm.mlir.constant(1 : i64) : i64
  llvm.br ^bb1(%zero : i64)
^bb1(%i: i64):
  %more = llvm.icmp "slt" %i, %n : i64
  llvm.cond_br %more, ^bb2, ^bb3
^bb2:
  %next = llvm.add %i, %one : i64
  llvm.br ^bb1(%next : i64) {llvm.loop_annotation = #annotation}
^bb3:
  llvm.return
}
