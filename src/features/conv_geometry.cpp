#include "features/conv_geometry.h"

#include <algorithm>

namespace photoatlas::features {

std::optional<ConvAxis> conv_axis(int in, int kernel, int stride, int dilation, WindowPadding padding) {
  const int span = dilation * (kernel - 1) + 1;
  if (padding == WindowPadding::Valid) {
    if (in < span) return std::nullopt;
    return ConvAxis{(in - span) / stride + 1, 0, 0};
  }
  const int out = (in + stride - 1) / stride;
  const int total = std::max((out - 1) * stride + span - in, 0);
  return ConvAxis{out, total / 2, total - total / 2};
}

void set_window_padding(cv::dnn::LayerParams& params, const ConvAxis& y, const ConvAxis& x) {
  params.set("pad_t", y.pad_before);
  params.set("pad_b", y.pad_after);
  params.set("pad_l", x.pad_before);
  params.set("pad_r", x.pad_after);
}

std::optional<cv::dnn::LayerParams> convolution_padding(cv::dnn::LayerParams& conv, const ConvAxis& y,
                                                        const ConvAxis& x) {
  if (y.pad_before == y.pad_after && x.pad_before == x.pad_after) {
    set_window_padding(conv, y, x);
    return std::nullopt;
  }
  set_window_padding(conv, ConvAxis{y.out, 0, 0}, ConvAxis{x.out, 0, 0});
  cv::dnn::LayerParams pad;
  const int paddings[] = {0, 0, 0, 0, y.pad_before, y.pad_after, x.pad_before, x.pad_after};
  pad.set("paddings", cv::dnn::DictValue::arrayInt(paddings, 8));
  pad.set("value", 0.0f);
  return pad;
}

cv::Mat row_blob(const std::vector<float>& values) {
  cv::Mat blob(1, static_cast<int>(values.size()), CV_32F);
  std::copy(values.begin(), values.end(), blob.ptr<float>());
  return blob;
}

}  // namespace photoatlas::features
