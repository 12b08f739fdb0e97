// Binary masks for COCO: run-length encodings (column-major runs starting with background, as
// COCO's "counts" lists and compressed strings) and tracing a mask into polygons.
// Units: pixels; a mask is h rows × w columns, pixel (x, y) covers [x, x+1] × [y, y+1].
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pm::formats {

// The largest mask traced (an 8192 × 8192 image): a bigger `size` is refused, not allocated.
inline constexpr uint64_t kMaxMaskPixels = 8192ull * 8192ull;

// COCO's compressed counts string to runs; nullopt for a character outside '0'..'o', a run that
// does not terminate, or a negative run.
std::optional<std::vector<uint64_t>> decode_rle_string(std::string_view counts);
std::string encode_rle_string(const std::vector<uint64_t>& runs);

// Column-major mask (index x * h + y), 1 = foreground, from runs whose sum is h * w.
std::vector<uint8_t> mask_from_runs(const std::vector<uint64_t>& runs, uint32_t h, uint32_t w);
std::vector<uint64_t> runs_from_mask(const std::vector<uint8_t>& mask);

struct TracedMask {
    std::vector<std::vector<double>> polygons;  // outer boundaries, flat x,y; clockwise on screen
    size_t holes = 0;                           // inner boundaries left out (a polygon cannot hold them)
};
// Each 4-connected region's outer boundary along pixel edges (vertices at pixel corners), then
// simplified (Douglas-Peucker on the ring) so that no dropped vertex lies more than `tolerance`
// pixels from the result. With tolerance 0 the polygons cover exactly the mask's pixels.
TracedMask trace_mask(const std::vector<uint8_t>& mask, uint32_t h, uint32_t w, double tolerance);

// Whether pixel centres fall inside a polygon (even-odd), column-major like mask_from_runs.
std::vector<uint8_t> rasterize_polygon(const std::vector<double>& polygon, uint32_t h, uint32_t w);

}  // namespace pm::formats
