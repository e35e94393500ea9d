// Input of ../localconv_opt.test: an op no dialect defines, on line 4, column 10.
module {
  func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> {
    %0 = stablehlo.bogus %arg0 : tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}
