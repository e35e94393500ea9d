// localconv-contraction-strategy: the cost model's choice is recorded on each composite.

// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-contraction-strategy)' | FileCheck %s
// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-contraction-strategy{strategy=position_loop})' | FileCheck %s --check-prefix=FORCED
// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-contraction-strategy,localconv-legalize-composite)' | FileCheck %s --check-prefix=LOWERED
// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-contraction-strategy{strategy=row_loop},localconv-legalize-composite)' | FileCheck %s --check-prefix=ROWS
// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-contraction-strategy{backend=gpu})' | FileCheck %s --check-prefix=GPU-CHOICE
// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-contraction-strategy{backend=gpu},localconv-legalize-composite)' | FileCheck %s --check-prefix=GPU
// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-contraction-strategy{strategy=multiply_reduce},localconv-legalize-composite)' | FileCheck %s --check-prefix=REDUCE
// RUN: not localconv-opt %S/Inputs/legalize_composite_wrong_rhs_shape.mlir --pass-pipeline='builtin.module(localconv-contraction-strategy)' 2>&1 | FileCheck %s --check-prefix=ERR

// CHECK-LABEL: func.func @oihw_small_batch_accumulates(
// CHECK: stablehlo.composite "localconv.conv_general_dilated_local"
// CHECK-SAME: localconv.strategy = "accumulate_loop"
// CHECK-SAME: localconv.strategy_reason = "batch 2 < 64 and rhs spatial dims are not leading
// CHECK-LABEL: func.func @hwio_small_matmuls_accumulate(
// CHECK: stablehlo.composite "localconv.conv_general_dilated_local"
// CHECK-SAME: localconv.strategy = "accumulate_loop"
// CHECK-SAME: localconv.strategy_reason = "batch 2 < 64 and small matmuls per position (432 FLOPs < 4,000,000): the loop beats the batched dot"
// CHECK-LABEL: func.func @batch_68_short_rows_small_rhs(
// CHECK: stablehlo.composite "localconv.conv_general_dilated_local"
// CHECK-SAME: localconv.strategy = "accumulate_loop"
// CHECK-SAME: localconv.strategy_reason = "batch 68 >= 64 with small matmuls per position
// CHECK-LABEL: func.func @batch_64_short_rows_vectors_along_batch(
// CHECK: stablehlo.composite "localconv.conv_general_dilated_local"
// CHECK-SAME: localconv.strategy = "accumulate_loop"
// CHECK-LABEL: func.func @batch_64_wide_outputs_accumulate(
// CHECK: stablehlo.composite "localconv.conv_general_dilated_local"
// CHECK-SAME: localconv.strategy = "accumulate_loop"
// CHECK-SAME: localconv.strategy_reason = "batch 64 >= 64 with O = 512 >= 32 and K = 288 >= 256: each rhs slice serves the whole batch"

// FORCED-COUNT-4: localconv.strategy = "position_loop", localconv.strategy_reason = "forced by the strategy option"
// FORCED-NOT: localconv.strategy = "accumulate_loop"

// LOWERED-LABEL: func.func @oihw_small_batch_accumulates(
// LOWERED-NOT: stablehlo.composite
// LOWERED: stablehlo.while{{.*}}attributes {localconv.strategy = "accumulate_loop"}
// LOWERED-LABEL: func.func @hwio_small_matmuls_accumulate(
// LOWERED: stablehlo.while{{.*}}attributes {localconv.strategy = "accumulate_loop"}
// LOWERED-LABEL: func.func @batch_68_short_rows_small_rhs(
// Rows of 5 positions and a batch that is not whole vectors, but rhs is small: it is
// transposed to [I, H, W, O] in the call and the loop runs along O.
// LOWERED: stablehlo.transpose %arg1, dims = [1, 2, 3, 0] : (tensor<4x27x6x5xf32>) -> tensor<27x6x5x4xf32>
// LOWERED: stablehlo.while{{.*}}tensor<27x6x5x4xf32> attributes {localconv.strategy = "accumulate_loop"}
// LOWERED-LABEL: func.func @batch_64_short_rows_vectors_along_batch(
// Rows of 5 positions make poor vectors and the batch is 8 of them: the padded input is
// [C, H, W, N] and the accumulator [O, H, W, N], so each update runs along N.
// LOWERED: stablehlo.transpose %arg0, dims = [1, 2, 3, 0] : (tensor<64x3x6x5xf32>) -> tensor<3x6x5x64xf32>
// LOWERED: stablehlo.pad {{.*}} : (tensor<3x6x5x64xf32>, tensor<f32>) -> tensor<3x8x7x64xf32>
// LOWERED: stablehlo.while{{.*}}attributes {localconv.strategy = "accumulate_loop"}
// LOWERED: stablehlo.dynamic_slice {{.*}} sizes = [1, 6, 5, 64] : (tensor<3x8x7x64xf32>
// LOWERED: stablehlo.broadcast_in_dim {{.*}} : (tensor<6x5x64xf32>) -> tensor<4x6x5x64xf32>
// LOWERED: stablehlo.transpose %{{.*}}, dims = [3, 0, 1, 2] : (tensor<4x6x5x64xf32>) -> tensor<64x4x6x5xf32>
// LOWERED-LABEL: func.func @batch_64_wide_outputs_accumulate(
// LOWERED: stablehlo.while{{.*}}attributes {localconv.strategy = "accumulate_loop"}
// LOWERED-NOT: func.func private

// The row loop, forced on the same layer:
// ROWS-LABEL: func.func @batch_68_short_rows_small_rhs(
// The row loop reads the input transposed but not padded (the pad is a mask on the gather),
// rhs moved once as a 2-D transpose, and the rows transposed to NCHW once after the loop.
// ROWS: stablehlo.transpose %arg0, dims = [2, 3, 1, 0] : (tensor<68x3x6x5xf32>) -> tensor<6x5x3x68xf32>
// ROWS-NOT: stablehlo.pad
// ROWS: stablehlo.reshape %arg1 : (tensor<4x27x6x5xf32>) -> tensor<108x30xf32>
// ROWS-NEXT: stablehlo.transpose %{{.*}}, dims = [1, 0] : (tensor<108x30xf32>) -> tensor<30x108xf32>
// ROWS-NEXT: stablehlo.reshape %{{.*}} : (tensor<30x108xf32>) -> tensor<6x5x4x27xf32>
// ROWS: stablehlo.while{{.*}}attributes {localconv.strategy = "row_loop"}
// ROWS: %[[PATCHES:.*]] = "stablehlo.gather"
// ROWS: stablehlo.compare GE
// ROWS: stablehlo.compare LT
// ROWS: stablehlo.select %{{.*}}, %[[PATCHES]], %{{.*}} : tensor<5x3x3x3x68xi1>, tensor<5x3x3x3x68xf32>
// ROWS: stablehlo.dot_general {{.*}} : (tensor<5x4x27xf32>, tensor<5x27x68xf32>) -> tensor<5x4x68xf32>
// ROWS: stablehlo.dynamic_update_slice {{.*}} : (tensor<6x5x4x68xf32>, tensor<1x5x4x68xf32>,
// ROWS: stablehlo.transpose %{{.*}}, dims = [3, 2, 0, 1] : (tensor<6x5x4x68xf32>) -> tensor<68x4x6x5xf32>

// ERR: localconv-opt: error: pass localconv-contraction-strategy failed: {{.*}}legalize_composite_wrong_rhs_shape.mlir:4:10: localconv-contraction-strategy: invalid localconv.conv_general_dilated_local: rhs must have shape (3, 6, 5)


// On GPU a small layer with OIHW weights is one fused multiply-reduce; HWIO weights, which the
// batched dot reads in place, keep the batched dot.
// GPU-CHOICE-LABEL: func.func @oihw_small_batch_accumulates(
// GPU-CHOICE: localconv.strategy = "multiply_reduce", localconv.strategy_reason = "on gpu a small layer (12,960 FLOPs <= 48,000,000) runs as one fused reduction kernel, where a batched dot would transpose rhs (spatial dims not leading)"
// GPU-CHOICE-LABEL: func.func @hwio_small_matmuls_accumulate(
// GPU-CHOICE: localconv.strategy = "batched_dot", localconv.strategy_reason = "on gpu the batched dot reads rhs in place (its spatial dims lead) as one batched GEMM"

// The product is N then rhs's own dims (O, I, H, W): rhs is only broadcast along N, the patches
// land in [N, K, H, W], and the reduce over I leaves NCHW, so nothing is transposed.
// GPU-LABEL: func.func @oihw_small_batch_accumulates(
// GPU-NOT: stablehlo.transpose
// GPU: %[[PATCHES:.*]] = stablehlo.reshape %{{.*}} : (tensor<2x3x9x6x5xf32>) -> tensor<2x27x6x5xf32>
// GPU-NEXT: %[[P:.*]] = stablehlo.broadcast_in_dim %[[PATCHES]], dims = [0, 2, 3, 4] : (tensor<2x27x6x5xf32>) -> tensor<2x4x27x6x5xf32>
// GPU-NEXT: %[[R:.*]] = stablehlo.broadcast_in_dim %arg1, dims = [1, 2, 3, 4] : (tensor<4x27x6x5xf32>) -> tensor<2x4x27x6x5xf32>
// GPU-NEXT: %[[PRODUCT:.*]] = stablehlo.multiply %[[P]], %[[R]] : tensor<2x4x27x6x5xf32>
// GPU: %[[SUM:.*]] = stablehlo.reduce(%[[PRODUCT]] init: %{{.*}}) applies stablehlo.add across dimensions = [2] {localconv.strategy = "multiply_reduce"} : (tensor<2x4x27x6x5xf32>, tensor<f32>) -> tensor<2x4x6x5xf32>
// GPU-NEXT: return %[[SUM]]
// GPU-LABEL: func.func @hwio_small_matmuls_accumulate(
// GPU: stablehlo.dot_general {{.*}} {localconv.strategy = "batched_dot"}

// Forced, with HWIO weights: the product is [N, H, W, I, O]; the patches are gathered as
// [N, H, W, K] and the reduce over I leaves NHWC.
// REDUCE-LABEL: func.func @hwio_small_matmuls_accumulate(
// REDUCE: %[[P:.*]] = stablehlo.broadcast_in_dim %{{.*}}, dims = [0, 1, 2, 3] : (tensor<2x6x5x27xf32>) -> tensor<2x6x5x27x4xf32>
// REDUCE-NEXT: %[[R:.*]] = stablehlo.broadcast_in_dim %arg1, dims = [1, 2, 3, 4] : (tensor<6x5x27x4xf32>) -> tensor<2x6x5x27x4xf32>
// REDUCE-NEXT: %[[PRODUCT:.*]] = stablehlo.multiply %[[P]], %[[R]]
// REDUCE: %[[SUM:.*]] = stablehlo.reduce(%[[PRODUCT]] init: %{{.*}}) applies stablehlo.add across dimensions = [3] {{.*}} -> tensor<2x6x5x4xf32>
// REDUCE-NEXT: return %[[SUM]] : tensor<2x6x5x4xf32>
module {

  func.func @oihw_small_batch_accumulates(%arg0: tensor<2x3x6x5xf32>, %arg1: tensor<4x27x6x5xf32>) -> tensor<2x4x6x5xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCHW", "OIHW", "NCHW"], filter_shape = array<i64: 3, 3>, lhs_dilation = array<i64: 1, 1>, padding = dense<1> : tensor<2x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1, 1>, window_strides = array<i64: 1, 1>}, decomposition = @oihw_small_batch_accumulates_impl, version = 1 : i32} : (tensor<2x3x6x5xf32>, tensor<4x27x6x5xf32>) -> tensor<2x4x6x5xf32>
    return %0 : tensor<2x4x6x5xf32>
  }
  func.func private @oihw_small_batch_accumulates_impl(%arg0: tensor<2x3x6x5xf32>, %arg1: tensor<4x27x6x5xf32>) -> tensor<2x4x6x5xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 3, 0, 1] : (tensor<2x3x6x5xf32>) -> tensor<6x5x2x3xf32>
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %1 = stablehlo.pad %0, %cst, low = [1, 1, 0, 0], high = [1, 1, 0, 0], interior = [0, 0, 0, 0] : (tensor<6x5x2x3xf32>, tensor<f32>) -> tensor<8x7x2x3xf32>
    %2 = stablehlo.slice %1 [0:6, 0:5, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %3 = stablehlo.reshape %2 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %4 = stablehlo.slice %1 [0:6, 1:6, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %5 = stablehlo.reshape %4 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %6 = stablehlo.slice %1 [0:6, 2:7, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %7 = stablehlo.reshape %6 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %8 = stablehlo.slice %1 [1:7, 0:5, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %9 = stablehlo.reshape %8 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %10 = stablehlo.slice %1 [1:7, 1:6, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %11 = stablehlo.reshape %10 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %12 = stablehlo.slice %1 [1:7, 2:7, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %13 = stablehlo.reshape %12 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %14 = stablehlo.slice %1 [2:8, 0:5, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %15 = stablehlo.reshape %14 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %16 = stablehlo.slice %1 [2:8, 1:6, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %17 = stablehlo.reshape %16 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %18 = stablehlo.slice %1 [2:8, 2:7, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %19 = stablehlo.reshape %18 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %20 = stablehlo.concatenate %3, %5, %7, %9, %11, %13, %15, %17, %19, dim = 4 : (tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>) -> tensor<6x5x2x3x9xf32>
    %21 = stablehlo.reshape %20 : (tensor<6x5x2x3x9xf32>) -> tensor<6x5x2x27xf32>
    %22 = stablehlo.dot_general %21, %arg1, batching_dims = [0, 1] x [2, 3], contracting_dims = [3] x [1], precision = [DEFAULT, DEFAULT] {localconv.strategy = "batched_dot"} : (tensor<6x5x2x27xf32>, tensor<4x27x6x5xf32>) -> tensor<6x5x2x4xf32>
    %23 = stablehlo.transpose %22, dims = [2, 3, 0, 1] : (tensor<6x5x2x4xf32>) -> tensor<2x4x6x5xf32>
    return %23 : tensor<2x4x6x5xf32>
  }

  func.func @hwio_small_matmuls_accumulate(%arg0: tensor<2x6x5x3xf32>, %arg1: tensor<6x5x27x4xf32>) -> tensor<2x6x5x4xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NHWC", "HWIO", "NHWC"], filter_shape = array<i64: 3, 3>, lhs_dilation = array<i64: 1, 1>, padding = dense<1> : tensor<2x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1, 1>, window_strides = array<i64: 1, 1>}, decomposition = @hwio_small_matmuls_accumulate_impl, version = 1 : i32} : (tensor<2x6x5x3xf32>, tensor<6x5x27x4xf32>) -> tensor<2x6x5x4xf32>
    return %0 : tensor<2x6x5x4xf32>
  }
  func.func private @hwio_small_matmuls_accumulate_impl(%arg0: tensor<2x6x5x3xf32>, %arg1: tensor<6x5x27x4xf32>) -> tensor<2x6x5x4xf32> {
    %0 = stablehlo.transpose %arg0, dims = [1, 2, 0, 3] : (tensor<2x6x5x3xf32>) -> tensor<6x5x2x3xf32>
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %1 = stablehlo.pad %0, %cst, low = [1, 1, 0, 0], high = [1, 1, 0, 0], interior = [0, 0, 0, 0] : (tensor<6x5x2x3xf32>, tensor<f32>) -> tensor<8x7x2x3xf32>
    %2 = stablehlo.slice %1 [0:6, 0:5, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %3 = stablehlo.reshape %2 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %4 = stablehlo.slice %1 [0:6, 1:6, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %5 = stablehlo.reshape %4 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %6 = stablehlo.slice %1 [0:6, 2:7, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %7 = stablehlo.reshape %6 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %8 = stablehlo.slice %1 [1:7, 0:5, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %9 = stablehlo.reshape %8 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %10 = stablehlo.slice %1 [1:7, 1:6, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %11 = stablehlo.reshape %10 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %12 = stablehlo.slice %1 [1:7, 2:7, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %13 = stablehlo.reshape %12 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %14 = stablehlo.slice %1 [2:8, 0:5, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %15 = stablehlo.reshape %14 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %16 = stablehlo.slice %1 [2:8, 1:6, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %17 = stablehlo.reshape %16 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %18 = stablehlo.slice %1 [2:8, 2:7, 0:2, 0:3] : (tensor<8x7x2x3xf32>) -> tensor<6x5x2x3xf32>
    %19 = stablehlo.reshape %18 : (tensor<6x5x2x3xf32>) -> tensor<6x5x2x3x1xf32>
    %20 = stablehlo.concatenate %3, %5, %7, %9, %11, %13, %15, %17, %19, dim = 4 : (tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>, tensor<6x5x2x3x1xf32>) -> tensor<6x5x2x3x9xf32>
    %21 = stablehlo.reshape %20 : (tensor<6x5x2x3x9xf32>) -> tensor<6x5x2x27xf32>
    %22 = stablehlo.dot_general %21, %arg1, batching_dims = [0, 1] x [0, 1], contracting_dims = [3] x [2], precision = [DEFAULT, DEFAULT] {localconv.strategy = "batched_dot"} : (tensor<6x5x2x27xf32>, tensor<6x5x27x4xf32>) -> tensor<6x5x2x4xf32>
    %23 = stablehlo.transpose %22, dims = [2, 0, 1, 3] : (tensor<6x5x2x4xf32>) -> tensor<2x6x5x4xf32>
    return %23 : tensor<2x6x5x4xf32>
  }

  func.func @batch_68_short_rows_small_rhs(%arg0: tensor<68x3x6x5xf32>, %arg1: tensor<4x27x6x5xf32>) -> tensor<68x4x6x5xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCHW", "OIHW", "NCHW"], filter_shape = array<i64: 3, 3>, lhs_dilation = array<i64: 1, 1>, padding = dense<1> : tensor<2x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1, 1>, window_strides = array<i64: 1, 1>}, decomposition = @batch_68_short_rows_small_rhs_impl, version = 1 : i32} : (tensor<68x3x6x5xf32>, tensor<4x27x6x5xf32>) -> tensor<68x4x6x5xf32>
    return %0 : tensor<68x4x6x5xf32>
  }
  func.func private @batch_68_short_rows_small_rhs_impl(%arg0: tensor<68x3x6x5xf32>, %arg1: tensor<4x27x6x5xf32>) -> tensor<68x4x6x5xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 3, 0, 1] : (tensor<68x3x6x5xf32>) -> tensor<6x5x68x3xf32>
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %1 = stablehlo.pad %0, %cst, low = [1, 1, 0, 0], high = [1, 1, 0, 0], interior = [0, 0, 0, 0] : (tensor<6x5x68x3xf32>, tensor<f32>) -> tensor<8x7x68x3xf32>
    %2 = stablehlo.slice %1 [0:6, 0:5, 0:68, 0:3] : (tensor<8x7x68x3xf32>) -> tensor<6x5x68x3xf32>
    %3 = stablehlo.reshape %2 : (tensor<6x5x68x3xf32>) -> tensor<6x5x68x3x1xf32>
    %4 = stablehlo.slice %1 [0:6, 1:6, 0:68, 0:3] : (tensor<8x7x68x3xf32>) -> tensor<6x5x68x3xf32>
    %5 = stablehlo.reshape %4 : (tensor<6x5x68x3xf32>) -> tensor<6x5x68x3x1xf32>
    %6 = stablehlo.slice %1 [0:6, 2:7, 0:68, 0:3] : (tensor<8x7x68x3xf32>) -> tensor<6x5x68x3xf32>
    %7 = stablehlo.reshape %6 : (tensor<6x5x68x3xf32>) -> tensor<6x5x68x3x1xf32>
    %8 = stablehlo.slice %1 [1:7, 0:5, 0:68, 0:3] : (tensor<8x7x68x3xf32>) -> tensor<6x5x68x3xf32>
    %9 = stablehlo.reshape %8 : (tensor<6x5x68x3xf32>) -> tensor<6x5x68x3x1xf32>
    %10 = stablehlo.slice %1 [1:7, 1:6, 0:68, 0:3] : (tensor<8x7x68x3xf32>) -> tensor<6x5x68x3xf32>
    %11 = stablehlo.reshape %10 : (tensor<6x5x68x3xf32>) -> tensor<6x5x68x3x1xf32>
    %12 = stablehlo.slice %1 [1:7, 2:7, 0:68, 0:3] : (tensor<8x7x68x3xf32>) -> tensor<6x5x68x3xf32>
    %13 = stablehlo.reshape %12 : (tensor<6x5x68x3xf32>) -> tensor<6x5x68x3x1xf32>
    %14 = stablehlo.slice %1 [2:8, 0:5, 0:68, 0:3] : (tensor<8x7x68x3xf32>) -> tensor<6x5x68x3xf32>
    %15 = stablehlo.reshape %14 : (tensor<6x5x68x3xf32>) -> tensor<6x5x68x3x1xf32>
    %16 = stablehlo.slice %1 [2:8, 1:6, 0:68, 0:3] : (tensor<8x7x68x3xf32>) -> tensor<6x5x68x3xf32>
    %17 = stablehlo.reshape %16 : (tensor<6x5x68x3xf32>) -> tensor<6x5x68x3x1xf32>
    %18 = stablehlo.slice %1 [2:8, 2:7, 0:68, 0:3] : (tensor<8x7x68x3xf32>) -> tensor<6x5x68x3xf32>
    %19 = stablehlo.reshape %18 : (tensor<6x5x68x3xf32>) -> tensor<6x5x68x3x1xf32>
    %20 = stablehlo.concatenate %3, %5, %7, %9, %11, %13, %15, %17, %19, dim = 4 : (tensor<6x5x68x3x1xf32>, tensor<6x5x68x3x1xf32>, tensor<6x5x68x3x1xf32>, tensor<6x5x68x3x1xf32>, tensor<6x5x68x3x1xf32>, tensor<6x5x68x3x1xf32>, tensor<6x5x68x3x1xf32>, tensor<6x5x68x3x1xf32>, tensor<6x5x68x3x1xf32>) -> tensor<6x5x68x3x9xf32>
    %21 = stablehlo.reshape %20 : (tensor<6x5x68x3x9xf32>) -> tensor<6x5x68x27xf32>
    %22 = stablehlo.dot_general %21, %arg1, batching_dims = [0, 1] x [2, 3], contracting_dims = [3] x [1], precision = [DEFAULT, DEFAULT] {localconv.strategy = "batched_dot"} : (tensor<6x5x68x27xf32>, tensor<4x27x6x5xf32>) -> tensor<6x5x68x4xf32>
    %23 = stablehlo.transpose %22, dims = [2, 3, 0, 1] : (tensor<6x5x68x4xf32>) -> tensor<68x4x6x5xf32>
    return %23 : tensor<68x4x6x5xf32>
  }

  func.func @batch_64_short_rows_vectors_along_batch(%arg0: tensor<64x3x6x5xf32>, %arg1: tensor<4x27x6x5xf32>) -> tensor<64x4x6x5xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCHW", "OIHW", "NCHW"], filter_shape = array<i64: 3, 3>, lhs_dilation = array<i64: 1, 1>, padding = dense<1> : tensor<2x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1, 1>, window_strides = array<i64: 1, 1>}, decomposition = @batch_64_short_rows_vectors_along_batch_impl, version = 1 : i32} : (tensor<64x3x6x5xf32>, tensor<4x27x6x5xf32>) -> tensor<64x4x6x5xf32>
    return %0 : tensor<64x4x6x5xf32>
  }
  func.func private @batch_64_short_rows_vectors_along_batch_impl(%arg0: tensor<64x3x6x5xf32>, %arg1: tensor<4x27x6x5xf32>) -> tensor<64x4x6x5xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 3, 0, 1] : (tensor<64x3x6x5xf32>) -> tensor<6x5x64x3xf32>
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %1 = stablehlo.pad %0, %cst, low = [1, 1, 0, 0], high = [1, 1, 0, 0], interior = [0, 0, 0, 0] : (tensor<6x5x64x3xf32>, tensor<f32>) -> tensor<8x7x64x3xf32>
    %2 = stablehlo.slice %1 [0:6, 0:5, 0:64, 0:3] : (tensor<8x7x64x3xf32>) -> tensor<6x5x64x3xf32>
    %3 = stablehlo.reshape %2 : (tensor<6x5x64x3xf32>) -> tensor<6x5x64x3x1xf32>
    %4 = stablehlo.slice %1 [0:6, 1:6, 0:64, 0:3] : (tensor<8x7x64x3xf32>) -> tensor<6x5x64x3xf32>
    %5 = stablehlo.reshape %4 : (tensor<6x5x64x3xf32>) -> tensor<6x5x64x3x1xf32>
    %6 = stablehlo.slice %1 [0:6, 2:7, 0:64, 0:3] : (tensor<8x7x64x3xf32>) -> tensor<6x5x64x3xf32>
    %7 = stablehlo.reshape %6 : (tensor<6x5x64x3xf32>) -> tensor<6x5x64x3x1xf32>
    %8 = stablehlo.slice %1 [1:7, 0:5, 0:64, 0:3] : (tensor<8x7x64x3xf32>) -> tensor<6x5x64x3xf32>
    %9 = stablehlo.reshape %8 : (tensor<6x5x64x3xf32>) -> tensor<6x5x64x3x1xf32>
    %10 = stablehlo.slice %1 [1:7, 1:6, 0:64, 0:3] : (tensor<8x7x64x3xf32>) -> tensor<6x5x64x3xf32>
    %11 = stablehlo.reshape %10 : (tensor<6x5x64x3xf32>) -> tensor<6x5x64x3x1xf32>
    %12 = stablehlo.slice %1 [1:7, 2:7, 0:64, 0:3] : (tensor<8x7x64x3xf32>) -> tensor<6x5x64x3xf32>
    %13 = stablehlo.reshape %12 : (tensor<6x5x64x3xf32>) -> tensor<6x5x64x3x1xf32>
    %14 = stablehlo.slice %1 [2:8, 0:5, 0:64, 0:3] : (tensor<8x7x64x3xf32>) -> tensor<6x5x64x3xf32>
    %15 = stablehlo.reshape %14 : (tensor<6x5x64x3xf32>) -> tensor<6x5x64x3x1xf32>
    %16 = stablehlo.slice %1 [2:8, 1:6, 0:64, 0:3] : (tensor<8x7x64x3xf32>) -> tensor<6x5x64x3xf32>
    %17 = stablehlo.reshape %16 : (tensor<6x5x64x3xf32>) -> tensor<6x5x64x3x1xf32>
    %18 = stablehlo.slice %1 [2:8, 2:7, 0:64, 0:3] : (tensor<8x7x64x3xf32>) -> tensor<6x5x64x3xf32>
    %19 = stablehlo.reshape %18 : (tensor<6x5x64x3xf32>) -> tensor<6x5x64x3x1xf32>
    %20 = stablehlo.concatenate %3, %5, %7, %9, %11, %13, %15, %17, %19, dim = 4 : (tensor<6x5x64x3x1xf32>, tensor<6x5x64x3x1xf32>, tensor<6x5x64x3x1xf32>, tensor<6x5x64x3x1xf32>, tensor<6x5x64x3x1xf32>, tensor<6x5x64x3x1xf32>, tensor<6x5x64x3x1xf32>, tensor<6x5x64x3x1xf32>, tensor<6x5x64x3x1xf32>) -> tensor<6x5x64x3x9xf32>
    %21 = stablehlo.reshape %20 : (tensor<6x5x64x3x9xf32>) -> tensor<6x5x64x27xf32>
    %22 = stablehlo.dot_general %21, %arg1, batching_dims = [0, 1] x [2, 3], contracting_dims = [3] x [1], precision = [DEFAULT, DEFAULT] {localconv.strategy = "batched_dot"} : (tensor<6x5x64x27xf32>, tensor<4x27x6x5xf32>) -> tensor<6x5x64x4xf32>
    %23 = stablehlo.transpose %22, dims = [2, 3, 0, 1] : (tensor<6x5x64x4xf32>) -> tensor<64x4x6x5xf32>
    return %23 : tensor<64x4x6x5xf32>
  }

  func.func @batch_64_wide_outputs_accumulate(%arg0: tensor<64x32x3x3xf32>, %arg1: tensor<512x288x1x1xf32>) -> tensor<64x512x1x1xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCHW", "OIHW", "NCHW"], filter_shape = array<i64: 3, 3>, lhs_dilation = array<i64: 1, 1>, padding = dense<0> : tensor<2x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1, 1>, window_strides = array<i64: 1, 1>}, decomposition = @batch_64_wide_outputs_impl, version = 1 : i32} : (tensor<64x32x3x3xf32>, tensor<512x288x1x1xf32>) -> tensor<64x512x1x1xf32>
    return %0 : tensor<64x512x1x1xf32>
  }
  // The decomposition's body is never used by these passes; the composite only needs one.
  func.func private @batch_64_wide_outputs_impl(%arg0: tensor<64x32x3x3xf32>, %arg1: tensor<512x288x1x1xf32>) -> tensor<64x512x1x1xf32> {
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<64x512x1x1xf32>
    return %cst : tensor<64x512x1x1xf32>
  }
}
