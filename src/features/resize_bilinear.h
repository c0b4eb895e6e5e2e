// TF.js resizeBilinear (halfPixelCenters = false, no antialiasing, arithmetic in double) of an
// 8-bit RGB image into planar floats, as both TF.js-family models' preprocessing needs it:
// nsfwjs' CNNs (alignCorners = true) and the CenterNet detector (alignCorners = false).
#pragma once

#include "ingest/decode.h"

namespace photoatlas::features {

enum class BilinearGrid {
  AlignCorners,  // corner pixels map onto corner pixels: scale (in - 1) / (out - 1)
  Asymmetric,    // TF1's default: scale in / out, output pixel i samples input position i x scale
};

// Writes 3 x height x width floats to `planes` (R, G, B planes). Each byte q first becomes
// levels[q] (256 values: the model's input scaling), then the four neighbours are interpolated.
// Throws std::invalid_argument for an empty or inconsistent image.
void resize_bilinear_planes(const ingest::RgbImage& image, int width, int height, BilinearGrid grid,
                            const float* levels, float* planes);

}  // namespace photoatlas::features
