#include "polymark/image_decode.hpp"

#include <catch2/catch.hpp>

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
