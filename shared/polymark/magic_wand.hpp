// Magic wand: the region around a clicked pixel whose colours stay within a tolerance of the
// clicked colour, as one simplified polygon. Platform-free, values in and out, never throws.
// Noise: a pixel matches by its own colour or by its 3x3 mean (pixel noise does not cut the
// region, nor does the mean shave a sharp border off), a 3x3 vote removes specks and fills
// notches (despeckle in mask_outline.hpp), and only the region holding the clicked pixel is kept
// (other specks that matched are dropped). Holes: our polygons have none, so the result is the
// region's OUTER outline and every hole, small or large, is inside the polygon (a ring gives its
// outer circle).
// Units: image pixels, (0,0) the top-left corner of pixel (0,0); the outline runs along pixel
// borders before it is simplified.
#pragma once
#include "polymark/error.hpp"
#include "polymark/geometry.hpp"
#include "polymark/tracker.hpp"

namespace pm {

struct WandResult {
    Points polygon;       // clockwise on screen, at most max_vertices vertices
    size_t pixels = 0;    // the region's pixels (holes filled), before simplification
};

// tolerance: 0..255, the largest difference in any colour channel (grey levels for gray8).
// Errors: "empty_image", "not_a_number", "outside_image", "bad_tolerance", "bad_vertex_budget".
Expected<WandResult> magic_wand(const FrameView& image, Vec2 seed, int tolerance, size_t max_vertices);

}  // namespace pm
