// localconv-legalize-composite: every localconv composite becomes the plain patch gather +
// dot_general, and its decomposition function is erased once nothing references it. Inputs
// are `localconv lower ... --emit composite` output, one case per function.

// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-legalize-composite)' | FileCheck %s
// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-legalize-composite)' | FileCheck %s --check-prefix=GLOBAL

// No localconv composite and none of the rewritten decompositions survive anywhere.
// GLOBAL-NOT: stablehlo.composite "localconv.conv_general_dilated_local"
// GLOBAL-NOT: @localconv.conv_general_dilated_local.impl_1d
// GLOBAL-NOT: @localconv.conv_general_dilated_local.impl_2d_nhwc
// GLOBAL-NOT: @localconv.conv_general_dilated_local.impl_2d_nchw
// GLOBAL-NOT: @localconv.conv_general_dilated_local.impl_dilated
// GLOBAL-NOT: @localconv.conv_general_dilated_local.impl_loop
// GLOBAL: stablehlo.composite "other.op"

// Malformed localconv composites are errors at the composite's location, with no traceback.
// Reproducers go to %t, not the system temp directory.
// RUN: rm -rf %t && mkdir -p %t
// RUN: env TMPDIR=%t not localconv-opt %S/Inputs/legalize_composite_missing_attribute.mlir --pass-pipeline='builtin.module(localconv-legalize-composite)' 2>&1 | FileCheck %s --check-prefix=ERR-MISSING
// ERR-MISSING: localconv-opt: error: pass localconv-legalize-composite failed: {{.*}}:4:10: localconv-legalize-composite: localconv.conv_general_dilated_local attributes must be exactly ['window_strides', 'padding', 'filter_shape', 'lhs_dilation', 'rhs_dilation', 'dimension_numbers', 'precision']; missing ['precision'], unexpected []
// ERR-MISSING-NEXT: reproduce with: localconv-opt {{.*}} --pass-pipeline='builtin.module(localconv-legalize-composite)'
// ERR-MISSING-NOT: Traceback

// RUN: env TMPDIR=%t not localconv-opt %S/Inputs/legalize_composite_wrong_rhs_shape.mlir --pass-pipeline='builtin.module(localconv-legalize-composite)' 2>&1 | FileCheck %s --check-prefix=ERR-RHS
// ERR-RHS: localconv-opt: error: pass localconv-legalize-composite failed: {{.*}}:4:10: localconv-legalize-composite: invalid localconv.conv_general_dilated_local: rhs must have shape (3, 6, 5)
// ERR-RHS-SAME: got (3, 6, 4)
// ERR-RHS-NOT: Traceback

// RUN: env TMPDIR=%t not localconv-opt %S/Inputs/legalize_composite_bad_precision.mlir --pass-pipeline='builtin.module(localconv-legalize-composite)' 2>&1 | FileCheck %s --check-prefix=ERR-PRECISION
// ERR-PRECISION: localconv-opt: error: pass localconv-legalize-composite failed: {{.*}}:4:10: localconv-legalize-composite: invalid localconv.conv_general_dilated_local: precision must name two of ('DEFAULT', 'HIGH', 'HIGHEST'), got ('ULTRA', 'DEFAULT')
// ERR-PRECISION-NOT: Traceback

// RUN: env TMPDIR=%t not localconv-opt %S/Inputs/legalize_composite_wrong_version.mlir --pass-pipeline='builtin.module(localconv-legalize-composite)' 2>&1 | FileCheck %s --check-prefix=ERR-VERSION
// ERR-VERSION: localconv-opt: error: pass localconv-legalize-composite failed: {{.*}}:4:10: localconv-legalize-composite: localconv.conv_general_dilated_local version must be 1, got 2
// ERR-VERSION-NOT: Traceback

// RUN: env TMPDIR=%t not localconv-opt %S/Inputs/legalize_composite_unknown_strategy.mlir --pass-pipeline='builtin.module(localconv-legalize-composite)' 2>&1 | FileCheck %s --check-prefix=ERR-STRATEGY
// ERR-STRATEGY: localconv-opt: error: pass localconv-legalize-composite failed: {{.*}}:4:10: localconv-legalize-composite: localconv.strategy must be one of ['batched_dot', 'accumulate_loop', 'position_loop', 'row_loop', 'multiply_reduce'], got "fastest"
// ERR-STRATEGY-NOT: Traceback

module {
// CHECK-LABEL: func.func @composite_1d_nch_same_becomes_patch_gather(
// CHECK-SAME: %[[LHS:.*]]: tensor<1x2x5xf32>, %[[RHS:.*]]: tensor<3x6x5xf32>
// CHECK-NOT: stablehlo.composite
// CHECK: %[[T:.*]] = stablehlo.transpose %[[LHS]], dims = [2, 0, 1]
// CHECK: %[[P:.*]] = stablehlo.pad %[[T]], %{{.*}}, low = [1, 0, 0], high = [1, 0, 0], interior = [0, 0, 0]
// CHECK: stablehlo.slice %[[P]] [0:5, 0:1, 0:2]
// CHECK: stablehlo.slice %[[P]] [1:6, 0:1, 0:2]
// CHECK: stablehlo.slice %[[P]] [2:7, 0:1, 0:2]
// CHECK: stablehlo.concatenate {{.*}} dim = 3
// CHECK: %[[PATCHES:.*]] = stablehlo.reshape {{.*}} -> tensor<5x1x6xf32>
// CHECK: %[[D:.*]] = stablehlo.dot_general %[[PATCHES]], %[[RHS]], batching_dims = [0] x [2], contracting_dims = [2] x [1], precision = [DEFAULT, DEFAULT]
// CHECK-SAME: {localconv.strategy = "batched_dot"}
// CHECK: %[[OUT:.*]] = stablehlo.transpose %[[D]], dims = [1, 2, 0] {{.*}} -> tensor<1x3x5xf32>
// CHECK: return %[[OUT]]
  func.func @composite_1d_nch_same_becomes_patch_gather(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCH", "OIH", "NCH"], filter_shape = array<i64: 3>, lhs_dilation = array<i64: 1>, padding = dense<1> : tensor<1x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1>, window_strides = array<i64: 1>}, decomposition = @localconv.conv_general_dilated_local.impl_1d, version = 1 : i32} : (tensor<1x2x5xf32>, tensor<3x6x5xf32>) -> tensor<1x3x5xf32>
    return %0 : tensor<1x3x5xf32>
  }
  func.func private @localconv.conv_general_dilated_local.impl_1d(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 0, 1] : (tensor<1x2x5xf32>) -> tensor<5x1x2xf32>
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %1 = stablehlo.pad %0, %cst, low = [1, 0, 0], high = [1, 0, 0], interior = [0, 0, 0] : (tensor<5x1x2xf32>, tensor<f32>) -> tensor<7x1x2xf32>
    %2 = stablehlo.slice %1 [0:5, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %3 = stablehlo.reshape %2 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %4 = stablehlo.slice %1 [1:6, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %5 = stablehlo.reshape %4 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %6 = stablehlo.slice %1 [2:7, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %7 = stablehlo.reshape %6 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %8 = stablehlo.concatenate %3, %5, %7, dim = 3 : (tensor<5x1x2x1xf32>, tensor<5x1x2x1xf32>, tensor<5x1x2x1xf32>) -> tensor<5x1x2x3xf32>
    %9 = stablehlo.reshape %8 : (tensor<5x1x2x3xf32>) -> tensor<5x1x6xf32>
    %10 = stablehlo.dot_general %9, %arg1, batching_dims = [0] x [2], contracting_dims = [2] x [1], precision = [DEFAULT, DEFAULT] : (tensor<5x1x6xf32>, tensor<3x6x5xf32>) -> tensor<5x1x3xf32>
    %11 = stablehlo.transpose %10, dims = [1, 2, 0] : (tensor<5x1x3xf32>) -> tensor<1x3x5xf32>
    return %11 : tensor<1x3x5xf32>
  }
// Explicit padding '1,0;0,2', strides 2,1 and HIGHEST precision, in NHWC / HWIO / NHWC.
// CHECK-LABEL: func.func @composite_2d_nhwc_keeps_padding_strides_and_precision(
// CHECK-SAME: %[[LHS:.*]]: tensor<2x6x5x3xf32>, %[[RHS:.*]]: tensor<3x6x12x4xf32>
// CHECK-NOT: stablehlo.composite
// CHECK: %[[T:.*]] = stablehlo.transpose %[[LHS]], dims = [1, 2, 0, 3]
// CHECK: %[[P:.*]] = stablehlo.pad %[[T]], %{{.*}}, low = [1, 0, 0, 0], high = [0, 2, 0, 0], interior = [0, 0, 0, 0]
// CHECK: stablehlo.slice %[[P]] [0:5:2, 0:6, 0:2, 0:3]
// CHECK: stablehlo.slice %[[P]] [0:5:2, 1:7, 0:2, 0:3]
// CHECK: stablehlo.slice %[[P]] [1:6:2, 0:6, 0:2, 0:3]
// CHECK: stablehlo.slice %[[P]] [1:6:2, 1:7, 0:2, 0:3]
// CHECK: stablehlo.concatenate {{.*}} dim = 4
// CHECK: %[[PATCHES:.*]] = stablehlo.reshape {{.*}} -> tensor<3x6x2x12xf32>
// CHECK: %[[D:.*]] = stablehlo.dot_general %[[PATCHES]], %[[RHS]], batching_dims = [0, 1] x [0, 1], contracting_dims = [3] x [2], precision = [HIGHEST, HIGHEST]
// CHECK: stablehlo.transpose %[[D]], dims = [2, 0, 1, 3] {{.*}} -> tensor<2x3x6x4xf32>
  func.func @composite_2d_nhwc_keeps_padding_strides_and_precision(%arg0: tensor<2x6x5x3xf32>, %arg1: tensor<3x6x12x4xf32>) -> tensor<2x3x6x4xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NHWC", "HWIO", "NHWC"], filter_shape = array<i64: 2, 2>, lhs_dilation = array<i64: 1, 1>, padding = dense<[[1, 0], [0, 2]]> : tensor<2x2xi64>, precision = ["HIGHEST", "HIGHEST"], rhs_dilation = array<i64: 1, 1>, window_strides = array<i64: 2, 1>}, decomposition = @localconv.conv_general_dilated_local.impl_2d_nhwc, version = 1 : i32} : (tensor<2x6x5x3xf32>, tensor<3x6x12x4xf32>) -> tensor<2x3x6x4xf32>
    return %0 : tensor<2x3x6x4xf32>
  }
  func.func private @localconv.conv_general_dilated_local.impl_2d_nhwc(%arg0: tensor<2x6x5x3xf32>, %arg1: tensor<3x6x12x4xf32>) -> tensor<2x3x6x4xf32> {
    %0 = stablehlo.transpose %arg0, dims = [1, 2, 0, 3] : (tensor<2x6x5x3xf32>) -> tensor<6x5x2x3xf32>
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %1 = stablehlo.pad %0, %cst, low = [1, 0, 0, 0], high = [0, 2, 0, 0], interior = [0, 0, 0, 0] : (tensor<6x5x2x3xf32>, tensor<f32>) -> tensor<7x7x2x3xf32>
    %2 = stablehlo.slice %1 [0:5:2, 0:6, 0:2, 0:3] : (tensor<7x7x2x3xf32>) -> tensor<3x6x2x3xf32>
    %3 = stablehlo.reshape %2 : (tensor<3x6x2x3xf32>) -> tensor<3x6x2x3x1xf32>
    %4 = stablehlo.slice %1 [0:5:2, 1:7, 0:2, 0:3] : (tensor<7x7x2x3xf32>) -> tensor<3x6x2x3xf32>
    %5 = stablehlo.reshape %4 : (tensor<3x6x2x3xf32>) -> tensor<3x6x2x3x1xf32>
    %6 = stablehlo.slice %1 [1:6:2, 0:6, 0:2, 0:3] : (tensor<7x7x2x3xf32>) -> tensor<3x6x2x3xf32>
    %7 = stablehlo.reshape %6 : (tensor<3x6x2x3xf32>) -> tensor<3x6x2x3x1xf32>
    %8 = stablehlo.slice %1 [1:6:2, 1:7, 0:2, 0:3] : (tensor<7x7x2x3xf32>) -> tensor<3x6x2x3xf32>
    %9 = stablehlo.reshape %8 : (tensor<3x6x2x3xf32>) -> tensor<3x6x2x3x1xf32>
    %10 = stablehlo.concatenate %3, %5, %7, %9, dim = 4 : (tensor<3x6x2x3x1xf32>, tensor<3x6x2x3x1xf32>, tensor<3x6x2x3x1xf32>, tensor<3x6x2x3x1xf32>) -> tensor<3x6x2x3x4xf32>
    %11 = stablehlo.reshape %10 : (tensor<3x6x2x3x4xf32>) -> tensor<3x6x2x12xf32>
    %12 = stablehlo.dot_general %11, %arg1, batching_dims = [0, 1] x [0, 1], contracting_dims = [3] x [2], precision = [HIGHEST, HIGHEST] : (tensor<3x6x2x12xf32>, tensor<3x6x12x4xf32>) -> tensor<3x6x2x4xf32>
    %13 = stablehlo.transpose %12, dims = [2, 0, 1, 3] : (tensor<3x6x2x4xf32>) -> tensor<2x3x6x4xf32>
    return %13 : tensor<2x3x6x4xf32>
  }
// SAME padding that needs no pad (6x6 input, window 2, stride 2) and a mixed precision pair,
// in NCHW / OIHW / NCHW.
// CHECK-LABEL: func.func @composite_2d_nchw_same_padding_needs_no_pad(
// CHECK-SAME: %[[LHS:.*]]: tensor<1x3x6x6xf32>, %[[RHS:.*]]: tensor<2x12x3x3xf32>
// CHECK-NOT: stablehlo.composite
// CHECK: %[[T:.*]] = stablehlo.transpose %[[LHS]], dims = [2, 3, 0, 1]
// CHECK-NOT: stablehlo.pad
// CHECK: stablehlo.slice %[[T]] [0:5:2, 0:5:2, 0:1, 0:3]
// CHECK: stablehlo.slice %[[T]] [0:5:2, 1:6:2, 0:1, 0:3]
// CHECK: stablehlo.slice %[[T]] [1:6:2, 0:5:2, 0:1, 0:3]
// CHECK: stablehlo.slice %[[T]] [1:6:2, 1:6:2, 0:1, 0:3]
// CHECK: %[[PATCHES:.*]] = stablehlo.reshape {{.*}} -> tensor<3x3x1x12xf32>
// CHECK: %[[D:.*]] = stablehlo.dot_general %[[PATCHES]], %[[RHS]], batching_dims = [0, 1] x [2, 3], contracting_dims = [3] x [1], precision = [HIGH, DEFAULT]
// CHECK: stablehlo.transpose %[[D]], dims = [2, 3, 0, 1] {{.*}} -> tensor<1x2x3x3xf32>
  func.func @composite_2d_nchw_same_padding_needs_no_pad(%arg0: tensor<1x3x6x6xf32>, %arg1: tensor<2x12x3x3xf32>) -> tensor<1x2x3x3xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCHW", "OIHW", "NCHW"], filter_shape = array<i64: 2, 2>, lhs_dilation = array<i64: 1, 1>, padding = dense<0> : tensor<2x2xi64>, precision = ["HIGH", "DEFAULT"], rhs_dilation = array<i64: 1, 1>, window_strides = array<i64: 2, 2>}, decomposition = @localconv.conv_general_dilated_local.impl_2d_nchw, version = 1 : i32} : (tensor<1x3x6x6xf32>, tensor<2x12x3x3xf32>) -> tensor<1x2x3x3xf32>
    return %0 : tensor<1x2x3x3xf32>
  }
  func.func private @localconv.conv_general_dilated_local.impl_2d_nchw(%arg0: tensor<1x3x6x6xf32>, %arg1: tensor<2x12x3x3xf32>) -> tensor<1x2x3x3xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 3, 0, 1] : (tensor<1x3x6x6xf32>) -> tensor<6x6x1x3xf32>
    %1 = stablehlo.slice %0 [0:5:2, 0:5:2, 0:1, 0:3] : (tensor<6x6x1x3xf32>) -> tensor<3x3x1x3xf32>
    %2 = stablehlo.reshape %1 : (tensor<3x3x1x3xf32>) -> tensor<3x3x1x3x1xf32>
    %3 = stablehlo.slice %0 [0:5:2, 1:6:2, 0:1, 0:3] : (tensor<6x6x1x3xf32>) -> tensor<3x3x1x3xf32>
    %4 = stablehlo.reshape %3 : (tensor<3x3x1x3xf32>) -> tensor<3x3x1x3x1xf32>
    %5 = stablehlo.slice %0 [1:6:2, 0:5:2, 0:1, 0:3] : (tensor<6x6x1x3xf32>) -> tensor<3x3x1x3xf32>
    %6 = stablehlo.reshape %5 : (tensor<3x3x1x3xf32>) -> tensor<3x3x1x3x1xf32>
    %7 = stablehlo.slice %0 [1:6:2, 1:6:2, 0:1, 0:3] : (tensor<6x6x1x3xf32>) -> tensor<3x3x1x3xf32>
    %8 = stablehlo.reshape %7 : (tensor<3x3x1x3xf32>) -> tensor<3x3x1x3x1xf32>
    %9 = stablehlo.concatenate %2, %4, %6, %8, dim = 4 : (tensor<3x3x1x3x1xf32>, tensor<3x3x1x3x1xf32>, tensor<3x3x1x3x1xf32>, tensor<3x3x1x3x1xf32>) -> tensor<3x3x1x3x4xf32>
    %10 = stablehlo.reshape %9 : (tensor<3x3x1x3x4xf32>) -> tensor<3x3x1x12xf32>
    %11 = stablehlo.dot_general %10, %arg1, batching_dims = [0, 1] x [2, 3], contracting_dims = [3] x [1], precision = [HIGH, DEFAULT] : (tensor<3x3x1x12xf32>, tensor<2x12x3x3xf32>) -> tensor<3x3x1x2xf32>
    %12 = stablehlo.transpose %11, dims = [2, 3, 0, 1] : (tensor<3x3x1x2xf32>) -> tensor<1x2x3x3xf32>
    return %12 : tensor<1x2x3x3xf32>
  }
// lhs_dilation 2 becomes interior padding; rhs_dilation 2 spaces the window offsets by 2.
// CHECK-LABEL: func.func @composite_dilations_become_interior_padding(
// CHECK-NOT: stablehlo.composite
// CHECK: %[[P:.*]] = stablehlo.pad %{{.*}}, %{{.*}}, low = [0, 0, 0], high = [0, 0, 0], interior = [1, 0, 0] {{.*}} -> tensor<7x1x1xf32>
// CHECK: stablehlo.slice %[[P]] [0:5, 0:1, 0:1]
// CHECK: stablehlo.slice %[[P]] [2:7, 0:1, 0:1]
// CHECK: stablehlo.dot_general {{.*}} batching_dims = [0] x [2], contracting_dims = [2] x [1]
  func.func @composite_dilations_become_interior_padding(%arg0: tensor<1x1x4xf32>, %arg1: tensor<2x2x5xf32>) -> tensor<1x2x5xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCH", "OIH", "NCH"], filter_shape = array<i64: 2>, lhs_dilation = array<i64: 2>, padding = dense<0> : tensor<1x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 2>, window_strides = array<i64: 1>}, decomposition = @localconv.conv_general_dilated_local.impl_dilated, version = 1 : i32} : (tensor<1x1x4xf32>, tensor<2x2x5xf32>) -> tensor<1x2x5xf32>
    return %0 : tensor<1x2x5xf32>
  }
  func.func private @localconv.conv_general_dilated_local.impl_dilated(%arg0: tensor<1x1x4xf32>, %arg1: tensor<2x2x5xf32>) -> tensor<1x2x5xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 0, 1] : (tensor<1x1x4xf32>) -> tensor<4x1x1xf32>
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %1 = stablehlo.pad %0, %cst, low = [0, 0, 0], high = [0, 0, 0], interior = [1, 0, 0] : (tensor<4x1x1xf32>, tensor<f32>) -> tensor<7x1x1xf32>
    %2 = stablehlo.slice %1 [0:5, 0:1, 0:1] : (tensor<7x1x1xf32>) -> tensor<5x1x1xf32>
    %3 = stablehlo.reshape %2 : (tensor<5x1x1xf32>) -> tensor<5x1x1x1xf32>
    %4 = stablehlo.slice %1 [2:7, 0:1, 0:1] : (tensor<7x1x1xf32>) -> tensor<5x1x1xf32>
    %5 = stablehlo.reshape %4 : (tensor<5x1x1xf32>) -> tensor<5x1x1x1xf32>
    %6 = stablehlo.concatenate %3, %5, dim = 3 : (tensor<5x1x1x1xf32>, tensor<5x1x1x1xf32>) -> tensor<5x1x1x2xf32>
    %7 = stablehlo.reshape %6 : (tensor<5x1x1x2xf32>) -> tensor<5x1x2xf32>
    %8 = stablehlo.dot_general %7, %arg1, batching_dims = [0] x [2], contracting_dims = [2] x [1], precision = [DEFAULT, DEFAULT] : (tensor<5x1x2xf32>, tensor<2x2x5xf32>) -> tensor<5x1x2xf32>
    %9 = stablehlo.transpose %8, dims = [1, 2, 0] : (tensor<5x1x2xf32>) -> tensor<1x2x5xf32>
    return %9 : tensor<1x2x5xf32>
  }
// The composite names its contraction strategy (as localconv-contraction-strategy leaves it):
// accumulate_loop is a while loop over the contraction index, with no dot_general; it carries
// the padded input [C, N, W] and cuts each patch row out of it (no patch tensor).
// CHECK-LABEL: func.func @composite_with_accumulate_loop_strategy_becomes_while(
// CHECK-SAME: %[[LHS:.*]]: tensor<1x2x5xf32>, %[[RHS:.*]]: tensor<3x6x5xf32>
// CHECK-NOT: stablehlo.composite
// CHECK-NOT: stablehlo.dot_general
// CHECK: %[[PADDED:.*]] = stablehlo.pad {{.*}} -> tensor<2x1x7xf32>
// CHECK-NOT: stablehlo.concatenate
// CHECK: %[[LOOP:.*]]:4 = stablehlo.while({{.*}}%[[PADDED]], %{{.*}} = %[[RHS]])
// CHECK-SAME: attributes {localconv.strategy = "accumulate_loop"}
// One trip per channel covers the whole window: 2 trips, window offsets as constants, no
// index decomposed by remainder/divide.
// CHECK: %[[TRIPS:.*]] = stablehlo.constant dense<2> : tensor<i32>
// CHECK-NEXT: stablehlo.compare LT, %{{.*}}, %[[TRIPS]]
// CHECK: stablehlo.dynamic_slice %{{.*}}, sizes = [1, 1, 5]
// CHECK-NOT: stablehlo.dot_general
// CHECK-NOT: stablehlo.remainder
// CHECK-NOT: stablehlo.divide
// The accumulator is [O, N, W] (N next to O, see accumulator_order), transposed to NCH once.
// CHECK: %[[OUT:.*]] = stablehlo.transpose %[[LOOP]]#1, dims = [1, 0, 2] : (tensor<3x1x5xf32>) -> tensor<1x3x5xf32>
// CHECK: return %[[OUT]]
  func.func @composite_with_accumulate_loop_strategy_becomes_while(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCH", "OIH", "NCH"], filter_shape = array<i64: 3>, lhs_dilation = array<i64: 1>, padding = dense<1> : tensor<1x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1>, window_strides = array<i64: 1>}, decomposition = @localconv.conv_general_dilated_local.impl_loop, localconv.strategy = "accumulate_loop", version = 1 : i32} : (tensor<1x2x5xf32>, tensor<3x6x5xf32>) -> tensor<1x3x5xf32>
    return %0 : tensor<1x3x5xf32>
  }
  func.func private @localconv.conv_general_dilated_local.impl_loop(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 0, 1] : (tensor<1x2x5xf32>) -> tensor<5x1x2xf32>
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %1 = stablehlo.pad %0, %cst, low = [1, 0, 0], high = [1, 0, 0], interior = [0, 0, 0] : (tensor<5x1x2xf32>, tensor<f32>) -> tensor<7x1x2xf32>
    %2 = stablehlo.slice %1 [0:5, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %3 = stablehlo.reshape %2 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %4 = stablehlo.slice %1 [1:6, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %5 = stablehlo.reshape %4 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %6 = stablehlo.slice %1 [2:7, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %7 = stablehlo.reshape %6 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %8 = stablehlo.concatenate %3, %5, %7, dim = 3 : (tensor<5x1x2x1xf32>, tensor<5x1x2x1xf32>, tensor<5x1x2x1xf32>) -> tensor<5x1x2x3xf32>
    %9 = stablehlo.reshape %8 : (tensor<5x1x2x3xf32>) -> tensor<5x1x6xf32>
    %10 = stablehlo.dot_general %9, %arg1, batching_dims = [0] x [2], contracting_dims = [2] x [1], precision = [DEFAULT, DEFAULT] : (tensor<5x1x6xf32>, tensor<3x6x5xf32>) -> tensor<5x1x3xf32>
    %11 = stablehlo.transpose %10, dims = [1, 2, 0] : (tensor<5x1x3xf32>) -> tensor<1x3x5xf32>
    return %11 : tensor<1x3x5xf32>
  }
// A composite of another name is not localconv's, even with localconv's attributes: it stays,
// and so does its decomposition.
// CHECK-LABEL: func.func @other_composite_is_left_alone(
// CHECK: stablehlo.composite "other.op" %arg0, %arg1
// CHECK-SAME: decomposition = @other.op.impl
// CHECK-NOT: stablehlo.dot_general
// CHECK-LABEL: func.func private @other.op.impl(
// CHECK: stablehlo.dot_general
  func.func @other_composite_is_left_alone(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.composite "other.op" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCH", "OIH", "NCH"], filter_shape = array<i64: 3>, lhs_dilation = array<i64: 1>, padding = dense<1> : tensor<1x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1>, window_strides = array<i64: 1>}, decomposition = @other.op.impl, version = 1 : i32} : (tensor<1x2x5xf32>, tensor<3x6x5xf32>) -> tensor<1x3x5xf32>
    return %0 : tensor<1x3x5xf32>
  }
  func.func private @other.op.impl(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 0, 1] : (tensor<1x2x5xf32>) -> tensor<5x1x2xf32>
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %1 = stablehlo.pad %0, %cst, low = [1, 0, 0], high = [1, 0, 0], interior = [0, 0, 0] : (tensor<5x1x2xf32>, tensor<f32>) -> tensor<7x1x2xf32>
    %2 = stablehlo.slice %1 [0:5, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %3 = stablehlo.reshape %2 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %4 = stablehlo.slice %1 [1:6, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %5 = stablehlo.reshape %4 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %6 = stablehlo.slice %1 [2:7, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %7 = stablehlo.reshape %6 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %8 = stablehlo.concatenate %3, %5, %7, dim = 3 : (tensor<5x1x2x1xf32>, tensor<5x1x2x1xf32>, tensor<5x1x2x1xf32>) -> tensor<5x1x2x3xf32>
    %9 = stablehlo.reshape %8 : (tensor<5x1x2x3xf32>) -> tensor<5x1x6xf32>
    %10 = stablehlo.dot_general %9, %arg1, batching_dims = [0] x [2], contracting_dims = [2] x [1], precision = [DEFAULT, DEFAULT] : (tensor<5x1x6xf32>, tensor<3x6x5xf32>) -> tensor<5x1x3xf32>
    %11 = stablehlo.transpose %10, dims = [1, 2, 0] : (tensor<5x1x3xf32>) -> tensor<1x3x5xf32>
    return %11 : tensor<1x3x5xf32>
  }
// The composite is rewritten, but its decomposition is still called, so it is kept.
// CHECK-LABEL: func.func @decomposition_still_called_is_kept(
// CHECK-NOT: stablehlo.composite
// CHECK: stablehlo.dot_general
// CHECK: call @localconv.conv_general_dilated_local.impl_called(%arg0, %arg1)
// CHECK-LABEL: func.func private @localconv.conv_general_dilated_local.impl_called(
// CHECK: stablehlo.dot_general
  func.func @decomposition_still_called_is_kept(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCH", "OIH", "NCH"], filter_shape = array<i64: 3>, lhs_dilation = array<i64: 1>, padding = dense<1> : tensor<1x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1>, window_strides = array<i64: 1>}, decomposition = @localconv.conv_general_dilated_local.impl_called, version = 1 : i32} : (tensor<1x2x5xf32>, tensor<3x6x5xf32>) -> tensor<1x3x5xf32>
    %1 = func.call @localconv.conv_general_dilated_local.impl_called(%arg0, %arg1) : (tensor<1x2x5xf32>, tensor<3x6x5xf32>) -> tensor<1x3x5xf32>
    %2 = stablehlo.add %0, %1 : tensor<1x3x5xf32>
    return %2 : tensor<1x3x5xf32>
  }
  func.func private @localconv.conv_general_dilated_local.impl_called(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.transpose %arg0, dims = [2, 0, 1] : (tensor<1x2x5xf32>) -> tensor<5x1x2xf32>
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %1 = stablehlo.pad %0, %cst, low = [1, 0, 0], high = [1, 0, 0], interior = [0, 0, 0] : (tensor<5x1x2xf32>, tensor<f32>) -> tensor<7x1x2xf32>
    %2 = stablehlo.slice %1 [0:5, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %3 = stablehlo.reshape %2 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %4 = stablehlo.slice %1 [1:6, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %5 = stablehlo.reshape %4 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %6 = stablehlo.slice %1 [2:7, 0:1, 0:2] : (tensor<7x1x2xf32>) -> tensor<5x1x2xf32>
    %7 = stablehlo.reshape %6 : (tensor<5x1x2xf32>) -> tensor<5x1x2x1xf32>
    %8 = stablehlo.concatenate %3, %5, %7, dim = 3 : (tensor<5x1x2x1xf32>, tensor<5x1x2x1xf32>, tensor<5x1x2x1xf32>) -> tensor<5x1x2x3xf32>
    %9 = stablehlo.reshape %8 : (tensor<5x1x2x3xf32>) -> tensor<5x1x6xf32>
    %10 = stablehlo.dot_general %9, %arg1, batching_dims = [0] x [2], contracting_dims = [2] x [1], precision = [DEFAULT, DEFAULT] : (tensor<5x1x6xf32>, tensor<3x6x5xf32>) -> tensor<5x1x3xf32>
    %11 = stablehlo.transpose %10, dims = [1, 2, 0] : (tensor<5x1x3xf32>) -> tensor<1x3x5xf32>
    return %11 : tensor<1x3x5xf32>
  }
// An unused private function that is no localconv decomposition is not the pass's to erase.
// CHECK-LABEL: func.func private @unrelated_private_helper(
// CHECK: stablehlo.negate
  func.func private @unrelated_private_helper(%arg0: tensor<4xf32>) -> tensor<4xf32> {
    %0 = stablehlo.negate %arg0 : tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}
