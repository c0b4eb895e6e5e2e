// Depthwise convolution, side by side in one process: OpenCV 4.6's Convolution layer (group = channels)
// and photoatlas's PhotoatlasDepthwise layer (src/detect/dnn_layers.h) on the shapes of the CenterNet
// MobileNetV3, each with bias + ReLU, best of 7 runs. The ratio decides which layer the importer uses
// (OpenCV keeps 3x3 stride 1, where its vectorised path wins).
//
// usage: bench_depthwise   (prints one line per shape; results in bench/results/objects.md)
#include <algorithm>
#include <chrono>
#include <cstdio>

#include <opencv2/dnn.hpp>

#include "detect/dnn_layers.h"

using namespace cv::dnn;

namespace {

double best_of_7(Net& net, const cv::Mat& blob) {
  double best = 1e30;
  for (int i = 0; i < 7; ++i) {
    net.setInput(blob);
    const auto t = std::chrono::steady_clock::now();
    net.forward();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
  }
  return best;
}

LayerParams common(int k, int s, const cv::Mat& w, const cv::Mat& b) {
  const int pad = (k - 1) / 2;
  LayerParams p;
  p.set("kernel_h", k);
  p.set("kernel_w", k);
  p.set("stride_h", s);
  p.set("stride_w", s);
  p.set("pad_t", pad);
  p.set("pad_b", pad);
  p.set("pad_l", pad);
  p.set("pad_r", pad);
  p.blobs = {w, b};
  return p;
}

}  // namespace

int main() {
  photoatlas::detect::register_detect_layers();
  struct Shape {
    int channels, side, kernel, stride;
  };
  const Shape shapes[] = {{192, 64, 5, 1}, {480, 16, 5, 1}, {72, 128, 5, 2}, {64, 256, 3, 2}, {128, 128, 3, 1}};
  std::printf("| depthwise layer | OpenCV 4.6 ms | photoatlas ms | OpenCV / photoatlas | max difference |\n|---|---|---|---|---|\n");
  for (const Shape& s : shapes) {
    const int dims[] = {1, s.channels, s.side, s.side};
    cv::Mat blob(4, dims, CV_32F), w({s.channels, 1, s.kernel, s.kernel}, CV_32F), b(1, s.channels, CV_32F);
    cv::randu(blob, -1, 1);
    cv::randu(w, -1, 1);
    cv::randu(b, -1, 1);
    Net opencv, ours;
    LayerParams conv = common(s.kernel, s.stride, w, b);
    conv.set("num_output", s.channels);
    conv.set("group", s.channels);
    conv.set("bias_term", true);
    opencv.addLayerToPrev("conv", "Convolution", conv);
    LayerParams relu;
    opencv.addLayerToPrev("relu", "ReLU", relu);
    LayerParams mine = common(s.kernel, s.stride, w, b);
    mine.set("activation", "relu");
    ours.addLayerToPrev("dw", "PhotoatlasDepthwise", mine);
    opencv.setPreferableBackend(DNN_BACKEND_OPENCV);
    ours.setPreferableBackend(DNN_BACKEND_OPENCV);
    const double a = best_of_7(opencv, blob), m = best_of_7(ours, blob);
    opencv.setInput(blob);
    ours.setInput(blob);
    const cv::Mat oa = opencv.forward().clone(), om = ours.forward().clone();
    std::printf("| %dx%d stride %d, %d channels, %dx%d | %.2f | %.2f | %.1fx | %.1e |\n", s.kernel, s.kernel, s.stride,
                s.channels, s.side, s.side, a, m, a / m, cv::norm(oa, om, cv::NORM_INF));
  }
  return 0;
}
