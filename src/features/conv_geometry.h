// Window geometry and small OpenCV DNN helpers shared by the two TensorFlow-family importers
// (Keras layers in keras_graph.cpp, TF graph models in detect/tf_graph.cpp).
#pragma once

#include <optional>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

namespace photoatlas::features {

// One spatial axis of a convolution or pooling window in TensorFlow's convention: 'valid' pads
// nothing; 'same' gives ceil(in / stride) outputs and puts the odd padded cell at the end.
struct ConvAxis {
  int out, pad_before, pad_after;
};
enum class WindowPadding { Valid, Same };

// std::nullopt when a 'valid' window's (dilated) kernel is larger than the input.
std::optional<ConvAxis> conv_axis(int in, int kernel, int stride, int dilation, WindowPadding padding);

// Sets a window's padding (pad_t, pad_b, pad_l, pad_r) on a convolution or pooling layer.
void set_window_padding(cv::dnn::LayerParams& params, const ConvAxis& y, const ConvAxis& x);

// OpenCV's convolution pads symmetrically only. Even padding on both axes goes into `conv` and
// the result is empty; uneven padding (TensorFlow's 'same' with stride 2 on an even side) leaves
// `conv` unpadded and returns the params of the zero-padding layer to put in front of it.
std::optional<cv::dnn::LayerParams> convolution_padding(cv::dnn::LayerParams& conv, const ConvAxis& y,
                                                        const ConvAxis& x);

// A 1 x n float blob (biases, batch-norm statistics) as OpenCV DNN layers take them.
cv::Mat row_blob(const std::vector<float>& values);

}  // namespace photoatlas::features
