#include "polymark/image_decode.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
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

// [SECTION] Headers: the declared size, without decoding a pixel

// The file's name for people: the last part of a URL's path.
static std::string display_name(const std::string& where) {
    std::string path = where.substr(0, where.find_first_of("?#"));
    size_t slash = path.find_last_of('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    return name.empty() ? where : name;
}


static uint32_t be16(const uint8_t* p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t* p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint32_t le16(const uint8_t* p) { return (uint32_t)p[1] << 8 | p[0]; }
static uint32_t le24(const uint8_t* p) { return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; }
static uint32_t le32(const uint8_t* p) { return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; }
static int clamp_side(uint32_t v) { return v > (uint32_t)INT_MAX ? INT_MAX : (int)v; }

static std::optional<ImageHeader> jpeg_header(const uint8_t* d, size_t n) {
    size_t at = 2;
    while (at + 4 <= n) {
        if (d[at] != 0xFF) return std::nullopt;
        uint8_t marker = d[at + 1];
        if (marker == 0xFF) { ++at; continue; }  // fill byte
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { at += 2; continue; }  // no length
        if (marker == 0xDA || marker == 0xD9) return std::nullopt;  // scan data before any frame header
        bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (frame) {
            if (at + 9 > n) return std::nullopt;
            ImageHeader h{(int)be16(d + at + 7), (int)be16(d + at + 5), "JPEG"};
            if (jpeg_exif_orientation(d, n) >= 5) std::swap(h.width, h.height);
            return h;
        }
        at += 2 + be16(d + at + 2);
    }
    return std::nullopt;
}

static std::optional<ImageHeader> webp_header(const uint8_t* d, size_t n) {
    if (n < 30) return std::nullopt;
    if (std::memcmp(d + 12, "VP8X", 4) == 0) return ImageHeader{(int)le24(d + 24) + 1, (int)le24(d + 27) + 1, "WebP"};
    if (std::memcmp(d + 12, "VP8L", 4) == 0 && d[20] == 0x2F) {
        uint32_t bits = le32(d + 21);
        return ImageHeader{(int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1, "WebP"};
    }
    if (std::memcmp(d + 12, "VP8 ", 4) == 0 && d[23] == 0x9D && d[24] == 0x01 && d[25] == 0x2A)
        return ImageHeader{(int)(le16(d + 26) & 0x3FFF), (int)(le16(d + 28) & 0x3FFF), "WebP"};
    return std::nullopt;
}

// AVIF keeps sizes in 'ispe' properties (the picture, and maybe a thumbnail or an alpha plane): the
// largest near the start of the file is the picture's.
static std::optional<ImageHeader> avif_header(const uint8_t* d, size_t n) {
    std::optional<ImageHeader> best;
    size_t end = std::min<size_t>(n, 65536);
    for (size_t at = 4; at + 16 <= end; ++at) {
        if (std::memcmp(d + at, "ispe", 4) != 0) continue;
        ImageHeader h{clamp_side(be32(d + at + 8)), clamp_side(be32(d + at + 12)), "AVIF"};
        if (!best || (long long)h.width * h.height > (long long)best->width * best->height) best = h;
    }
    return best;
}

std::optional<ImageHeader> read_image_header(const uint8_t* d, size_t n) {
    const char* format = sniff_format(d, n);
    if (!format) return std::nullopt;
    std::optional<ImageHeader> h;
    if (std::strcmp(format, "PNG") == 0 && n >= 24 && std::memcmp(d + 12, "IHDR", 4) == 0)
        h = ImageHeader{clamp_side(be32(d + 16)), clamp_side(be32(d + 20)), "PNG"};
    else if (std::strcmp(format, "JPEG") == 0) h = jpeg_header(d, n);
    else if (std::strcmp(format, "GIF") == 0 && n >= 10) h = ImageHeader{(int)le16(d + 6), (int)le16(d + 8), "GIF"};
    else if (std::strcmp(format, "BMP") == 0 && n >= 26) {
        if (le32(d + 14) == 12) h = ImageHeader{(int)le16(d + 18), (int)le16(d + 20), "BMP"};
        else h = ImageHeader{std::abs((int)le32(d + 18)), std::abs((int)le32(d + 22)), "BMP"};
    } else if (std::strcmp(format, "WebP") == 0) h = webp_header(d, n);
    else if (std::strcmp(format, "AVIF") == 0) h = avif_header(d, n);
    if (h && (h->width <= 0 || h->height <= 0)) return std::nullopt;
    return h;
}

std::optional<Error> check_image_size(const ImageHeader& h, const std::string& name, const std::string& where) {
    long long pixels = (long long)h.width * h.height;
    if (pixels <= kMaxImagePixels) return std::nullopt;
    return Error{"too_large", where,
                 display_name(name) + " is " + std::to_string(h.width) + " x " + std::to_string(h.height) + " pixels (" +
                     std::to_string((pixels + 500000) / 1000000) + " megapixels), above the limit of " +
                     std::to_string(kMaxImagePixels / 1000000) + " megapixels"};
}

int reduction_factor(int width, int height) {
    if ((long long)width * height <= kFullDecodeMaxPixels) return 1;
    int f = 2;
    auto side = [&](int v) { return (long long)(v + f - 1) / f; };
    while (side(width) * side(height) > kLevelMaxPixels || side(width) > kLevelMaxSide || side(height) > kLevelMaxSide) f *= 2;
    return f;
}

// [SECTION] Decoding

Expected<ImageInfo> probe_image(const uint8_t* data, size_t size, const std::string& where) {
    if (size == 0) return Error{"empty_image", where, where + " is empty (0 bytes)"};
    if (size > (size_t)INT_MAX) return Error{"too_large", where, where + " is larger than 2 GB"};
    // The header's claim first: stb_image refuses huge headers with a reason that hides the size.
    if (auto header = read_image_header(data, size))
        if (auto refused = check_image_size(*header, where, where)) return *refused;
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(data, (int)size, &w, &h, &comp)) {
        const char* fmt = sniff_format(data, size);
        std::string what = fmt ? std::string("its format (") + fmt + ") cannot be decoded here" : "it is not a JPEG, PNG, BMP or GIF image";
        return Error{"decode_failed", where, where + " could not be read as an image: " + what};
    }
    if ((long long)w * h > kMaxImagePixels) return *check_image_size(ImageHeader{w, h, ""}, where, where);
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

// [SECTION] Reduced levels of huge PNGs

Expected<PngLayout> read_png_layout(const uint8_t* d, size_t n, const std::string& where) {
    auto damaged = [&](const std::string& why) { return Error{"decode_failed", where, where + " is damaged and could not be decoded (" + why + ")"}; };
    if (n < 33 || std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0 || std::memcmp(d + 12, "IHDR", 4) != 0) return damaged("no PNG header");
    PngLayout layout;
    layout.width = clamp_side(be32(d + 16));
    layout.height = clamp_side(be32(d + 20));
    layout.bit_depth = d[24];
    layout.colour_type = d[25];
    layout.interlaced = d[28] != 0;
    for (size_t at = 8; at + 12 <= n;) {
        size_t length = be32(d + at);
        if (length > n - at - 12) return damaged("a chunk runs past the end of the file");
        const uint8_t* body = d + at + 8;
        if (std::memcmp(d + at + 4, "IDAT", 4) == 0) layout.zlib_stream.insert(layout.zlib_stream.end(), body, body + length);
        else if (std::memcmp(d + at + 4, "PLTE", 4) == 0) {
            layout.palette.clear();
            for (size_t i = 0; i + 3 <= length; i += 3) layout.palette.insert(layout.palette.end(), {body[i], body[i + 1], body[i + 2], 255});
        } else if (std::memcmp(d + at + 4, "tRNS", 4) == 0) {
            if (layout.colour_type == 3)
                for (size_t i = 0; i < length && i * 4 + 3 < layout.palette.size(); ++i) layout.palette[i * 4 + 3] = body[i];
            else layout.transparent.assign(body, body + length);
        } else if (std::memcmp(d + at + 4, "IEND", 4) == 0) break;
        at += 12 + length;
    }
    if (layout.zlib_stream.empty()) return damaged("no image data");
    return layout;
}

bool png_reducible(const PngLayout& l) {
    static const int channels[] = {1, 0, 3, 1, 2, 0, 4};
    if (l.interlaced || l.width <= 0 || l.height <= 0 || l.colour_type > 6 || channels[l.colour_type] == 0) return false;
    return l.colour_type == 3 ? l.bit_depth == 8 : l.bit_depth == 8 || l.bit_depth == 16;
}

PngReducer::PngReducer(const PngLayout& layout, int factor, PixelWindow window) : factor_(std::max(1, factor)) {
    layout_.width = layout.width;
    layout_.height = layout.height;
    layout_.bit_depth = layout.bit_depth;
    layout_.colour_type = layout.colour_type;
    layout_.interlaced = layout.interlaced;
    layout_.palette = layout.palette;
    layout_.transparent = layout.transparent;
    static const int channels[] = {1, 0, 3, 1, 2, 0, 4};
    channels_ = layout_.colour_type <= 6 ? channels[layout_.colour_type] : 0;
    pixel_bytes_ = channels_ * (layout_.bit_depth == 16 ? 2 : 1);
    bad_ = !png_reducible(layout_);
    if (bad_) return;
    stride_ = (size_t)layout_.width * pixel_bytes_;
    previous_.assign(stride_ + 1, 0);
    current_.assign(stride_ + 1, 0);
    if (window.width <= 0 || window.height <= 0) window = {0, 0, layout_.width, layout_.height};
    x0_ = std::clamp(window.x, 0, layout_.width);
    y0_ = std::clamp(window.y, 0, layout_.height);
    x1_ = std::clamp((long long)window.x + window.width, (long long)x0_, (long long)layout_.width);
    y1_ = std::clamp((long long)window.y + window.height, (long long)y0_, (long long)layout_.height);
    if (x1_ <= x0_ || y1_ <= y0_) { bad_ = true; return; }
    unfilter_bytes_ = (size_t)x1_ * pixel_bytes_;
    level_.width = (x1_ - x0_ + factor_ - 1) / factor_;
    level_.height = (y1_ - y0_ + factor_ - 1) / factor_;
    level_.pixels.assign((size_t)level_.width * level_.height * 4, 0);
    sums_.assign((size_t)level_.width * 4, 0);
}

bool PngReducer::feed(const uint8_t* data, size_t size) {
    while (size > 0 && !bad_ && row_ < y1_) {
        size_t take = std::min(size, stride_ + 1 - filled_);
        std::memcpy(current_.data() + filled_, data, take);
        filled_ += take;
        data += take;
        size -= take;
        if (filled_ == stride_ + 1) {
            take_row();
            filled_ = 0;
        }
    }
    return !bad_;
}

void PngReducer::take_row() {
    uint8_t* row = current_.data() + 1;
    const uint8_t* up = previous_.data() + 1;
    const size_t bpp = (size_t)pixel_bytes_;
    const size_t n = unfilter_bytes_;
    switch (current_[0]) {
        case 0: break;
        case 1: for (size_t i = bpp; i < n; ++i) row[i] = uint8_t(row[i] + row[i - bpp]); break;
        case 2: for (size_t i = 0; i < n; ++i) row[i] = uint8_t(row[i] + up[i]); break;
        case 3:
            for (size_t i = 0; i < n; ++i) row[i] = uint8_t(row[i] + (((i >= bpp ? row[i - bpp] : 0) + up[i]) >> 1));
            break;
        case 4:
            for (size_t i = 0; i < n; ++i) {
                int a = i >= bpp ? row[i - bpp] : 0, b = up[i], c = i >= bpp ? up[i - bpp] : 0;
                int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
                row[i] = uint8_t(row[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c));
            }
            break;
        default: bad_ = true; return;
    }
    if (row_ < y0_) {  // above the window: unfiltered only as the next row's "up"
        ++row_;
        std::swap(previous_, current_);
        return;
    }
    // Add each pixel, as RGBA, to the sums of the level pixel whose box holds it.
    const bool wide = layout_.bit_depth == 16;
    const int step = wide ? 2 : 1;  // 16-bit samples: the high byte
    const bool keyed = !layout_.transparent.empty() && (layout_.colour_type == 0 || layout_.colour_type == 2);
    uint32_t* sum = sums_.data();
    if (!wide && !keyed && (layout_.colour_type == 2 || layout_.colour_type == 6)) {  // the common case, fast
        const int ch = channels_;
        for (int x = x0_; x < x1_; sum += 4) {
            const int end = std::min(x + factor_, x1_);
            uint32_t r = 0, g = 0, b = 0, a = 0;
            for (; x < end; ++x) {
                const uint8_t* p = row + (size_t)x * ch;
                r += p[0];
                g += p[1];
                b += p[2];
                a += ch == 4 ? p[3] : 255;
            }
            sum[0] += r;
            sum[1] += g;
            sum[2] += b;
            sum[3] += a;
        }
        end_row();
        return;
    }
    int in_box = 0;
    for (int x = x0_; x < x1_; ++x) {
        const uint8_t* p = row + (size_t)x * pixel_bytes_;
        uint32_t r, g, b, a = 255;
        switch (layout_.colour_type) {
            case 0: r = g = b = p[0]; break;
            case 2: r = p[0]; g = p[step]; b = p[2 * step]; break;
            case 3: {
                size_t i = (size_t)p[0] * 4;
                if (i + 3 < layout_.palette.size()) { r = layout_.palette[i]; g = layout_.palette[i + 1]; b = layout_.palette[i + 2]; a = layout_.palette[i + 3]; }
                else r = g = b = 0;
                break;
            }
            case 4: r = g = b = p[0]; a = p[step]; break;
            default: r = p[0]; g = p[step]; b = p[2 * step]; a = p[3 * step]; break;
        }
        if (keyed) {
            // The key holds 16-bit samples; 8-bit images use their low byte.
            bool match = true;
            for (int c = 0; c < (layout_.colour_type == 0 ? 1 : 3) && match; ++c) {
                if ((size_t)c * 2 + 1 >= layout_.transparent.size()) { match = false; break; }
                uint32_t key = be16(&layout_.transparent[(size_t)c * 2]);
                uint32_t value = wide ? be16(p + c * 2) : p[c];
                match = key == value;
            }
            if (match) a = 0;
        }
        sum[0] += r;
        sum[1] += g;
        sum[2] += b;
        sum[3] += a;
        if (++in_box == factor_) {
            in_box = 0;
            sum += 4;
        }
    }
    end_row();
}

void PngReducer::end_row() {
    ++row_;
    const int in_band = (row_ - y0_) % factor_;
    if (in_band == 0 || row_ == y1_) flush_band(in_band == 0 ? factor_ : in_band);
    std::swap(previous_, current_);
}

void PngReducer::flush_band(int band_rows) {
    uint8_t* out = level_.pixels.data() + (size_t)((row_ - 1 - y0_) / factor_) * level_.width * 4;
    const uint32_t full = (uint32_t)factor_ * (uint32_t)band_rows;
    for (int i = 0; i < level_.width; ++i) {
        uint32_t count = i + 1 < level_.width ? full : (uint32_t)(x1_ - x0_ - i * factor_) * (uint32_t)band_rows;
        for (int c = 0; c < 4; ++c) {
            uint32_t& s = sums_[(size_t)i * 4 + c];
            out[(size_t)i * 4 + c] = uint8_t((s + count / 2) / count);
            s = 0;
        }
    }
}

Expected<ImageRGBA> PngReducer::finish(const std::string& where) {
    if (bad_)
        return Error{"decode_failed", where, where + " is damaged and could not be decoded (" +
                                                 std::string(png_reducible(layout_) ? "a row has an unknown filter" : "an interlaced or low bit depth PNG") + ")"};
    if (row_ < y1_)
        return Error{"decode_failed", where, where + " is cut short: its data ends after row " + std::to_string(row_) + " of " + std::to_string(layout_.height)};
    return std::move(level_);
}

// [SECTION] Inflate (RFC 1950 zlib around RFC 1951 deflate), resumable between symbols
// The input is all in memory; the output goes out in slices through a 32 KiB window, so a huge
// image's inflated bytes never exist at once.

namespace {

constexpr int kFastBits = 9;

// A canonical Huffman code: a table for codes up to kFastBits long, bit by bit beyond.
struct Huffman {
    uint16_t count[16] = {};
    std::vector<uint16_t> symbols;             // by code length, then symbol
    std::vector<uint16_t> fast;                // (symbol << 4) | length, 0: longer than kFastBits
    bool build(const uint8_t* lengths, int n) {
        std::fill(std::begin(count), std::end(count), 0);
        for (int i = 0; i < n; ++i) count[lengths[i]]++;
        count[0] = 0;
        int left = 1;  // an over-subscribed code is damaged data
        for (int len = 1; len < 16; ++len) {
            left = left * 2 - count[len];
            if (left < 0) return false;
        }
        uint16_t offset[16] = {};
        for (int len = 1; len < 15; ++len) offset[len + 1] = uint16_t(offset[len] + count[len]);
        symbols.assign((size_t)n, 0);
        for (int i = 0; i < n; ++i)
            if (lengths[i]) symbols[offset[lengths[i]]++] = uint16_t(i);
        fast.assign((size_t)1 << kFastBits, 0);
        int code = 0, index = 0;
        for (int len = 1; len < 16; ++len) {
            for (int k = 0; k < count[len]; ++k, ++code, ++index) {
                if (len > kFastBits) continue;
                int reversed = 0;  // deflate sends Huffman codes first bit first
                for (int b = 0; b < len; ++b) reversed |= ((code >> b) & 1) << (len - 1 - b);
                for (int fill = reversed; fill < (1 << kFastBits); fill += 1 << len) fast[(size_t)fill] = uint16_t(symbols[(size_t)index] << 4 | len);
            }
            code <<= 1;
        }
        return true;
    }
};

const uint16_t kLengthBase[] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
const uint8_t kLengthExtra[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
const uint16_t kDistanceBase[] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
const uint8_t kDistanceExtra[] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

}  // namespace

class Inflater {
public:
    Inflater(const uint8_t* data, size_t size) : in_(data), size_(size) { window_.assign(kWindow + kSlice + 258, 0); }

    // Inflates until about `budget` bytes went to `sink(data, size)`; false once finished or failed.
    template <class Sink>
    bool run(size_t budget, Sink&& sink) {
        if (state_ == State::Start) {
            if (size_ < 2 || (in_[0] & 0x0F) != 8 || ((in_[0] << 8) | in_[1]) % 31 != 0 || (in_[1] & 0x20)) return fail("not a zlib stream");
            at_ = 2;
            state_ = State::BlockHeader;
        }
        size_t sent = 0;
        while (state_ != State::Done && state_ != State::Failed && sent < budget) {
            if (pos_ >= kWindow + kSlice) sent += flush(sink);
            if (state_ == State::BlockHeader) {
                if (last_block_) { state_ = State::Done; break; }
                last_block_ = bits(1);
                int type = (int)bits(2);
                if (type == 0) {
                    drop_to_byte();
                    uint32_t len = bits(16), nlen = bits(16);
                    if ((len ^ 0xFFFF) != nlen) return fail("a stored block's length is damaged");
                    stored_left_ = len;
                    state_ = State::Stored;
                } else if (type == 1) {
                    uint8_t lengths[320];
                    for (int i = 0; i < 288; ++i) lengths[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
                    for (int i = 0; i < 30; ++i) lengths[288 + i] = 5;
                    literals_.build(lengths, 288);
                    distances_.build(lengths + 288, 30);
                    state_ = State::Codes;
                } else if (type == 2) {
                    if (!read_dynamic_tables()) return fail("a block's Huffman tables are damaged");
                    state_ = State::Codes;
                } else {
                    return fail("a block of unknown type");
                }
            } else if (state_ == State::Stored) {
                while (stored_left_ > 0 && pos_ < kWindow + kSlice) {
                    if (bit_count_ >= 8) { window_[pos_++] = uint8_t(bits(8)); --stored_left_; ++total_; continue; }
                    size_t n = std::min<size_t>({stored_left_, size_ - std::min(size_, at_), kWindow + kSlice - pos_});
                    if (n == 0) return fail("the data ends inside a stored block");
                    std::memcpy(&window_[pos_], in_ + at_, n);
                    pos_ += n;
                    at_ += n;
                    stored_left_ -= (uint32_t)n;
                    total_ += n;
                }
                if (stored_left_ == 0) state_ = State::BlockHeader;
            } else {  // Codes: symbols until the block ends or the slice is full
                while (pos_ < kWindow + kSlice) {
                    int symbol = decode(literals_);
                    if (symbol < 0) return fail("a code is damaged");
                    if (symbol < 256) {
                        window_[pos_++] = uint8_t(symbol);
                        ++total_;
                        continue;
                    }
                    if (symbol == 256) { state_ = State::BlockHeader; break; }
                    symbol -= 257;
                    if (symbol >= 29) return fail("a length code is damaged");
                    size_t length = kLengthBase[symbol] + bits(kLengthExtra[symbol]);
                    int d = decode(distances_);
                    if (d < 0 || d >= 30) return fail("a distance code is damaged");
                    size_t distance = kDistanceBase[d] + bits(kDistanceExtra[d]);
                    if (distance > total_ || distance > kWindow) return fail("a distance reaches before the start");
                    uint8_t* out = &window_[pos_];
                    const uint8_t* from = out - distance;
                    if (distance >= length) std::memcpy(out, from, length);
                    else if (distance == 1) std::memset(out, *from, length);
                    else {
                        // A repeating pattern (a run of RGB pixels: distance 3): one period, then
                        // doubling copies from the start, which always begin on a period.
                        std::memcpy(out, from, distance);
                        for (size_t done = distance; done < length;) {
                            size_t n = std::min(done, length - done);
                            std::memcpy(out + done, out, n);
                            done += n;
                        }
                    }
                    pos_ += length;
                    total_ += length;
                }
                if (overrun_) return fail("the data ends early");
            }
        }
        if (state_ == State::Done && pos_ > kWindow) sent += flush(sink);
        return state_ != State::Done && state_ != State::Failed;
    }
    bool failed() const { return state_ == State::Failed; }
    const std::string& failure() const { return failure_; }

private:
    static constexpr size_t kWindow = 32768, kSlice = 262144;
    enum class State { Start, BlockHeader, Stored, Codes, Done, Failed };
    const uint8_t* in_;
    size_t size_, at_ = 0;
    uint64_t bit_buffer_ = 0;
    int bit_count_ = 0;
    bool overrun_ = false, last_block_ = false;
    State state_ = State::Start;
    uint32_t stored_left_ = 0;
    size_t pos_ = kWindow, total_ = 0;
    std::vector<uint8_t> window_;  // 32 KiB of history, then the slice being filled
    Huffman literals_, distances_;
    std::string failure_;

    bool fail(const char* why) {
        state_ = State::Failed;
        failure_ = why;
        return false;
    }
    void refill() {
        while (bit_count_ <= 56) {
            if (at_ < size_) bit_buffer_ |= (uint64_t)in_[at_] << bit_count_;
            else overrun_ = at_ > size_ + 8;  // a few bytes of look-ahead past the end are fine
            ++at_;
            bit_count_ += 8;
        }
    }
    uint32_t bits(int n) {
        if (n == 0) return 0;
        if (bit_count_ < n) refill();
        uint32_t v = (uint32_t)(bit_buffer_ & ((1ull << n) - 1));
        bit_buffer_ >>= n;
        bit_count_ -= n;
        return v;
    }
    void drop_to_byte() {
        bits(bit_count_ % 8);
        // Give the whole bytes still buffered back to the input: stored data is copied from there.
        at_ -= (size_t)bit_count_ / 8;
        bit_buffer_ = 0;
        bit_count_ = 0;
    }
    int decode(const Huffman& h) {
        if (bit_count_ < 16) refill();
        uint16_t entry = h.fast[(size_t)(bit_buffer_ & ((1u << kFastBits) - 1))];
        if (entry) {
            int len = entry & 15;
            bit_buffer_ >>= len;
            bit_count_ -= len;
            return entry >> 4;
        }
        int code = 0, first = 0, index = 0;
        for (int len = 1; len < 16; ++len) {
            code |= (int)bits(1);
            int count = h.count[len];
            if (code - first < count) return h.symbols[(size_t)(index + code - first)];
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        return -1;
    }
    bool read_dynamic_tables() {
        static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
        int nlit = (int)bits(5) + 257, ndist = (int)bits(5) + 1, ncode = (int)bits(4) + 4;
        if (nlit > 286 || ndist > 30) return false;
        uint8_t code_lengths[19] = {};
        for (int i = 0; i < ncode; ++i) code_lengths[order[i]] = uint8_t(bits(3));
        Huffman lengths_code;
        if (!lengths_code.build(code_lengths, 19)) return false;
        uint8_t lengths[320] = {};
        for (int i = 0; i < nlit + ndist;) {
            int symbol = decode(lengths_code);
            if (symbol < 0) return false;
            if (symbol < 16) { lengths[i++] = uint8_t(symbol); continue; }
            int repeat = 0;
            uint8_t value = 0;
            if (symbol == 16) {
                if (i == 0) return false;
                value = lengths[i - 1];
                repeat = 3 + (int)bits(2);
            } else if (symbol == 17) repeat = 3 + (int)bits(3);
            else repeat = 11 + (int)bits(7);
            if (i + repeat > nlit + ndist) return false;
            while (repeat--) lengths[i++] = value;
        }
        if (lengths[256] == 0) return false;
        return literals_.build(lengths, nlit) && distances_.build(lengths + nlit, ndist) && !overrun_;
    }
    template <class Sink>
    size_t flush(Sink& sink) {
        size_t n = pos_ - kWindow;
        sink(&window_[kWindow], n);
        std::memmove(&window_[0], &window_[pos_ - kWindow], kWindow);
        pos_ = kWindow;
        return n;
    }
};

PngLevelDecoder::PngLevelDecoder(PngLayout layout, int factor) : PngLevelDecoder(std::make_shared<const PngLayout>(std::move(layout)), factor, {}) {}

PngLevelDecoder::PngLevelDecoder(std::shared_ptr<const PngLayout> layout, int factor, PixelWindow window)
    : layout_(std::move(layout)), inflater_(std::make_unique<Inflater>(layout_->zlib_stream.data(), layout_->zlib_stream.size())), reducer_(*layout_, factor, window) {}

PngLevelDecoder::~PngLevelDecoder() = default;

bool PngLevelDecoder::step(size_t budget) {
    if (!failure_.empty() || reducer_.complete()) return false;
    bool more = inflater_->run(budget, [&](const uint8_t* data, size_t size) {
        if (!reducer_.feed(data, size) && failure_.empty()) failure_ = "a row has an unknown filter";
    });
    if (inflater_->failed() && !reducer_.complete()) failure_ = "its image data does not inflate: " + inflater_->failure();
    return more && failure_.empty() && !reducer_.complete();
}

Expected<ImageRGBA> PngLevelDecoder::finish(const std::string& where) {
    if (!failure_.empty() && !reducer_.complete()) return Error{"decode_failed", where, where + " is damaged and could not be decoded (" + failure_ + ")"};
    return reducer_.finish(where);
}

}  // namespace pm
