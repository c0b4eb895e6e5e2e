// Two OpenCV DNN layers the CenterNet import needs and OpenCV 4.6 does not do well, registered under
// names of their own (register_detect_layers() once, before a network uses them):
//  - "PhotoatlasDepthwise": depthwise convolution with any kernel size, stride and TensorFlow's
//    asymmetric 'SAME' padding, plus the bias and Relu / Relu6 TF fused into it. OpenCV 4.6 has a fast
//    path for 3x3 stride-1 depthwise kernels only (which stay with OpenCV); its generic path for the
//    5x5 and stride-2 kernels of MobileNetV3 took a quarter of the network's time, 3-5x slower than
//    this layer (bench/bench_depthwise.cpp, bench/results/objects.md), and TF's uneven padding needed
//    an extra copy in front of it.
//  - "PhotoatlasHardSwish": h-swish as the TF graph spells it, (c * x) * relu6(x + s), in one pass with
//    the graph's own constants (c is float16(1/6), not 1/6), so the result is the same float as the
//    four-op chain it replaces (Mul, Add, Relu6, Mul), without three extra passes over the tensor.
#pragma once

namespace photoatlas::detect {

void register_detect_layers();

}  // namespace photoatlas::detect
