#include "polymark/magic_wand.hpp"

#include "polymark/mask_outline.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>

namespace pm {

namespace {

// The 3x3 mean of each colour channel around (x, y), clamped at the border.
std::array<int, 3> mean_colour(const FrameView& im, int x, int y, int channels) {
    std::array<int, 3> sum{0, 0, 0};
    for (int dy = -1; dy <= 1; ++dy) {
        const uint8_t* row = im.pixels + size_t(std::clamp(y + dy, 0, im.height - 1)) * im.stride;
        for (int dx = -1; dx <= 1; ++dx) {
            const uint8_t* p = row + size_t(std::clamp(x + dx, 0, im.width - 1)) * channels;
            for (int c = 0; c < std::min(channels, 3); ++c) sum[c] += p[c];
        }
    }
    return {(sum[0] + 4) / 9, (sum[1] + 4) / 9, (sum[2] + 4) / 9};
}

}  // namespace

Expected<WandResult> magic_wand(const FrameView& im, Vec2 seed, int tolerance, size_t max_vertices) {
    const int channels = im.format == PixelFormat::rgba8 ? 4 : 1;
    if (im.width <= 0 || im.height <= 0 || !im.pixels || im.stride < im.width * channels)
        return Error{"empty_image", "", "the image has no pixels (or its row stride is shorter than a row)"};
    if (!std::isfinite(seed.x) || !std::isfinite(seed.y)) return Error{"not_a_number", "", "the clicked point is not a finite number"};
    if (seed.x < 0 || seed.y < 0 || seed.x >= im.width || seed.y >= im.height)
        return Error{"outside_image", "", "the clicked point lies outside the image"};
    if (tolerance < 0 || tolerance > 255) return Error{"bad_tolerance", "", "the tolerance must be between 0 and 255"};
    if (max_vertices < 3) return Error{"bad_vertex_budget", "", "a polygon needs a budget of at least 3 vertices"};

    const int w = im.width, h = im.height, sx = int(seed.x), sy = int(seed.y);
    const int colours = std::min(channels, 3);
    const std::array<int, 3> ref = mean_colour(im, sx, sy, channels);
    auto close = [&](const std::array<int, 3>& c) {
        for (int k = 0; k < colours; ++k)
            if (std::abs(c[k] - ref[k]) > tolerance) return false;
        return true;
    };
    // The pixel's own colour keeps a sharp border where it is; the 3x3 mean keeps noisy pixels in.
    auto matches = [&](int x, int y) {
        const uint8_t* p = im.pixels + size_t(y) * im.stride + size_t(x) * channels;
        return close({p[0], p[colours > 1 ? 1 : 0], p[colours > 1 ? 2 : 0]}) || close(mean_colour(im, x, y, channels));
    };

    // [SECTION] Flood fill (4-connected), remembering the bounding box.
    std::vector<uint8_t> state(size_t(w) * h, 0);  // 1 in, 2 looked at and out
    std::vector<int32_t> stack{int32_t(sy * w + sx)};
    state[size_t(sy) * w + sx] = 1;
    int x0 = sx, x1 = sx, y0 = sy, y1 = sy;
    while (!stack.empty()) {
        const int32_t i = stack.back();
        stack.pop_back();
        const int x = i % w, y = i / w;
        x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
        const int nx[4] = {x - 1, x + 1, x, x}, ny[4] = {y, y, y - 1, y + 1};
        for (int k = 0; k < 4; ++k) {
            if (nx[k] < 0 || ny[k] < 0 || nx[k] >= w || ny[k] >= h) continue;
            const size_t j = size_t(ny[k]) * w + nx[k];
            if (state[j]) continue;
            state[j] = matches(nx[k], ny[k]) ? 1 : 2;
            if (state[j] == 1) stack.push_back(int32_t(j));
        }
    }

    // [SECTION] Clean-up on the region's box (with a margin of one pixel), then its outline.
    const int ox = std::max(0, x0 - 1), oy = std::max(0, y0 - 1);
    Mask mask(std::min(w, x1 + 2) - ox, std::min(h, y1 + 2) - oy);
    for (int y = 0; y < mask.height; ++y)
        for (int x = 0; x < mask.width; ++x) mask.bits[size_t(y) * mask.width + x] = state[size_t(y + oy) * w + x + ox] == 1;
    Mask smoothed = mask;
    despeckle(smoothed, 2);
    Mask region = region_at(smoothed, sx - ox, sy - oy);
    if (region.count() == 0) region = region_at(mask, sx - ox, sy - oy);  // a region thinner than the vote keeps
    Points outline = trace_region_outline(region);
    WandResult out;
    out.pixels = size_t(std::llround(polygon_area(outline)));
    out.polygon = simplify_closed(outline, 0.7, max_vertices);
    for (size_t i = 0; i < out.polygon.size(); i += 2) out.polygon[i] += ox, out.polygon[i + 1] += oy;
    return out;
}

}  // namespace pm
