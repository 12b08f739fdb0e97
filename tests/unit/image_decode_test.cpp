#include "polymark/image_decode.hpp"

#include <catch2/catch.hpp>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <stb/stb_image.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace pm;

// A PNG around an already filtered stream (stored deflate blocks of up to 64 KiB, real CRC and
// Adler-32), so that every filter type reaches the decoders through a real file.
static std::vector<uint8_t> png_from_stream(int w, int h, int colour_type, const std::vector<uint8_t>& raw) {
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
    std::vector<uint8_t> z = {0x78, 0x01};
    for (size_t at = 0; at < raw.size(); at += 65535) {
        size_t n = std::min<size_t>(65535, raw.size() - at);
        z.insert(z.end(), {uint8_t(at + n == raw.size()), uint8_t(n), uint8_t(n >> 8), uint8_t(~n), uint8_t(~n >> 8)});
        z.insert(z.end(), raw.begin() + at, raw.begin() + at + n);
    }
    uint32_t a = 1, b = 0;
    for (uint8_t c : raw) { a = (a + c) % 65521; b = (b + a) % 65521; }
    be32(z, (b << 16) | a);
    std::vector<uint8_t> ihdr;
    be32(ihdr, uint32_t(w));
    be32(ihdr, uint32_t(h));
    ihdr.insert(ihdr.end(), {8, uint8_t(colour_type), 0, 0, 0});
    std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    chunk(png, "IHDR", ihdr);
    chunk(png, "IDAT", z);
    chunk(png, "IEND", {});
    return png;
}

// Builds a valid RGB PNG from scratch (filter 0 on every row), so the test owns its input
// instead of trusting a binary blob.
static std::vector<uint8_t> make_png(int w, int h, const std::vector<uint8_t>& rgb) {
    std::vector<uint8_t> raw;
    for (int y = 0; y < h; ++y) { raw.push_back(0); raw.insert(raw.end(), rgb.begin() + y * w * 3, rgb.begin() + (y + 1) * w * 3); }
    return png_from_stream(w, h, 2, raw);
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

// [SECTION] Headers, size limits and reduced levels

// A PNG whose header claims w x h, with no picture behind it: what a decompression bomb shows.
static std::vector<uint8_t> png_header_only(uint32_t w, uint32_t h) {
    std::vector<uint8_t> png = make_png(1, 1, {1, 2, 3});
    for (int i = 0; i < 4; ++i) { png[16 + i] = uint8_t(w >> (24 - 8 * i)); png[20 + i] = uint8_t(h >> (24 - 8 * i)); }
    return png;
}

TEST_CASE("a png header above the pixel limit is refused as too_large, naming the file and its size") {
    auto bomb = png_header_only(30000, 30000);
    auto info = probe_image(bomb.data(), bomb.size(), "/media/test/bomb.png");
    REQUIRE_FALSE(info.ok());
    CHECK(info.first_error().code == "too_large");
    CHECK(info.first_error().path == "/media/test/bomb.png");
    CHECK(info.first_error().message == "bomb.png is 30000 x 30000 pixels (900 megapixels), above the limit of 268 megapixels");
    auto img = decode_image(bomb.data(), bomb.size(), "/media/test/bomb.png");
    REQUIRE_FALSE(img.ok());
    CHECK(img.first_error().code == "too_large");
}

TEST_CASE("a header at the pixel limit is not refused for its size") {
    auto edge = png_header_only(16384, 16384);
    auto header = read_image_header(edge.data(), edge.size());
    REQUIRE(header);
    CHECK_FALSE(check_image_size(*header, "edge.png", "edge.png"));
    auto over = png_header_only(16385, 16384);
    CHECK(check_image_size(*read_image_header(over.data(), over.size()), "over.png", "over.png")->code == "too_large");
}

TEST_CASE("image sizes are read from png, jpeg, gif, bmp, webp and avif headers alone") {
    auto png = make_png(7, 3, std::vector<uint8_t>(7 * 3 * 3, 9));
    auto h = read_image_header(png.data(), png.size());
    REQUIRE(h);
    CHECK(h->width == 7);
    CHECK(h->height == 3);
    CHECK(std::string(h->format) == "PNG");

    std::vector<uint8_t> jpeg, bmp;
    std::vector<uint8_t> rgb(40 * 24 * 3, 128);
    auto sink = [](void* out, void* data, int size) { auto* v = static_cast<std::vector<uint8_t>*>(out); v->insert(v->end(), (uint8_t*)data, (uint8_t*)data + size); };
    REQUIRE(stbi_write_jpg_to_func(sink, &jpeg, 40, 24, 3, rgb.data(), 80));
    REQUIRE(stbi_write_bmp_to_func(sink, &bmp, 40, 24, 3, rgb.data()));
    for (auto* bytes : {&jpeg, &bmp}) {
        auto hh = read_image_header(bytes->data(), bytes->size());
        REQUIRE(hh);
        CHECK(hh->width == 40);
        CHECK(hh->height == 24);
    }
    // A JPEG's SOF a bomb would carry: 65000 x 65000 in a few hundred bytes.
    std::vector<uint8_t> big_jpeg = jpeg;
    for (size_t i = 2; i + 9 < big_jpeg.size(); ++i)
        if (big_jpeg[i] == 0xFF && big_jpeg[i + 1] == 0xC0) { big_jpeg[i + 5] = big_jpeg[i + 7] = 0xFD; big_jpeg[i + 6] = big_jpeg[i + 8] = 0xE8; break; }
    auto refused = probe_image(big_jpeg.data(), big_jpeg.size(), "http://host/media/huge.jpg?v=2");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.first_error().code == "too_large");
    CHECK(refused.first_error().message.rfind("huge.jpg is 65000 x 65000 pixels", 0) == 0);

    const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 0x30, 0x75, 0x30, 0x75, 0, 0, 0};
    auto g = read_image_header(gif, sizeof gif);
    REQUIRE(g);
    CHECK(g->width == 30000);
    CHECK(g->height == 30000);

    std::vector<uint8_t> vp8x = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0, 0, 0, 0, 0,
                                 0x2F, 0x75, 0, 0x1F, 0x4E, 0};  // 30000 x 20000, stored minus one
    auto w = read_image_header(vp8x.data(), vp8x.size());
    REQUIRE(w);
    CHECK(w->width == 30000);
    CHECK(w->height == 20000);
    std::vector<uint8_t> vp8l = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'L', 5, 0, 0, 0, 0x2F, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    uint32_t bits = (640 - 1) | ((480 - 1) << 14);
    for (int i = 0; i < 4; ++i) vp8l[21 + i] = uint8_t(bits >> (8 * i));
    auto l = read_image_header(vp8l.data(), vp8l.size());
    REQUIRE(l);
    CHECK(l->width == 640);
    CHECK(l->height == 480);

    std::vector<uint8_t> avif = {0, 0, 0, 20, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f', 0, 0, 0, 0, 'm', 'i', 'f', '1',
                                 0, 0, 0, 20, 'i', 's', 'p', 'e', 0, 0, 0, 0, 0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30};
    auto a = read_image_header(avif.data(), avif.size());
    REQUIRE(a);
    CHECK(a->width == 30000);
    CHECK(a->height == 30000);

    const char* text = "this is not an image";
    CHECK_FALSE(read_image_header((const uint8_t*)text, std::strlen(text)));
    CHECK_FALSE(read_image_header(png.data(), 20));  // cut inside the header
}

TEST_CASE("huge images get the largest power-of-two level that fits the level limits") {
    CHECK(reduction_factor(8192, 8192) == 1);
    CHECK(reduction_factor(4000, 6000) == 1);
    CHECK(reduction_factor(16000, 16000) == 4);  // 4000 x 4000
    CHECK(reduction_factor(16384, 16384) == 4);  // 4096 x 4096, exactly the limit
    CHECK(reduction_factor(16385, 16384) == 8);
    CHECK(reduction_factor(200000, 400) == 32);  // a side above kLevelMaxSide forces more
}

// Filters `rows` (w x h, `bpp` bytes a pixel) with PNG filter `filter_of(y)`: the inflated stream.
static std::vector<uint8_t> filtered_stream(const std::vector<uint8_t>& img, int w, int h, int bpp, int (*filter_of)(int)) {
    std::vector<uint8_t> out;
    size_t stride = (size_t)w * bpp;
    std::vector<uint8_t> zero(stride, 0);
    for (int y = 0; y < h; ++y) {
        const uint8_t* row = &img[y * stride];
        const uint8_t* up = y ? &img[(y - 1) * stride] : zero.data();
        int f = filter_of(y);
        out.push_back(uint8_t(f));
        for (size_t i = 0; i < stride; ++i) {
            int a = i >= (size_t)bpp ? row[i - bpp] : 0, b = up[i], c = i >= (size_t)bpp ? up[i - bpp] : 0;
            int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
            int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
            out.push_back(uint8_t(row[i] - pred));
        }
    }
    return out;
}

TEST_CASE("a png reduced by 1 unfilters every filter type back to the exact pixels") {
    const int w = 9, h = 10;
    std::vector<uint8_t> rgba((size_t)w * h * 4);
    for (size_t i = 0; i < rgba.size(); ++i) rgba[i] = uint8_t((i * 37 + (i / 7) * 11) & 255);
    PngLayout layout;
    layout.width = w;
    layout.height = h;
    layout.bit_depth = 8;
    layout.colour_type = 6;
    auto stream = filtered_stream(rgba, w, h, 4, [](int y) { return y % 5; });
    PngReducer reducer(layout, 1);
    // Fed in uneven pieces, as an inflater hands them over.
    for (size_t at = 0; at < stream.size(); at += 13) REQUIRE(reducer.feed(stream.data() + at, std::min<size_t>(13, stream.size() - at)));
    CHECK(reducer.complete());
    auto level = reducer.finish("f.png");
    REQUIRE(level.ok());
    CHECK(level->width == w);
    CHECK(level->pixels == rgba);
}

TEST_CASE("a reduced level averages each box, the partial boxes at the edges over the pixels they hold") {
    // 3 x 3 grey: the level at factor 2 is 2 x 2.
    const std::vector<uint8_t> grey = {0, 100, 7, 200, 60, 9, 40, 80, 250};
    PngLayout layout;
    layout.width = 3;
    layout.height = 3;
    layout.bit_depth = 8;
    layout.colour_type = 0;
    auto stream = filtered_stream(grey, 3, 3, 1, [](int y) { return y == 1 ? 4 : 0; });
    PngReducer reducer(layout, 2);
    REQUIRE(reducer.feed(stream.data(), stream.size()));
    auto level = reducer.finish("g.png");
    REQUIRE(level.ok());
    REQUIRE(level->width == 2);
    REQUIRE(level->height == 2);
    auto at = [&](int x, int y) { return (int)level->pixels[((size_t)y * 2 + x) * 4]; };
    CHECK(at(0, 0) == 90);   // (0 + 100 + 200 + 60) / 4
    CHECK(at(1, 0) == 8);    // (7 + 9) / 2
    CHECK(at(0, 1) == 60);   // (40 + 80) / 2
    CHECK(at(1, 1) == 250);
    CHECK(level->pixels[3] == 255);
}

TEST_CASE("a reduced png matches stb_image's decode of the same file, through its real IDAT stream") {
    const int w = 11, h = 7;
    std::vector<uint8_t> rgb((size_t)w * h * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 13);
    auto png = make_png(w, h, rgb);
    auto layout = read_png_layout(png.data(), png.size(), "r.png");
    REQUIRE(layout.ok());
    CHECK(png_reducible(layout.value()));
    int inflated_size = 0;
    char* inflated = stbi_zlib_decode_malloc((const char*)layout->zlib_stream.data(), (int)layout->zlib_stream.size(), &inflated_size);
    REQUIRE(inflated);
    PngReducer reducer(layout.value(), 1);
    reducer.feed((const uint8_t*)inflated, (size_t)inflated_size);
    free(inflated);
    auto level = reducer.finish("r.png");
    auto whole = decode_image(png.data(), png.size(), "r.png");
    REQUIRE(level.ok());
    REQUIRE(whole.ok());
    CHECK(level->pixels == whole->pixels);
}

TEST_CASE("a png stream cut short or with a bad filter is decode_failed, not a crash") {
    PngLayout layout;
    layout.width = 4;
    layout.height = 4;
    layout.bit_depth = 8;
    layout.colour_type = 2;
    std::vector<uint8_t> rows(13 * 2, 0);
    PngReducer cut(layout, 2);
    cut.feed(rows.data(), rows.size());
    CHECK(cut.finish("cut.png").first_error().code == "decode_failed");
    rows[0] = 9;
    PngReducer bad(layout, 2);
    CHECK_FALSE(bad.feed(rows.data(), rows.size()));
    CHECK(bad.finish("bad.png").first_error().code == "decode_failed");
    layout.interlaced = true;
    CHECK_FALSE(png_reducible(layout));
}

TEST_CASE("the level decoder inflates stored and Huffman-coded PNG data in slices, as stb_image decodes it") {
    const int w = 600, h = 300;  // 720 KB inflated: slices of 256 KiB
    std::vector<uint8_t> rgba((size_t)w * h * 4);
    for (size_t i = 0; i < rgba.size(); ++i) rgba[i] = uint8_t((i % 4 == 3) ? 255 : (i / 4 % 50 < 25 ? 40 : (i * 7) & 255));
    std::vector<uint8_t> rgb;  // the top 60 rows: make_png's one stored block holds 64 KiB
    for (size_t i = 0; i < (size_t)w * 60 * 4; ++i)
        if (i % 4 != 3) rgb.push_back(rgba[i]);
    std::vector<uint8_t> huffman;
    auto sink = [](void* out, void* data, int size) { auto* v = static_cast<std::vector<uint8_t>*>(out); v->insert(v->end(), (uint8_t*)data, (uint8_t*)data + size); };
    REQUIRE(stbi_write_png_to_func(sink, &huffman, w, h, 4, rgba.data(), w * 4));
    for (const auto& png : {make_png(w / 20, 60, std::vector<uint8_t>(rgb.begin(), rgb.begin() + w / 20 * 60 * 3)), huffman}) {
        auto whole = decode_image(png.data(), png.size(), "p.png");
        REQUIRE(whole.ok());
        auto layout = read_png_layout(png.data(), png.size(), "p.png");
        REQUIRE(layout.ok());
        PngLevelDecoder decoder(std::move(layout.value()), 1);
        int slices = 0;
        while (decoder.step(1000)) ++slices;
        if (png.size() == huffman.size()) CHECK(slices >= 2);  // resumable: a little at a time
        auto level = decoder.finish("p.png");
        if (!level.ok()) FAIL(level.first_error().message);
        CHECK(level->pixels == whole->pixels);
    }
}

TEST_CASE("a level decoder given damaged zlib data fails with decode_failed") {
    auto png = make_png(4, 4, std::vector<uint8_t>(48, 7));
    auto layout = read_png_layout(png.data(), png.size(), "z.png");
    REQUIRE(layout.ok());
    layout->zlib_stream[0] = 0x12;  // not deflate
    PngLevelDecoder decoder(std::move(layout.value()), 2);
    while (decoder.step(1 << 20)) {}
    auto level = decoder.finish("z.png");
    REQUIRE_FALSE(level.ok());
    CHECK(level.first_error().code == "decode_failed");
    auto cut = make_png(40, 40, std::vector<uint8_t>(4800, 9));
    auto cut_layout = read_png_layout(cut.data(), cut.size(), "cut.png");
    cut_layout->zlib_stream.resize(cut_layout->zlib_stream.size() / 2);
    PngLevelDecoder cut_decoder(std::move(cut_layout.value()), 2);
    while (cut_decoder.step(1 << 20)) {}
    CHECK(cut_decoder.finish("cut.png").first_error().code == "decode_failed");
}


// The f x f box means of `whole`'s region, boxes from the region's corner, partial ones at its
// right and bottom edges over the pixels they hold (what a windowed level must show).
static std::vector<uint8_t> boxed_crop(const ImageRGBA& whole, PixelWindow r, int f) {
    int lw = (r.width + f - 1) / f, lh = (r.height + f - 1) / f;
    std::vector<uint8_t> out((size_t)lw * lh * 4);
    for (int j = 0; j < lh; ++j)
        for (int i = 0; i < lw; ++i)
            for (int c = 0; c < 4; ++c) {
                uint32_t sum = 0, count = 0;
                for (int y = r.y + j * f; y < std::min(r.y + (j + 1) * f, r.y + r.height); ++y)
                    for (int x = r.x + i * f; x < std::min(r.x + (i + 1) * f, r.x + r.width); ++x, ++count)
                        sum += whole.pixels[((size_t)y * whole.width + x) * 4 + c];
                out[((size_t)j * lw + i) * 4 + c] = uint8_t((sum + count / 2) / count);
            }
    return out;
}

TEST_CASE("a windowed decode equals the crop of stb_image's full decode, at level 1 and 2, through every filter") {
    const int w = 37, h = 29;  // odd: partial boxes at the image's edges
    for (int colour_type : {6, 2}) {
        const int bpp = colour_type == 6 ? 4 : 3;
        std::vector<uint8_t> img((size_t)w * h * bpp);
        uint32_t seed = 12345;
        for (auto& v : img) v = uint8_t((seed = seed * 1103515245u + 12345u) >> 16);
        // Every row a different filter, all five in each window of five rows.
        auto png = png_from_stream(w, h, colour_type, filtered_stream(img, w, h, bpp, [](int y) { return (y * 3) % 5; }));
        auto whole = decode_image(png.data(), png.size(), "w.png");
        REQUIRE(whole.ok());
        auto layout = read_png_layout(png.data(), png.size(), "w.png");
        REQUIRE(layout.ok());
        auto shared = std::make_shared<const PngLayout>(std::move(layout.value()));
        const PixelWindow windows[] = {{0, 0, w, h}, {5, 3, 11, 7}, {30, 20, 7, 9}, {0, 28, 37, 1}, {36, 0, 1, 29}, {2, 4, 1, 1}, {10, 6, 27, 23}};
        for (int f : {1, 2}) {
            for (PixelWindow r : windows) {
                if (f == 2) { r.x &= ~1; r.y &= ~1; }  // a level's boxes start on its grid
                r.width = std::min(r.width, w - r.x);
                r.height = std::min(r.height, h - r.y);
                PngLevelDecoder decoder(shared, f, r);
                while (decoder.step(100)) {}
                auto part = decoder.finish("w.png");
                INFO("colour " << colour_type << " level " << f << " window " << r.x << "," << r.y << " " << r.width << "x" << r.height);
                if (!part.ok()) FAIL(part.first_error().message);
                CHECK(part->width == (r.width + f - 1) / f);
                CHECK(part->height == (r.height + f - 1) / f);
                CHECK(part->pixels == boxed_crop(whole.value(), r, f));
            }
        }
    }
}

TEST_CASE("a windowed decode stops after the window's last row and fails on a file cut off before it") {
    // 720 KB inflated, three slices of 256 KiB: a window in the top rows needs only the first.
    const int w = 600, h = 300;
    std::vector<uint8_t> rgba((size_t)w * h * 4);
    for (size_t i = 0; i < rgba.size(); ++i) rgba[i] = uint8_t(i % 4 == 3 ? 255 : (i * 7) & 255);
    std::vector<uint8_t> huffman;
    auto sink = [](void* out, void* data, int size) { auto* v = static_cast<std::vector<uint8_t>*>(out); v->insert(v->end(), (uint8_t*)data, (uint8_t*)data + size); };
    REQUIRE(stbi_write_png_to_func(sink, &huffman, w, h, 4, rgba.data(), w * 4));
    auto layout = read_png_layout(huffman.data(), huffman.size(), "c.png");
    REQUIRE(layout.ok());
    auto whole = std::make_shared<const PngLayout>(layout.value());
    PngLevelDecoder top(whole, 1, {100, 2, 50, 20});
    int top_steps = 1;
    while (top.step(1)) ++top_steps;
    CHECK(top_steps == 1);
    CHECK(top.finish("c.png").ok());
    PngLevelDecoder low(whole, 1, {100, 280, 50, 20});
    int low_steps = 1;
    while (low.step(1)) ++low_steps;
    CHECK(low_steps >= 3);
    CHECK(low.finish("c.png").ok());
    PngLayout cut = layout.value();
    cut.zlib_stream.resize(cut.zlib_stream.size() / 2);
    PngLevelDecoder bottom(std::make_shared<const PngLayout>(std::move(cut)), 2, {4, 260, 10, 8});
    while (bottom.step(64)) {}
    auto failed = bottom.finish("c.png");
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.first_error().code == "decode_failed");
}
