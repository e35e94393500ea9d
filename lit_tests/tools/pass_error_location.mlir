// A pass error points at the op as file:line:col of the input, counting lines from the start
// of the file also with --split-input-file.

// RUN: not localconv-opt %S/../passes/Inputs/legalize_composite_wrong_rhs_shape.mlir --pipeline O0 2>&1 | FileCheck %s
// CHECK: localconv-opt: error: pass localconv-legalize-composite failed: {{.*}}legalize_composite_wrong_rhs_shape.mlir:4:10: localconv-legalize-composite: invalid localconv.conv_general_dilated_local: rhs must have shape (3, 6, 5)

// localconv run reports the same location.
// RUN: not localconv run %S/../passes/Inputs/legalize_composite_wrong_rhs_shape.mlir --pipeline O0 2>&1 | FileCheck %s --check-prefix=TOOL
// TOOL: localconv: error: pass localconv-legalize-composite failed: {{.*}}legalize_composite_wrong_rhs_shape.mlir:4:10: localconv-legalize-composite: invalid localconv.conv_general_dilated_local: rhs must have shape (3, 6, 5)

// RUN: not localconv-opt %s --split-input-file --pipeline O0 2>&1 | FileCheck %s --check-prefix=SPLIT
// SPLIT: localconv-opt: error: pass localconv-legalize-composite failed: {{.*}}pass_error_location.mlir:21:10: localconv-legalize-composite: invalid localconv.conv_general_dilated_local: rhs must have shape (3, 6, 5)

module {
}

// -----

module {
  func.func @main(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x4xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %arg0, %arg1 {composite_attributes = {dimension_numbers = ["NCH", "OIH", "NCH"], filter_shape = array<i64: 3>, lhs_dilation = array<i64: 1>, padding = dense<1> : tensor<1x2xi64>, precision = ["DEFAULT", "DEFAULT"], rhs_dilation = array<i64: 1>, window_strides = array<i64: 1>}, decomposition = @localconv.conv_general_dilated_local.impl, version = 1 : i32} : (tensor<1x2x5xf32>, tensor<3x6x4xf32>) -> tensor<1x3x5xf32>
    return %0 : tensor<1x3x5xf32>
  }
  func.func private @localconv.conv_general_dilated_local.impl(%arg0: tensor<1x2x5xf32>, %arg1: tensor<3x6x4xf32>) -> tensor<1x3x5xf32> {
    %0 = stablehlo.constant dense<0.000000e+00> : tensor<1x3x5xf32>
    return %0 : tensor<1x3x5xf32>
  }
}
