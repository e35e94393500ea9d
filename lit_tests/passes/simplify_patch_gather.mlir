// localconv-simplify-patch-gather: space-to-depth for windows that tile the input, slices that
// skip a pad's padding read the pad's operand, pads of pads merge, reshape and slice chains
// collapse. The gathers below are the ones the default lowering emits (after its leading
// transpose), one case per function.

// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-simplify-patch-gather)' | FileCheck %s

module {
  // 2x2 windows with stride 2 on a 4x4 input: the four strided slices and their concatenation
  // become one reshape + transpose + reshape.
  // CHECK-LABEL: func.func @stride_equals_window_uses_reshape(
  // CHECK-SAME: %[[X:.*]]: tensor<4x4x1x3xf32>
  // CHECK-NOT: stablehlo.slice
  // CHECK: %[[SPLIT:.*]] = stablehlo.reshape %[[X]] : (tensor<4x4x1x3xf32>) -> tensor<2x2x2x2x1x3xf32>
  // CHECK: %[[MOVED:.*]] = stablehlo.transpose %[[SPLIT]], dims = [0, 2, 4, 5, 1, 3]
  // CHECK: %[[OUT:.*]] = stablehlo.reshape %[[MOVED]] {{.*}} -> tensor<2x2x1x12xf32>
  // CHECK-NOT: stablehlo.slice
  // CHECK-NOT: stablehlo.concatenate
  // CHECK: return %[[OUT]]
  func.func @stride_equals_window_uses_reshape(%arg0: tensor<4x4x1x3xf32>) -> tensor<2x2x1x12xf32> {
    %1 = stablehlo.slice %arg0 [0:3:2, 0:3:2, 0:1, 0:3] : (tensor<4x4x1x3xf32>) -> tensor<2x2x1x3xf32>
    %2 = stablehlo.reshape %1 : (tensor<2x2x1x3xf32>) -> tensor<2x2x1x3x1xf32>
    %3 = stablehlo.slice %arg0 [0:3:2, 1:4:2, 0:1, 0:3] : (tensor<4x4x1x3xf32>) -> tensor<2x2x1x3xf32>
    %4 = stablehlo.reshape %3 : (tensor<2x2x1x3xf32>) -> tensor<2x2x1x3x1xf32>
    %5 = stablehlo.slice %arg0 [1:4:2, 0:3:2, 0:1, 0:3] : (tensor<4x4x1x3xf32>) -> tensor<2x2x1x3xf32>
    %6 = stablehlo.reshape %5 : (tensor<2x2x1x3xf32>) -> tensor<2x2x1x3x1xf32>
    %7 = stablehlo.slice %arg0 [1:4:2, 1:4:2, 0:1, 0:3] : (tensor<4x4x1x3xf32>) -> tensor<2x2x1x3xf32>
    %8 = stablehlo.reshape %7 : (tensor<2x2x1x3xf32>) -> tensor<2x2x1x3x1xf32>
    %9 = stablehlo.concatenate %2, %4, %6, %8, dim = 4 : (tensor<2x2x1x3x1xf32>, tensor<2x2x1x3x1xf32>, tensor<2x2x1x3x1xf32>, tensor<2x2x1x3x1xf32>) -> tensor<2x2x1x3x4xf32>
    %10 = stablehlo.reshape %9 : (tensor<2x2x1x3x4xf32>) -> tensor<2x2x1x12xf32>
    return %10 : tensor<2x2x1x12xf32>
  }

  // Window 2, stride 2 on 5 elements: the last element is never read, so one slice cuts it off
  // before the space-to-depth.
  // CHECK-LABEL: func.func @stride_equals_window_on_ragged_input_slices_once(
  // CHECK-SAME: %[[X:.*]]: tensor<5x1x1xf32>
  // CHECK: %[[COVERED:.*]] = stablehlo.slice %[[X]] [0:4, 0:1, 0:1]
  // CHECK: %[[SPLIT:.*]] = stablehlo.reshape %[[COVERED]] {{.*}} -> tensor<2x2x1x1xf32>
  // CHECK: %[[MOVED:.*]] = stablehlo.transpose %[[SPLIT]], dims = [0, 2, 3, 1]
  // CHECK: %[[OUT:.*]] = stablehlo.reshape %[[MOVED]] {{.*}} -> tensor<2x1x2xf32>
  // CHECK-NOT: stablehlo.slice
  // CHECK-NOT: stablehlo.concatenate
  // CHECK: return %[[OUT]]
  func.func @stride_equals_window_on_ragged_input_slices_once(%arg0: tensor<5x1x1xf32>) -> tensor<2x1x2xf32> {
    %1 = stablehlo.slice %arg0 [0:3:2, 0:1, 0:1] : (tensor<5x1x1xf32>) -> tensor<2x1x1xf32>
    %2 = stablehlo.reshape %1 : (tensor<2x1x1xf32>) -> tensor<2x1x1x1xf32>
    %3 = stablehlo.slice %arg0 [1:4:2, 0:1, 0:1] : (tensor<5x1x1xf32>) -> tensor<2x1x1xf32>
    %4 = stablehlo.reshape %3 : (tensor<2x1x1xf32>) -> tensor<2x1x1x1xf32>
    %5 = stablehlo.concatenate %2, %4, dim = 3 : (tensor<2x1x1x1xf32>, tensor<2x1x1x1xf32>) -> tensor<2x1x1x2xf32>
    %6 = stablehlo.reshape %5 : (tensor<2x1x1x2xf32>) -> tensor<2x1x2xf32>
    return %6 : tensor<2x1x2xf32>
  }

  // Window 3, stride 2: the windows overlap, so the slices stay.
  // CHECK-LABEL: func.func @overlapping_windows_keep_slices(
  // CHECK-SAME: %[[X:.*]]: tensor<7x1x2xf32>
  // CHECK-NOT: stablehlo.transpose
  // CHECK: stablehlo.slice %[[X]] [0:5:2, 0:1, 0:2]
  // CHECK: stablehlo.slice %[[X]] [1:6:2, 0:1, 0:2]
  // CHECK: stablehlo.slice %[[X]] [2:7:2, 0:1, 0:2]
  // CHECK: stablehlo.concatenate {{.*}} dim = 3
  // CHECK-NOT: stablehlo.transpose
  func.func @overlapping_windows_keep_slices(%arg0: tensor<7x1x2xf32>) -> tensor<3x1x6xf32> {
    %1 = stablehlo.slice %arg0 [0:5:2, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<3x1x2xf32>
    %2 = stablehlo.reshape %1 : (tensor<3x1x2xf32>) -> tensor<3x1x2x1xf32>
    %3 = stablehlo.slice %arg0 [1:6:2, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<3x1x2xf32>
    %4 = stablehlo.reshape %3 : (tensor<3x1x2xf32>) -> tensor<3x1x2x1xf32>
    %5 = stablehlo.slice %arg0 [2:7:2, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<3x1x2xf32>
    %6 = stablehlo.reshape %5 : (tensor<3x1x2xf32>) -> tensor<3x1x2x1xf32>
    %7 = stablehlo.concatenate %2, %4, %6, dim = 3 : (tensor<3x1x2x1xf32>, tensor<3x1x2x1xf32>, tensor<3x1x2x1xf32>) -> tensor<3x1x2x3xf32>
    %8 = stablehlo.reshape %7 : (tensor<3x1x2x3xf32>) -> tensor<3x1x6xf32>
    return %8 : tensor<3x1x6xf32>
  }

  // Stride 2 and two offsets, but the window is dilated (offsets 0 and 2, not 0 and 1): the
  // windows do not tile the input, so the slices stay.
  // CHECK-LABEL: func.func @dilated_window_with_stride_equal_to_window_size_keeps_slices(
  // CHECK-SAME: %[[X:.*]]: tensor<8x1x1xf32>
  // CHECK-NOT: stablehlo.transpose
  // CHECK: stablehlo.slice %[[X]] [0:5:2, 0:1, 0:1]
  // CHECK: stablehlo.slice %[[X]] [2:7:2, 0:1, 0:1]
  // CHECK: stablehlo.concatenate {{.*}} dim = 3
  // CHECK-NOT: stablehlo.transpose
  func.func @dilated_window_with_stride_equal_to_window_size_keeps_slices(%arg0: tensor<8x1x1xf32>) -> tensor<3x1x2xf32> {
    %1 = stablehlo.slice %arg0 [0:5:2, 0:1, 0:1] : (tensor<8x1x1xf32>) -> tensor<3x1x1xf32>
    %2 = stablehlo.reshape %1 : (tensor<3x1x1xf32>) -> tensor<3x1x1x1xf32>
    %3 = stablehlo.slice %arg0 [2:7:2, 0:1, 0:1] : (tensor<8x1x1xf32>) -> tensor<3x1x1xf32>
    %4 = stablehlo.reshape %3 : (tensor<3x1x1xf32>) -> tensor<3x1x1x1xf32>
    %5 = stablehlo.concatenate %2, %4, dim = 3 : (tensor<3x1x1x1xf32>, tensor<3x1x1x1xf32>) -> tensor<3x1x1x2xf32>
    %6 = stablehlo.reshape %5 : (tensor<3x1x1x2xf32>) -> tensor<3x1x2xf32>
    return %6 : tensor<3x1x2xf32>
  }

  // A 1x1 window with stride 1 (the default lowering's output for filter_shape 1): no gather.
  // CHECK-LABEL: func.func @one_by_one_window_leaves_no_gather(
  // CHECK-NOT: stablehlo.reshape
  // CHECK: %[[T:.*]] = stablehlo.transpose %arg0, dims = [2, 0, 1]
  // CHECK-NOT: stablehlo.reshape
  // CHECK: stablehlo.dot_general %[[T]], %arg1
  func.func @one_by_one_window_leaves_no_gather(%arg0: tensor<1x2x5xf32>, %arg1: tensor<4x2x5xf32>) -> tensor<1x4x5xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 0, 1] : (tensor<1x2x5xf32>) -> tensor<5x1x2xf32>
    %1 = stablehlo.reshape %0 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %2 = stablehlo.reshape %1 : (tensor<5x1x2x1xf32>) -> tensor<5x1x2xf32>
    %3 = stablehlo.dot_general %2, %arg1, batching_dims = [0] x [2], contracting_dims = [2] x [1], precision = [DEFAULT, DEFAULT] : (tensor<5x1x2xf32>, tensor<4x2x5xf32>) -> tensor<5x1x4xf32>
    %4 = stablehlo.transpose %3, dims = [1, 2, 0] : (tensor<5x1x4xf32>) -> tensor<1x4x5xf32>
    return %4 : tensor<1x4x5xf32>
  }

  // The slice reads rows 1..4 of the padded tensor, all inside the pad's operand: it slices the
  // operand instead, and the pad is gone.
  // CHECK-LABEL: func.func @slice_not_reading_padding_slices_pad_operand(
  // CHECK-SAME: %[[X:.*]]: tensor<6x3xf32>
  // CHECK-NOT: stablehlo.pad
  // CHECK: %[[S:.*]] = stablehlo.slice %[[X]] [0:4, 0:3]
  // CHECK-NOT: stablehlo.pad
  // CHECK: return %[[S]]
  func.func @slice_not_reading_padding_slices_pad_operand(%arg0: tensor<6x3xf32>) -> tensor<4x3xf32> {
    %zero = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %0 = stablehlo.pad %arg0, %zero, low = [1, 0], high = [1, 0], interior = [0, 0] : (tensor<6x3xf32>, tensor<f32>) -> tensor<8x3xf32>
    %1 = stablehlo.slice %0 [1:5, 0:3] : (tensor<8x3xf32>) -> tensor<4x3xf32>
    return %1 : tensor<4x3xf32>
  }

  // Interior padding 1 and stride 2 from an operand element: the slice steps over every inserted
  // zero, so it reads operand rows 1..3.
  // CHECK-LABEL: func.func @strided_slice_skipping_interior_padding_slices_pad_operand(
  // CHECK-SAME: %[[X:.*]]: tensor<4x3xf32>
  // CHECK-NOT: stablehlo.pad
  // CHECK: %[[S:.*]] = stablehlo.slice %[[X]] [1:4, 0:3]
  // CHECK-NOT: stablehlo.pad
  // CHECK: return %[[S]]
  func.func @strided_slice_skipping_interior_padding_slices_pad_operand(%arg0: tensor<4x3xf32>) -> tensor<3x3xf32> {
    %zero = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %0 = stablehlo.pad %arg0, %zero, low = [1, 0], high = [0, 0], interior = [1, 0] : (tensor<4x3xf32>, tensor<f32>) -> tensor<8x3xf32>
    %1 = stablehlo.slice %0 [3:8:2, 0:3] : (tensor<8x3xf32>) -> tensor<3x3xf32>
    return %1 : tensor<3x3xf32>
  }

  // Row 0 of the padded tensor is padding, and the slice reads it: the pad stays.
  // CHECK-LABEL: func.func @slice_reading_padding_keeps_pad(
  // CHECK-SAME: %[[X:.*]]: tensor<6x3xf32>
  // CHECK: %[[P:.*]] = stablehlo.pad %[[X]], %{{.*}}, low = [1, 0], high = [1, 0], interior = [0, 0]
  // CHECK: stablehlo.slice %[[P]] [0:4, 0:3]
  func.func @slice_reading_padding_keeps_pad(%arg0: tensor<6x3xf32>) -> tensor<4x3xf32> {
    %zero = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %0 = stablehlo.pad %arg0, %zero, low = [1, 0], high = [1, 0], interior = [0, 0] : (tensor<6x3xf32>, tensor<f32>) -> tensor<8x3xf32>
    %1 = stablehlo.slice %0 [0:4, 0:3] : (tensor<8x3xf32>) -> tensor<4x3xf32>
    return %1 : tensor<4x3xf32>
  }

  // A unit-stride slice through interior padding reads the inserted zeros: the pad stays.
  // CHECK-LABEL: func.func @slice_reading_interior_padding_keeps_pad(
  // CHECK-SAME: %[[X:.*]]: tensor<4x3xf32>
  // CHECK: %[[P:.*]] = stablehlo.pad %[[X]], %{{.*}}, low = [1, 0], high = [0, 0], interior = [1, 0]
  // CHECK: stablehlo.slice %[[P]] [1:4, 0:3]
  func.func @slice_reading_interior_padding_keeps_pad(%arg0: tensor<4x3xf32>) -> tensor<3x3xf32> {
    %zero = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %0 = stablehlo.pad %arg0, %zero, low = [1, 0], high = [0, 0], interior = [1, 0] : (tensor<4x3xf32>, tensor<f32>) -> tensor<8x3xf32>
    %1 = stablehlo.slice %0 [1:4, 0:3] : (tensor<8x3xf32>) -> tensor<3x3xf32>
    return %1 : tensor<3x3xf32>
  }

  // Two edge pads with the same padding value become one pad with the summed padding.
  // CHECK-LABEL: func.func @pad_of_pad_is_merged(
  // CHECK-SAME: %[[X:.*]]: tensor<4x3xf32>
  // CHECK: %[[P:.*]] = stablehlo.pad %[[X]], %{{.*}}, low = [1, 1], high = [2, 1], interior = [0, 0] : {{.*}} -> tensor<7x5xf32>
  // CHECK-NOT: stablehlo.pad
  // CHECK: return %[[P]]
  func.func @pad_of_pad_is_merged(%arg0: tensor<4x3xf32>) -> tensor<7x5xf32> {
    %zero = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %0 = stablehlo.pad %arg0, %zero, low = [1, 0], high = [0, 1], interior = [0, 0] : (tensor<4x3xf32>, tensor<f32>) -> tensor<5x4xf32>
    %1 = stablehlo.pad %0, %zero, low = [0, 1], high = [2, 0], interior = [0, 0] : (tensor<5x4xf32>, tensor<f32>) -> tensor<7x5xf32>
    return %1 : tensor<7x5xf32>
  }

  // Padding with 0.0, then with 1.0: not one pad.
  // CHECK-LABEL: func.func @pads_with_different_values_are_not_merged(
  // CHECK-SAME: %[[X:.*]]: tensor<4x3xf32>
  // CHECK: %[[INNER:.*]] = stablehlo.pad %[[X]], %{{.*}}, low = [1, 0], high = [0, 1], interior = [0, 0]
  // CHECK: stablehlo.pad %[[INNER]], %{{.*}}, low = [0, 1], high = [2, 0], interior = [0, 0]
  func.func @pads_with_different_values_are_not_merged(%arg0: tensor<4x3xf32>) -> tensor<7x5xf32> {
    %zero = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %one = stablehlo.constant dense<1.000000e+00> : tensor<f32>
    %0 = stablehlo.pad %arg0, %zero, low = [1, 0], high = [0, 1], interior = [0, 0] : (tensor<4x3xf32>, tensor<f32>) -> tensor<5x4xf32>
    %1 = stablehlo.pad %0, %one, low = [0, 1], high = [2, 0], interior = [0, 0] : (tensor<5x4xf32>, tensor<f32>) -> tensor<7x5xf32>
    return %1 : tensor<7x5xf32>
  }

  // An outer pad with interior padding would also space out the inner padding: not merged.
  // CHECK-LABEL: func.func @outer_interior_pad_is_not_merged(
  // CHECK-SAME: %[[X:.*]]: tensor<4x3xf32>
  // CHECK: %[[INNER:.*]] = stablehlo.pad %[[X]], %{{.*}}, low = [1, 0], high = [0, 0], interior = [0, 0]
  // CHECK: stablehlo.pad %[[INNER]], %{{.*}}, low = [0, 0], high = [0, 0], interior = [1, 0]
  func.func @outer_interior_pad_is_not_merged(%arg0: tensor<4x3xf32>) -> tensor<9x3xf32> {
    %zero = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %0 = stablehlo.pad %arg0, %zero, low = [1, 0], high = [0, 0], interior = [0, 0] : (tensor<4x3xf32>, tensor<f32>) -> tensor<5x3xf32>
    %1 = stablehlo.pad %0, %zero, low = [0, 0], high = [0, 0], interior = [1, 0] : (tensor<5x3xf32>, tensor<f32>) -> tensor<9x3xf32>
    return %1 : tensor<9x3xf32>
  }

  // CHECK-LABEL: func.func @reshape_of_reshape_is_collapsed(
  // CHECK-SAME: %[[X:.*]]: tensor<2x6xf32>
  // CHECK-NOT: tensor<12xf32>
  // CHECK: %[[R:.*]] = stablehlo.reshape %[[X]] : (tensor<2x6xf32>) -> tensor<3x4xf32>
  // CHECK-NOT: stablehlo.reshape
  // CHECK: return %[[R]]
  func.func @reshape_of_reshape_is_collapsed(%arg0: tensor<2x6xf32>) -> tensor<3x4xf32> {
    %0 = stablehlo.reshape %arg0 : (tensor<2x6xf32>) -> tensor<12xf32>
    %1 = stablehlo.reshape %0 : (tensor<12xf32>) -> tensor<3x4xf32>
    return %1 : tensor<3x4xf32>
  }

  // A reshape back to the original shape vanishes with the one it undoes.
  // CHECK-LABEL: func.func @reshape_round_trip_is_removed(
  // CHECK-NOT: stablehlo.reshape
  // CHECK: return %arg0
  func.func @reshape_round_trip_is_removed(%arg0: tensor<2x6xf32>) -> tensor<2x6xf32> {
    %0 = stablehlo.reshape %arg0 : (tensor<2x6xf32>) -> tensor<12xf32>
    %1 = stablehlo.reshape %0 : (tensor<12xf32>) -> tensor<2x6xf32>
    return %1 : tensor<2x6xf32>
  }

  // CHECK-LABEL: func.func @identity_reshape_is_removed(
  // CHECK-NOT: stablehlo.reshape
  // CHECK: return %arg0
  func.func @identity_reshape_is_removed(%arg0: tensor<2x6xf32>) -> tensor<2x6xf32> {
    %0 = stablehlo.reshape %arg0 : (tensor<2x6xf32>) -> tensor<2x6xf32>
    return %0 : tensor<2x6xf32>
  }

  // CHECK-LABEL: func.func @identity_slice_is_removed(
  // CHECK-NOT: stablehlo.slice
  // CHECK: return %arg0
  func.func @identity_slice_is_removed(%arg0: tensor<2x6xf32>) -> tensor<2x6xf32> {
    %0 = stablehlo.slice %arg0 [0:2, 0:6] : (tensor<2x6xf32>) -> tensor<2x6xf32>
    return %0 : tensor<2x6xf32>
  }

  // Elements 1, 3, 5, 7, then every other one of those from the second: elements 3 and 7.
  // CHECK-LABEL: func.func @slice_of_slice_is_one_slice(
  // CHECK-SAME: %[[X:.*]]: tensor<10xf32>
  // CHECK: %[[S:.*]] = stablehlo.slice %[[X]] [3:8:4] : (tensor<10xf32>) -> tensor<2xf32>
  // CHECK-NOT: stablehlo.slice
  // CHECK: return %[[S]]
  func.func @slice_of_slice_is_one_slice(%arg0: tensor<10xf32>) -> tensor<2xf32> {
    %0 = stablehlo.slice %arg0 [1:9:2] : (tensor<10xf32>) -> tensor<4xf32>
    %1 = stablehlo.slice %0 [1:4:2] : (tensor<4xf32>) -> tensor<2xf32>
    return %1 : tensor<2xf32>
  }
}
