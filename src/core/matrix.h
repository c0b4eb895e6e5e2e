// A dense row-major float32 matrix: the currency between pipeline stages.
// float32 for storage (features are large), double for accumulations inside stages.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace photoatlas {

struct FloatMatrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> values;  // rows * cols, row-major

  FloatMatrix() = default;
  FloatMatrix(std::size_t r, std::size_t c) : rows(r), cols(c), values(r * c, 0.0f) {}

  float* row(std::size_t i) { return values.data() + i * cols; }
  const float* row(std::size_t i) const { return values.data() + i * cols; }
  std::span<const float> row_span(std::size_t i) const { return {row(i), cols}; }
  float& at(std::size_t i, std::size_t j) { return values[i * cols + j]; }
  float at(std::size_t i, std::size_t j) const { return values[i * cols + j]; }
  bool empty() const { return rows == 0; }
};

}  // namespace photoatlas
