// Decodes image file bytes (JPEG, PNG, BMP, GIF first frame, ...) to 8-bit RGBA with stb_image,
// reads image sizes from headers alone, and reduces huge PNGs to a smaller level while they are
// inflated (PngReducer), so that no full-size decode of a huge image ever exists.
// Takes bytes, returns pixels or an Error naming the source; never touches files or the UI.
// Units: image pixels of the upright (EXIF-oriented) image.
#pragma once
#include "polymark/error.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pm {

struct ImageRGBA {
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;  // row-major, top row first, 4 bytes a pixel
};

// [SECTION] Size limits (docs/API.md, "Images")
// Refused from the header, before any decoding: a decompression bomb is a small file whose header
// claims a huge picture.
inline constexpr long long kMaxImagePixels = 268435456;  // 16384 x 16384, 268 megapixels
// Up to this many pixels an image is decoded whole. Above it, the web client shows a reduced level
// (reduction_factor) and never holds the full-size pixels.
inline constexpr long long kFullDecodeMaxPixels = 67108864;  // 8192 x 8192
// A reduced level holds at most this many pixels (64 MiB of RGBA) and at most kLevelMaxSide a side.
inline constexpr long long kLevelMaxPixels = 16777216;  // 4096 x 4096
inline constexpr int kLevelMaxSide = 8192;

struct ImageHeader {
    int width = 0, height = 0;  // upright: a JPEG's EXIF orientation 5..8 swaps them
    const char* format = "";
};

// The size an image file declares, read from its header alone (PNG IHDR, JPEG SOF, GIF, BMP, WebP
// VP8/VP8L/VP8X, AVIF ispe); nothing when the header is not one of those or is cut short.
std::optional<ImageHeader> read_image_header(const uint8_t* data, size_t size);
// too_large when the declared picture is above kMaxImagePixels; the message names the file by
// `name` (a URL is cut to its last part), the error's path is `where`.
std::optional<Error> check_image_size(const ImageHeader& header, const std::string& name, const std::string& where);
// 1 when the image is decoded whole, else the power of two f such that a level of
// ceil(w/f) x ceil(h/f) fits kLevelMaxPixels and kLevelMaxSide.
int reduction_factor(int width, int height);

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

// [SECTION] Reduced levels of huge PNGs
// PngLevelDecoder inflates a PNG's `zlib_stream` a slice at a time (resumable, so that the app can
// spread the work over frames) into a PngReducer, which unfilters one row at a time and averages
// factor x factor boxes: memory is the 32 KiB inflate window, two rows and the level, whatever the
// image size.

struct PngLayout {
    int width = 0, height = 0, bit_depth = 0, colour_type = 0;
    bool interlaced = false;
    std::vector<uint8_t> palette;      // RGBA, 4 bytes an entry, tRNS applied
    std::vector<uint8_t> transparent;  // tRNS colour key of grey/RGB images, 16-bit big-endian samples
    std::vector<uint8_t> zlib_stream;  // the IDAT chunks' data, joined
};

Expected<PngLayout> read_png_layout(const uint8_t* data, size_t size, const std::string& where);
// True when PngReducer reads this layout: not interlaced; 8 or 16 bits a sample (palettes: 8).
bool png_reducible(const PngLayout& layout);

// A region of the image in image pixels, [x, x + width) x [y, y + height); width 0: the whole image.
struct PixelWindow {
    int x = 0, y = 0, width = 0, height = 0;
};

class PngReducer {
public:
    // The level is ceil(w/factor) x ceil(h/factor); its pixel (i, j) is the mean of the image pixels
    // [i*factor, (i+1)*factor) x [j*factor, (j+1)*factor) that exist. Keeps all of `layout` but
    // its zlib_stream. With a `window` (clipped to the image), only that region is reduced, boxes
    // starting at its corner: rows below it are never unfiltered, columns right of it are not
    // unfiltered (filters look only left and up) and it is complete after its last row, so a
    // detail region costs the inflating of the rows down to its bottom and no more.
    PngReducer(const PngLayout& layout, int factor, PixelWindow window = {});
    // Takes the next inflated bytes (each row: a filter byte, then the row). False once they are
    // bad (an unknown filter); the rest is then ignored.
    bool feed(const uint8_t* data, size_t size);
    bool complete() const { return row_ >= y1_; }
    // The level, or decode_failed when the rows were cut short or bad.
    Expected<ImageRGBA> finish(const std::string& where);

private:
    PngLayout layout_;
    int factor_ = 1, channels_ = 0, pixel_bytes_ = 0;
    size_t stride_ = 0, filled_ = 0;
    int row_ = 0;
    int x0_ = 0, x1_ = 0, y0_ = 0, y1_ = 0;  // the window, clipped
    size_t unfilter_bytes_ = 0;               // of each row: up to the window's right edge
    bool bad_ = false;
    std::vector<uint8_t> previous_, current_;  // filter byte + row
    std::vector<uint32_t> sums_;               // RGBA sums of the level row being built
    ImageRGBA level_;
    void take_row();
    void end_row();
    void flush_band(int band_rows);
};

class Inflater;

class PngLevelDecoder {
public:
    PngLevelDecoder(PngLayout layout, int factor);
    // A region only (PngReducer's window): the layout is shared, so that the app keeps one copy of
    // a huge PNG's compressed data for every detail region it decodes.
    PngLevelDecoder(std::shared_ptr<const PngLayout> layout, int factor, PixelWindow window);
    ~PngLevelDecoder();
    PngLevelDecoder(const PngLevelDecoder&) = delete;
    PngLevelDecoder& operator=(const PngLevelDecoder&) = delete;
    // Inflates about `budget` more bytes, in slices of 256 KiB (the inflated size is h rows of
    // 1 + w * bytes a pixel).
    // True while work remains; false once done or failed (finish says which).
    bool step(size_t budget);
    Expected<ImageRGBA> finish(const std::string& where);

private:
    std::shared_ptr<const PngLayout> layout_;  // keeps the zlib stream the inflater reads
    std::unique_ptr<Inflater> inflater_;
    PngReducer reducer_;
    std::string failure_;
};

}  // namespace pm
