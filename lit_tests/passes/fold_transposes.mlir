// localconv-fold-transposes: a transpose feeding a dot_general operand is absorbed into the
// dot's dimension numbers when it keeps that operand's free dims in order; transpose chains
// compose; identity transposes vanish. One case per function.

// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-fold-transposes)' | FileCheck %s

module {
  // The shape localconv-recognize-jax-patches leaves behind: patches [H, W, N, C*K] transposed
  // to JAX's [N, C*K, H, W] layout before the dot. The only free dim (N) stays first, so the
  // dot reads the patches directly.
  // CHECK-LABEL: func.func @transpose_into_dot_lhs_is_folded(
  // CHECK-SAME: %[[P:.*]]: tensor<4x4x2x18xf32>, %[[W:.*]]: tensor<5x18x4x4xf32>
  // CHECK-NOT: stablehlo.transpose
  // CHECK: %[[D:.*]] = stablehlo.dot_general %[[P]], %[[W]], batching_dims = [0, 1] x [2, 3], contracting_dims = [3] x [1], precision = [DEFAULT, DEFAULT] : (tensor<4x4x2x18xf32>, tensor<5x18x4x4xf32>) -> tensor<4x4x2x5xf32>
  // CHECK-NOT: stablehlo.transpose
  // CHECK: return %[[D]]
  func.func @transpose_into_dot_lhs_is_folded(%arg0: tensor<4x4x2x18xf32>, %arg1: tensor<5x18x4x4xf32>) -> tensor<4x4x2x5xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 3, 0, 1] : (tensor<4x4x2x18xf32>) -> tensor<2x18x4x4xf32>
    %1 = stablehlo.dot_general %0, %arg1, batching_dims = [2, 3] x [2, 3], contracting_dims = [1] x [1], precision = [DEFAULT, DEFAULT] : (tensor<2x18x4x4xf32>, tensor<5x18x4x4xf32>) -> tensor<4x4x2x5xf32>
    return %1 : tensor<4x4x2x5xf32>
  }

  // Both operands transposed, free dims in order on each side; the precision config survives.
  // CHECK-LABEL: func.func @transposes_into_both_dot_operands_are_folded(
  // CHECK-SAME: %[[A:.*]]: tensor<3x6x2xf32>, %[[B:.*]]: tensor<7x6x3xf32>
  // CHECK-NOT: stablehlo.transpose
  // CHECK: %[[D:.*]] = stablehlo.dot_general %[[A]], %[[B]], batching_dims = [0] x [2], contracting_dims = [1] x [1], precision = [HIGHEST, DEFAULT] : (tensor<3x6x2xf32>, tensor<7x6x3xf32>) -> tensor<3x2x7xf32>
  // CHECK: return %[[D]]
  func.func @transposes_into_both_dot_operands_are_folded(%arg0: tensor<3x6x2xf32>, %arg1: tensor<7x6x3xf32>) -> tensor<3x2x7xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 0, 1] : (tensor<3x6x2xf32>) -> tensor<2x3x6xf32>
    %1 = stablehlo.transpose %arg1, dims = [2, 1, 0] : (tensor<7x6x3xf32>) -> tensor<3x6x7xf32>
    %2 = stablehlo.dot_general %0, %1, batching_dims = [1] x [0], contracting_dims = [2] x [1], precision = [HIGHEST, DEFAULT] : (tensor<2x3x6xf32>, tensor<3x6x7xf32>) -> tensor<3x2x7xf32>
    return %2 : tensor<3x2x7xf32>
  }

  // The transpose swaps the two free dims of the lhs: folding it would transpose the result, so
  // it stays.
  // CHECK-LABEL: func.func @transpose_reordering_free_dims_is_not_folded(
  // CHECK-SAME: %[[A:.*]]: tensor<4x5x6xf32>, %[[B:.*]]: tensor<6x7xf32>
  // CHECK: %[[T:.*]] = stablehlo.transpose %[[A]], dims = [1, 0, 2]
  // CHECK: stablehlo.dot_general %[[T]], %[[B]], contracting_dims = [2] x [0]
  func.func @transpose_reordering_free_dims_is_not_folded(%arg0: tensor<4x5x6xf32>, %arg1: tensor<6x7xf32>) -> tensor<5x4x7xf32> {
    %0 = stablehlo.transpose %arg0, dims = [1, 0, 2] : (tensor<4x5x6xf32>) -> tensor<5x4x6xf32>
    %1 = stablehlo.dot_general %0, %arg1, contracting_dims = [2] x [0] : (tensor<5x4x6xf32>, tensor<6x7xf32>) -> tensor<5x4x7xf32>
    return %1 : tensor<5x4x7xf32>
  }

  // CHECK-LABEL: func.func @transpose_of_transpose_is_composed(
  // CHECK-SAME: %[[X:.*]]: tensor<2x3x4xf32>
  // CHECK: %[[T:.*]] = stablehlo.transpose %[[X]], dims = [2, 0, 1] : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  // CHECK-NOT: stablehlo.transpose
  // CHECK: return %[[T]]
  func.func @transpose_of_transpose_is_composed(%arg0: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
    %0 = stablehlo.transpose %arg0, dims = [1, 0, 2] : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
    %1 = stablehlo.transpose %0, dims = [2, 1, 0] : (tensor<3x2x4xf32>) -> tensor<4x2x3xf32>
    return %1 : tensor<4x2x3xf32>
  }

  // Two transposes that undo each other leave nothing.
  // CHECK-LABEL: func.func @inverse_transposes_cancel(
  // CHECK-NOT: stablehlo.transpose
  // CHECK: return %arg0
  func.func @inverse_transposes_cancel(%arg0: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 0, 1] : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
    %1 = stablehlo.transpose %0, dims = [1, 2, 0] : (tensor<4x2x3xf32>) -> tensor<2x3x4xf32>
    return %1 : tensor<2x3x4xf32>
  }

  // CHECK-LABEL: func.func @identity_transpose_is_removed(
  // CHECK-NOT: stablehlo.transpose
  // CHECK: return %arg0
  func.func @identity_transpose_is_removed(%arg0: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
    %0 = stablehlo.transpose %arg0, dims = [0, 1, 2] : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
    return %0 : tensor<2x3x4xf32>
  }

  // A result transpose that only swaps the lhs-free and rhs-free groups is placed into the
  // dot itself: swapping the operands writes [batch, rhs free, lhs free] directly.
  // CHECK-LABEL: func.func @result_transpose_becomes_operand_swap(
  // CHECK-SAME: %[[A:.*]]: tensor<6x2x27xf32>, %[[B:.*]]: tensor<6x27x4xf32>
  // CHECK-NOT: stablehlo.transpose
  // CHECK: %[[D:.*]] = stablehlo.dot_general %[[B]], %[[A]], batching_dims = [0] x [0], contracting_dims = [1] x [2], precision = [HIGHEST, DEFAULT] {localconv.strategy = "batched_dot"} : (tensor<6x27x4xf32>, tensor<6x2x27xf32>) -> tensor<6x4x2xf32>
  // CHECK: return %[[D]]
  func.func @result_transpose_becomes_operand_swap(%arg0: tensor<6x2x27xf32>, %arg1: tensor<6x27x4xf32>) -> tensor<6x4x2xf32> {
    %0 = stablehlo.dot_general %arg0, %arg1, batching_dims = [0] x [0], contracting_dims = [2] x [1], precision = [DEFAULT, HIGHEST] {localconv.strategy = "batched_dot"} : (tensor<6x2x27xf32>, tensor<6x27x4xf32>) -> tensor<6x2x4xf32>
    %1 = stablehlo.transpose %0, dims = [0, 2, 1] : (tensor<6x2x4xf32>) -> tensor<6x4x2xf32>
    return %1 : tensor<6x4x2xf32>
  }

  // Any other result order keeps its transpose (the swap would not remove it).
  // CHECK-LABEL: func.func @other_result_transpose_is_kept(
  // CHECK: %[[D:.*]] = stablehlo.dot_general %arg0, %arg1
  // CHECK: stablehlo.transpose %[[D]], dims = [1, 0, 2]
  func.func @other_result_transpose_is_kept(%arg0: tensor<6x2x27xf32>, %arg1: tensor<6x27x4xf32>) -> tensor<2x6x4xf32> {
    %0 = stablehlo.dot_general %arg0, %arg1, batching_dims = [0] x [0], contracting_dims = [2] x [1] : (tensor<6x2x27xf32>, tensor<6x27x4xf32>) -> tensor<6x2x4xf32>
    %1 = stablehlo.transpose %0, dims = [1, 0, 2] : (tensor<6x2x4xf32>) -> tensor<2x6x4xf32>
    return %1 : tensor<2x6x4xf32>
  }

  // A dot whose result has another user keeps its transpose (swapping would duplicate it).
  // CHECK-LABEL: func.func @shared_dot_result_is_not_swapped(
  // CHECK: stablehlo.transpose
  func.func @shared_dot_result_is_not_swapped(%arg0: tensor<6x2x27xf32>, %arg1: tensor<6x27x4xf32>) -> (tensor<6x4x2xf32>, tensor<6x2x4xf32>) {
    %0 = stablehlo.dot_general %arg0, %arg1, batching_dims = [0] x [0], contracting_dims = [2] x [1] : (tensor<6x2x27xf32>, tensor<6x27x4xf32>) -> tensor<6x2x4xf32>
    %1 = stablehlo.transpose %0, dims = [0, 2, 1] : (tensor<6x2x4xf32>) -> tensor<6x4x2xf32>
    return %1, %0 : tensor<6x4x2xf32>, tensor<6x2x4xf32>
  }
}
