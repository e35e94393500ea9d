// localconv-patches-to-gather: a concatenate of strided slices of one tensor, each reshaped to
// insert a unit dim at the concatenation dim, becomes one gather whose indices are computed
// from iota. Slices of a pad and of the pad's operand (as slice-of-pad folding leaves them)
// are put back on the pad. Anything else is left alone.

// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-patches-to-gather)' | FileCheck %s

module {
  // Two window offsets, stride 2 along the last dim (feature-major: the stack right after C).
  // CHECK-LABEL: func.func @strided_window(
  // CHECK-SAME: %[[X:.*]]: tensor<4x3x9xf32>
  // CHECK-DAG: %[[STARTS:.*]] = stablehlo.constant dense<[0, 1]> : tensor<2xi32>
  // CHECK-DAG: %[[TWO:.*]] = stablehlo.constant dense<2> : tensor<i32>
  // CHECK: %[[IOTA:.*]] = stablehlo.iota dim = 1 : tensor<2x4xi32>
  // CHECK: %[[STEP:.*]] = stablehlo.broadcast_in_dim %[[TWO]], dims = [] : (tensor<i32>) -> tensor<2x4xi32>
  // CHECK: %[[SCALED:.*]] = stablehlo.multiply %[[IOTA]], %[[STEP]]
  // CHECK: %[[FIRST:.*]] = stablehlo.broadcast_in_dim %[[STARTS]], dims = [0] : (tensor<2xi32>) -> tensor<2x4xi32>
  // CHECK: %[[INDEX:.*]] = stablehlo.add %[[SCALED]], %[[FIRST]]
  // CHECK: %[[INDICES:.*]] = stablehlo.reshape %[[INDEX]] : (tensor<2x4xi32>) -> tensor<2x4x1xi32>
  // CHECK: %[[G:.*]] = "stablehlo.gather"(%[[X]], %[[INDICES]])
  // CHECK-SAME: offset_dims = [0, 1], collapsed_slice_dims = [2], start_index_map = [2], index_vector_dim = 2
  // CHECK-SAME: slice_sizes = array<i64: 4, 3, 1>
  // CHECK-SAME: -> tensor<4x3x2x4xf32>
  // CHECK-NOT: stablehlo.concatenate
  // CHECK: return %[[G]]
  func.func @strided_window(%arg0: tensor<4x3x9xf32>) -> tensor<4x3x2x4xf32> {
    %0 = stablehlo.slice %arg0 [0:4, 0:3, 0:7:2] : (tensor<4x3x9xf32>) -> tensor<4x3x4xf32>
    %1 = stablehlo.reshape %0 : (tensor<4x3x4xf32>) -> tensor<4x3x1x4xf32>
    %2 = stablehlo.slice %arg0 [0:4, 0:3, 1:8:2] : (tensor<4x3x9xf32>) -> tensor<4x3x4xf32>
    %3 = stablehlo.reshape %2 : (tensor<4x3x4xf32>) -> tensor<4x3x1x4xf32>
    %4 = stablehlo.concatenate %1, %3, dim = 2 : (tensor<4x3x1x4xf32>, tensor<4x3x1x4xf32>) -> tensor<4x3x2x4xf32>
    return %4 : tensor<4x3x2x4xf32>
  }

  // A 2x2 window with stride 1 over two spatial dims, spatial-major (stack after N and C):
  // one index component per spatial dim, no multiply for unit strides.
  // CHECK-LABEL: func.func @two_spatial_dims(
  // CHECK-DAG: stablehlo.constant dense<[0, 0, 1, 1]> : tensor<4xi32>
  // CHECK-DAG: stablehlo.constant dense<[0, 1, 0, 1]> : tensor<4xi32>
  // CHECK-NOT: stablehlo.multiply
  // CHECK: stablehlo.iota dim = 0 : tensor<2x3x4xi32>
  // CHECK: stablehlo.iota dim = 1 : tensor<2x3x4xi32>
  // CHECK: %[[INDICES:.*]] = stablehlo.concatenate {{.*}}, dim = 3 : (tensor<2x3x4x1xi32>, tensor<2x3x4x1xi32>) -> tensor<2x3x4x2xi32>
  // CHECK: "stablehlo.gather"(%arg0, %[[INDICES]])
  // CHECK-SAME: offset_dims = [2, 3], collapsed_slice_dims = [0, 1], start_index_map = [0, 1], index_vector_dim = 3
  // CHECK-SAME: -> tensor<2x3x5x2x4xf32>
  func.func @two_spatial_dims(%arg0: tensor<3x4x5x2xf32>) -> tensor<2x3x5x2x4xf32> {
    %0 = stablehlo.slice %arg0 [0:2, 0:3, 0:5, 0:2] : (tensor<3x4x5x2xf32>) -> tensor<2x3x5x2xf32>
    %1 = stablehlo.reshape %0 : (tensor<2x3x5x2xf32>) -> tensor<2x3x5x2x1xf32>
    %2 = stablehlo.slice %arg0 [0:2, 1:4, 0:5, 0:2] : (tensor<3x4x5x2xf32>) -> tensor<2x3x5x2xf32>
    %3 = stablehlo.reshape %2 : (tensor<2x3x5x2xf32>) -> tensor<2x3x5x2x1xf32>
    %4 = stablehlo.slice %arg0 [1:3, 0:3, 0:5, 0:2] : (tensor<3x4x5x2xf32>) -> tensor<2x3x5x2xf32>
    %5 = stablehlo.reshape %4 : (tensor<2x3x5x2xf32>) -> tensor<2x3x5x2x1xf32>
    %6 = stablehlo.slice %arg0 [1:3, 1:4, 0:5, 0:2] : (tensor<3x4x5x2xf32>) -> tensor<2x3x5x2xf32>
    %7 = stablehlo.reshape %6 : (tensor<2x3x5x2xf32>) -> tensor<2x3x5x2x1xf32>
    %8 = stablehlo.concatenate %1, %3, %5, %7, dim = 4 : (tensor<2x3x5x2x1xf32>, tensor<2x3x5x2x1xf32>, tensor<2x3x5x2x1xf32>, tensor<2x3x5x2x1xf32>) -> tensor<2x3x5x2x4xf32>
    return %8 : tensor<2x3x5x2x4xf32>
  }

  // SAME padding after slice-of-pad folding: the middle offset reads the unpadded input
  // (whole, so no slice at all), the others read the pad (interior 1 for lhs dilation 2).
  // The gather reads the pad; the middle offset's start maps to low + 2 * 0 = 1.
  // CHECK-LABEL: func.func @pad_and_its_operand(
  // CHECK-SAME: %[[X:.*]]: tensor<2x3xf32>
  // CHECK: stablehlo.constant dense<[0, 1, 2]> : tensor<3xi32>
  // CHECK: %[[P:.*]] = stablehlo.pad %[[X]]
  // CHECK: "stablehlo.gather"(%[[P]],
  // CHECK-SAME: -> tensor<2x3x3xf32>
  // CHECK-NOT: stablehlo.concatenate
  func.func @pad_and_its_operand(%arg0: tensor<2x3xf32>) -> tensor<2x3x3xf32> {
    %zero = stablehlo.constant dense<0.0> : tensor<f32>
    %p = stablehlo.pad %arg0, %zero, low = [0, 1], high = [0, 1], interior = [0, 1] : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x7xf32>
    %0 = stablehlo.slice %p [0:2, 0:5:2] : (tensor<2x7xf32>) -> tensor<2x3xf32>
    %1 = stablehlo.reshape %0 : (tensor<2x3xf32>) -> tensor<2x1x3xf32>
    %2 = stablehlo.reshape %arg0 : (tensor<2x3xf32>) -> tensor<2x1x3xf32>
    %3 = stablehlo.slice %p [0:2, 2:7:2] : (tensor<2x7xf32>) -> tensor<2x3xf32>
    %4 = stablehlo.reshape %3 : (tensor<2x3xf32>) -> tensor<2x1x3xf32>
    %5 = stablehlo.concatenate %1, %2, %4, dim = 1 : (tensor<2x1x3xf32>, tensor<2x1x3xf32>, tensor<2x1x3xf32>) -> tensor<2x3x3xf32>
    return %5 : tensor<2x3x3xf32>
  }

  // Not a patch stack: different strides, different unrelated sources, a concatenation along
  // an existing dim, and an operand that is not a slice.
  // CHECK-LABEL: func.func @left_alone(
  // CHECK-NOT: stablehlo.gather
  // CHECK-COUNT-4: stablehlo.concatenate
  // CHECK: return
  func.func @left_alone(%arg0: tensor<8xf32>, %arg1: tensor<8xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<8xf32>, tensor<2x4xf32>) {
    %0 = stablehlo.slice %arg0 [0:4] : (tensor<8xf32>) -> tensor<4xf32>
    %1 = stablehlo.reshape %0 : (tensor<4xf32>) -> tensor<1x4xf32>
    %2 = stablehlo.slice %arg0 [0:8:2] : (tensor<8xf32>) -> tensor<4xf32>
    %3 = stablehlo.reshape %2 : (tensor<4xf32>) -> tensor<1x4xf32>
    %strides = stablehlo.concatenate %1, %3, dim = 0 : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
    %4 = stablehlo.slice %arg1 [1:5] : (tensor<8xf32>) -> tensor<4xf32>
    %5 = stablehlo.reshape %4 : (tensor<4xf32>) -> tensor<1x4xf32>
    %sources = stablehlo.concatenate %1, %5, dim = 0 : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
    %6 = stablehlo.slice %arg0 [4:8] : (tensor<8xf32>) -> tensor<4xf32>
    %existing = stablehlo.concatenate %0, %6, dim = 0 : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32>
    %7 = stablehlo.exponential %1 : tensor<1x4xf32>
    %not_slice = stablehlo.concatenate %1, %7, dim = 0 : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
    return %strides, %sources, %existing, %not_slice : tensor<2x4xf32>, tensor<2x4xf32>, tensor<8xf32>, tensor<2x4xf32>
  }

  // A pad whose negative high padding cuts its operand short: x[3:5] is not in the pad, so
  // the piece reading it cannot be re-expressed on the pad (a gather would clamp it).
  // CHECK-LABEL: func.func @pad_cutting_its_operand_short(
  // CHECK-NOT: stablehlo.gather
  // CHECK: stablehlo.concatenate
  func.func @pad_cutting_its_operand_short(%arg0: tensor<5xf32>) -> tensor<2x2xf32> {
    %zero = stablehlo.constant dense<0.0> : tensor<f32>
    %p = stablehlo.pad %arg0, %zero, low = [1], high = [-2], interior = [0] : (tensor<5xf32>, tensor<f32>) -> tensor<4xf32>
    %0 = stablehlo.slice %p [0:2] : (tensor<4xf32>) -> tensor<2xf32>
    %1 = stablehlo.reshape %0 : (tensor<2xf32>) -> tensor<1x2xf32>
    %2 = stablehlo.slice %arg0 [3:5] : (tensor<5xf32>) -> tensor<2xf32>
    %3 = stablehlo.reshape %2 : (tensor<2xf32>) -> tensor<1x2xf32>
    %4 = stablehlo.concatenate %1, %3, dim = 0 : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<2x2xf32>
    return %4 : tensor<2x2xf32>
  }
}
