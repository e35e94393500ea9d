// Input of ../localconv_opt.test: `localconv lower --lhs 1x2x5xf32 --rhs 3x6x5xf32 --window-strides 1 --padding SAME --filter-shape 3 --emit composite`.
module {
  func.func @main(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
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
