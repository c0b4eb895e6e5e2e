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

cv::Mat row_blob(const std::vector<float>& values) {
  cv::Mat blob(1, static_cast<int>(values.size()), CV_32F);
  std::copy(values.begin(), values.end(), blob.ptr<float>());
  return blob;
}

}  // namespace photoatlas::features
