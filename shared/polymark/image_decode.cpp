#include "polymark/image_decode.hpp"

#include <climits>
#include <cstring>

#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

namespace pm {

static const char* sniff_format(const uint8_t* d, size_t n) {
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return "JPEG";
    if (n >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return "PNG";
    if (n >= 12 && std::memcmp(d, "RIFF", 4) == 0 && std::memcmp(d + 8, "WEBP", 4) == 0) return "WebP";
    if (n >= 6 && (std::memcmp(d, "GIF87a", 6) == 0 || std::memcmp(d, "GIF89a", 6) == 0)) return "GIF";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "BMP";
    if (n >= 1 && (d[0] == '<' || d[0] == '{')) return "text (an HTML or JSON page, not an image)";
    return nullptr;
}

Expected<ImageInfo> probe_image(const uint8_t* data, size_t size, const std::string& where) {
    if (size == 0) return Error{"empty_image", where, where + " is empty (0 bytes)"};
    if (size > (size_t)INT_MAX) return Error{"too_large", where, where + " is larger than 2 GB"};
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(data, (int)size, &w, &h, &comp)) {
        const char* fmt = sniff_format(data, size);
        std::string what = fmt ? std::string("its format (") + fmt + ") cannot be decoded here" : "it is not a JPEG, PNG, BMP or GIF image";
        return Error{"decode_failed", where, where + " could not be read as an image: " + what};
    }
    if ((long long)w * h > kMaxImagePixels) return Error{"too_large", where, where + " is " + std::to_string(w) + "x" + std::to_string(h) + " pixels, above the limit of 16384x16384"};
    return ImageInfo{w, h};
}

Expected<ImageRGBA> decode_image(const uint8_t* data, size_t size, const std::string& where) {
    auto info = probe_image(data, size, where);
    if (!info) return info.errors();
    int w = 0, h = 0, comp = 0;
    stbi_uc* pixels = stbi_load_from_memory(data, (int)size, &w, &h, &comp, 4);
    if (!pixels) {
        const char* reason = stbi_failure_reason();
        return Error{"decode_failed", where, where + " is damaged and could not be decoded (" + std::string(reason ? reason : "unknown reason") + ")"};
    }
    ImageRGBA img;
    img.width = w;
    img.height = h;
    img.pixels.assign(pixels, pixels + (size_t)w * h * 4);
    stbi_image_free(pixels);
    return img;
}

}  // namespace pm
