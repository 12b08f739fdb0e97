#include "polymark/similarity.hpp"

#include "polymark/assignment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pm {

namespace {

// [SECTION] Convex clipping

struct P2 {
    double x, y;
};

double cross(P2 o, P2 a, P2 b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); }

double area2(const P2* p, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) {
        const P2& a = p[i];
        const P2& b = p[(i + 1) % n];
        s += a.x * b.y - b.x * a.y;
    }
    return s;
}

// Sutherland-Hodgman: `subject` clipped by the convex `clip` (positive area2). Returns the signed
// area of what is left, in the subject's orientation: for a concave subject the output may hold
// zero-width bridges, which add nothing to the area. `buf` and `tmp` are scratch space.
double clipped_signed_area(const std::vector<P2>& subject, const P2* clip, size_t m, std::vector<P2>& buf,
                           std::vector<P2>& tmp) {
    buf = subject;
    for (size_t e = 0; e < m && !buf.empty(); ++e) {
        P2 a = clip[e], b = clip[(e + 1) % m];
        tmp.clear();
        size_t n = buf.size();
        for (size_t i = 0; i < n; ++i) {
            P2 cur = buf[i], nxt = buf[(i + 1) % n];
            double dc = cross(a, b, cur), dn = cross(a, b, nxt);
            bool in_c = dc >= 0, in_n = dn >= 0;
            if (in_c) tmp.push_back(cur);
            if (in_c != in_n) {
                double t = dc / (dc - dn);
                tmp.push_back({cur.x + (nxt.x - cur.x) * t, cur.y + (nxt.y - cur.y) * t});
            }
        }
        buf.swap(tmp);
    }
    if (buf.size() < 3) return 0;
    return area2(buf.data(), buf.size()) / 2;
}

double clipped_area(const std::vector<P2>& subject, const std::vector<P2>& clip, std::vector<P2>& buf, std::vector<P2>& tmp) {
    return std::fabs(clipped_signed_area(subject, clip.data(), clip.size(), buf, tmp));
}

void to_p2(const Points& p, std::vector<P2>& out) {
    out.resize(vertex_count(p));
    for (size_t i = 0; i < out.size(); ++i) out[i] = {p[2 * i], p[2 * i + 1]};
}
std::vector<P2> to_p2(const Points& p) {
    std::vector<P2> out;
    to_p2(p, out);
    return out;
}

bool is_convex(const std::vector<P2>& p) {
    size_t n = p.size();
    int sign = 0;
    for (size_t i = 0; i < n; ++i) {
        double c = cross(p[i], p[(i + 1) % n], p[(i + 2) % n]);
        int s = c > 0 ? 1 : c < 0 ? -1 : 0;
        if (s == 0) continue;
        if (sign == 0) sign = s;
        else if (s != sign) return false;
    }
    // A convex ring also turns once: a star with all left turns is not convex.
    double turn = 0;
    for (size_t i = 0; i < n; ++i) {
        P2 a = p[i], b = p[(i + 1) % n], c = p[(i + 2) % n];
        double ang = std::atan2((b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x),
                                (b.x - a.x) * (c.x - b.x) + (b.y - a.y) * (c.y - b.y));
        turn += ang;
    }
    return std::fabs(std::fabs(turn) - 2 * 3.14159265358979323846) < 1e-6 || sign == 0;
}

void orient_positive(std::vector<P2>& p) {
    if (area2(p.data(), p.size()) < 0) std::reverse(p.begin(), p.end());
}

struct Box {
    double x0, y0, x1, y1;
};
Box bounds(const P2* p, size_t n) {
    Box b{p[0].x, p[0].y, p[0].x, p[0].y};
    for (size_t i = 1; i < n; ++i) {
        b.x0 = std::min(b.x0, p[i].x); b.x1 = std::max(b.x1, p[i].x);
        b.y0 = std::min(b.y0, p[i].y); b.y1 = std::max(b.y1, p[i].y);
    }
    return b;
}
bool overlap(const Box& a, const Box& b) { return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1; }

// May reverse `a` or `b` (to positive orientation).
double intersection_area(std::vector<P2>& a, std::vector<P2>& b) {
    if (a.size() < 3 || b.size() < 3) return 0;
    Box ba = bounds(a.data(), a.size()), bb = bounds(b.data(), b.size());
    if (!overlap(ba, bb)) return 0;
    double sa = area2(a.data(), a.size()), sb = area2(b.data(), b.size());
    if (sa == 0 || sb == 0) return 0;
    // Scratch kept between calls: a quality report computes hundreds of thousands of these, and
    // allocating two buffers each time was a third of the work.
    thread_local std::vector<P2> buf, tmp;
    if (is_convex(b)) {
        orient_positive(b);
        return clipped_area(a, b, buf, tmp);
    }
    if (is_convex(a)) {
        orient_positive(a);
        return clipped_area(b, a, buf, tmp);
    }
    // Both concave. A's fan from O: triangles T_i = (O, a_i, a_i+1), each clipped (turned to
    // positive orientation) against the whole of B. Almost everywhere A's indicator is
    // sign(A) * sum_i s_i 1[T_i] (its winding number), and the clip of B by a convex T_i keeps B's
    // orientation, so |A n B| = sign(A) sign(B) sum_i s_i * signed_area(B clipped by T_i).
    P2 o{(ba.x0 + ba.x1) / 2, (ba.y0 + ba.y1) / 2};
    double sum = 0;
    size_t n = a.size();
    for (size_t i = 0; i < n; ++i) {
        P2 t[3] = {o, a[i], a[(i + 1) % n]};
        double ta = area2(t, 3);
        if (ta == 0) continue;
        if (ta < 0) std::swap(t[1], t[2]);
        if (!overlap(bounds(t, 3), bb)) continue;
        sum += (ta > 0 ? 1.0 : -1.0) * clipped_signed_area(b, t, 3, buf, tmp);
    }
    double orientation = (sa > 0 ? 1.0 : -1.0) * (sb > 0 ? 1.0 : -1.0);
    return std::max(0.0, sum * orientation);
}

// [SECTION] Shapes as regions

bool is_region(ShapeType t) { return t == ShapeType::Rectangle || t == ShapeType::Polygon || t == ShapeType::Ellipse; }

Points region_outline(const Object& o, const SimilarityOptions& options) {
    if (o.type == ShapeType::Rectangle) return o.points.size() == 4 ? rectangle_corners(o.points, o.rotation) : Points{};
    if (o.type == ShapeType::Ellipse)
        return o.points.size() == 4 ? ellipse_outline(o.points, o.rotation, std::max(8, options.ellipse_segments)) : Points{};
    return o.points;
}

bool axis_aligned_box(const Object& o) {
    return o.type == ShapeType::Rectangle && o.points.size() == 4 && std::fmod(o.rotation, 360.0) == 0;
}

double clamp01(double v) { return v != v ? 0 : v < 0 ? 0 : v > 1 ? 1 : v; }

double segment_distance(P2 p, P2 a, P2 b) {
    double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;
    t = std::clamp(t, 0.0, 1.0);
    double ex = a.x + dx * t - p.x, ey = a.y + dy * t - p.y;
    return std::sqrt(ex * ex + ey * ey);
}

double polyline_length(const std::vector<P2>& p) {
    double l = 0;
    for (size_t i = 1; i < p.size(); ++i) l += std::hypot(p[i].x - p[i - 1].x, p[i].y - p[i - 1].y);
    return l;
}

double distance_to_polyline(P2 q, const std::vector<P2>& line) {
    if (line.size() == 1) return std::hypot(q.x - line[0].x, q.y - line[0].y);
    double best = std::numeric_limits<double>::infinity();
    for (size_t i = 1; i < line.size(); ++i) best = std::min(best, segment_distance(q, line[i - 1], line[i]));
    return best;
}

// Share of `a`'s samples (evenly spaced along its length) within `band` of `b`.
double covered_share(const std::vector<P2>& a, double length, const std::vector<P2>& b, double band) {
    size_t k = (size_t)std::clamp(std::ceil(length / std::max(band / 2, 1e-9)) + 1, 2.0, 512.0);
    size_t covered = 0, seg = 1;
    double seg_start = 0;
    for (size_t s = 0; s < k; ++s) {
        double at = length * (double)s / (double)(k - 1);
        while (seg + 1 < a.size() &&
               seg_start + std::hypot(a[seg].x - a[seg - 1].x, a[seg].y - a[seg - 1].y) < at) {
            seg_start += std::hypot(a[seg].x - a[seg - 1].x, a[seg].y - a[seg - 1].y);
            ++seg;
        }
        double sl = std::hypot(a[seg].x - a[seg - 1].x, a[seg].y - a[seg - 1].y);
        double t = sl > 0 ? std::clamp((at - seg_start) / sl, 0.0, 1.0) : 0;
        P2 q{a[seg - 1].x + (a[seg].x - a[seg - 1].x) * t, a[seg - 1].y + (a[seg].y - a[seg - 1].y) * t};
        if (distance_to_polyline(q, b) <= band) ++covered;
    }
    return (double)covered / (double)k;
}

bool all_finite(const Points& p) {
    for (double v : p)
        if (!std::isfinite(v)) return false;
    return true;
}

}  // namespace

// [SECTION] Public measures

double polygon_intersection_area(const Points& a, const Points& b) {
    std::vector<P2> pa = to_p2(a), pb = to_p2(b);
    return intersection_area(pa, pb);
}

double polygon_iou(const Points& a, const Points& b) {
    thread_local std::vector<P2> pa, pb;  // scratch, as in intersection_area
    to_p2(a, pa);
    to_p2(b, pb);
    if (pa.size() < 3 || pb.size() < 3) return 0;
    double aa = std::fabs(area2(pa.data(), pa.size())) / 2, ab = std::fabs(area2(pb.data(), pb.size())) / 2;
    double inter = intersection_area(pa, pb);
    inter = std::min(inter, std::min(aa, ab));
    double uni = aa + ab - inter;
    return uni > 0 ? clamp01(inter / uni) : 0;
}

double region_area(const Object& o, const SimilarityOptions& options) {
    if (!is_region(o.type)) return 0;
    Points p = region_outline(o, options);
    return vertex_count(p) < 3 ? 0 : std::fabs(polygon_area(p));
}

double points_oks(const Points& a, const Points& b, const SimilarityOptions& options) {
    size_t na = vertex_count(a), nb = vertex_count(b);
    if (na == 0 || nb == 0) return na == nb ? 1 : 0;
    double x0 = a[0], y0 = a[1], x1 = a[0], y1 = a[1];
    for (const Points* s : {&a, &b})
        for (size_t i = 0; i < vertex_count(*s); ++i) {
            x0 = std::min(x0, (*s)[2 * i]); x1 = std::max(x1, (*s)[2 * i]);
            y0 = std::min(y0, (*s)[2 * i + 1]); y1 = std::max(y1, (*s)[2 * i + 1]);
        }
    double area = std::max((x1 - x0) * (y1 - y0), std::max(options.min_point_area, 1e-12));
    double k = 2 * options.oks_sigma;
    double denom = 2 * area * k * k;
    std::vector<double> d2(na * nb);
    for (size_t i = 0; i < na; ++i)
        for (size_t j = 0; j < nb; ++j) {
            double dx = a[2 * i] - b[2 * j], dy = a[2 * i + 1] - b[2 * j + 1];
            d2[i * nb + j] = dx * dx + dy * dy;
        }
    std::vector<int> pairs = assign_min_cost(d2, na, nb);
    double sum = 0;
    for (size_t i = 0; i < na; ++i)
        if (pairs[i] >= 0) sum += denom > 0 ? std::exp(-d2[i * nb + (size_t)pairs[i]] / denom) : 0;
    return clamp01(sum / (double)std::max(na, nb));
}

double polyline_band_similarity(const Points& a, const Points& b, const SimilarityOptions& options) {
    std::vector<P2> pa = to_p2(a), pb = to_p2(b);
    if (pa.empty() || pb.empty()) return 0;
    double band = std::max(options.line_band, 0.0);
    double la = polyline_length(pa), lb = polyline_length(pb);
    if (la == 0 && lb == 0) return distance_to_polyline(pa[0], pb) <= band ? 1 : 0;
    double ca = la > 0 ? covered_share(pa, la, pb, band) : (distance_to_polyline(pa[0], pb) <= band ? 1 : 0);
    double cb = lb > 0 ? covered_share(pb, lb, pa, band) : (distance_to_polyline(pb[0], pa) <= band ? 1 : 0);
    return clamp01((ca * la + cb * lb) / (la + lb));
}

std::optional<Error> check_shape_numbers(const Object& o) {
    if (!all_finite(o.points)) return Error{"bad_number", o.id, "shape '" + o.id + "' has a coordinate that is not a finite number"};
    if (!std::isfinite(o.rotation)) return Error{"bad_number", o.id, "shape '" + o.id + "' has a rotation that is not a finite number"};
    return std::nullopt;
}

double shape_similarity_unchecked(const Object& a, const Object& b, const SimilarityOptions& options) {
    if (a.type == ShapeType::Tag || b.type == ShapeType::Tag)
        return a.type == b.type && a.label == b.label ? 1 : 0;
    if (is_region(a.type) && is_region(b.type)) {
        if (axis_aligned_box(a) && axis_aligned_box(b)) {
            const Points &p = a.points, &q = b.points;
            double iw = std::min(p[2], q[2]) - std::max(p[0], q[0]), ih = std::min(p[3], q[3]) - std::max(p[1], q[1]);
            double inter = iw > 0 && ih > 0 ? iw * ih : 0;
            double uni = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter;
            return uni > 0 ? clamp01(inter / uni) : 0;
        }
        return polygon_iou(region_outline(a, options), region_outline(b, options));
    }
    if (a.type == ShapeType::Points && b.type == ShapeType::Points) return points_oks(a.points, b.points, options);
    if (a.type == ShapeType::Polyline && b.type == ShapeType::Polyline) return polyline_band_similarity(a.points, b.points, options);
    return 0;
}

Expected<double> shape_similarity(const Object& a, const Object& b, const SimilarityOptions& options) {
    if (auto e = check_shape_numbers(a)) return *e;
    if (auto e = check_shape_numbers(b)) return *e;
    if (!std::isfinite(options.oks_sigma) || options.oks_sigma <= 0 || !std::isfinite(options.min_point_area) ||
        !std::isfinite(options.line_band) || options.line_band < 0)
        return Error{"bad_option", "", "similarity options must be finite (sigma > 0, band >= 0)"};
    return shape_similarity_unchecked(a, b, options);
}

}  // namespace pm
