// Track interpolation: which keyframes govern a frame, boxes and points, CVAT's polyline and polygon
// matching, and Polymark's improved polyline and polygon morph with its cache.
//
// The improved morph, in four steps (for a polygon; a polyline only considers its two directions):
// 1. Align. The later keyframe is first put in a canonical order (start at its lowest-x, then
//    lowest-y vertex, towards its smaller neighbour), so that nothing below depends on where or in
//    which direction it was drawn. Both keyframes are resampled at K points evenly spaced by arc
//    length (K >= twice the vertex count); for each winding and each of the K cyclic shifts
//    (all at once, by FFT) the complex correlation C = mean conj(a_k - mean a) * (b_k - mean b)
//    gives the share of the later shape that the best rotation and scale of the earlier one
//    explain, so a turned object still aligns with itself; the angle of C is that turn. The
//    shift explaining most wins, less a small penalty for turning, which only decides between
//    lookalike positions of a round or symmetric shape. It is refined to a fraction of a sample
//    by a parabola through its neighbours.
// 2. Correspond. With the shift, every vertex of either keyframe gets a position on the other.
//    Vertices of the two that are each other's nearest, closer than half the gap to any neighbour,
//    are paired (corner to corner); the rest map through the piecewise-linear correspondence
//    between pairs. The output has one vertex per original vertex of either keyframe, less one per
//    pair: the same count at every offset, and both keyframes' corners.
// 3. Fit. A similarity (translation, rotation, scale) is fitted between the corresponding points,
//    weighted by arc length; what it leaves is the deformation, expressed in the earlier frame.
// 4. Move. At offset t the centre moves linearly, the rotation turns by t times its angle, the
//    scale changes linearly, and t of the deformation is applied. A rotating object keeps its size
//    instead of shrinking along the chords as a vertex-wise blend does. Offsets 0 and 1 give the
//    two keyframes (up to rounding, plus the other one's vertices lying on their edges).
#include "polymark/interpolate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <unordered_map>

namespace pm {
namespace {

constexpr double kPi = 3.14159265358979323846;

// [SECTION] Points as complex numbers

Vec2 add(Vec2 a, Vec2 b) { return {a.x + b.x, a.y + b.y}; }
Vec2 sub(Vec2 a, Vec2 b) { return {a.x - b.x, a.y - b.y}; }
Vec2 scaled(Vec2 a, double s) { return {a.x * s, a.y * s}; }
Vec2 complex_mul(Vec2 a, Vec2 b) { return {a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x}; }
Vec2 conj_mul(Vec2 a, Vec2 b) { return {a.x * b.x + a.y * b.y, a.x * b.y - a.y * b.x}; }  // conj(a) * b
double norm2(Vec2 a) { return a.x * a.x + a.y * a.y; }
// CVAT's own formula for a length; several times faster than the std::hypot in distance(), whose
// care for overflow image coordinates never need.
double edge_length(Vec2 a, Vec2 b) { return std::sqrt(norm2(sub(a, b))); }
// CVAT's form, l + (r - l) * t, kept everywhere for parity.
Vec2 lerp(Vec2 l, Vec2 r, double t) { return {l.x + (r.x - l.x) * t, l.y + (r.y - l.y) * t}; }

void read_vertices(const Points& p, std::vector<Vec2>& v) {
    v.resize(vertex_count(p));
    for (size_t i = 0; i < v.size(); ++i) v[i] = vertex(p, i);
}

Points to_points(const std::vector<Vec2>& v) {
    Points p(2 * v.size());
    for (size_t i = 0; i < v.size(); ++i) set_vertex(p, i, v[i]);
    return p;
}

double wrap_unit(double x) {  // into [0, 1)
    double f = x - std::floor(x);
    return f >= 1 ? 0 : f;
}

bool is_box(ShapeType t) { return t == ShapeType::Rectangle || t == ShapeType::Ellipse; }

// [SECTION] Boxes and points

Points lerp_coordinates(const Points& from, const Points& to, double t) {
    Points out(from.size());
    for (size_t i = 0; i < from.size(); ++i) out[i] = from[i] + (to[i] - from[i]) * t;
    return out;
}

// [SECTION] Polylines and polygons: CVAT's matching

// Arc-length position of every vertex as a fraction of the curve's length (all 0 when it has none).
void arc_fractions(const std::vector<Vec2>& c, std::vector<double>& at) {
    at.assign(c.size(), 0.0);
    for (size_t i = 1; i < c.size(); ++i) at[i] = at[i - 1] + edge_length(c[i - 1], c[i]);
    double total = c.empty() ? 0 : at.back();
    if (!(total > 0)) at.assign(c.size(), 0.0);
    else for (double& a : at) a /= total;
}

// Working memory of cvat_polyshape, kept between calls: a frame of a thousand tracks would
// otherwise spend a good part of its time allocating.
struct CvatScratch {
    std::vector<Vec2> left, right, blended, reduced;
    std::vector<double> left_at, right_at;
    std::vector<size_t> nearest, owner, first, match, fill;
    std::vector<char> chosen;
};

double curve_length(const std::vector<Vec2>& c, size_t first, size_t last) {
    double total = 0;
    for (size_t i = first + 1; i <= last && i < c.size(); ++i) total += edge_length(c[i - 1], c[i]);
    return total;
}

// The index of the value nearest to x in a non-decreasing list, the lowest index on ties.
size_t nearest_in_sorted(const std::vector<double>& values, double x) {
    size_t lo = 0, hi = values.size();
    while (lo < hi) {  // first index with values[i] >= x
        size_t mid = lo + (hi - lo) / 2;
        if (values[mid] < x) lo = mid + 1; else hi = mid;
    }
    if (lo == 0) return 0;
    size_t below = lo - 1;
    size_t run_start = below;  // the lowest index holding the same value as `below`
    while (run_start > 0 && values[run_start - 1] == values[below]) --run_start;
    if (lo == values.size() || x - values[below] <= values[lo] - x) return run_start;
    return lo;
}

// CVAT's thinning of one segment of the blended points [first, last].
void thin_segment(const std::vector<Vec2>& blended, double base_length, size_t count, size_t first, size_t last,
                  std::vector<Vec2>& out) {
    double threshold = base_length / (2.0 * (double)count);
    size_t start = out.size();
    out.push_back(blended[first]);
    size_t kept = first;
    for (size_t i = first + 1; i < last; ++i) {
        if (edge_length(blended[kept], blended[i]) >= threshold) {
            out.push_back(blended[i]);
            kept = i;
        }
    }
    out.push_back(blended[last]);
    if (out.size() - start == 2 && edge_length(blended[first], blended[last]) < threshold) {
        Vec2 mean = scaled(add(blended[first], blended[last]), 0.5);
        out.resize(start);
        out.push_back(mean);
    }
}

Points cvat_polyshape(const Points& from, const Points& to, double t, bool closed) {
    if (t == 0) return from;
    thread_local CvatScratch scratch;
    std::vector<Vec2>& left = scratch.left;
    std::vector<Vec2>& right = scratch.right;
    read_vertices(from, left);
    read_vertices(to, right);
    if (left.empty() || right.empty()) return from;
    if (closed) {
        left.push_back(left.front());
        right.push_back(right.front());
    }
    std::vector<double>& left_at = scratch.left_at;
    std::vector<double>& right_at = scratch.right_at;
    arc_fractions(left, left_at);
    arc_fractions(right, right_at);

    // match[first[i] .. first[i + 1]) are the right vertices of left vertex i, in increasing order:
    // its nearest by position, then each right vertex nobody chose, given to its nearest left one.
    size_t nl = left.size(), nr = right.size();
    std::vector<size_t>& nearest = scratch.nearest;
    std::vector<size_t>& owner = scratch.owner;  // SIZE_MAX when chosen
    std::vector<size_t>& first = scratch.first;
    std::vector<char>& chosen = scratch.chosen;
    nearest.resize(nl);
    owner.assign(nr, SIZE_MAX);
    first.assign(nl + 1, 0);
    chosen.assign(nr, 0);
    for (size_t i = 0; i < nl; ++i) chosen[nearest[i] = nearest_in_sorted(right_at, left_at[i])] = 1;
    for (size_t j = 0; j < nr; ++j)
        if (!chosen[j]) owner[j] = nearest_in_sorted(left_at, right_at[j]);
    for (size_t i = 0; i < nl; ++i) first[i + 1] = 1;
    for (size_t j = 0; j < nr; ++j)
        if (owner[j] != SIZE_MAX) ++first[owner[j] + 1];
    for (size_t i = 0; i < nl; ++i) first[i + 1] += first[i];
    std::vector<size_t>& match = scratch.match;
    std::vector<size_t>& fill = scratch.fill;
    match.resize(first[nl]);
    fill.assign(first.begin(), first.end() - 1);
    for (size_t j = 0; j < nr; ++j)
        if (owner[j] != SIZE_MAX) match[fill[owner[j]]++] = j;
    for (size_t i = 0; i < nl; ++i) {  // the nearest one goes in its sorted place
        size_t k = fill[i];
        for (; k > first[i] && match[k - 1] > nearest[i]; --k) match[k] = match[k - 1];
        match[k] = nearest[i];
    }
    auto count = [&](size_t i) { return first[i + 1] - first[i]; };

    // The blended point of left vertex i and its k-th right vertex is blended[first[i] + k].
    std::vector<Vec2>& blended = scratch.blended;
    blended.resize(match.size());
    for (size_t i = 0; i < nl; ++i)
        for (size_t k = first[i]; k < first[i + 1]; ++k) blended[k] = lerp(left[i], right[match[k]], t);

    std::vector<Vec2>& reduced = scratch.reduced;
    reduced.clear();
    auto left_segment = [&](size_t start, size_t stop) {
        size_t a = first[start], b = first[stop];
        if (a == b) reduced.push_back(blended[a]);
        else thin_segment(blended, curve_length(left, start, stop), stop - start + 1, a, b, reduced);
    };
    auto right_segment = [&](size_t i) {
        size_t start = match[first[i]], stop = match[first[i + 1] - 1];
        thin_segment(blended, curve_length(right, start, stop), stop - start + 1, first[i], first[i + 1] - 1, reduced);
    };
    size_t opened = nl;  // first left vertex of the open run sharing one right vertex; nl: none
    for (size_t i = 0; i < nl; ++i) {
        if (count(i) == 1) {
            if (opened == nl) {
                opened = i;
            } else if (match[first[i]] != match[first[opened]]) {
                left_segment(opened, i - 1);
                opened = i;
            }
        } else {
            if (opened != nl) left_segment(opened, i - 1);
            opened = nl;
            right_segment(i);
        }
    }
    if (opened != nl) left_segment(opened, nl - 1);

    if (closed && !reduced.empty()) reduced.pop_back();
    return to_points(reduced);
}

// [SECTION] Polylines and polygons: the improved morph

struct Curve {
    std::vector<Vec2> v;
    std::vector<double> at;  // arc length from v[0] to v[i]
    double length = 0;       // the closing edge included when closed
    bool closed = false;
};

Curve make_curve(std::vector<Vec2> v, bool closed) {
    Curve c;
    c.v = std::move(v);
    c.closed = closed;
    c.at.assign(c.v.size(), 0.0);
    for (size_t i = 1; i < c.v.size(); ++i) c.at[i] = c.at[i - 1] + edge_length(c.v[i - 1], c.v[i]);
    c.length = c.v.empty() ? 0 : c.at.back() + (closed ? edge_length(c.v.back(), c.v.front()) : 0);
    return c;
}

// The point at fraction f of the curve's length (wrapping when closed).
Vec2 point_at(const Curve& c, double f) {
    double s = (c.closed ? wrap_unit(f) : std::clamp(f, 0.0, 1.0)) * c.length;
    size_t lo = 0, hi = c.v.size();
    while (hi - lo > 1) {  // last index with at[i] <= s
        size_t mid = lo + (hi - lo) / 2;
        if (c.at[mid] <= s) lo = mid; else hi = mid;
    }
    size_t next = lo + 1;
    if (next == c.v.size()) {
        if (!c.closed) return c.v[lo];
        next = 0;
    }
    double edge = (next == 0 ? c.length : c.at[next]) - c.at[lo];
    if (edge <= 0) return c.v[lo];
    return lerp(c.v[lo], c.v[next], std::clamp((s - c.at[lo]) / edge, 0.0, 1.0));
}

bool lexicographic_less(Vec2 a, Vec2 b) { return a.x < b.x || (a.x == b.x && a.y < b.y); }

// The same curve whatever vertex it was started from and whichever way it was drawn.
std::vector<Vec2> canonical_order(const std::vector<Vec2>& v, bool closed) {
    size_t n = v.size();
    std::vector<Vec2> out(n);
    if (!closed) {
        bool reverse = lexicographic_less(v.back(), v.front());
        for (size_t k = 0; k < n; ++k) out[k] = v[reverse ? n - 1 - k : k];
        return out;
    }
    size_t start = 0;
    for (size_t i = 1; i < n; ++i)
        if (lexicographic_less(v[i], v[start])) start = i;
    bool backward = lexicographic_less(v[(start + n - 1) % n], v[(start + 1) % n]);
    for (size_t k = 0; k < n; ++k) out[k] = v[backward ? (start + n - k) % n : (start + k) % n];
    return out;
}

// The other direction: a polygon keeps its first vertex, a polyline swaps its ends.
std::vector<Vec2> reversed_order(const std::vector<Vec2>& v, bool closed) {
    size_t n = v.size();
    std::vector<Vec2> out(n);
    for (size_t k = 0; k < n; ++k) out[k] = closed ? v[(n - k) % n] : v[n - 1 - k];
    return out;
}

constexpr size_t kMaxSamples = 1024;

// e^(-2 pi i k / kMaxSamples) for k < kMaxSamples / 2, computed once.
const std::vector<Vec2>& unit_roots() {
    static const std::vector<Vec2> roots = [] {
        std::vector<Vec2> r(kMaxSamples / 2);
        for (size_t k = 0; k < r.size(); ++k) {
            double angle = -2 * kPi * (double)k / (double)kMaxSamples;
            r[k] = {std::cos(angle), std::sin(angle)};
        }
        return r;
    }();
    return roots;
}

// In-place discrete Fourier transform of a power-of-two count (up to kMaxSamples) of complex
// values, unscaled both ways: radix 2, decimation in time.
void fourier_transform(std::vector<Vec2>& x, bool inverse) {
    size_t n = x.size();
    for (size_t i = 1, j = 0; i < n; ++i) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(x[i], x[j]);
    }
    const std::vector<Vec2>& roots = unit_roots();
    for (size_t len = 2; len <= n; len <<= 1) {
        size_t stride = kMaxSamples / len;
        for (size_t i = 0; i < n; i += len) {
            for (size_t j = 0; j < len / 2; ++j) {
                Vec2 w = roots[j * stride];
                if (inverse) w.y = -w.y;
                Vec2 u = x[i + j], v = complex_mul(x[i + j + len / 2], w);
                x[i + j] = add(u, v);
                x[i + j + len / 2] = sub(u, v);
            }
        }
    }
}

// `count` points evenly spaced by arc length from the first vertex (both ends included when
// open), less their mean.
std::vector<Vec2> centred_samples(const Curve& c, size_t count) {
    std::vector<Vec2> s(count);
    size_t n = c.v.size(), edge = 0;
    double step = c.length / (double)(c.closed ? count : count - 1);
    Vec2 mean;
    for (size_t k = 0; k < count; ++k) {
        double at = std::min((double)k * step, c.length);
        while (edge + 1 < n && c.at[edge + 1] <= at) ++edge;
        size_t next = edge + 1 < n ? edge + 1 : (c.closed ? 0 : edge);
        double span = (edge + 1 < n ? c.at[edge + 1] : c.length) - c.at[edge];
        s[k] = span > 0 ? lerp(c.v[edge], c.v[next], std::clamp((at - c.at[edge]) / span, 0.0, 1.0)) : c.v[edge];
        mean = add(mean, s[k]);
    }
    mean = scaled(mean, 1.0 / (double)count);
    for (Vec2& p : s) p = sub(p, mean);
    return s;
}

// How much a turn costs when aligning, against the share of the shape a similarity leaves
// unexplained (see build_morph): enough to pick the lesser turn between lookalike positions of a
// symmetric or round shape, too little to move an alignment that the shape itself decides.
constexpr double kTurnPenalty = 0.03;

// Samples per keyframe for aligning: a power of two, at least two per vertex (within 32..1024).
size_t sample_count(size_t left_vertices, size_t right_vertices) {
    size_t k = 32;
    while (k < 2 * std::max(left_vertices, right_vertices) && k < kMaxSamples) k *= 2;
    return k;
}

// Position along a piecewise-linear map through anchor points (src strictly increasing; when
// cyclic, src spans less than one turn and both sides wrap at 1).
double map_through(const std::vector<double>& src, const std::vector<double>& dst, double x, bool cyclic) {
    size_t n = src.size();
    if (n == 0) return x;
    if (cyclic) x = src[0] + wrap_unit(x - src[0]);
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (src[mid] <= x) lo = mid; else hi = mid;
    }
    double x0 = src[lo], y0 = dst[lo], x1, y1;
    if (lo + 1 < n) {
        x1 = src[lo + 1];
        y1 = dst[lo + 1];
    } else if (cyclic) {
        x1 = src[0] + 1;
        y1 = dst[0] + 1;
    } else {
        return y0;
    }
    double y = x1 > x0 ? y0 + (x - x0) * (y1 - y0) / (x1 - x0) : y0;
    return cyclic ? wrap_unit(y) : std::clamp(y, 0.0, 1.0);
}

double unit_gap(double a, double b, bool cyclic) {
    double d = std::fabs(a - b);
    return cyclic ? std::min(d, 1 - d) : d;
}

// The index in the sorted list nearest to x (around the circle when cyclic), lowest on ties.
size_t nearest_position(const std::vector<double>& sorted, double x, bool cyclic) {
    size_t n = sorted.size();
    size_t lo = std::lower_bound(sorted.begin(), sorted.end(), x) - sorted.begin();
    size_t candidates[4] = {lo > 0 ? lo - 1 : 0, std::min(lo, n - 1), 0, n - 1};
    size_t best = candidates[0];
    for (size_t c : candidates) {
        double d = unit_gap(sorted[c], x, cyclic), db = unit_gap(sorted[best], x, cyclic);
        if (d < db || (d == db && c < best)) best = c;
    }
    return best;
}

// The smaller gap from sorted[i] to a neighbour.
double neighbour_gap(const std::vector<double>& sorted, size_t i, bool cyclic) {
    size_t n = sorted.size();
    double gap = 1;
    if (i > 0) gap = std::min(gap, sorted[i] - sorted[i - 1]);
    else if (cyclic) gap = std::min(gap, sorted[0] + 1 - sorted[n - 1]);
    if (i + 1 < n) gap = std::min(gap, sorted[i + 1] - sorted[i]);
    else if (cyclic) gap = std::min(gap, sorted[0] + 1 - sorted[i]);
    return gap;
}

// p(t) = centre(t) + turn_and_scale(t) * (base + t * deform).
struct Morph {
    Vec2 from_centre, to_centre;
    double scale = 1;
    double angle = 0;  // radians
    std::vector<Vec2> base, deform;
};

// Corresponding points moved by a straight blend (what the degenerate cases need).
Morph linear_morph(const std::vector<Vec2>& a, const std::vector<Vec2>& b) {
    Morph m;
    m.base = a;
    m.deform.resize(a.size());
    for (size_t k = 0; k < a.size(); ++k) m.deform[k] = sub(b[k], a[k]);
    return m;
}

struct Correspondence {
    std::vector<double> at;  // position along the earlier keyframe, in [0, 1]
    std::vector<Vec2> a, b;  // the point on the earlier and on the later keyframe
};

Morph fit_morph(const Correspondence& c, bool closed) {
    size_t n = c.a.size();
    std::vector<double> weight(n, 0.0);
    for (size_t k = 0; k < n; ++k) {
        double before = k > 0 ? c.at[k] - c.at[k - 1] : (closed ? c.at[0] + 1 - c.at[n - 1] : 0);
        double after = k + 1 < n ? c.at[k + 1] - c.at[k] : (closed ? c.at[0] + 1 - c.at[k] : 0);
        weight[k] = (before + after) / 2;
    }
    double total = 0;
    Vec2 ca, cb;
    for (size_t k = 0; k < n; ++k) {
        total += weight[k];
        ca = add(ca, scaled(c.a[k], weight[k]));
        cb = add(cb, scaled(c.b[k], weight[k]));
    }
    if (!(total > 0)) return linear_morph(c.a, c.b);
    ca = scaled(ca, 1 / total);
    cb = scaled(cb, 1 / total);
    Vec2 corr;
    double spread_a = 0, spread_b = 0;
    for (size_t k = 0; k < n; ++k) {
        Vec2 da = sub(c.a[k], ca), db = sub(c.b[k], cb);
        corr = add(corr, scaled(conj_mul(da, db), weight[k]));
        spread_a += weight[k] * norm2(da);
        spread_b += weight[k] * norm2(db);
    }
    double size = std::sqrt(norm2(corr));
    // Too little alike to speak of one rotation and scale (or a collapsed side): blend straight.
    if (!(spread_a > 0 && spread_b > 0) || size < 0.5 * std::sqrt(spread_a * spread_b)) return linear_morph(c.a, c.b);

    Morph m;
    m.from_centre = ca;
    m.to_centre = cb;
    m.scale = size / spread_a;
    m.angle = std::atan2(corr.y, corr.x);
    Vec2 undo = scaled(Vec2{std::cos(m.angle), -std::sin(m.angle)}, 1 / m.scale);  // 1 / z
    m.base.resize(n);
    m.deform.resize(n);
    for (size_t k = 0; k < n; ++k) {
        m.base[k] = sub(c.a[k], ca);
        m.deform[k] = sub(complex_mul(sub(c.b[k], cb), undo), m.base[k]);
    }
    return m;
}

Points evaluate_morph(const Morph& m, double t) {
    Vec2 centre = lerp(m.from_centre, m.to_centre, t);
    double s = 1 + (m.scale - 1) * t;
    Vec2 turn = m.angle == 0 ? Vec2{s, 0} : Vec2{s * std::cos(m.angle * t), s * std::sin(m.angle * t)};
    Points out(2 * m.base.size());
    for (size_t k = 0; k < m.base.size(); ++k) {
        Vec2 local = {m.base[k].x + m.deform[k].x * t, m.base[k].y + m.deform[k].y * t};
        set_vertex(out, k, add(centre, complex_mul(turn, local)));
    }
    return out;
}

Morph build_morph(const Points& from, const Points& to, bool closed) {
    std::vector<Vec2> left_vertices, right_vertices;
    read_vertices(from, left_vertices);
    read_vertices(to, right_vertices);
    if (left_vertices.empty()) return linear_morph(right_vertices, right_vertices);
    if (right_vertices.empty()) return linear_morph(left_vertices, left_vertices);
    Curve left = make_curve(std::move(left_vertices), closed);
    std::vector<Vec2> canonical = canonical_order(right_vertices, closed);
    Curve rights[2] = {make_curve(canonical, closed), make_curve(reversed_order(canonical, closed), closed)};

    // A side without length (a single point, or all vertices on one spot) moves as a whole.
    bool left_flat = left.v.size() < 2 || !(left.length > 0);
    bool right_flat = rights[0].v.size() < 2 || !(rights[0].length > 0);
    if (left_flat || right_flat) {
        if (left_flat && !right_flat)
            return linear_morph(std::vector<Vec2>(right_vertices.size(), left.v[0]), right_vertices);
        return linear_morph(left.v, std::vector<Vec2>(left.v.size(), right_vertices[0]));
    }

    // 1. Align. correlation[w][s] = mean over k of conj(a[k]) * b_w[k + s]: b_0 holds the later
    // keyframe's samples in canonical order, b_1 the same read backwards from the same first one.
    size_t samples = sample_count(left.v.size(), right_vertices.size());
    std::vector<Vec2> a = centred_samples(left, samples), b = centred_samples(rights[0], samples);
    double spread_a = 0, spread_b = 0;  // mean squared distance from the centre
    for (size_t k = 0; k < samples; ++k) {
        spread_a += norm2(a[k]) / (double)samples;
        spread_b += norm2(b[k]) / (double)samples;
    }
    std::vector<Vec2> correlation[2];
    if (closed) {  // every cyclic shift at once: conj(A) * B in the frequency domain
        fourier_transform(a, false);
        fourier_transform(b, false);
        for (int w = 0; w < 2; ++w) {
            correlation[w].resize(samples);
            for (size_t m = 0; m < samples; ++m) correlation[w][m] = conj_mul(a[m], b[w == 0 ? m : (samples - m) % samples]);
            fourier_transform(correlation[w], true);
            for (Vec2& c : correlation[w]) c = scaled(c, 1.0 / (double)(samples * samples));
        }
    } else {
        for (int w = 0; w < 2; ++w) {
            Vec2 c;
            for (size_t k = 0; k < samples; ++k) c = add(c, conj_mul(a[k], b[w == 0 ? k : samples - 1 - k]));
            correlation[w] = {scaled(c, 1.0 / (double)samples)};
        }
    }
    // |C|^2 / (spread_a * spread_b) is the share of the later keyframe that the best similarity
    // (rotation and scale) of the earlier one explains; the angle of C is that rotation.
    size_t shifts = correlation[0].size();
    int best_winding = 0;
    size_t best_shift = 0;
    double best_score = -2;
    std::vector<double> score[2];
    for (int w = 0; w < 2; ++w) {
        score[w].resize(shifts);
        for (size_t s = 0; s < shifts; ++s) {
            Vec2 c = correlation[w][s];
            double size = std::sqrt(norm2(c));
            double explained = spread_a > 0 && spread_b > 0 ? norm2(c) / (spread_a * spread_b) : 0;
            double turn = size > 0 ? (1 - c.x / size) / 2 : 1;  // 0 for none, 1 for half a turn
            score[w][s] = explained - kTurnPenalty * turn;
            if (score[w][s] > best_score) {
                best_score = score[w][s];
                best_winding = w;
                best_shift = s;
            }
        }
    }
    double shift = 0;  // where the earlier keyframe's first vertex lands on the later, as a fraction
    if (closed) {
        const std::vector<double>& m = score[best_winding];
        double before = m[(best_shift + shifts - 1) % shifts], here = m[best_shift], after = m[(best_shift + 1) % shifts];
        double curvature = before - 2 * here + after, fraction = 0;
        if (curvature < 0) fraction = std::clamp(0.5 * (before - after) / curvature, -0.5, 0.5);
        shift = wrap_unit(((double)best_shift + fraction) / (double)samples);
    }
    const Curve& right = rights[best_winding];

    // 2. Correspond: positions along the earlier keyframe (the later one's shifted by `shift`).
    size_t nl = left.v.size(), nr = right.v.size();
    std::vector<double> left_at(nl), right_at(nr);
    for (size_t i = 0; i < nl; ++i) left_at[i] = left.at[i] / left.length;
    std::vector<size_t> right_order(nr);
    for (size_t j = 0; j < nr; ++j) {
        right_order[j] = j;
        right_at[j] = closed ? wrap_unit(right.at[j] / right.length - shift) : right.at[j] / right.length;
    }
    std::sort(right_order.begin(), right_order.end(), [&](size_t x, size_t y) { return right_at[x] < right_at[y] || (right_at[x] == right_at[y] && x < y); });
    std::vector<double> right_sorted(nr);
    for (size_t q = 0; q < nr; ++q) right_sorted[q] = right_at[right_order[q]];

    std::vector<size_t> partner_of_left(nl, SIZE_MAX);   // position in right_order
    std::vector<char> right_paired(nr, 0);              // by position in right_order
    for (size_t i = 0; i < nl; ++i) {
        size_t q = nearest_position(right_sorted, left_at[i], closed);
        if (nearest_position(left_at, right_sorted[q], closed) != i) continue;
        double gap = std::min(neighbour_gap(left_at, i, closed), neighbour_gap(right_sorted, q, closed));
        if (unit_gap(left_at[i], right_sorted[q], closed) < 0.5 * gap) partner_of_left[i] = q;
    }
    if (!closed) {  // a polyline's ends always meet
        for (size_t i = 0; i < nl; ++i)
            if (partner_of_left[i] == 0 || partner_of_left[i] == nr - 1) partner_of_left[i] = SIZE_MAX;
        partner_of_left[0] = 0;
        partner_of_left[nl - 1] = nr - 1;
    }
    // Pairs in the earlier keyframe's order must also run forward on the later one.
    std::vector<double> anchor_left, anchor_right;
    for (size_t i = 0; i < nl; ++i) {
        size_t q = partner_of_left[i];
        if (q == SIZE_MAX) continue;
        double r = right_sorted[q];
        if (closed && !anchor_right.empty()) r = anchor_right[0] + wrap_unit(r - anchor_right[0]);
        if (!anchor_right.empty() && !(r > anchor_right.back())) {
            partner_of_left[i] = SIZE_MAX;
            continue;
        }
        anchor_left.push_back(left_at[i]);
        anchor_right.push_back(r);
        right_paired[q] = 1;
    }

    struct Entry {
        double at;
        size_t order;  // earlier keyframe's vertices first, then the later one's, each in its order
        Vec2 a, b;
    };
    std::vector<Entry> entries;
    entries.reserve(nl + nr);
    for (size_t i = 0; i < nl; ++i) {
        Vec2 on_right = partner_of_left[i] != SIZE_MAX
                            ? right.v[right_order[partner_of_left[i]]]
                            : point_at(right, map_through(anchor_left, anchor_right, left_at[i], closed) + (closed ? shift : 0));
        entries.push_back({left_at[i], entries.size(), left.v[i], on_right});
    }
    for (size_t q = 0; q < nr; ++q) {
        if (right_paired[q]) continue;
        double at = map_through(anchor_right, anchor_left, right_sorted[q], closed);
        entries.push_back({at, entries.size(), point_at(left, at), right.v[right_order[q]]});
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) { return x.at < y.at || (x.at == y.at && x.order < y.order); });

    // 3. Fit; 4. is evaluate_morph.
    Correspondence c;
    c.at.reserve(entries.size());
    c.a.reserve(entries.size());
    c.b.reserve(entries.size());
    for (const Entry& e : entries) {
        c.at.push_back(e.at);
        c.a.push_back(e.a);
        c.b.push_back(e.b);
    }
    return fit_morph(c, closed);
}

// A hash of both keyframes' coordinates: four independent multiply chains, so that it costs about a
// cycle per coordinate, then a final mix. Hits are checked against the stored keyframes anyway.
uint64_t content_key(ShapeType type, const Points& from, const Points& to) {
    uint64_t l0 = 0x9e3779b97f4a7c15ull ^ (uint64_t)type, l1 = 0xbf58476d1ce4e5b9ull ^ from.size(), l2 = 0x94d049bb133111ebull ^ to.size(), l3 = 1;
    auto bits = [](const double* d) {
        uint64_t b;
        std::memcpy(&b, d, sizeof b);
        return b;
    };
    auto step = [](uint64_t lane, uint64_t b) { return (lane ^ b) * 0x100000001b3ull + 0x632be59bd9b4e019ull; };
    for (const Points* p : {&from, &to}) {
        const double* d = p->data();
        size_t n = p->size(), i = 0;
        for (; i + 4 <= n; i += 4) {
            l0 = step(l0, bits(d + i));
            l1 = step(l1, bits(d + i + 1));
            l2 = step(l2, bits(d + i + 2));
            l3 = step(l3, bits(d + i + 3));
        }
        for (; i < n; ++i) l0 = step(l0, bits(d + i));
    }
    uint64_t h = l0 ^ (l1 << 1 | l1 >> 63) ^ (l2 << 2 | l2 >> 62) ^ (l3 << 3 | l3 >> 61);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
}

}  // namespace

// [SECTION] Cache

struct InterpolationCache::Impl {
    struct Entry {
        ShapeType type;
        Points from, to;
        Morph morph;
    };
    std::unordered_map<uint64_t, Entry> entries;
};

InterpolationCache::InterpolationCache() : impl_(std::make_unique<Impl>()) {}
InterpolationCache::~InterpolationCache() = default;
InterpolationCache::InterpolationCache(InterpolationCache&&) noexcept = default;
InterpolationCache& InterpolationCache::operator=(InterpolationCache&&) noexcept = default;
void InterpolationCache::clear() {
    if (impl_) impl_->entries.clear();
}
size_t InterpolationCache::size() const { return impl_ ? impl_->entries.size() : 0; }

namespace {

Points improved_polyshape(ShapeType type, const Points& from, const Points& to, double t, InterpolationCache* cache) {
    bool closed = type == ShapeType::Polygon;
    if (!cache) return evaluate_morph(build_morph(from, to, closed), t);
    InterpolationCache::Impl& impl = cache->impl();
    uint64_t key = content_key(type, from, to);
    auto found = impl.entries.find(key);
    if (found != impl.entries.end() && found->second.type == type && found->second.from == from && found->second.to == to)
        return evaluate_morph(found->second.morph, t);
    Morph morph = build_morph(from, to, closed);
    Points out = evaluate_morph(morph, t);
    if (impl.entries.size() >= InterpolationCache::kCapacity) impl.entries.clear();
    impl.entries[key] = {type, from, to, std::move(morph)};
    return out;
}

// [SECTION] Frame logic

struct Governing {
    const Keyframe* left = nullptr;   // at the frame or the nearest before it
    const Keyframe* right = nullptr;  // the nearest after it
    size_t up_to = 0;                 // keyframes [0, up_to) are at or before the frame
};

Governing governing_keyframes(const Track& track, long long frame, const FrameSet& deleted) {
    const std::vector<Keyframe>& k = track.keyframes;
    Governing g;
    size_t lo = 0, hi = k.size();
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k[mid].frame <= frame) lo = mid + 1; else hi = mid;
    }
    g.up_to = lo;
    for (size_t i = lo; i < k.size(); ++i) {
        if (deleted.count(k[i].frame)) continue;
        if (k[i].frame > frame) g.right = &k[i];
        break;
    }
    for (size_t i = lo; i-- > 0;) {
        if (deleted.count(k[i].frame)) continue;
        if (k[i].frame <= frame) g.left = &k[i];
        break;
    }
    return g;
}

void set_attribute(std::vector<Attribute>& list, const Attribute& a) {
    for (Attribute& x : list) {
        if (x.id == a.id) {
            x.value = a.value;
            return;
        }
    }
    list.push_back(a);
}

std::optional<TrackState> state_at(const Track& track, long long frame, const FrameSet& deleted, InterpolationCache* cache,
                                   bool visible_only) {
    if (track.type == ShapeType::Tag || deleted.count(frame)) return std::nullopt;
    Governing g = governing_keyframes(track, frame, deleted);
    if (!g.left) return std::nullopt;  // before the first keyframe: outside
    const Keyframe& left = *g.left;
    if (visible_only && left.outside) return std::nullopt;

    TrackState s;
    s.outside = left.outside;
    s.occluded = left.occluded;
    s.z = left.z;
    if (left.frame == frame) {
        s.points = left.points;
        s.rotation = left.rotation;
        s.keyframe = true;
        s.keyframe_id = left.id;
    } else if (g.right) {
        const Keyframe& right = *g.right;
        double offset = (double)(frame - left.frame) / (double)(right.frame - left.frame);
        s.points = interpolate_points(track.type, track.interpolation, left.points, right.points, offset, cache);
        s.rotation = is_box(track.type) ? interpolate_rotation(left.rotation, right.rotation, offset) : left.rotation;
    } else {  // after the last keyframe: a copy of it
        s.points = left.points;
        s.rotation = left.rotation;
    }

    s.attributes = track.attributes;
    for (size_t i = 0; i < g.up_to; ++i) {
        const Keyframe& k = track.keyframes[i];
        if (k.attributes.empty() || deleted.count(k.frame)) continue;
        for (const Attribute& a : k.attributes) set_attribute(s.attributes, a);
    }
    return s;
}

}  // namespace

// [SECTION] Public functions

double interpolate_rotation(double from, double to, double offset) {
    double diff = std::fmod(to - from, 360.0);  // shortest signed arc, in (-180, 180]
    if (diff > 180) diff -= 360;
    if (diff <= -180) diff += 360;
    double r = std::fmod(from + diff * offset + 360, 360.0);
    if (r < 0) r += 360;
    return std::isfinite(r) ? r : from;
}

Points interpolate_points(ShapeType type, Interpolation mode, const Points& from, const Points& to, double offset,
                          InterpolationCache* cache) {
    try {
        double t = offset > 0 ? std::min(offset, 1.0) : 0.0;  // NaN too
        switch (type) {
        case ShapeType::Rectangle:
        case ShapeType::Ellipse:
            return from.size() == to.size() ? lerp_coordinates(from, to, t) : from;
        case ShapeType::Points:
            return from.size() == 2 && to.size() == 2 ? lerp_coordinates(from, to, t) : from;
        case ShapeType::Polyline:
        case ShapeType::Polygon:
            if (mode == Interpolation::Cvat) return cvat_polyshape(from, to, t, type == ShapeType::Polygon);
            return improved_polyshape(type, from, to, t, cache);
        case ShapeType::Tag:
            break;
        }
        return {};
    } catch (...) {  // only allocation can fail here
        return {};
    }
}

std::optional<TrackState> track_state_at(const Track& track, long long frame, const FrameSet& deleted_frames,
                                         InterpolationCache* cache) {
    try {
        return state_at(track, frame, deleted_frames, cache, false);
    } catch (...) {
        return std::nullopt;
    }
}

std::optional<TrackState> track_shape_at(const Track& track, long long frame, const FrameSet& deleted_frames,
                                         InterpolationCache* cache) {
    try {
        return state_at(track, frame, deleted_frames, cache, true);
    } catch (...) {
        return std::nullopt;
    }
}

std::vector<FrameShape> shapes_on_frame(const Document& doc, long long frame, const FrameSet& deleted_frames,
                                        InterpolationCache* cache) {
    try {
        std::vector<FrameShape> out;
        if (deleted_frames.count(frame)) return out;
        out.reserve(doc.tracks.size());
        for (const Object& o : doc.objects)
            if (o.frame == frame) out.push_back({o, false, false, {}});
        for (const Track& track : doc.tracks) {
            std::optional<TrackState> s = state_at(track, frame, deleted_frames, cache, true);
            if (!s) continue;
            FrameShape shape;
            Object& o = shape.object;
            o.id = track.id;
            o.type = track.type;
            o.frame = frame;
            o.label = track.label;
            o.points = std::move(s->points);
            o.rotation = s->rotation;
            o.attributes = std::move(s->attributes);
            o.source = track.source;
            o.z = s->z;
            o.group = track.group;
            o.occluded = s->occluded;
            shape.from_track = true;
            shape.keyframe = s->keyframe;
            shape.keyframe_id = std::move(s->keyframe_id);
            out.push_back(std::move(shape));
        }
        return out;
    } catch (...) {
        return {};
    }
}

}  // namespace pm
