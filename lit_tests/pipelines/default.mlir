// The named pipelines and a textual one, on a module holding what JAX emits for
// jax.lax.conv_general_dilated_local (jax.jit(...).lower(...).as_text(): lhs 2x3x7x5 NCHW,
// rhs 4x18x4x4 OIHW, window_strides=(2, 1), padding=((1, 1), (0, 1)), filter_shape=(3, 2),
// rhs_dilation=(1, 2)) and a localconv composite (`localconv lower --lhs 1x2x5xf32
// --rhs 3x6x5xf32 --window-strides 1 --padding SAME --filter-shape 3 --emit composite`).

// RUN: localconv-opt %s --pipeline default | FileCheck %s --check-prefix=DEFAULT
// RUN: localconv-opt %s --pipeline O0 | FileCheck %s --check-prefix=O0
// RUN: localconv-opt %s --pass-pipeline='builtin.module(localconv-legalize-composite,cse)' | FileCheck %s --check-prefix=MIXED

// default: JAX's identity-kernel convolution (its one-hot kernel built with compare) becomes
// one gather feeding the one dot_general, with no transpose in between.
// DEFAULT-LABEL: func.func public @jax_local_conv_2d_nchw(
// DEFAULT-NOT: stablehlo.convolution
// DEFAULT-NOT: stablehlo.compare
// DEFAULT: %[[GATHER:.*]] = "stablehlo.gather"(%{{.*}}) {{.*}} -> tensor<4x4x2x3x6xf32>
// DEFAULT-NEXT: %[[PATCHES:.*]] = stablehlo.reshape %[[GATHER]] {{.*}} -> tensor<4x4x2x18xf32>
// DEFAULT-NEXT: %[[D:.*]] = stablehlo.dot_general %[[PATCHES]], %arg1, batching_dims = [0, 1] x [2, 3], contracting_dims = [3] x [1]
// DEFAULT-NEXT: %[[OUT:.*]] = stablehlo.transpose %[[D]], dims = [2, 3, 0, 1] {{.*}} -> tensor<2x4x4x4xf32>
// DEFAULT-NEXT: return %[[OUT]]
// default: the composite is lowered and its decomposition is gone.
// DEFAULT-LABEL: func.func @localconv_composite_1d(
// DEFAULT-NOT: stablehlo.composite
// DEFAULT: return
// DEFAULT-NOT: func.func private

// O0 only legalizes composites: JAX's convolution stays.
// O0-LABEL: func.func public @jax_local_conv_2d_nchw(
// O0: stablehlo.convolution(%arg0,
// O0-SAME{LITERAL}: pad = [[1, 1], [0, 1]]
// O0-SAME: feature_group_count = 3
// O0: stablehlo.dot_general
// O0-LABEL: func.func @localconv_composite_1d(
// O0-NOT: stablehlo.composite
// O0: %[[T:.*]] = stablehlo.transpose %arg0, dims = [2, 0, 1]
// O0: %[[P:.*]] = stablehlo.pad %[[T]], %{{.*}}, low = [1, 0, 0], high = [1, 0, 0], interior = [0, 0, 0]
// O0-COUNT-3: stablehlo.slice %[[P]]
// O0: stablehlo.concatenate
// O0: %[[D:.*]] = stablehlo.dot_general %{{.*}}, %arg1, batching_dims = [0] x [2], contracting_dims = [2] x [1]
// O0: stablehlo.transpose %[[D]], dims = [1, 2, 0]
// O0-NOT: func.func private

// A textual pipeline mixing a localconv pass with an MLIR one.
// MIXED-LABEL: func.func public @jax_local_conv_2d_nchw(
// MIXED: stablehlo.convolution
// MIXED-LABEL: func.func @localconv_composite_1d(
// MIXED-NOT: stablehlo.composite
// MIXED: stablehlo.pad
// MIXED: stablehlo.dot_general %{{.*}}, %arg1, batching_dims = [0] x [2], contracting_dims = [2] x [1]
// MIXED-NOT: func.func private

module {
  func.func public @jax_local_conv_2d_nchw(%arg0: tensor<2x3x7x5xf32>, %arg1: tensor<4x18x4x4xf32>) -> (tensor<2x4x4x4xf32> {jax.result_info = "result"}) {
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
  func.func @localconv_composite_1d(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCH", "OIH", "NCH"], filter_shape = array<i64: 3>, lhs_dilation = array<i64: 1>, padding = dense<1> : tensor<1x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1>, window_strides = array<i64: 1>}, decomposition = @localconv.conv_general_dilated_local.impl, version = 1 : i32} : (tensor<1x2x5xf32>, tensor<3x6x5xf32>) -> tensor<1x3x5xf32>
    return %0 : tensor<1x3x5xf32>
  }
  func.func private @localconv.conv_general_dilated_local.impl(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
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
}
