// Decodes image file bytes (JPEG, PNG, BMP, GIF first frame, ...) to 8-bit RGBA with stb_image.
// Takes bytes, returns pixels or an Error naming the source; never touches files or the UI.
#pragma once
#include "polymark/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace pm {

struct ImageRGBA {
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;  // row-major, top row first, 4 bytes a pixel
};

inline constexpr long long kMaxImagePixels = 268435456;  // 16384 x 16384

struct ImageInfo {
    int width = 0, height = 0;
};

// `where` names the source in error messages (a URL or file name).
Expected<ImageInfo> probe_image(const uint8_t* data, size_t size, const std::string& where);
// The EXIF orientation (1..8) of a JPEG, 1 when there is none; decode_image applies it, so
// pixels and coordinates are upright as browsers and other tools show them.
int jpeg_exif_orientation(const uint8_t* data, size_t size);
void apply_orientation(ImageRGBA& image, int orientation);

// True for formats stb_image does not read but browsers do (WebP, AVIF): the web build decodes
// those with the browser's decoder.
bool needs_platform_decoder(const uint8_t* data, size_t size);

Expected<ImageRGBA> decode_image(const uint8_t* data, size_t size, const std::string& where);

}  // namespace pm
