#include "polymark/image_decode.hpp"

#include <catch2/catch.hpp>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include <cstring>
#include <vector>

using namespace pm;

// Builds a valid RGB PNG from scratch (stored deflate blocks, real CRC and Adler-32), so the
// test owns its input instead of trusting a binary blob.
static std::vector<uint8_t> make_png(int w, int h, const std::vector<uint8_t>& rgb) {
    auto be32 = [](std::vector<uint8_t>& v, uint32_t x) { for (int s = 24; s >= 0; s -= 8) v.push_back(uint8_t(x >> s)); };
    auto crc = [](const uint8_t* d, size_t n) {
        uint32_t c = 0xFFFFFFFFu;
        for (size_t i = 0; i < n; ++i) { c ^= d[i]; for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1))); }
        return c ^ 0xFFFFFFFFu;
    };
    auto chunk = [&](std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
        be32(out, uint32_t(data.size()));
        std::vector<uint8_t> body(type, type + 4);
        body.insert(body.end(), data.begin(), data.end());
        out.insert(out.end(), body.begin(), body.end());
        be32(out, crc(body.data(), body.size()));
    };
    std::vector<uint8_t> raw;
    for (int y = 0; y < h; ++y) { raw.push_back(0); raw.insert(raw.end(), rgb.begin() + y * w * 3, rgb.begin() + (y + 1) * w * 3); }
    std::vector<uint8_t> z = {0x78, 0x01, 0x01, uint8_t(raw.size()), uint8_t(raw.size() >> 8), uint8_t(~raw.size()), uint8_t(~raw.size() >> 8)};
    z.insert(z.end(), raw.begin(), raw.end());
    uint32_t a = 1, b = 0;
    for (uint8_t c : raw) { a = (a + c) % 65521; b = (b + a) % 65521; }
    be32(z, (b << 16) | a);
    std::vector<uint8_t> ihdr;
    be32(ihdr, uint32_t(w));
    be32(ihdr, uint32_t(h));
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
    std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    chunk(png, "IHDR", ihdr);
    chunk(png, "IDAT", z);
    chunk(png, "IEND", {});
    return png;
}

static const std::vector<uint8_t> kPng2x1 = make_png(2, 1, {255, 0, 0, 0, 0, 255});

TEST_CASE("a png decodes to rgba pixels in row order") {
    auto img = decode_image(kPng2x1.data(), kPng2x1.size(), "tiny.png");
    if (!img.ok()) FAIL(img.first_error().message);
    CHECK(img->width == 2);
    CHECK(img->height == 1);
    REQUIRE(img->pixels.size() == 8);
    CHECK(img->pixels[0] == 255);
    CHECK(img->pixels[1] == 0);
    CHECK(img->pixels[3] == 255);
    CHECK(img->pixels[6] == 255);
}

TEST_CASE("empty bytes are an empty_image error naming the source") {
    auto img = decode_image(nullptr, 0, "/media/x.png");
    REQUIRE_FALSE(img.ok());
    CHECK(img.first_error().code == "empty_image");
    CHECK(img.first_error().path == "/media/x.png");
}

TEST_CASE("an html error page served instead of an image is named as such") {
    const char* html = "<!doctype html><title>404</title>";
    auto img = decode_image((const uint8_t*)html, std::strlen(html), "/media/missing.jpg");
    REQUIRE_FALSE(img.ok());
    CHECK(img.first_error().code == "decode_failed");
    CHECK(img.first_error().message.find("HTML") != std::string::npos);
}

TEST_CASE("a truncated png is a decode error, not a crash") {
    auto img = decode_image(kPng2x1.data(), 40, "cut.png");
    REQUIRE_FALSE(img.ok());
    CHECK(img.first_error().code == "decode_failed");
}

// A JPEG written by stb_image_write, with an EXIF APP1 segment carrying `orientation` spliced in
// after SOI, in big- or little-endian TIFF order.
static std::vector<uint8_t> make_jpeg_with_orientation(int w, int h, const std::vector<uint8_t>& rgb, int orientation, bool little) {
    std::vector<uint8_t> jpeg;
    stbi_write_jpg_to_func([](void* ctx, void* data, int size) {
        auto* out = static_cast<std::vector<uint8_t>*>(ctx);
        out->insert(out->end(), (uint8_t*)data, (uint8_t*)data + size);
    }, &jpeg, w, h, 3, rgb.data(), 95);
    auto u16 = [&](std::vector<uint8_t>& v, unsigned x) { if (little) { v.push_back(uint8_t(x)); v.push_back(uint8_t(x >> 8)); } else { v.push_back(uint8_t(x >> 8)); v.push_back(uint8_t(x)); } };
    auto u32 = [&](std::vector<uint8_t>& v, unsigned x) { if (little) { u16(v, x & 0xFFFF); u16(v, x >> 16); } else { u16(v, x >> 16); u16(v, x & 0xFFFF); } };
    std::vector<uint8_t> tiff = little ? std::vector<uint8_t>{'I', 'I'} : std::vector<uint8_t>{'M', 'M'};
    u16(tiff, 42);
    u32(tiff, 8);
    u16(tiff, 1);                     // one entry
    u16(tiff, 0x0112); u16(tiff, 3);  // Orientation, SHORT
    u32(tiff, 1);
    u16(tiff, unsigned(orientation)); u16(tiff, 0);
    u32(tiff, 0);                     // no next IFD
    std::vector<uint8_t> app1 = {0xFF, 0xE1};
    size_t len = 2 + 6 + tiff.size();
    app1.push_back(uint8_t(len >> 8));
    app1.push_back(uint8_t(len));
    app1.insert(app1.end(), {'E', 'x', 'i', 'f', 0, 0});
    app1.insert(app1.end(), tiff.begin(), tiff.end());
    jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
    return jpeg;
}

TEST_CASE("a JPEG's EXIF orientation is applied, so pixels are upright as browsers show them") {
    // 32x16: left half red, right half blue.
    const int w = 32, h = 16;
    std::vector<uint8_t> rgb;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) rgb.insert(rgb.end(), x < w / 2 ? std::initializer_list<uint8_t>{220, 20, 20} : std::initializer_list<uint8_t>{20, 20, 220});
    auto red = [](const ImageRGBA& img, int x, int y) { const uint8_t* p = &img.pixels[((size_t)y * img.width + x) * 4]; return p[0] > 150 && p[2] < 100; };
    auto blue = [](const ImageRGBA& img, int x, int y) { const uint8_t* p = &img.pixels[((size_t)y * img.width + x) * 4]; return p[2] > 150 && p[0] < 100; };

    for (bool little : {false, true}) {
        auto upright = make_jpeg_with_orientation(w, h, rgb, 1, little);
        CHECK(jpeg_exif_orientation(upright.data(), upright.size()) == 1);
        auto plain = decode_image(upright.data(), upright.size(), "upright.jpg");
        REQUIRE(plain.ok());
        CHECK(plain->width == 32);
        CHECK(red(plain.value(), 4, 8));

        // 6: stored sideways, to be turned 90 degrees clockwise: the left half becomes the top.
        auto turned = make_jpeg_with_orientation(w, h, rgb, 6, little);
        CHECK(jpeg_exif_orientation(turned.data(), turned.size()) == 6);
        auto cw = decode_image(turned.data(), turned.size(), "turned.jpg");
        REQUIRE(cw.ok());
        CHECK(cw->width == 16);
        CHECK(cw->height == 32);
        CHECK(red(cw.value(), 8, 4));
        CHECK(blue(cw.value(), 8, 27));
        auto info = probe_image(turned.data(), turned.size(), "turned.jpg");
        CHECK(info->width == 16);

        // 8: turned counter-clockwise: the left half becomes the bottom. 3: upside down.
        auto ccw_bytes = make_jpeg_with_orientation(w, h, rgb, 8, little);
        auto ccw = decode_image(ccw_bytes.data(), ccw_bytes.size(), "ccw.jpg");
        CHECK(blue(ccw.value(), 8, 4));
        CHECK(red(ccw.value(), 8, 27));
        auto flipped_bytes = make_jpeg_with_orientation(w, h, rgb, 3, little);
        auto flipped = decode_image(flipped_bytes.data(), flipped_bytes.size(), "flipped.jpg");
        CHECK(flipped->width == 32);
        CHECK(blue(flipped.value(), 4, 8));
        CHECK(red(flipped.value(), 27, 8));
    }
}
