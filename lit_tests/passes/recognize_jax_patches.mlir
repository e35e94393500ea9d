// localconv-recognize-jax-patches: a convolution whose kernel is exactly the one-hot kernel JAX
// builds for conv_general_dilated_patches / conv_general_dilated_local becomes localconv's patch
// gather plus a transpose into the convolution's output layout. The positive inputs are
// `jax.jit(...).lower(...).as_text()` output (jax 0.10.2); any other kernel is left alone.

// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-recognize-jax-patches)' | FileCheck %s

module {
// jax.lax.conv_general_dilated_local(lhs 1x2x5, rhs 3x6x5, window_strides=(1,), padding="SAME",
// filter_shape=(3,), dimension_numbers=("NCH", "OIH", "NCH")).
// CHECK-LABEL: func.func public @jax_local_conv_1d_nch_becomes_patch_gather(
// CHECK-SAME: %[[LHS:.*]]: tensor<1x2x5xf32>, %[[RHS:.*]]: tensor<3x6x5xf32>
// CHECK-NOT: stablehlo.convolution
// CHECK-NOT: stablehlo.iota
// CHECK: %[[T:.*]] = stablehlo.transpose %[[LHS]], dims = [2, 0, 1]
// CHECK: %[[P:.*]] = stablehlo.pad %[[T]], %{{.*}}, low = [1, 0, 0], high = [1, 0, 0], interior = [0, 0, 0]
// CHECK: stablehlo.slice %[[P]] [0:5, 0:1, 0:2]
// CHECK: stablehlo.slice %[[P]] [1:6, 0:1, 0:2]
// CHECK: stablehlo.slice %[[P]] [2:7, 0:1, 0:2]
// CHECK: stablehlo.concatenate {{.*}} dim = 3
// CHECK: %[[R:.*]] = stablehlo.reshape {{.*}} -> tensor<5x1x6xf32>
// CHECK: %[[PATCHES:.*]] = stablehlo.transpose %[[R]], dims = [1, 2, 0] {{.*}} -> tensor<1x6x5xf32>
// CHECK-NOT: stablehlo.convolution
// CHECK: stablehlo.dot_general %[[PATCHES]], %[[RHS]], batching_dims = [2] x [2], contracting_dims = [1] x [1]
  func.func public @jax_local_conv_1d_nch_becomes_patch_gather(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> (tensor<1x3x5xf32> {jax.result_info = "result"}) {
    %0 = stablehlo.iota dim = 0 : tensor<3x3xi32>
    %c = stablehlo.constant dense<0> : tensor<i32>
    %1 = stablehlo.broadcast_in_dim %c, dims = [] : (tensor<i32>) -> tensor<3x3xi32>
    %2 = stablehlo.add %0, %1 : tensor<3x3xi32>
    %3 = stablehlo.iota dim = 1 : tensor<3x3xi32>
    %4 = stablehlo.compare EQ, %2, %3, SIGNED : (tensor<3x3xi32>, tensor<3x3xi32>) -> tensor<3x3xi1>
    %5 = stablehlo.convert %4 : (tensor<3x3xi1>) -> tensor<3x3xf32>
    %6 = stablehlo.broadcast_in_dim %5, dims = [1, 2] : (tensor<3x3xf32>) -> tensor<2x3x3xf32>
    %7 = stablehlo.reshape %6 : (tensor<2x3x3xf32>) -> tensor<6x1x3xf32>
    %8 = stablehlo.convolution(%arg0, %7) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], window = {stride = [1], pad = [[1, 1]], lhs_dilate = [1], rhs_dilate = [1], reverse = [false]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x2x5xf32>, tensor<6x1x3xf32>) -> tensor<1x6x5xf32>
    %9 = stablehlo.dot_general %8, %arg1, batching_dims = [2] x [2], contracting_dims = [1] x [1], precision = [DEFAULT, DEFAULT] : (tensor<1x6x5xf32>, tensor<3x6x5xf32>) -> tensor<5x1x3xf32>
    %10 = stablehlo.transpose %9, dims = [1, 2, 0] : (tensor<5x1x3xf32>) -> tensor<1x3x5xf32>
    return %10 : tensor<1x3x5xf32>
  }
// NCHW / OIHW / NCHW, window_strides=(2, 1), padding=((1, 1), (0, 1)), filter_shape=(3, 2),
// rhs_dilation=(1, 2): strided slices, window offsets 2 apart in W.
// CHECK-LABEL: func.func public @jax_local_conv_2d_nchw_strided_padded_dilated_becomes_patch_gather(
// CHECK-SAME: %[[LHS:.*]]: tensor<2x3x7x5xf32>, %[[RHS:.*]]: tensor<4x18x4x4xf32>
// CHECK-NOT: stablehlo.convolution
// CHECK: %[[T:.*]] = stablehlo.transpose %[[LHS]], dims = [2, 3, 0, 1]
// CHECK: %[[P:.*]] = stablehlo.pad %[[T]], %{{.*}}, low = [1, 0, 0, 0], high = [1, 1, 0, 0], interior = [0, 0, 0, 0]
// CHECK: stablehlo.slice %[[P]] [0:7:2, 0:4, 0:2, 0:3]
// CHECK: stablehlo.slice %[[P]] [0:7:2, 2:6, 0:2, 0:3]
// CHECK: stablehlo.slice %[[P]] [1:8:2, 0:4, 0:2, 0:3]
// CHECK: stablehlo.slice %[[P]] [1:8:2, 2:6, 0:2, 0:3]
// CHECK: stablehlo.slice %[[P]] [2:9:2, 0:4, 0:2, 0:3]
// CHECK: stablehlo.slice %[[P]] [2:9:2, 2:6, 0:2, 0:3]
// CHECK: %[[R:.*]] = stablehlo.reshape {{.*}} -> tensor<4x4x2x18xf32>
// CHECK: %[[PATCHES:.*]] = stablehlo.transpose %[[R]], dims = [2, 3, 0, 1] {{.*}} -> tensor<2x18x4x4xf32>
// CHECK-NOT: stablehlo.convolution
// CHECK: stablehlo.dot_general %[[PATCHES]], %[[RHS]], batching_dims = [2, 3] x [2, 3], contracting_dims = [1] x [1]
  func.func public @jax_local_conv_2d_nchw_strided_padded_dilated_becomes_patch_gather(%arg0: tensor<2x3x7x5xf32>, %arg1: tensor<4x18x4x4xf32>) -> (tensor<2x4x4x4xf32> {jax.result_info = "result"}) {
    %0 = stablehlo.iota dim = 0 : tensor<6x6xi32>
    %c = stablehlo.constant dense<0> : tensor<i32>
    %1 = stablehlo.broadcast_in_dim %c, dims = [] : (tensor<i32>) -> tensor<6x6xi32>
    %2 = stablehlo.add %0, %1 : tensor<6x6xi32>
    %3 = stablehlo.iota dim = 1 : tensor<6x6xi32>
    %4 = stablehlo.compare EQ, %2, %3, SIGNED : (tensor<6x6xi32>, tensor<6x6xi32>) -> tensor<6x6xi1>
    %5 = stablehlo.convert %4 : (tensor<6x6xi1>) -> tensor<6x6xf32>
    %6 = stablehlo.broadcast_in_dim %5, dims = [1, 2] : (tensor<6x6xf32>) -> tensor<3x6x6xf32>
    %7 = stablehlo.reshape %6 : (tensor<3x6x6xf32>) -> tensor<18x1x3x2xf32>
    %8 = stablehlo.convolution(%arg0, %7) dim_numbers = [b, f, 0, 1]x[o, i, 0, 1]->[b, f, 0, 1], window = {stride = [2, 1], pad = [[1, 1], [0, 1]], lhs_dilate = [1, 1], rhs_dilate = [1, 2], reverse = [false, false]} {batch_group_count = 1 : i64, feature_group_count = 3 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<2x3x7x5xf32>, tensor<18x1x3x2xf32>) -> tensor<2x18x4x4xf32>
    %9 = stablehlo.dot_general %8, %arg1, batching_dims = [2, 3] x [2, 3], contracting_dims = [1] x [1], precision = [DEFAULT, DEFAULT] : (tensor<2x18x4x4xf32>, tensor<4x18x4x4xf32>) -> tensor<4x4x2x4xf32>
    %10 = stablehlo.transpose %9, dims = [2, 3, 0, 1] : (tensor<4x4x2x4xf32>) -> tensor<2x4x4x4xf32>
    return %10 : tensor<2x4x4x4xf32>
  }
// NHWC / HWIO / NHWC, padding="SAME", filter_shape=(2, 2): JAX transposes its kernel to HWIO
// before the convolution; the pass still proves it is the one-hot kernel.
// CHECK-LABEL: func.func public @jax_local_conv_2d_nhwc_hwio_transposed_kernel_is_recognized(
// CHECK-SAME: %[[LHS:.*]]: tensor<1x4x3x2xf32>, %[[RHS:.*]]: tensor<4x3x8x5xf32>
// CHECK-NOT: stablehlo.convolution
// CHECK: %[[T:.*]] = stablehlo.transpose %[[LHS]], dims = [1, 2, 0, 3]
// CHECK: %[[P:.*]] = stablehlo.pad %[[T]], %{{.*}}, low = [0, 0, 0, 0], high = [1, 1, 0, 0], interior = [0, 0, 0, 0]
// CHECK-COUNT-4: stablehlo.slice %[[P]]
// CHECK: stablehlo.concatenate {{.*}} dim = 4
// CHECK: %[[R:.*]] = stablehlo.reshape {{.*}} -> tensor<4x3x1x8xf32>
// CHECK: %[[PATCHES:.*]] = stablehlo.transpose %[[R]], dims = [2, 0, 1, 3] {{.*}} -> tensor<1x4x3x8xf32>
// CHECK-NOT: stablehlo.convolution
// CHECK: stablehlo.dot_general %[[PATCHES]], %[[RHS]], batching_dims = [1, 2] x [0, 1], contracting_dims = [3] x [2]
  func.func public @jax_local_conv_2d_nhwc_hwio_transposed_kernel_is_recognized(%arg0: tensor<1x4x3x2xf32>, %arg1: tensor<4x3x8x5xf32>) -> (tensor<1x4x3x5xf32> {jax.result_info = "result"}) {
    %0 = stablehlo.iota dim = 0 : tensor<4x4xi32>
    %c = stablehlo.constant dense<0> : tensor<i32>
    %1 = stablehlo.broadcast_in_dim %c, dims = [] : (tensor<i32>) -> tensor<4x4xi32>
    %2 = stablehlo.add %0, %1 : tensor<4x4xi32>
    %3 = stablehlo.iota dim = 1 : tensor<4x4xi32>
    %4 = stablehlo.compare EQ, %2, %3, SIGNED : (tensor<4x4xi32>, tensor<4x4xi32>) -> tensor<4x4xi1>
    %5 = stablehlo.convert %4 : (tensor<4x4xi1>) -> tensor<4x4xf32>
    %6 = stablehlo.broadcast_in_dim %5, dims = [1, 2] : (tensor<4x4xf32>) -> tensor<2x4x4xf32>
    %7 = stablehlo.reshape %6 : (tensor<2x4x4xf32>) -> tensor<8x1x2x2xf32>
    %8 = stablehlo.transpose %7, dims = [2, 3, 1, 0] : (tensor<8x1x2x2xf32>) -> tensor<2x2x1x8xf32>
    %9 = stablehlo.convolution(%arg0, %8) dim_numbers = [b, 0, 1, f]x[0, 1, i, o]->[b, 0, 1, f], window = {stride = [1, 1], pad = [[0, 1], [0, 1]], lhs_dilate = [1, 1], rhs_dilate = [1, 1], reverse = [false, false]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x4x3x2xf32>, tensor<2x2x1x8xf32>) -> tensor<1x4x3x8xf32>
    %10 = stablehlo.dot_general %9, %arg1, batching_dims = [1, 2] x [0, 1], contracting_dims = [3] x [2], precision = [DEFAULT, DEFAULT] : (tensor<1x4x3x8xf32>, tensor<4x3x8x5xf32>) -> tensor<4x3x1x5xf32>
    %11 = stablehlo.transpose %10, dims = [2, 0, 1, 3] : (tensor<4x3x1x5xf32>) -> tensor<1x4x3x5xf32>
    return %11 : tensor<1x4x3x5xf32>
  }
// jax.lax.conv_general_dilated_patches(lhs 1x4x4x2, filter_shape=(2, 2), window_strides=(1, 1),
// padding="VALID", dimension_numbers=("NHWC", "OIHW", "NHWC")): no padding, so no pad.
// CHECK-LABEL: func.func public @jax_patches_2d_nhwc_valid_becomes_gather_without_pad(
// CHECK-SAME: %[[LHS:.*]]: tensor<1x4x4x2xf32>
// CHECK-NOT: stablehlo.convolution
// CHECK-NOT: stablehlo.pad
// CHECK: %[[T:.*]] = stablehlo.transpose %[[LHS]], dims = [1, 2, 0, 3]
// CHECK: stablehlo.slice %[[T]] [0:3, 0:3, 0:1, 0:2]
// CHECK: stablehlo.slice %[[T]] [0:3, 1:4, 0:1, 0:2]
// CHECK: stablehlo.slice %[[T]] [1:4, 0:3, 0:1, 0:2]
// CHECK: stablehlo.slice %[[T]] [1:4, 1:4, 0:1, 0:2]
// CHECK: %[[R:.*]] = stablehlo.reshape {{.*}} -> tensor<3x3x1x8xf32>
// CHECK: %[[OUT:.*]] = stablehlo.transpose %[[R]], dims = [2, 0, 1, 3] {{.*}} -> tensor<1x3x3x8xf32>
// CHECK-NOT: stablehlo.convolution
// CHECK: return %[[OUT]]
  func.func public @jax_patches_2d_nhwc_valid_becomes_gather_without_pad(%arg0: tensor<1x4x4x2xf32>) -> (tensor<1x3x3x8xf32> {jax.result_info = "result"}) {
    %0 = stablehlo.iota dim = 0 : tensor<4x4xi32>
    %c = stablehlo.constant dense<0> : tensor<i32>
    %1 = stablehlo.broadcast_in_dim %c, dims = [] : (tensor<i32>) -> tensor<4x4xi32>
    %2 = stablehlo.add %0, %1 : tensor<4x4xi32>
    %3 = stablehlo.iota dim = 1 : tensor<4x4xi32>
    %4 = stablehlo.compare EQ, %2, %3, SIGNED : (tensor<4x4xi32>, tensor<4x4xi32>) -> tensor<4x4xi1>
    %5 = stablehlo.convert %4 : (tensor<4x4xi1>) -> tensor<4x4xf32>
    %6 = stablehlo.broadcast_in_dim %5, dims = [1, 2] : (tensor<4x4xf32>) -> tensor<2x4x4xf32>
    %7 = stablehlo.reshape %6 : (tensor<2x4x4xf32>) -> tensor<8x1x2x2xf32>
    %8 = stablehlo.convolution(%arg0, %7) dim_numbers = [b, 0, 1, f]x[o, i, 0, 1]->[b, 0, 1, f], window = {stride = [1, 1], pad = [[0, 0], [0, 0]], lhs_dilate = [1, 1], rhs_dilate = [1, 1], reverse = [false, false]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x4x4x2xf32>, tensor<8x1x2x2xf32>) -> tensor<1x3x3x8xf32>
    return %8 : tensor<1x3x3x8xf32>
  }
// The one-hot kernel written out as a dense literal is the same kernel.
// CHECK-LABEL: func.func @dense_identity_kernel_is_rewritten(
// CHECK-NOT: stablehlo.convolution
// CHECK: stablehlo.transpose %arg0, dims = [2, 0, 1]
// CHECK-COUNT-3: stablehlo.slice
// CHECK: %[[OUT:.*]] = stablehlo.transpose %{{.*}}, dims = [1, 2, 0] {{.*}} -> tensor<1x6x5xf32>
// CHECK-NOT: stablehlo.convolution
// CHECK: return %[[OUT]]
  func.func @dense_identity_kernel_is_rewritten(%arg0: tensor<1x2x5xf32>) -> tensor<1x6x5xf32> {
    %k = stablehlo.constant dense<[[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0]]]> : tensor<6x1x3xf32>
    %r = stablehlo.convolution(%arg0, %k) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], window = {stride = [1], pad = [[1, 1]], lhs_dilate = [1], rhs_dilate = [1], reverse = [false]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x2x5xf32>, tensor<6x1x3xf32>) -> tensor<1x6x5xf32>
    return %r : tensor<1x6x5xf32>
  }
// One entry of the identity is 0.5 instead of 1.0: not a patch kernel.
// CHECK-LABEL: func.func @near_identity_kernel_is_not_rewritten(
// CHECK-NOT: stablehlo.slice
// CHECK: stablehlo.convolution(%arg0, {{.*}}) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0]
// CHECK-SAME{LITERAL}: pad = [[1, 1]]
// CHECK-NOT: stablehlo.slice
  func.func @near_identity_kernel_is_not_rewritten(%arg0: tensor<1x2x5xf32>) -> tensor<1x6x5xf32> {
    %k = stablehlo.constant dense<[[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]], [[0.0, 0.5, 0.0]], [[0.0, 0.0, 1.0]]]> : tensor<6x1x3xf32>
    %r = stablehlo.convolution(%arg0, %k) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], window = {stride = [1], pad = [[1, 1]], lhs_dilate = [1], rhs_dilate = [1], reverse = [false]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x2x5xf32>, tensor<6x1x3xf32>) -> tensor<1x6x5xf32>
    return %r : tensor<1x6x5xf32>
  }
// The one-hot kernel times 2.0 computes twice the patches.
// CHECK-LABEL: func.func @kernel_scaled_by_two_is_not_rewritten(
// CHECK-NOT: stablehlo.slice
// CHECK: stablehlo.convolution(%arg0, {{.*}}) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0]
// CHECK-NOT: stablehlo.slice
  func.func @kernel_scaled_by_two_is_not_rewritten(%arg0: tensor<1x2x5xf32>) -> tensor<1x6x5xf32> {
    %0 = stablehlo.iota dim = 0 : tensor<3x3xi32>
    %1 = stablehlo.iota dim = 1 : tensor<3x3xi32>
    %2 = stablehlo.compare EQ, %0, %1, SIGNED : (tensor<3x3xi32>, tensor<3x3xi32>) -> tensor<3x3xi1>
    %3 = stablehlo.convert %2 : (tensor<3x3xi1>) -> tensor<3x3xf32>
    %two = stablehlo.constant dense<2.000000e+00> : tensor<3x3xf32>
    %4 = stablehlo.multiply %3, %two : tensor<3x3xf32>
    %5 = stablehlo.broadcast_in_dim %4, dims = [1, 2] : (tensor<3x3xf32>) -> tensor<2x3x3xf32>
    %6 = stablehlo.reshape %5 : (tensor<2x3x3xf32>) -> tensor<6x1x3xf32>
    %r = stablehlo.convolution(%arg0, %6) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], window = {stride = [1], pad = [[1, 1]], lhs_dilate = [1], rhs_dilate = [1], reverse = [false]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x2x5xf32>, tensor<6x1x3xf32>) -> tensor<1x6x5xf32>
    return %r : tensor<1x6x5xf32>
  }
// The same scaling done in i32, where the kernel is evaluated exactly: still not the identity.
// CHECK-LABEL: func.func @integer_kernel_scaled_by_two_is_not_rewritten(
// CHECK-NOT: stablehlo.slice
// CHECK: stablehlo.convolution(%arg0, {{.*}}) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0]
// CHECK-NOT: stablehlo.slice
  func.func @integer_kernel_scaled_by_two_is_not_rewritten(%arg0: tensor<1x2x5xf32>) -> tensor<1x6x5xf32> {
    %0 = stablehlo.iota dim = 0 : tensor<3x3xi32>
    %1 = stablehlo.iota dim = 1 : tensor<3x3xi32>
    %2 = stablehlo.compare EQ, %0, %1, SIGNED : (tensor<3x3xi32>, tensor<3x3xi32>) -> tensor<3x3xi1>
    %3 = stablehlo.convert %2 : (tensor<3x3xi1>) -> tensor<3x3xi32>
    %two = stablehlo.constant dense<2> : tensor<3x3xi32>
    %4 = stablehlo.multiply %3, %two : tensor<3x3xi32>
    %5 = stablehlo.convert %4 : (tensor<3x3xi32>) -> tensor<3x3xf32>
    %6 = stablehlo.broadcast_in_dim %5, dims = [1, 2] : (tensor<3x3xf32>) -> tensor<2x3x3xf32>
    %7 = stablehlo.reshape %6 : (tensor<2x3x3xf32>) -> tensor<6x1x3xf32>
    %r = stablehlo.convolution(%arg0, %7) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], window = {stride = [1], pad = [[1, 1]], lhs_dilate = [1], rhs_dilate = [1], reverse = [false]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x2x5xf32>, tensor<6x1x3xf32>) -> tensor<1x6x5xf32>
    return %r : tensor<1x6x5xf32>
  }
// A one-hot kernel with window-major feature order (f * C + c instead of c * W + f).
// CHECK-LABEL: func.func @window_major_one_hot_is_not_rewritten(
// CHECK-NOT: stablehlo.slice
// CHECK: stablehlo.convolution(%arg0, {{.*}}) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0]
// CHECK-NOT: stablehlo.slice
  func.func @window_major_one_hot_is_not_rewritten(%arg0: tensor<1x2x5xf32>) -> tensor<1x6x5xf32> {
    %0 = stablehlo.iota dim = 0 : tensor<3x3xi32>
    %1 = stablehlo.iota dim = 1 : tensor<3x3xi32>
    %2 = stablehlo.compare EQ, %0, %1, SIGNED : (tensor<3x3xi32>, tensor<3x3xi32>) -> tensor<3x3xi1>
    %3 = stablehlo.convert %2 : (tensor<3x3xi1>) -> tensor<3x3xf32>
    %4 = stablehlo.broadcast_in_dim %3, dims = [0, 2] : (tensor<3x3xf32>) -> tensor<3x2x3xf32>
    %5 = stablehlo.reshape %4 : (tensor<3x2x3xf32>) -> tensor<6x1x3xf32>
    %r = stablehlo.convolution(%arg0, %5) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], window = {stride = [1], pad = [[1, 1]], lhs_dilate = [1], rhs_dilate = [1], reverse = [false]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x2x5xf32>, tensor<6x1x3xf32>) -> tensor<1x6x5xf32>
    return %r : tensor<1x6x5xf32>
  }
// A one-hot kernel that selects the window offsets in reverse (the anti-diagonal).
// CHECK-LABEL: func.func @reversed_one_hot_is_not_rewritten(
// CHECK-NOT: stablehlo.slice
// CHECK: stablehlo.convolution(%arg0, {{.*}}) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0]
// CHECK-NOT: stablehlo.slice
  func.func @reversed_one_hot_is_not_rewritten(%arg0: tensor<1x2x5xf32>) -> tensor<1x6x5xf32> {
    %0 = stablehlo.iota dim = 0 : tensor<3x3xi32>
    %1 = stablehlo.iota dim = 1 : tensor<3x3xi32>
    %two = stablehlo.constant dense<2> : tensor<3x3xi32>
    %2 = stablehlo.subtract %two, %1 : tensor<3x3xi32>
    %3 = stablehlo.compare EQ, %0, %2, SIGNED : (tensor<3x3xi32>, tensor<3x3xi32>) -> tensor<3x3xi1>
    %4 = stablehlo.convert %3 : (tensor<3x3xi1>) -> tensor<3x3xf32>
    %5 = stablehlo.broadcast_in_dim %4, dims = [1, 2] : (tensor<3x3xf32>) -> tensor<2x3x3xf32>
    %6 = stablehlo.reshape %5 : (tensor<2x3x3xf32>) -> tensor<6x1x3xf32>
    %r = stablehlo.convolution(%arg0, %6) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], window = {stride = [1], pad = [[1, 1]], lhs_dilate = [1], rhs_dilate = [1], reverse = [false]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x2x5xf32>, tensor<6x1x3xf32>) -> tensor<1x6x5xf32>
    return %r : tensor<1x6x5xf32>
  }
// JAX's kernel, but the convolution reverses the window.
// CHECK-LABEL: func.func @window_reversal_is_not_rewritten(
// CHECK-NOT: stablehlo.slice
// CHECK: stablehlo.convolution(%arg0, {{.*}}) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0]
// CHECK-SAME: reverse = [true]
// CHECK-NOT: stablehlo.slice
  func.func @window_reversal_is_not_rewritten(%arg0: tensor<1x2x5xf32>) -> tensor<1x6x5xf32> {
    %0 = stablehlo.iota dim = 0 : tensor<3x3xi32>
    %1 = stablehlo.iota dim = 1 : tensor<3x3xi32>
    %2 = stablehlo.compare EQ, %0, %1, SIGNED : (tensor<3x3xi32>, tensor<3x3xi32>) -> tensor<3x3xi1>
    %3 = stablehlo.convert %2 : (tensor<3x3xi1>) -> tensor<3x3xf32>
    %4 = stablehlo.broadcast_in_dim %3, dims = [1, 2] : (tensor<3x3xf32>) -> tensor<2x3x3xf32>
    %5 = stablehlo.reshape %4 : (tensor<2x3x3xf32>) -> tensor<6x1x3xf32>
    %r = stablehlo.convolution(%arg0, %5) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], window = {stride = [1], pad = [[1, 1]], lhs_dilate = [1], rhs_dilate = [1], reverse = [true]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x2x5xf32>, tensor<6x1x3xf32>) -> tensor<1x6x5xf32>
    return %r : tensor<1x6x5xf32>
  }
// A kernel passed as an argument cannot be proven to be the identity.
// CHECK-LABEL: func.func @kernel_argument_is_not_rewritten(
// CHECK-NOT: stablehlo.slice
// CHECK: stablehlo.convolution(%arg0, {{.*}}) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0]
// CHECK-NOT: stablehlo.slice
  func.func @kernel_argument_is_not_rewritten(%arg0: tensor<1x2x5xf32>, %arg1: tensor<6x1x3xf32>) -> tensor<1x6x5xf32> {
    %r = stablehlo.convolution(%arg0, %arg1) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], window = {stride = [1], pad = [[1, 1]], lhs_dilate = [1], rhs_dilate = [1], reverse = [false]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x2x5xf32>, tensor<6x1x3xf32>) -> tensor<1x6x5xf32>
    return %r : tensor<1x6x5xf32>
  }
// feature_group_count = 1 with C = 2: a dense convolution that sums over channels.
// CHECK-LABEL: func.func @feature_group_count_not_c_is_not_rewritten(
// CHECK-NOT: stablehlo.slice
// CHECK: stablehlo.convolution(%arg0, {{.*}}) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0]
// CHECK-SAME: feature_group_count = 1
// CHECK-NOT: stablehlo.slice
  func.func @feature_group_count_not_c_is_not_rewritten(%arg0: tensor<1x2x5xf32>) -> tensor<1x6x5xf32> {
    %0 = stablehlo.iota dim = 0 : tensor<3x3xi32>
    %1 = stablehlo.iota dim = 1 : tensor<3x3xi32>
    %2 = stablehlo.compare EQ, %0, %1, SIGNED : (tensor<3x3xi32>, tensor<3x3xi32>) -> tensor<3x3xi1>
    %3 = stablehlo.convert %2 : (tensor<3x3xi1>) -> tensor<3x3xf32>
    %4 = stablehlo.broadcast_in_dim %3, dims = [1, 2] : (tensor<3x3xf32>) -> tensor<2x3x3xf32>
    %5 = stablehlo.reshape %4 : (tensor<2x3x3xf32>) -> tensor<6x1x3xf32>
    %6 = stablehlo.broadcast_in_dim %5, dims = [0, 1, 2] : (tensor<6x1x3xf32>) -> tensor<6x2x3xf32>
    %r = stablehlo.convolution(%arg0, %6) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], window = {stride = [1], pad = [[1, 1]], lhs_dilate = [1], rhs_dilate = [1], reverse = [false]} {batch_group_count = 1 : i64, feature_group_count = 1 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x2x5xf32>, tensor<6x2x3xf32>) -> tensor<1x6x5xf32>
    return %r : tensor<1x6x5xf32>
  }
// A transposing broadcast (dims = [2, 0]) of a constant whose row-major order looks like the
// one-hot kernel: the kernel it builds selects offsets 0, 2, 1, 1, 0, 2, not JAX's 0, 1, 2, 0, 1, 2.
// CHECK-LABEL: func.func @transposing_broadcast_of_look_alike_kernel_is_not_rewritten(
// CHECK-NOT: stablehlo.slice
// CHECK: stablehlo.convolution(%arg0, {{.*}}) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0]
// CHECK-NOT: stablehlo.slice
  func.func @transposing_broadcast_of_look_alike_kernel_is_not_rewritten(%arg0: tensor<1x2x5xf32>) -> tensor<1x6x5xf32> {
    %p = stablehlo.constant dense<[[1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0, 1.0]]> : tensor<3x6xf32>
    %k = stablehlo.broadcast_in_dim %p, dims = [2, 0] : (tensor<3x6xf32>) -> tensor<6x1x3xf32>
    %r = stablehlo.convolution(%arg0, %k) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], window = {stride = [1], pad = [[1, 1]], lhs_dilate = [1], rhs_dilate = [1], reverse = [false]} {batch_group_count = 1 : i64, feature_group_count = 2 : i64, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (tensor<1x2x5xf32>, tensor<6x1x3xf32>) -> tensor<1x6x5xf32>
    return %r : tensor<1x6x5xf32>
  }
}
