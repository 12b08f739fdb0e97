// Shape geometry in image pixels: bounds, hit testing, vertex and edge handles, polygon editing,
// snapping, and keeping shapes inside the image. Pure functions over the document's shapes.
#pragma once
#include "polymark/document.hpp"
#include "polymark/task.hpp"
#include "polymark/view.hpp"

#include <optional>
#include <vector>

namespace pm {

using Points = std::vector<double>;  // flat x0,y0,x1,y1,... as in the document

inline size_t vertex_count(const Points& p) { return p.size() / 2; }
inline Vec2 vertex(const Points& p, size_t i) { return {p[2 * i], p[2 * i + 1]}; }
inline void set_vertex(Points& p, size_t i, Vec2 v) { p[2 * i] = v.x; p[2 * i + 1] = v.y; }

double distance(Vec2 a, Vec2 b);
// Distance from p to segment ab, and where on it (0 at a, 1 at b) the closest point lies.
double distance_to_segment(Vec2 p, Vec2 a, Vec2 b, double* t = nullptr);
bool point_in_polygon(const Points& polygon, Vec2 p);  // even-odd rule; edges count as inside
double polygon_area(const Points& polygon);             // signed: > 0 when clockwise on screen

// The corners of a (possibly rotated) rectangle [x1,y1,x2,y2] in drawing order, and a rotated
// ellipse as a polygon of `segments` vertices.
Points rectangle_corners(const Points& box, double rotation_degrees);
Points ellipse_outline(const Points& box, double rotation_degrees, int segments);
Vec2 box_centre(const Points& box);
// Turns a point into the unrotated frame of a box rotated by `rotation_degrees` about its centre.
Vec2 unrotate(Vec2 p, Vec2 centre, double rotation_degrees);

Rect shape_bounds(const Object& o);

// Triangles covering a simple polygon (concave allowed), as vertex index triples, by ear
// clipping. Self-intersecting input still yields n-2 triangles (the rest is fanned).
std::vector<uint32_t> triangulate_polygon(const Points& polygon);  // axis-aligned, rotation included; empty for tags

// Whether image point p hits the shape: inside a filled shape (rectangle, polygon, ellipse), or
// within `tolerance` image pixels of a polyline's edges or of a point.
bool hit_shape(const Object& o, Vec2 p, double tolerance);

// The editable vertices of a shape: a polygon's, polyline's or points' own vertices; for a
// rectangle or ellipse its four corners (rotation applied).
Points editable_vertices(const Object& o);
std::optional<size_t> nearest_vertex(const Points& vertices, Vec2 p, double tolerance);
struct EdgeHit {
    size_t index = 0;  // edge from vertex index to index+1 (wrapping when closed)
    double t = 0;
    Vec2 point;
    double distance = 0;
};
std::optional<EdgeHit> nearest_edge(const Points& vertices, bool closed, Vec2 p, double tolerance);

// Polygon and polyline editing. A vertex is never removed below the type's minimum.
size_t minimum_vertices(ShapeType t);
Points insert_vertex(const Points& p, size_t after_index, Vec2 v);
std::optional<Points> remove_vertex(const Points& p, size_t index, ShapeType t);
// A rectangle or ellipse with corner `corner` (0..3 in rectangle_corners order) dragged to `to`:
// the opposite corner stays fixed, in the shape's rotated frame.
Points drag_box_corner(const Points& box, double rotation_degrees, size_t corner, Vec2 to);
// Rotation that points the box's "up" handle at p, in degrees in [0, 360).
double rotation_towards(const Points& box, Vec2 p);
Points translate(const Points& p, Vec2 d);

// Redraw part of a polygon (as CVAT): the path replaces the boundary between vertex `from` and
// vertex `to` (`path` runs from `from` towards `to`, both excluded). Of the two ways round, the
// shorter is replaced unless `replace_forward` chooses: true replaces the vertices strictly
// between `from` and `to` in index order.
Points redraw_polygon_part(const Points& polygon, size_t from, size_t to, const Points& path,
                           std::optional<bool> replace_forward = std::nullopt);
// Whether the shorter way round from `from` to `to` runs in index order (the default side).
bool shorter_way_is_forward(const Points& polygon, size_t from, size_t to);

// Snapping: the nearest vertex, else the nearest point on an edge, of the candidate shapes
// within `tolerance` image pixels. `skip_id` excludes the shape being edited.
std::optional<Vec2> snap_point(const std::vector<const Object*>& candidates, Vec2 p, double tolerance, const std::string& skip_id);

// Keeping shapes inside the image [0,w]x[0,h]. Clamp moves each vertex inside; clip cuts a
// polygon at the border (Sutherland-Hodgman) and clamps the rest. Returns nullopt when nothing
// of the shape is left inside (a polygon wholly outside).
std::optional<Points> keep_inside(ShapeType type, const Points& p, double w, double h, ClampMode mode);

}  // namespace pm
