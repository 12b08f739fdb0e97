// Binary masks and their outlines, for the assisted polygon tools (magic wand, box to polygon):
// clean a mask, trace the outer outline of one region along pixel boundaries, simplify it to a
// vertex budget. Platform-free, no I/O, never throws.
// Units: image pixels; (0,0) is the top-left corner of pixel (0,0), so an outline's vertices lie
// on integer coordinates and an unsimplified outline's area is the region's pixel count (holes
// included: our polygons have none, the outer outline is the region with its holes filled).
#pragma once
#include "polymark/geometry.hpp"

#include <cstdint>
#include <vector>

namespace pm {

struct Mask {
    int width = 0, height = 0;
    std::vector<uint8_t> bits;  // row-major, 1 inside
    Mask() = default;
    Mask(int w, int h) : width(w), height(h), bits(size_t(w) * size_t(h), 0) {}
    bool at(int x, int y) const { return x >= 0 && y >= 0 && x < width && y < height && bits[size_t(y) * width + x]; }
    size_t count() const;
};

// Keeps only the 4-connected region holding pixel (x, y); empty mask if that pixel is outside.
Mask region_at(const Mask& m, int x, int y);
// The largest 4-connected region (ties: the first in row order).
Mask largest_region(const Mask& m);
// `passes` times: a pixel with at most 2 of its 8 neighbours inside leaves (specks, spur tips), one
// with at least 6 inside joins (pinholes, notches). A rectangle's corners stay.
void despeckle(Mask& m, int passes);

// The outer outline of the 4-connected region holding pixel (x, y), clockwise on screen, one
// vertex per direction change (integer corners). Empty if (x, y) is not inside.
Points trace_outer_outline(const Mask& m, int x, int y);

// The same for a mask that holds one region only (as region_at and largest_region give): no
// second flood fill.
Points trace_region_outline(const Mask& region);

// Douglas-Peucker on a closed polygon with tolerance `epsilon` (pixels); when that leaves more
// than `max_vertices` (>= 3), the result of the smallest tolerance that fits (the vertices DP
// would keep longest). Keeps at least 3 vertices.
Points simplify_closed(const Points& polygon, double epsilon, size_t max_vertices);

}  // namespace pm
