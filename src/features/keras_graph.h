// A Keras functional model (TF.js layers format) rebuilt as an OpenCV DNN network, layer by layer.
//
// Keras is NHWC, OpenCV DNN is NCHW: weights are transposed on the way in and every Keras layer
// name maps to the OpenCV layer that produces its output. Supported layer classes: InputLayer,
// Conv2D, DepthwiseConv2D, BatchNormalization, Activation (relu, linear, softmax, sigmoid, tanh),
// ReLU (with max_value and negative_slope), ZeroPadding2D, MaxPooling2D, AveragePooling2D (TF's
// 'same' average excludes padded cells), GlobalAveragePooling2D, GlobalMaxPooling2D, Concatenate,
// Add, Flatten (in Keras' channels-last order), Dense, Dropout (identity at inference).
// Anything else is an error naming the layer, never a silent approximation.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "features/tfjs_layers.h"

namespace photoatlas::features {

struct KerasOutput {
  std::string cv_layer;   // the OpenCV layer whose first output is this Keras layer's output
  std::vector<int> shape;  // Keras shape without the batch axis: {H, W, C} or {C}
};

struct KerasNet {
  cv::dnn::Net net;
  std::string input_name;
  int input_height = 0, input_width = 0, input_channels = 0;
  std::map<std::string, KerasOutput> outputs;  // every Keras layer, by name
  std::vector<std::string> layer_order;        // Keras layer names in config order
  std::string final_layer;                     // the model's (single) output layer
};

// Builds the network. The weights are copied, so `model` may be dropped afterwards.
KerasNet build_keras_net(const tfjs::LayersModel& model);

}  // namespace photoatlas::features
