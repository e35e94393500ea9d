// Input of ../localconv_opt.test: JAX's patch convolution (rewritten by the first pass of the
// default pipeline) and a localconv composite whose rhs has the wrong shape (3x6x4, not 3x6x5),
// which fails the first pass that reads composites.
module {
  func.func public @jax_local_conv(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> (tensor<1x3x5xf32> {jax.result_info = "result"}) {
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
  func.func @malformed_composite(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x4xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCH", "OIH", "NCH"], filter_shape = array<i64: 3>, lhs_dilation = array<i64: 1>, padding = dense<1> : tensor<1x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1>, window_strides = array<i64: 1>}, decomposition = @localconv.conv_general_dilated_local.impl, version = 1 : i32} : (tensor<1x2x5xf32>, tensor<3x6x4xf32>) -> tensor<1x3x5xf32>
    return %0 : tensor<1x3x5xf32>
  }
  func.func private @localconv.conv_general_dilated_local.impl(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x4xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.constant dense<0.000000e+00> : tensor<1x3x5xf32>
    return %0 : tensor<1x3x5xf32>
  }
}
