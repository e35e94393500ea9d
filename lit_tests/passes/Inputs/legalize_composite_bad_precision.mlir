// Input of ../legalize_composite.mlir: a localconv composite with an unknown precision name, ULTRA.
module {
  func.func @main(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCH", "OIH", "NCH"], filter_shape = array<i64: 3>, lhs_dilation = array<i64: 1>, padding = dense<1> : tensor<1x2xi64>, precision = ["ULTRA", "DEFAULT"], rhs_dilation = array<i64: 1>, window_strides = array<i64: 1>}, decomposition = @localconv.conv_general_dilated_local.impl, version = 1 : i32} : (tensor<1x2x5xf32>, tensor<3x6x5xf32>) -> tensor<1x3x5xf32>
    return %0 : tensor<1x3x5xf32>
  }
  func.func private @localconv.conv_general_dilated_local.impl(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x5xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.constant dense<0.000000e+00> : tensor<1x3x5xf32>
    return %0 : tensor<1x3x5xf32>
  }
}
