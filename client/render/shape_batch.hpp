// The frame's shapes as one retained GL batch: fills (triangulated polygons, boxes, ellipses) and
// outlines (segments expanded to constant screen width in the vertex shader), in image pixels.
// Pan and zoom are uniforms, so a frame of panning or zooming over thousands of shapes costs one
// draw call and no vertex work on the CPU; the buffers are rebuilt only when the shapes change.
#pragma once
#include "polymark/document.hpp"
#include "polymark/view.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace pm {

// Outlines of occluded shapes are dashed (as in CVAT), this many CSS pixels per dash and gap.
constexpr double kDashPeriod = 10.0;
// A point is drawn as a disc this many CSS pixels in radius (on a darker rim), as far as a click
// reaches to take it: the UI's pick radius is the same.
constexpr double kPointRadius = 6.0;

struct BatchShape {
    const Object* object;
    uint32_t colour;  // RGBA8 as ImGui packs it (R in the low byte)
};

class ShapeBatch {
public:
    ShapeBatch() = default;
    ShapeBatch(const ShapeBatch&) = delete;
    ShapeBatch& operator=(const ShapeBatch&) = delete;
    ~ShapeBatch() { release(); }

    // Rebuilds the vertex data for these shapes (bottom to top); fills get `fill_alpha` (0..255),
    // occluded ones less.
    void rebuild(const std::vector<BatchShape>& shapes, uint32_t fill_alpha);
    // Draws with the current GL context. `viewport` and `view` in CSS pixels; `scale` is the
    // device pixel ratio; `framebuffer_*` in device pixels; outlines `outline_width` CSS pixels wide
    // (a uniform: changing it rebuilds nothing).
    void draw(const View& view, Rect viewport, double scale, int framebuffer_w, int framebuffer_h, double outline_width);
    void release();
    size_t vertex_count() const { return vertices_.size(); }
    // Triangles of a polygon, cached by object id; reused while the vertex count is unchanged
    // and `reuse_topology` is set (a vertex drag), otherwise recomputed when the points change.
    const std::vector<uint32_t>& polygon_triangles(const Object& o, bool reuse_topology);

private:
    struct Vertex {
        float x, y;    // image pixels
        float nx, ny;  // outline offset direction in screen pixels per unit of half-width; 0 for fills
        uint32_t colour;
        float dash;    // distance along a dashed outline in image pixels; -1: solid
    };
    struct Mesh { std::vector<double> points; std::vector<uint32_t> triangles; };
    std::vector<Vertex> vertices_;
    std::vector<uint32_t> indices_;
    std::unordered_map<std::string, Mesh> meshes_;
    bool dirty_ = false;
    unsigned program_ = 0, vao_ = 0, vbo_ = 0, ebo_ = 0;
    int u_offset_ = -1, u_zoom_ = -1, u_screen_ = -1, u_half_width_ = -1, u_dash_period_ = -1, u_scale_ = -1;

    bool ensure_program();
    void add_fill(const std::vector<double>& pts, const std::vector<uint32_t>& triangles, uint32_t colour, uint32_t alpha);
    void add_disc(float x, float y, float radius, uint32_t colour);
    void add_outline(const std::vector<double>& pts, bool closed, uint32_t colour, bool dashed);
};

}  // namespace pm
