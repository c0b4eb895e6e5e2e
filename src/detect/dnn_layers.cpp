#include "detect/dnn_layers.h"

#include <algorithm>
#include <mutex>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/dnn/layer.details.hpp>
#include <opencv2/dnn/shape_utils.hpp>

namespace photoatlas::detect {

namespace {

using cv::dnn::LayerParams;
using cv::dnn::MatShape;

int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// One output row of a depthwise convolution over the columns [x0, x1) whose K taps all lie inside
// the input row (`line` already shifted by the left padding): K and the stride S are compile-time
// constants so the tap loop unrolls and the column loop vectorises.
template <int K, int S>
void interior_row(float* __restrict row, const float* __restrict line, const float* __restrict taps, int x0, int x1) {
  for (int x = x0; x < x1; ++x) {
    float sum = row[x];
    for (int kx = 0; kx < K; ++kx) sum += taps[kx] * line[x * S + kx];
    row[x] = sum;
  }
}

// Parameters: kernel_h/w, stride_h/w, pad_t/b/l/r, activation ("", "relu", "relu6"); blobs: weights
// [C, 1, kh, kw] and bias [1, C].
class DepthwiseLayer final : public cv::dnn::Layer {
 public:
  explicit DepthwiseLayer(const LayerParams& params) : Layer(params) {
    kh_ = params.get<int>("kernel_h");
    kw_ = params.get<int>("kernel_w");
    sh_ = params.get<int>("stride_h");
    sw_ = params.get<int>("stride_w");
    pt_ = params.get<int>("pad_t");
    pb_ = params.get<int>("pad_b");
    pl_ = params.get<int>("pad_l");
    pr_ = params.get<int>("pad_r");
    const std::string activation = params.get<std::string>("activation", "");
    lo_ = activation.empty() ? -FLT_MAX : 0.0f;
    hi_ = activation == "relu6" ? 6.0f : FLT_MAX;
    blobs = params.blobs;
    CV_Assert(blobs.size() == 2 && blobs[0].total() == blobs[1].total() * kh_ * kw_);
  }

  static cv::Ptr<cv::dnn::Layer> create(LayerParams& params) { return cv::makePtr<DepthwiseLayer>(params); }

  bool getMemoryShapes(const std::vector<MatShape>& inputs, int, std::vector<MatShape>& outputs,
                       std::vector<MatShape>&) const override {
    CV_Assert(inputs.size() == 1 && inputs[0].size() == 4);
    const MatShape& in = inputs[0];
    CV_Assert(static_cast<std::size_t>(in[1]) == blobs[1].total());
    outputs.assign(1, MatShape{in[0], in[1], (in[2] + pt_ + pb_ - kh_) / sh_ + 1, (in[3] + pl_ + pr_ - kw_) / sw_ + 1});
    return false;
  }

  void forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr, cv::OutputArrayOfArrays) override {
    std::vector<cv::Mat> inputs, outputs;
    inputs_arr.getMatVector(inputs);
    outputs_arr.getMatVector(outputs);
    const cv::Mat& in = inputs[0];
    cv::Mat& out = outputs[0];
    const int n = in.size[0], channels = in.size[1], h = in.size[2], w = in.size[3];
    const int oh = out.size[2], ow = out.size[3];
    const float* weights = blobs[0].ptr<float>();
    const float* bias = blobs[1].ptr<float>();
    cv::parallel_for_(cv::Range(0, n * channels), [&](const cv::Range& range) {
      for (int nc = range.start; nc < range.end; ++nc) {
        const int c = nc % channels;
        const float* src = in.ptr<float>() + static_cast<std::size_t>(nc) * h * w;
        float* dst = out.ptr<float>() + static_cast<std::size_t>(nc) * oh * ow;
        const float* k = weights + static_cast<std::size_t>(c) * kh_ * kw_;
        for (int y = 0; y < oh; ++y) {
          float* row = dst + static_cast<std::size_t>(y) * ow;
          std::fill(row, row + ow, bias[c]);
          for (int ky = 0; ky < kh_; ++ky) {
            const int iy = y * sh_ + ky - pt_;
            if (iy < 0 || iy >= h) continue;  // zero padding
            const float* line = src + static_cast<std::size_t>(iy) * w;
            if ((sw_ == 1 || sw_ == 2) && (kw_ == 3 || kw_ == 5) && w >= kw_) {
              // Columns whose taps are all inside: unrolled; the few at the edges tap by tap below.
              const int inner0 = -floor_div(-pl_, sw_);
              const int inner1 = std::max(inner0, std::min(ow, floor_div(w - kw_ + pl_, sw_) + 1));
              const float* taps = k + ky * kw_;
              const float* shifted = line - pl_;
              if (sw_ == 1) {
                if (kw_ == 3) interior_row<3, 1>(row, shifted, taps, inner0, inner1);
                else interior_row<5, 1>(row, shifted, taps, inner0, inner1);
              } else {
                if (kw_ == 3) interior_row<3, 2>(row, shifted, taps, inner0, inner1);
                else interior_row<5, 2>(row, shifted, taps, inner0, inner1);
              }
              for (int kx = 0; kx < kw_; ++kx) {
                const float weight = taps[kx];
                const int x0 = std::max(0, -floor_div(kx - pl_, sw_));
                const int x1 = std::min(ow, floor_div(w - 1 + pl_ - kx, sw_) + 1);
                for (int x = x0; x < std::min(inner0, x1); ++x) row[x] += weight * line[x * sw_ + kx - pl_];
                for (int x = std::max(inner1, x0); x < x1; ++x) row[x] += weight * line[x * sw_ + kx - pl_];
              }
              continue;
            }
            for (int kx = 0; kx < kw_; ++kx) {
              const float weight = k[ky * kw_ + kx];
              // Output columns whose input column x * s + kx - pad_l lies inside the row.
              const int x0 = std::max(0, -floor_div(kx - pl_, sw_));
              const int x1 = std::min(ow, floor_div(w - 1 + pl_ - kx, sw_) + 1);
              if (sw_ == 1) {
                const float* shifted = line + kx - pl_;
                for (int x = x0; x < x1; ++x) row[x] += weight * shifted[x];
              } else {
                for (int x = x0; x < x1; ++x) row[x] += weight * line[x * sw_ + kx - pl_];
              }
            }
          }
          for (int x = 0; x < ow; ++x) row[x] = std::min(std::max(row[x], lo_), hi_);
        }
      }
    });
  }

 private:
  int kh_, kw_, sh_, sw_, pt_, pb_, pl_, pr_;
  float lo_, hi_;
};

// Parameters: scale (c), shift (s): y = (c * x) * min(max(x + s, 0), 6).
class HardSwishLayer final : public cv::dnn::Layer {
 public:
  explicit HardSwishLayer(const LayerParams& params) : Layer(params) {
    scale_ = params.get<float>("scale");
    shift_ = params.get<float>("shift");
  }
  static cv::Ptr<cv::dnn::Layer> create(LayerParams& params) { return cv::makePtr<HardSwishLayer>(params); }

  bool getMemoryShapes(const std::vector<MatShape>& inputs, int, std::vector<MatShape>& outputs,
                       std::vector<MatShape>&) const override {
    CV_Assert(inputs.size() == 1);
    outputs.assign(1, inputs[0]);
    return false;
  }

  void forward(cv::InputArrayOfArrays inputs_arr, cv::OutputArrayOfArrays outputs_arr, cv::OutputArrayOfArrays) override {
    std::vector<cv::Mat> inputs, outputs;
    inputs_arr.getMatVector(inputs);
    outputs_arr.getMatVector(outputs);
    const float* src = inputs[0].ptr<float>();
    float* dst = outputs[0].ptr<float>();
    const std::size_t total = inputs[0].total();
    const float c = scale_, s = shift_;
    cv::parallel_for_(cv::Range(0, static_cast<int>((total + 4095) / 4096)), [&](const cv::Range& range) {
      const std::size_t begin = static_cast<std::size_t>(range.start) * 4096;
      const std::size_t end = std::min(total, static_cast<std::size_t>(range.end) * 4096);
      for (std::size_t i = begin; i < end; ++i) {
        const float x = src[i];
        dst[i] = (c * x) * std::min(std::max(x + s, 0.0f), 6.0f);
      }
    });
  }

 private:
  float scale_ = 0, shift_ = 0;
};

}  // namespace

void register_detect_layers() {
  static std::once_flag once;
  std::call_once(once, [] {
    cv::dnn::LayerFactory::registerLayer("PhotoatlasDepthwise", DepthwiseLayer::create);
    cv::dnn::LayerFactory::registerLayer("PhotoatlasHardSwish", HardSwishLayer::create);
  });
}

}  // namespace photoatlas::detect
