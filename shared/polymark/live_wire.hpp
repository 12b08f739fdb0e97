// Intelligent scissors (live-wire, after Mortensen & Barrett): the cheapest 8-connected pixel path
// from an anchor to the pointer, where crossing a strong edge along its direction is cheap. Also
// "snap to edges": the nearest strong edge point to a dragged vertex.
// Setup computes each pixel's edge cost once (colour gradient magnitude, Laplacian zero crossings,
// and the gradient direction per link, all quantised to small integers). Each anchor starts a new
// Dijkstra search over integer costs with a bucket queue; the search is expanded lazily, only as
// far as the pointer needs, and resumed where it stopped for the next pointer position, so a
// mouse move costs the pixels it newly settles, not the image.
// Platform-free: a FrameView in (copied from, never kept), values out, errors as values.
// Units: image pixels, (0,0) the top-left corner of pixel (0,0); pixel (i,j)'s centre is
// (i+0.5, j+0.5). Paths run through pixel centres.
#pragma once
#include "polymark/error.hpp"
#include "polymark/geometry.hpp"
#include "polymark/tracker.hpp"

#include <cstdint>
#include <cstddef>
#include <vector>

namespace pm {

struct SnapResult {
    Vec2 point;
    bool moved = false;  // false: no edge within the radius, `point` is the point asked for
};

class LiveWire {
public:
    // Errors: "empty_image" (no pixels or a stride too small), "too_large" (over 2^28 pixels).
    static Expected<LiveWire> create(const FrameView& image);

    // Starts a new segment at p. Errors: "not_a_number", "outside_image".
    Expected<bool> set_anchor(Vec2 p);
    // The path from the anchor to p: the anchor and p themselves at the ends, pixel centres
    // between them, straight runs merged into their end points. Errors: "no_anchor",
    // "not_a_number", "outside_image".
    // `budget` caps the pixels this call may settle (a far jump right after an anchor could need
    // the whole image): when p is not reached within it, the path runs to the pixel settled in
    // this call nearest to p and then straight to p, and path_complete() is false.
    Expected<Points> path_to(Vec2 p, size_t budget = SIZE_MAX);
    bool path_complete() const { return complete_; }
    // Settles up to `pixels` more pixels ahead of any request (idle time); false when the whole
    // image is settled or there is no anchor.
    bool expand(size_t pixels);
    // Snap to edges: the point on the edge nearest to p within `radius` (0-256) pixels, sub-pixel
    // across the edge; "edge" is at least 0.6 of the strongest gradient there, which must reach
    // 0.4 of the image's edge level (texture and noise do not). p itself, moved = false, when
    // nothing qualifies. Errors: "not_a_number", "outside_image", "bad_radius".
    Expected<SnapResult> snap(Vec2 p, double radius) const;

    int width() const { return width_; }
    int height() const { return height_; }
    bool has_anchor() const { return anchor_ >= 0; }
    size_t settled() const { return settled_; }  // pixels settled since the anchor was set

private:
    LiveWire() = default;
    // Settles pixels until `target` (-1: none) is settled or `budget` pixels were; returns the
    // target, or the pixel settled on the way that is nearest to it.
    int32_t expand_until(int32_t target, size_t budget);
    void cost_row(const int16_t* gx, const int16_t* gy, const int32_t* lap, int y, float flat, float inverse_limit);

    int width_ = 0, height_ = 0;
    float edge_limit_ = 1;               // the gradient magnitude that costs nothing
    std::vector<float> magnitude_;       // colour gradient magnitude per pixel
    std::vector<uint8_t> cost_;          // static cost of entering a pixel (magnitude, zero crossing)
    std::vector<uint8_t> direction_;     // the edge direction's bin (kNoDirection where flat)
    std::vector<uint8_t> link_cost_;     // [bin p][bin q][link]: the gradient direction cost
    // The search: mark_ is 2*generation when reached, 2*generation+1 when settled.
    std::vector<uint32_t> mark_;
    std::vector<uint32_t> distance_;
    std::vector<uint8_t> parent_link_;   // the link that reached the pixel (from its parent)
    std::vector<std::vector<int32_t>> buckets_;
    uint32_t generation_ = 0;
    uint32_t current_ = 0;               // the bucket queue's current distance
    size_t queued_ = 0;
    size_t settled_ = 0;
    bool complete_ = true;
    int32_t anchor_ = -1;
    Vec2 anchor_point_{};
};

}  // namespace pm
