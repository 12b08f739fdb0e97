#include "polymark/geometry.hpp"

#include <algorithm>
#include <cmath>

namespace pm {

namespace {
constexpr double kPi = 3.14159265358979323846;

Vec2 rotate(Vec2 v, double degrees) {
    double r = degrees * kPi / 180, c = std::cos(r), s = std::sin(r);
    return {v.x * c - v.y * s, v.x * s + v.y * c};
}

bool is_box(ShapeType t) { return t == ShapeType::Rectangle || t == ShapeType::Ellipse; }

double chain_length(const Points& p, size_t from, size_t to) {  // forward along the ring
    size_t n = vertex_count(p);
    double len = 0;
    for (size_t i = from; i != to; i = (i + 1) % n) len += distance(vertex(p, i), vertex(p, (i + 1) % n));
    return len;
}

Points chain(const Points& p, size_t from, size_t to) {  // vertices from..to inclusive, forward
    size_t n = vertex_count(p);
    Points out;
    for (size_t i = from;; i = (i + 1) % n) {
        out.push_back(p[2 * i]);
        out.push_back(p[2 * i + 1]);
        if (i == to) break;
    }
    return out;
}
}  // namespace

double distance(Vec2 a, Vec2 b) { return std::hypot(a.x - b.x, a.y - b.y); }

double distance_to_segment(Vec2 p, Vec2 a, Vec2 b, double* t_out) {
    double dx = b.x - a.x, dy = b.y - a.y;
    double len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;
    t = std::clamp(t, 0.0, 1.0);
    if (t_out) *t_out = t;
    return distance(p, {a.x + t * dx, a.y + t * dy});
}

bool point_in_polygon(const Points& poly, Vec2 p) {
    size_t n = vertex_count(poly);
    if (n < 3) return false;
    bool inside = false;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        Vec2 a = vertex(poly, i), b = vertex(poly, j);
        if (distance_to_segment(p, a, b) < 1e-9) return true;
        if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x) inside = !inside;
    }
    return inside;
}

double polygon_area(const Points& poly) {
    size_t n = vertex_count(poly);
    double twice = 0;
    for (size_t i = 0, j = n - 1; i < n; j = i++) twice += (poly[2 * j] * poly[2 * i + 1]) - (poly[2 * i] * poly[2 * j + 1]);
    return twice / 2;
}

Vec2 box_centre(const Points& b) { return {(b[0] + b[2]) / 2, (b[1] + b[3]) / 2}; }

Vec2 unrotate(Vec2 p, Vec2 c, double degrees) {
    Vec2 local = rotate({p.x - c.x, p.y - c.y}, -degrees);
    return {c.x + local.x, c.y + local.y};
}

Points rectangle_corners(const Points& b, double degrees) {
    Vec2 c = box_centre(b);
    Points out;
    for (Vec2 corner : {Vec2{b[0], b[1]}, Vec2{b[2], b[1]}, Vec2{b[2], b[3]}, Vec2{b[0], b[3]}}) {
        Vec2 r = rotate({corner.x - c.x, corner.y - c.y}, degrees);
        out.push_back(c.x + r.x);
        out.push_back(c.y + r.y);
    }
    return out;
}

Points ellipse_outline(const Points& b, double degrees, int segments) {
    Vec2 c = box_centre(b);
    double rx = (b[2] - b[0]) / 2, ry = (b[3] - b[1]) / 2;
    Points out;
    out.reserve(2 * segments);
    for (int i = 0; i < segments; ++i) {
        double a = 2 * kPi * i / segments;
        Vec2 r = rotate({rx * std::cos(a), ry * std::sin(a)}, degrees);
        out.push_back(c.x + r.x);
        out.push_back(c.y + r.y);
    }
    return out;
}

Rect shape_bounds(const Object& o) {
    if (o.type == ShapeType::Tag || o.points.size() < 2) return {};
    Points p = o.points;
    if (o.type == ShapeType::Rectangle) p = rectangle_corners(o.points, o.rotation);
    else if (o.type == ShapeType::Ellipse) p = ellipse_outline(o.points, o.rotation, 64);
    double x0 = p[0], y0 = p[1], x1 = p[0], y1 = p[1];
    for (size_t i = 0; i < vertex_count(p); ++i) {
        x0 = std::min(x0, p[2 * i]); x1 = std::max(x1, p[2 * i]);
        y0 = std::min(y0, p[2 * i + 1]); y1 = std::max(y1, p[2 * i + 1]);
    }
    return {x0, y0, x1 - x0, y1 - y0};
}

std::vector<uint32_t> triangulate_polygon(const Points& poly) {
    size_t n = vertex_count(poly);
    std::vector<uint32_t> out;
    if (n < 3) return out;
    out.reserve(3 * (n - 2));
    std::vector<uint32_t> ring(n);
    for (uint32_t i = 0; i < n; ++i) ring[i] = i;
    double orientation = polygon_area(poly) >= 0 ? 1 : -1;
    auto cross = [&](uint32_t a, uint32_t b, uint32_t c) {
        Vec2 pa = vertex(poly, a), pb = vertex(poly, b), pc = vertex(poly, c);
        return ((pb.x - pa.x) * (pc.y - pa.y) - (pb.y - pa.y) * (pc.x - pa.x)) * orientation;
    };
    auto inside_triangle = [&](uint32_t a, uint32_t b, uint32_t c, uint32_t p) {
        return cross(a, b, p) >= 0 && cross(b, c, p) >= 0 && cross(c, a, p) >= 0;
    };
    size_t guard = 0;
    size_t i = 0;
    while (ring.size() > 3 && guard < ring.size()) {
        size_t m = ring.size();
        uint32_t a = ring[(i + m - 1) % m], b = ring[i % m], c = ring[(i + 1) % m];
        bool ear = cross(a, b, c) > 0;
        for (size_t k = 0; ear && k < m; ++k) {
            uint32_t p = ring[k];
            if (p == a || p == b || p == c) continue;
            Vec2 pp = vertex(poly, p);
            if ((pp.x == poly[2 * a] && pp.y == poly[2 * a + 1]) || (pp.x == poly[2 * c] && pp.y == poly[2 * c + 1])) continue;
            if (inside_triangle(a, b, c, p)) ear = false;
        }
        if (ear) {
            out.insert(out.end(), {a, b, c});
            ring.erase(ring.begin() + (long)(i % m));
            guard = 0;
        } else {
            ++i;
            ++guard;
        }
        i %= ring.size();
    }
    // Whatever is left (a triangle, or a tangle no ear can be cut from) is fanned.
    for (size_t k = 1; k + 1 < ring.size(); ++k) out.insert(out.end(), {ring[0], ring[k], ring[k + 1]});
    return out;
}

bool hit_shape(const Object& o, Vec2 p, double tol) {
    switch (o.type) {
        case ShapeType::Tag: return false;
        case ShapeType::Rectangle: {
            if (o.points.size() != 4) return false;
            Vec2 l = unrotate(p, box_centre(o.points), o.rotation);
            return l.x >= o.points[0] - tol && l.x <= o.points[2] + tol && l.y >= o.points[1] - tol && l.y <= o.points[3] + tol;
        }
        case ShapeType::Ellipse: {
            if (o.points.size() != 4) return false;
            Vec2 c = box_centre(o.points);
            Vec2 l = unrotate(p, c, o.rotation);
            double rx = (o.points[2] - o.points[0]) / 2 + tol, ry = (o.points[3] - o.points[1]) / 2 + tol;
            double dx = (l.x - c.x) / std::max(rx, 1e-9), dy = (l.y - c.y) / std::max(ry, 1e-9);
            return dx * dx + dy * dy <= 1;
        }
        case ShapeType::Polygon:
            return point_in_polygon(o.points, p) || nearest_edge(o.points, true, p, tol).has_value();
        case ShapeType::Polyline:
            return nearest_edge(o.points, false, p, tol).has_value();
        case ShapeType::Points:
            return nearest_vertex(o.points, p, tol).has_value();
    }
    return false;
}

Points editable_vertices(const Object& o) {
    if (is_box(o.type)) return o.points.size() == 4 ? rectangle_corners(o.points, o.rotation) : Points{};
    return o.points;
}

std::optional<size_t> nearest_vertex(const Points& v, Vec2 p, double tol) {
    std::optional<size_t> best;
    double best_d = tol;
    for (size_t i = 0; i < vertex_count(v); ++i) {
        double d = distance(vertex(v, i), p);
        if (d <= best_d) { best_d = d; best = i; }
    }
    return best;
}

std::optional<EdgeHit> nearest_edge(const Points& v, bool closed, Vec2 p, double tol) {
    size_t n = vertex_count(v);
    if (n < 2) return std::nullopt;
    std::optional<EdgeHit> best;
    size_t edges = closed ? n : n - 1;
    for (size_t i = 0; i < edges; ++i) {
        Vec2 a = vertex(v, i), b = vertex(v, (i + 1) % n);
        double t = 0;
        double d = distance_to_segment(p, a, b, &t);
        if (d <= tol && (!best || d < best->distance)) best = EdgeHit{i, t, {a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)}, d};
    }
    return best;
}

size_t minimum_vertices(ShapeType t) {
    switch (t) {
        case ShapeType::Polygon: return 3;
        case ShapeType::Polyline: return 2;
        case ShapeType::Points: return 1;
        default: return 2;
    }
}

Points insert_vertex(const Points& p, size_t after, Vec2 v) {
    Points out = p;
    size_t at = std::min(2 * (after + 1), out.size());
    out.insert(out.begin() + (long)at, {v.x, v.y});
    return out;
}

std::optional<Points> remove_vertex(const Points& p, size_t index, ShapeType t) {
    if (is_box(t) || index >= vertex_count(p) || vertex_count(p) <= minimum_vertices(t)) return std::nullopt;
    Points out = p;
    out.erase(out.begin() + (long)(2 * index), out.begin() + (long)(2 * index + 2));
    return out;
}

Points drag_box_corner(const Points& box, double degrees, size_t corner, Vec2 to) {
    Points corners = rectangle_corners(box, degrees);
    Vec2 fixed = vertex(corners, (corner + 2) % 4);
    Vec2 u = rotate({1, 0}, degrees), v = rotate({0, 1}, degrees);
    Vec2 d{to.x - fixed.x, to.y - fixed.y};
    double w = std::fabs(d.x * u.x + d.y * u.y), h = std::fabs(d.x * v.x + d.y * v.y);
    Vec2 c{(fixed.x + to.x) / 2, (fixed.y + to.y) / 2};
    return {c.x - w / 2, c.y - h / 2, c.x + w / 2, c.y + h / 2};
}

double rotation_towards(const Points& box, Vec2 p) {
    Vec2 c = box_centre(box);
    double deg = std::atan2(p.x - c.x, -(p.y - c.y)) * 180 / kPi;
    deg = std::fmod(deg + 360, 360);
    return deg >= 360 ? 0 : deg;
}

Points translate(const Points& p, Vec2 d) {
    Points out = p;
    for (size_t i = 0; i + 1 < out.size(); i += 2) { out[i] += d.x; out[i + 1] += d.y; }
    return out;
}

bool shorter_way_is_forward(const Points& poly, size_t from, size_t to) {
    return chain_length(poly, from, to) <= chain_length(poly, to, from);
}

Points redraw_polygon_part(const Points& poly, size_t from, size_t to, const Points& path, std::optional<bool> replace_forward) {
    // Forward: the vertices after `from` up to `to` go; the ring from `to` round to `from` stays.
    bool forward = replace_forward ? *replace_forward : shorter_way_is_forward(poly, from, to);
    Points out;
    if (forward) {
        out = chain(poly, to, from);
        out.insert(out.end(), path.begin(), path.end());
    } else {
        out = chain(poly, from, to);
        for (size_t i = vertex_count(path); i-- > 0;) { out.push_back(path[2 * i]); out.push_back(path[2 * i + 1]); }
    }
    return out;
}

std::optional<Vec2> snap_point(const std::vector<const Object*>& candidates, Vec2 p, double tol, const std::string& skip_id) {
    std::optional<Vec2> best_vertex, best_edge;
    double vd = tol, ed = tol;
    for (const Object* o : candidates) {
        if (!o || o->id == skip_id || o->type == ShapeType::Tag) continue;
        Points v = o->type == ShapeType::Ellipse ? ellipse_outline(o->points, o->rotation, 64) : editable_vertices(*o);
        if (o->type != ShapeType::Ellipse)
            if (auto i = nearest_vertex(v, p, vd)) { vd = distance(vertex(v, *i), p); best_vertex = vertex(v, *i); }
        if (o->type == ShapeType::Points) continue;
        bool closed = o->type != ShapeType::Polyline;
        if (auto e = nearest_edge(v, closed, p, ed)) { ed = e->distance; best_edge = e->point; }
    }
    return best_vertex ? best_vertex : best_edge;
}

namespace {
Points clip_polygon_to_box(const Points& poly, double w, double h) {
    Points out = poly;
    // Each pass keeps the part on the inside of one border line.
    auto pass = [&](auto inside, auto cross) {
        Points in = out;
        out.clear();
        size_t n = vertex_count(in);
        for (size_t i = 0; i < n; ++i) {
            Vec2 a = vertex(in, (i + n - 1) % n), b = vertex(in, i);
            bool ai = inside(a), bi = inside(b);
            if (bi) {
                if (!ai) { Vec2 c = cross(a, b); out.push_back(c.x); out.push_back(c.y); }
                out.push_back(b.x); out.push_back(b.y);
            } else if (ai) {
                Vec2 c = cross(a, b); out.push_back(c.x); out.push_back(c.y);
            }
        }
    };
    auto at_x = [](Vec2 a, Vec2 b, double x) { double t = (x - a.x) / (b.x - a.x); return Vec2{x, a.y + t * (b.y - a.y)}; };
    auto at_y = [](Vec2 a, Vec2 b, double y) { double t = (y - a.y) / (b.y - a.y); return Vec2{a.x + t * (b.x - a.x), y}; };
    pass([](Vec2 v) { return v.x >= 0; }, [&](Vec2 a, Vec2 b) { return at_x(a, b, 0); });
    pass([&](Vec2 v) { return v.x <= w; }, [&](Vec2 a, Vec2 b) { return at_x(a, b, w); });
    pass([](Vec2 v) { return v.y >= 0; }, [&](Vec2 a, Vec2 b) { return at_y(a, b, 0); });
    pass([&](Vec2 v) { return v.y <= h; }, [&](Vec2 a, Vec2 b) { return at_y(a, b, h); });
    return out;
}
}  // namespace

std::optional<Points> keep_inside(ShapeType type, const Points& p, double w, double h, ClampMode mode) {
    if (mode == ClampMode::None || type == ShapeType::Tag) return p;
    auto clamped = [&](Points q) {
        for (size_t i = 0; i + 1 < q.size(); i += 2) { q[i] = std::clamp(q[i], 0.0, w); q[i + 1] = std::clamp(q[i + 1], 0.0, h); }
        return q;
    };
    if (is_box(type)) {
        if (p.size() != 4 || p[2] <= 0 || p[0] >= w || p[3] <= 0 || p[1] >= h) return std::nullopt;
        Points q = clamped(p);
        if (q[2] - q[0] <= 0 || q[3] - q[1] <= 0) return std::nullopt;
        return q;
    }
    if (mode == ClampMode::Clamp || type == ShapeType::Polyline) return clamped(p);
    if (type == ShapeType::Points) {
        Points q;
        for (size_t i = 0; i + 1 < p.size(); i += 2)
            if (p[i] >= 0 && p[i] <= w && p[i + 1] >= 0 && p[i + 1] <= h) { q.push_back(p[i]); q.push_back(p[i + 1]); }
        if (q.empty()) return std::nullopt;
        return q;
    }
    Points q = clip_polygon_to_box(p, w, h);
    if (vertex_count(q) < 3 || std::fabs(polygon_area(q)) <= 0) return std::nullopt;
    return q;
}

}  // namespace pm
