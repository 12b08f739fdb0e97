#include "polymark/image_decode.hpp"

#include <climits>
#include <cstring>
#include <utility>

#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

namespace pm {

static const char* sniff_format(const uint8_t* d, size_t n) {
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return "JPEG";
    if (n >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return "PNG";
    if (n >= 12 && std::memcmp(d, "RIFF", 4) == 0 && std::memcmp(d + 8, "WEBP", 4) == 0) return "WebP";
    if (n >= 12 && std::memcmp(d + 4, "ftypavif", 8) == 0) return "AVIF";
    if (n >= 6 && (std::memcmp(d, "GIF87a", 6) == 0 || std::memcmp(d, "GIF89a", 6) == 0)) return "GIF";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "BMP";
    if (n >= 1 && (d[0] == '<' || d[0] == '{')) return "text (an HTML or JSON page, not an image)";
    return nullptr;
}

bool needs_platform_decoder(const uint8_t* data, size_t size) {
    const char* format = sniff_format(data, size);
    return format && (std::strcmp(format, "WebP") == 0 || std::strcmp(format, "AVIF") == 0);
}

// [SECTION] EXIF orientation: cameras store portrait photos sideways plus a tag saying how to turn
// them. Browsers and other tools apply it; without it, the labeler's coordinates would disagree.

int jpeg_exif_orientation(const uint8_t* d, size_t n) {
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return 1;
    size_t at = 2;
    while (at + 4 <= n && d[at] == 0xFF) {
        uint8_t marker = d[at + 1];
        if (marker == 0xDA || marker == 0xD9) break;  // image data starts: no more metadata
        size_t len = ((size_t)d[at + 2] << 8) | d[at + 3];
        if (len < 2 || at + 2 + len > n) break;
        const uint8_t* seg = d + at + 4;
        size_t seg_len = len - 2;
        if (marker == 0xE1 && seg_len >= 14 && std::memcmp(seg, "Exif\0\0", 6) == 0) {
            const uint8_t* tiff = seg + 6;
            size_t tn = seg_len - 6;
            bool little = tiff[0] == 'I' && tiff[1] == 'I';
            if (!little && !(tiff[0] == 'M' && tiff[1] == 'M')) return 1;
            auto u16 = [&](size_t o) -> unsigned { return o + 2 > tn ? 0 : little ? tiff[o] | (tiff[o + 1] << 8) : (tiff[o] << 8) | tiff[o + 1]; };
            auto u32 = [&](size_t o) -> size_t {
                if (o + 4 > tn) return 0;
                return little ? (size_t)tiff[o] | ((size_t)tiff[o + 1] << 8) | ((size_t)tiff[o + 2] << 16) | ((size_t)tiff[o + 3] << 24)
                              : ((size_t)tiff[o] << 24) | ((size_t)tiff[o + 1] << 16) | ((size_t)tiff[o + 2] << 8) | (size_t)tiff[o + 3];
            };
            size_t ifd = u32(4);
            unsigned entries = u16(ifd);
            for (unsigned i = 0; i < entries; ++i) {
                size_t e = ifd + 2 + 12 * (size_t)i;
                if (e + 12 > tn) break;
                if (u16(e) == 0x0112) {
                    unsigned v = u16(e + 8);
                    return v >= 1 && v <= 8 ? (int)v : 1;
                }
            }
            return 1;
        }
        at += 2 + len;
    }
    return 1;
}

void apply_orientation(ImageRGBA& img, int orientation) {
    if (orientation <= 1 || orientation > 8) return;
    const int w = img.width, h = img.height;
    const bool swap = orientation >= 5;
    const int ow = swap ? h : w, oh = swap ? w : h;
    std::vector<uint8_t> out((size_t)ow * oh * 4);
    for (int dy = 0; dy < oh; ++dy) {
        for (int dx = 0; dx < ow; ++dx) {
            int sx = dx, sy = dy;
            switch (orientation) {
                case 2: sx = w - 1 - dx; sy = dy; break;
                case 3: sx = w - 1 - dx; sy = h - 1 - dy; break;
                case 4: sx = dx; sy = h - 1 - dy; break;
                case 5: sx = dy; sy = dx; break;
                case 6: sx = dy; sy = h - 1 - dx; break;
                case 7: sx = w - 1 - dy; sy = h - 1 - dx; break;
                case 8: sx = w - 1 - dy; sy = dx; break;
            }
            std::memcpy(&out[((size_t)dy * ow + dx) * 4], &img.pixels[((size_t)sy * w + sx) * 4], 4);
        }
    }
    img.width = ow;
    img.height = oh;
    img.pixels = std::move(out);
}

// [SECTION] Decoding

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
    if (jpeg_exif_orientation(data, size) >= 5) std::swap(w, h);
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
    apply_orientation(img, jpeg_exif_orientation(data, size));
    return img;
}

}  // namespace pm
