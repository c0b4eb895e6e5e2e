// Window geometry and small OpenCV DNN helpers shared by the two TensorFlow-family importers
// (Keras layers in keras_graph.cpp, TF graph models in detect/tf_graph.cpp).
#pragma once

#include <optional>
#include <vector>

#include <opencv2/core.hpp>

namespace photoatlas::features {

// One spatial axis of a convolution or pooling window in TensorFlow's convention: 'valid' pads
// nothing; 'same' gives ceil(in / stride) outputs and puts the odd padded cell at the end.
struct ConvAxis {
  int out, pad_before, pad_after;
};
enum class WindowPadding { Valid, Same };

// std::nullopt when a 'valid' window's (dilated) kernel is larger than the input.
std::optional<ConvAxis> conv_axis(int in, int kernel, int stride, int dilation, WindowPadding padding);

// A 1 x n float blob (biases, batch-norm statistics) as OpenCV DNN layers take them.
cv::Mat row_blob(const std::vector<float>& values);

}  // namespace photoatlas::features
