// Image files written byte by byte, for the cases a normal encoder refuses to make: a PNG with
// a palette and transparency, a header claiming 65000x65000 pixels, a broken checksum.
// Header-only so any test (and the fuzz seed generator) can use it without a library change.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace photoatlas::testing {

inline std::uint32_t crc32_of(const std::string& bytes, std::uint32_t crc = 0) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (unsigned char b : bytes) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

inline void append_be32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xFF);
}

// length, type, data, CRC over type + data.
inline std::string png_chunk(const std::string& type, const std::string& data) {
  std::string out;
  append_be32(out, static_cast<std::uint32_t>(data.size()));
  out += type + data;
  append_be32(out, crc32_of(type + data));
  return out;
}

// zlib stream of stored (uncompressed) deflate blocks: no zlib needed to write a valid PNG.
inline std::string zlib_stored(const std::string& raw) {
  std::string out = "\x78\x01";
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(65535, raw.size() - pos);
    const bool last = pos + n == raw.size();
    out += static_cast<char>(last ? 1 : 0);
    out += static_cast<char>(n & 0xFF);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(~n & 0xFF);
    out += static_cast<char>((~n >> 8) & 0xFF);
    out.append(raw, pos, n);
    pos += n;
  } while (pos < raw.size());
  std::uint32_t a = 1, b = 0;
  for (unsigned char c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  append_be32(out, (b << 16) | a);
  return out;
}

inline std::string png_ihdr(std::uint32_t width, std::uint32_t height, int bit_depth, int colour_type) {
  std::string ihdr;
  append_be32(ihdr, width);
  append_be32(ihdr, height);
  ihdr += static_cast<char>(bit_depth);
  ihdr += static_cast<char>(colour_type);
  ihdr += std::string(3, '\0');  // deflate, adaptive filtering, no interlace
  return png_chunk("IHDR", ihdr);
}

inline const std::string& png_signature() {
  static const std::string signature("\x89PNG\r\n\x1a\n", 8);
  return signature;
}

// A palette PNG (colour type 3, 8-bit indices) with a tRNS chunk: `palette` RGB triples,
// `alpha` one entry per palette colour, `indices` width*height bytes.
inline std::string palette_png(int width, int height, const std::vector<std::array<std::uint8_t, 3>>& palette,
                               const std::vector<std::uint8_t>& alpha, const std::vector<std::uint8_t>& indices) {
  std::string plte, trns(alpha.begin(), alpha.end()), raw;
  for (const auto& c : palette) plte.append(reinterpret_cast<const char*>(c.data()), 3);
  for (int y = 0; y < height; ++y) {
    raw += '\0';  // filter: none
    raw.append(reinterpret_cast<const char*>(indices.data()) + static_cast<std::size_t>(y) * width, width);
  }
  return png_signature() + png_ihdr(width, height, 8, 3) + png_chunk("PLTE", plte) + png_chunk("tRNS", trns) +
         png_chunk("IDAT", zlib_stored(raw)) + png_chunk("IEND", "");
}

// A PNG whose header claims `width` x `height` RGB pixels but holds a few bytes of data:
// the decoder must refuse it from the header, before allocating anything that large.
inline std::string png_claiming_size(std::uint32_t width, std::uint32_t height) {
  return png_signature() + png_ihdr(width, height, 8, 2) + png_chunk("IDAT", zlib_stored(std::string(16, '\0'))) +
         png_chunk("IEND", "");
}

// Changes the stored CRC of the first IDAT chunk, leaving its data intact.
inline std::string png_with_broken_crc(std::string png) {
  const auto at = png.find("IDAT");
  if (at == std::string::npos || at < 4) throw std::runtime_error("no IDAT chunk");
  std::size_t length = 0;
  for (std::size_t k = at - 4; k < at; ++k) length = (length << 8) | static_cast<unsigned char>(png[k]);
  const std::size_t crc = at + 4 + length;
  if (crc + 4 > png.size()) throw std::runtime_error("IDAT chunk cut short");
  png[crc] = static_cast<char>(png[crc] ^ 0xFF);
  return png;
}

// Rewrites the size in a JPEG's SOFn segment (baseline or progressive), keeping everything else.
inline std::string jpeg_claiming_size(std::string jpeg, std::uint16_t width, std::uint16_t height) {
  for (std::size_t i = 2; i + 9 < jpeg.size();) {
    if (static_cast<unsigned char>(jpeg[i]) != 0xFF) throw std::runtime_error("not a JPEG marker");
    const unsigned char marker = static_cast<unsigned char>(jpeg[i + 1]);
    const std::size_t length = (static_cast<unsigned char>(jpeg[i + 2]) << 8) | static_cast<unsigned char>(jpeg[i + 3]);
    if (marker >= 0xC0 && marker <= 0xC2) {
      jpeg[i + 5] = static_cast<char>(height >> 8);
      jpeg[i + 6] = static_cast<char>(height & 0xFF);
      jpeg[i + 7] = static_cast<char>(width >> 8);
      jpeg[i + 8] = static_cast<char>(width & 0xFF);
      return jpeg;
    }
    i += 2 + length;
  }
  throw std::runtime_error("no SOF segment");
}

}  // namespace photoatlas::testing
