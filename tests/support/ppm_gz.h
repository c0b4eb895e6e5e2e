// Reads a gzip-compressed binary 8-bit PPM (P6), as ../shared/reference keeps decoded reference pixels.
#pragma once

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace photoatlas::testing {

struct PpmImage {
  int width = 0, height = 0;
  std::vector<unsigned char> rgb;  // width * height * 3, interleaved
};

inline PpmImage read_ppm_gz(const std::filesystem::path& file) {
  // gzip is part of every Debian system; piping through it keeps zlib out of the link lines.
  const std::string command = "gzip -dc '" + file.string() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run gzip");
  std::string data;
  char buffer[1 << 16];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) data.append(buffer, n);
  if (pclose(pipe) != 0) throw std::runtime_error("gzip failed on " + file.string());
  int w = 0, h = 0, maxval = 0, header = 0;
  if (std::sscanf(data.c_str(), "P6 %d %d %d%n", &w, &h, &maxval, &header) != 3 || maxval != 255)
    throw std::runtime_error(file.string() + " is not an 8-bit binary PPM");
  ++header;  // the single whitespace after maxval
  if (data.size() != static_cast<std::size_t>(header) + static_cast<std::size_t>(w) * h * 3)
    throw std::runtime_error(file.string() + " has the wrong length");
  PpmImage image;
  image.width = w;
  image.height = h;
  image.rgb.assign(data.begin() + header, data.end());
  return image;
}

}  // namespace photoatlas::testing
