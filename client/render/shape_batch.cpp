#include "render/shape_batch.hpp"

#include "polymark/geometry.hpp"
#include "render/gl.hpp"
#include "render/gl_program.hpp"

#include <cmath>
#include <cstddef>

namespace pm {

namespace {

constexpr const char* kVertexShader = R"(
uniform vec2 u_offset;
uniform float u_zoom;
uniform vec2 u_screen;
uniform float u_half_width;
uniform float u_scale;
in vec2 a_pos;
in vec2 a_normal;
in vec4 a_colour;
in float a_dash;
out vec4 v_colour;
out float v_dash;
void main() {
    // Outlines widen by the outline's half width; points' discs (a_dash -2) by their radius in CSS pixels.
    vec2 s = u_offset + a_pos * u_zoom + a_normal * (a_dash < -1.5 ? u_scale : u_half_width);
    gl_Position = vec4(s.x / u_screen.x * 2.0 - 1.0, 1.0 - s.y / u_screen.y * 2.0, 0.0, 1.0);
    v_colour = a_colour;
    v_dash = a_dash < 0.0 ? -1.0 : a_dash * u_zoom;
}
)";

constexpr const char* kFragmentShader = R"(
uniform float u_dash_period;
in vec4 v_colour;
in float v_dash;
out vec4 o_colour;
void main() {
    // Occluded shapes' outlines are dashed: v_dash is the distance along the outline, in screen pixels.
    if (v_dash >= 0.0 && mod(v_dash, u_dash_period) > 0.6 * u_dash_period) discard;
    o_colour = v_colour;
}
)";

constexpr float kSolid = -1.0f;
constexpr float kPoint = -2.0f;  // a point's disc: offsets in CSS pixels, whatever the outline width
constexpr int kDiscSides = 12;

uint32_t with_alpha(uint32_t colour, uint32_t alpha) { return (colour & 0x00ffffffu) | (alpha << 24); }

}  // namespace

const std::vector<uint32_t>& ShapeBatch::polygon_triangles(const Object& o, bool reuse_topology) {
    Mesh& m = meshes_[o.id];
    bool same_count = m.points.size() == o.points.size() && !m.triangles.empty();
    if (!(reuse_topology && same_count) && m.points != o.points) {
        m.points = o.points;
        m.triangles = triangulate_polygon(o.points);
    }
    return m.triangles;
}

void ShapeBatch::add_fill(const std::vector<double>& pts, const std::vector<uint32_t>& triangles, uint32_t colour, uint32_t alpha) {
    if (alpha == 0) return;
    uint32_t base = (uint32_t)vertices_.size();
    uint32_t fill = with_alpha(colour, alpha);
    for (size_t i = 0; i + 1 < pts.size(); i += 2) vertices_.push_back({(float)pts[i], (float)pts[i + 1], 0, 0, fill, kSolid});
    for (uint32_t t : triangles) indices_.push_back(base + t);
}

void ShapeBatch::add_outline(const std::vector<double>& pts, bool closed, uint32_t colour, bool dashed) {
    size_t n = pts.size() / 2;
    size_t segments = closed ? n : (n ? n - 1 : 0);
    double along = 0;  // image pixels from the first vertex, for dashes
    for (size_t i = 0; i < segments; ++i) {
        double ax = pts[2 * i], ay = pts[2 * i + 1], bx = pts[2 * ((i + 1) % n)], by = pts[2 * ((i + 1) % n) + 1];
        double dx = bx - ax, dy = by - ay, len = std::hypot(dx, dy);
        if (len <= 0) continue;
        // Each segment is a quad, widened across its direction; the ends reach half a width along
        // it so that corners close.
        float nx = (float)(-dy / len), ny = (float)(dx / len), ex = (float)(dx / len), ey = (float)(dy / len);
        uint32_t base = (uint32_t)vertices_.size();
        float da = dashed ? (float)along : kSolid, db = dashed ? (float)(along + len) : kSolid;
        along += len;
        vertices_.push_back({(float)ax, (float)ay, nx - ex, ny - ey, colour, da});
        vertices_.push_back({(float)ax, (float)ay, -nx - ex, -ny - ey, colour, da});
        vertices_.push_back({(float)bx, (float)by, nx + ex, ny + ey, colour, db});
        vertices_.push_back({(float)bx, (float)by, -nx + ex, -ny + ey, colour, db});
        indices_.insert(indices_.end(), {base, base + 1, base + 2, base + 1, base + 3, base + 2});
    }
}

void ShapeBatch::add_disc(float x, float y, float radius, uint32_t colour) {
    uint32_t centre = (uint32_t)vertices_.size();
    vertices_.push_back({x, y, 0, 0, colour, kPoint});
    for (int k = 0; k < kDiscSides; ++k) {
        double a = 2 * 3.14159265358979323846 * k / kDiscSides;
        vertices_.push_back({x, y, (float)(radius * std::cos(a)), (float)(radius * std::sin(a)), colour, kPoint});
        indices_.insert(indices_.end(), {centre, centre + 1 + (uint32_t)k, centre + 1 + (uint32_t)((k + 1) % kDiscSides)});
    }
}

void ShapeBatch::rebuild(const std::vector<BatchShape>& shapes, uint32_t fill_alpha) {
    vertices_.clear();
    indices_.clear();
    std::vector<uint32_t> fan;
    uint32_t occluded_alpha = fill_alpha * 5 / 12;  // as 25 to 60, the defaults before fills could be set
    for (const BatchShape& s : shapes) {
        const Object& o = *s.object;
        // Occluded shapes and a model's predictions not yet confirmed: dashed, lightly filled.
        bool dashed = o.occluded || o.source == Source::Model;
        uint32_t alpha = dashed ? occluded_alpha : fill_alpha;
        switch (o.type) {
            case ShapeType::Rectangle:
            case ShapeType::Ellipse: {
                if (o.points.size() != 4) break;
                std::vector<double> outline = o.type == ShapeType::Rectangle ? rectangle_corners(o.points, o.rotation) : ellipse_outline(o.points, o.rotation, 48);
                size_t n = outline.size() / 2;
                fan.clear();
                for (uint32_t i = 1; i + 1 < n; ++i) fan.insert(fan.end(), {0, i, i + 1});
                add_fill(outline, fan, s.colour, alpha);
                add_outline(outline, true, s.colour, dashed);
                break;
            }
            case ShapeType::Polygon:
                add_fill(o.points, polygon_triangles(o, false), s.colour, alpha);
                add_outline(o.points, true, s.colour, dashed);
                break;
            case ShapeType::Polyline: add_outline(o.points, false, s.colour, dashed); break;
            case ShapeType::Points:
                for (size_t i = 0; i + 1 < o.points.size(); i += 2) {
                    // A disc of constant screen size on a dark rim (seen on light and dark images).
                    float x = (float)o.points[i], y = (float)o.points[i + 1];
                    uint32_t colour = dashed ? with_alpha(s.colour, 110) : s.colour;
                    add_disc(x, y, (float)kPointRadius + 1.5f, 0xa0000000u);
                    add_disc(x, y, (float)kPointRadius, colour);
                }
                break;
            case ShapeType::Tag: break;
        }
    }
    if (meshes_.size() > 2 * shapes.size() + 64) {
        std::unordered_map<std::string, Mesh> kept;
        for (const BatchShape& s : shapes)
            if (auto it = meshes_.find(s.object->id); it != meshes_.end()) kept.emplace(s.object->id, std::move(it->second));
        meshes_.swap(kept);
    }
    dirty_ = true;
}

bool ShapeBatch::ensure_program() {
    if (program_) return true;
    program_ = link_program(kVertexShader, kFragmentShader, {"a_pos", "a_normal", "a_colour", "a_dash"});
    if (!program_) return false;
    u_offset_ = glGetUniformLocation(program_, "u_offset");
    u_zoom_ = glGetUniformLocation(program_, "u_zoom");
    u_screen_ = glGetUniformLocation(program_, "u_screen");
    u_half_width_ = glGetUniformLocation(program_, "u_half_width");
    u_dash_period_ = glGetUniformLocation(program_, "u_dash_period");
    u_scale_ = glGetUniformLocation(program_, "u_scale");
    glGenVertexArrays(1, &vao_);
    glGenBuffers(1, &vbo_);
    glGenBuffers(1, &ebo_);
    glBindVertexArray(vao_);
    glBindBuffer(GL_ARRAY_BUFFER, vbo_);
    glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, ebo_);
    glEnableVertexAttribArray(0);
    glEnableVertexAttribArray(1);
    glEnableVertexAttribArray(2);
    glEnableVertexAttribArray(3);
    glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, sizeof(Vertex), (void*)offsetof(Vertex, x));
    glVertexAttribPointer(1, 2, GL_FLOAT, GL_FALSE, sizeof(Vertex), (void*)offsetof(Vertex, nx));
    glVertexAttribPointer(2, 4, GL_UNSIGNED_BYTE, GL_TRUE, sizeof(Vertex), (void*)offsetof(Vertex, colour));
    glVertexAttribPointer(3, 1, GL_FLOAT, GL_FALSE, sizeof(Vertex), (void*)offsetof(Vertex, dash));
    glBindVertexArray(0);
    return true;
}

void ShapeBatch::draw(const View& view, Rect vp, double scale, int fb_w, int fb_h, double outline_width) {
    if (indices_.empty() || !ensure_program()) return;
    glBindVertexArray(vao_);
    if (dirty_) {
        glBindBuffer(GL_ARRAY_BUFFER, vbo_);
        glBufferData(GL_ARRAY_BUFFER, (long)(vertices_.size() * sizeof(Vertex)), vertices_.data(), GL_STATIC_DRAW);
        glBufferData(GL_ELEMENT_ARRAY_BUFFER, (long)(indices_.size() * sizeof(uint32_t)), indices_.data(), GL_STATIC_DRAW);
        dirty_ = false;
    }
    glUseProgram(program_);
    // Uniforms in device pixels.
    glUniform2f(u_offset_, (float)(view.offset.x * scale), (float)(view.offset.y * scale));
    glUniform1f(u_zoom_, (float)(view.zoom * scale));
    glUniform2f(u_screen_, (float)fb_w, (float)fb_h);
    glUniform1f(u_half_width_, (float)(outline_width / 2 * scale));
    glUniform1f(u_scale_, (float)scale);
    glUniform1f(u_dash_period_, (float)(kDashPeriod * scale));
    glEnable(GL_BLEND);
    glBlendFuncSeparate(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
    glDisable(GL_CULL_FACE);
    glDisable(GL_DEPTH_TEST);
    glEnable(GL_SCISSOR_TEST);
    glScissor((int)(vp.x * scale), (int)(fb_h - (vp.y + vp.h) * scale), (int)(vp.w * scale), (int)(vp.h * scale));
    glViewport(0, 0, fb_w, fb_h);
    glDrawElements(GL_TRIANGLES, (int)indices_.size(), GL_UNSIGNED_INT, nullptr);
    glBindVertexArray(0);
}

void ShapeBatch::release() {
    if (program_) glDeleteProgram(program_);
    if (vbo_) glDeleteBuffers(1, &vbo_);
    if (ebo_) glDeleteBuffers(1, &ebo_);
    if (vao_) glDeleteVertexArrays(1, &vao_);
    program_ = vao_ = vbo_ = ebo_ = 0;
    dirty_ = true;
}

}  // namespace pm
