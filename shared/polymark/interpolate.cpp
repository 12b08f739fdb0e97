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
//    by a parabola through its neighbours. (A winding whose bound from the spectra cannot beat
//    the other's best is not transformed back: the result is the same, one transform cheaper.)
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

#include "polymark/fft.hpp"

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
    size_t n = vertex_count(p);
    v.resize(n);
    const double* xy = p.data();
    Vec2* out = v.data();  // through local pointers: see the improved morph's section
    for (size_t i = 0; i < n; ++i) out[i] = {xy[2 * i], xy[2 * i + 1]};
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

// wrap_unit for x in [-1, 2), the same to the bit, without the floor, which plain x86-64 (without
// SSE4.1) computes in a dozen instructions.
double wrap_unit_from_near(double x) {
    double f = x < 0 ? x + 1 : x;
    return f >= 1 ? f - 1 : f;
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
//
// A cold frame builds a morph for every track, so this part is written for speed: working memory
// is kept between calls (MorphScratch), and loops read and write through local pointers, since a
// store through a std::vector element may alias the vector itself and so forces a reload of its
// bounds on every iteration (which costs the most in WebAssembly).

struct Curve {
    std::vector<Vec2> v;
    std::vector<double> at;  // arc length from v[0] to v[i]
    double length = 0;       // the closing edge included when closed
    bool closed = false;
};

// Fills in the arc lengths of the curve's vertices (c.v), reusing the curve's memory.
void measure_curve(Curve& c, bool closed) {
    size_t n = c.v.size();
    c.closed = closed;
    c.at.resize(n);
    const Vec2* v = c.v.data();
    double* at = c.at.data();
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
        at[i] = total;
        if (i + 1 < n) total += edge_length(v[i], v[i + 1]);
    }
    c.length = n == 0 ? 0 : total + (closed ? edge_length(v[n - 1], v[0]) : 0);
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
void canonical_order(const std::vector<Vec2>& vertices, bool closed, std::vector<Vec2>& ordered) {
    size_t n = vertices.size();
    ordered.resize(n);
    const Vec2* v = vertices.data();
    Vec2* out = ordered.data();
    if (!closed) {
        bool reverse = lexicographic_less(v[n - 1], v[0]);
        for (size_t k = 0; k < n; ++k) out[k] = v[reverse ? n - 1 - k : k];
        return;
    }
    size_t start = 0;
    for (size_t i = 1; i < n; ++i)
        if (lexicographic_less(v[i], v[start])) start = i;
    if (lexicographic_less(v[(start + n - 1) % n], v[(start + 1) % n])) {  // towards the smaller neighbour
        for (size_t k = 0; k <= start; ++k) out[k] = v[start - k];
        for (size_t k = start + 1; k < n; ++k) out[k] = v[start + n - k];
    } else {
        for (size_t k = 0; k < n - start; ++k) out[k] = v[start + k];
        for (size_t k = n - start; k < n; ++k) out[k] = v[start + k - n];
    }
}

// The other direction: a polygon keeps its first vertex, a polyline swaps its ends.
void reversed_order(const std::vector<Vec2>& vertices, bool closed, std::vector<Vec2>& reversed) {
    size_t n = vertices.size();
    reversed.resize(n);
    const Vec2* v = vertices.data();
    Vec2* out = reversed.data();
    if (closed) {
        out[0] = v[0];
        for (size_t k = 1; k < n; ++k) out[k] = v[n - k];
    } else {
        for (size_t k = 0; k < n; ++k) out[k] = v[n - 1 - k];
    }
}

// Sorts by `less`, a strict total order, by merging neighbouring ascending runs until one is left:
// linear for a list made of a few sorted runs, as positions along a curve are (one break where
// they wrap round), and no slower than a merge sort otherwise.
template <class T, class Less>
void sort_by_merging_runs(std::vector<T>& items, std::vector<T>& buffer, Less less) {
    size_t n = items.size();
    auto run_end = [&](const T* list, size_t start) {
        size_t end = start + 1;
        while (end < n && less(list[end - 1], list[end])) ++end;
        return end;
    };
    if (n < 2 || run_end(items.data(), 0) == n) return;
    buffer.resize(n);
    for (;;) {
        const T* from = items.data();
        T* to = buffer.data();
        size_t start = 0, merges = 0;
        while (start < n) {
            size_t middle = run_end(from, start), end = middle < n ? run_end(from, middle) : n;
            std::merge(from + start, from + middle, from + middle, from + end, to + start, less);
            start = end;
            ++merges;
        }
        items.swap(buffer);
        if (merges == 1) return;
    }
}

constexpr size_t kMaxSamples = kFftMaxSingle;  // the samples' transforms: shared/polymark/fft.hpp

// [SECTION] Improved morph: alignment

// `count` points evenly spaced by arc length from the first vertex (both ends included when
// open), relative to the first vertex so that the numbers stay the size of the shape.
void arc_length_samples(const Curve& c, size_t count, Vec2* out) {
    size_t n = c.v.size(), k = 0;
    const Vec2* v = c.v.data();
    const double* at = c.at.data();
    Vec2 origin = v[0];
    double step = c.length / (double)(c.closed ? count : count - 1);
    for (size_t e = 0; e < n && k < count; ++e) {
        bool last = e + 1 == n;
        size_t next = last ? (c.closed ? 0 : e) : e + 1;
        double start = at[e], end = last ? INFINITY : at[e + 1];  // past the last vertex: its edge
        double span = (last ? c.length : end) - start;
        double per_length = span > 0 ? 1 / span : 0;  // a zero-length edge gives its start
        Vec2 from = sub(v[e], origin), delta = sub(v[next], v[e]);
        for (; k < count; ++k) {
            double position = (double)k * step;
            if (!(position < end)) break;
            double t = (position - start) * per_length;
            out[k] = {from.x + delta.x * t, from.y + delta.y * t};
        }
    }
    for (; k < count; ++k) out[k] = Vec2{};  // only when the length is not a number
}

// How much a turn costs when aligning, against the share of the shape a similarity leaves
// unexplained (see build_morph): enough to pick the lesser turn between lookalike positions of a
// symmetric or round shape, too little to move an alignment that the shape itself decides.
constexpr double kTurnPenalty = 0.03;
// Room for rounding when a bound rules a candidate out: far above it, far below any real margin.
constexpr double kBoundSlack = 1e-9;

// Samples per keyframe for aligning: a power of two, at least two per vertex (within 32..1024).
size_t sample_count(size_t left_vertices, size_t right_vertices) {
    size_t k = 32;
    while (k < 2 * std::max(left_vertices, right_vertices) && k < kMaxSamples) k *= 2;
    return k;
}

// The score of a shift whose correlation sum is c: |c|^2 * inverse_energies (the product of
// both sides' sums of squares, inverted) is the share of the later keyframe that the best
// rotation and scale of the earlier one explain; less the penalty for the turn, whose angle is c's.
double alignment_score(Vec2 c, double inverse_energies) {
    double size = std::sqrt(norm2(c));
    double explained = norm2(c) * inverse_energies;
    double turn = size > 0 ? (1 - c.x / size) / 2 : 1;  // 0 for none, 1 for half a turn
    return explained - kTurnPenalty * turn;
}

struct ShiftChoice {
    size_t shift = 0;
    double score = -2;
};

// The shift of highest score (the first on ties). A score is at most the share explained (less
// half the penalty when the turn exceeds a quarter), so the shift explaining most sets a bar that
// most others cannot reach without paying for the score's square root and division.
ShiftChoice best_shift(const Vec2* correlation, size_t count, double inverse_energies) {
    // The largest |c|^2, compared as bit patterns: those of non-negative doubles order as the
    // integers do, and a running maximum of integers needs no branch, where one of doubles is
    // compiled into a branch that the rising and falling correlation peaks keep mispredicting.
    uint64_t most_bits = 0;
    for (size_t s = 0; s < count; ++s) {
        double size2 = norm2(correlation[s]);
        uint64_t bits;
        std::memcpy(&bits, &size2, sizeof bits);
        most_bits = std::max(most_bits, bits);
    }
    size_t most_explaining = 0;
    for (size_t s = 0; s < count; ++s) {
        double size2 = norm2(correlation[s]);
        uint64_t bits;
        std::memcpy(&bits, &size2, sizeof bits);
        if (bits == most_bits) {
            most_explaining = s;
            break;
        }
    }
    ShiftChoice best{most_explaining, alignment_score(correlation[most_explaining], inverse_energies)};
    for (size_t s = 0; s < count; ++s) {
        Vec2 c = correlation[s];
        double at_most = norm2(c) * inverse_energies - (c.x > 0 ? 0 : kTurnPenalty / 2);
        if (at_most < best.score - kBoundSlack || s == most_explaining) continue;
        double score = alignment_score(c, inverse_energies);
        if (score > best.score || (score == best.score && s < best.shift)) best = {s, score};
    }
    return best;
}

struct MatchedPoint {
    double at;     // position along the earlier keyframe, in [0, 1]
    size_t order;  // earlier keyframe's vertices first, then the later one's, each in its order
    Vec2 a, b;     // the point on the earlier and on the later keyframe
};

// Field by field: a whole struct built on the stack and copied over, padding included, is read
// back at offsets its stores did not match, which stalls the load in WebAssembly.
void set_matched_point(MatchedPoint& m, double at, size_t order, Vec2 a, Vec2 b) {
    m.at = at;
    m.order = order;
    m.a = a;
    m.b = b;
}

struct CurvePosition {
    double at;     // fraction of the curve's length
    size_t index;  // of the vertex
};

// Working memory of build_morph, kept between calls (as CvatScratch): a cold frame builds a
// thousand morphs, and allocating afresh for each would cost about as much as the arithmetic.
struct MorphScratch {
    std::vector<Vec2> right_vertices;
    Curve left, right_canonical, right_reversed;
    std::vector<Vec2> left_samples, right_samples, correlation[2];  // samples, then spectra
    std::vector<CurvePosition> right_positions, positions_buffer;
    std::vector<double> left_at, right_at, anchor_left, anchor_right;
    std::vector<size_t> partner_vertex;
    std::vector<char> right_paired;
    std::vector<MatchedPoint> matched, matched_buffer;
};

struct Alignment {
    int winding = 0;   // 0: the later keyframe in canonical order; 1: the same read backwards
    double shift = 0;  // where the earlier keyframe's first vertex lands on the later, as a fraction
};

// Step 1 of build_morph for two curves with length. Every cyclic shift of each winding is scored
// at once by FFT: correlation[w][s] = sum over k of conj(a[k]) * b_w[k + s], where a and b hold
// the samples less their means and b_1 is b read backwards from the same first sample.
Alignment align(const Curve& left, const Curve& right, bool closed, MorphScratch& scratch) {
    size_t samples = sample_count(left.v.size(), right.v.size());
    scratch.left_samples.resize(samples);
    scratch.right_samples.resize(samples);
    Vec2* a = scratch.left_samples.data();
    Vec2* b = scratch.right_samples.data();
    arc_length_samples(left, samples, a);
    arc_length_samples(right, samples, b);
    Alignment result;

    if (!closed) {  // a polyline only compares its two directions, sample by sample
        for (Vec2* side : {a, b}) {
            Vec2 mean;
            for (size_t k = 0; k < samples; ++k) mean = add(mean, side[k]);
            mean = scaled(mean, 1.0 / (double)samples);
            for (size_t k = 0; k < samples; ++k) side[k] = sub(side[k], mean);
        }
        double energy_a = 0, energy_b = 0;
        for (size_t k = 0; k < samples; ++k) {
            energy_a += norm2(a[k]);
            energy_b += norm2(b[k]);
        }
        double inverse_energies = energy_a > 0 && energy_b > 0 ? 1 / (energy_a * energy_b) : 0;
        double best_score = -2;
        for (int w = 0; w < 2; ++w) {
            Vec2 c;
            for (size_t k = 0; k < samples; ++k) c = add(c, conj_mul(a[k], b[w == 0 ? k : samples - 1 - k]));
            double score = alignment_score(c, inverse_energies);
            if (score > best_score) {
                best_score = score;
                result.winding = w;
            }
        }
        return result;
    }

    // Spectra; position 0 holds frequency 0, the mean, which centring removes.
    fft_forward_bit_reversed(a, samples);
    fft_forward_bit_reversed(b, samples);
    a[0] = b[0] = Vec2{};
    // Energies by frequency sign: in bit-reversed order, position 1 holds the highest frequency,
    // even positions the positive ones, odd positions the negative ones.
    double a_positive = 0, a_negative = 0, b_positive = 0, b_negative = 0;
    for (size_t p = 2; p < samples; p += 2) {
        a_positive += norm2(a[p]);
        b_positive += norm2(b[p]);
        a_negative += norm2(a[p + 1]);
        b_negative += norm2(b[p + 1]);
    }
    double a_highest = norm2(a[1]), b_highest = norm2(b[1]);
    double energy_a = a_positive + a_negative + a_highest, energy_b = b_positive + b_negative + b_highest;
    double inverse_energies = energy_a > 0 && energy_b > 0 ? 1 / (energy_a * energy_b) : 0;
    // |correlation[w][s]| <= sum over m of |A[m]| |B_w[m]|, which Cauchy-Schwarz bounds within each
    // sign; B_1 swaps B's signs. A winding whose bound cannot beat the other's best is skipped:
    // the chosen shift stays the same, and a shape drawn either way round costs one transform less.
    auto best_possible = [&](int w) {
        double same = w == 0 ? b_positive : b_negative, opposite = w == 0 ? b_negative : b_positive;
        double bound = std::sqrt(a_positive * same) + std::sqrt(a_negative * opposite) + std::sqrt(a_highest * b_highest);
        return bound * bound * inverse_energies;
    };
    const uint16_t* opposite = fft_opposite_frequency_positions(samples).data();
    auto correlate = [&](int w) {
        scratch.correlation[w].resize(samples);
        Vec2* c = scratch.correlation[w].data();
        if (w == 0) {
            for (size_t p = 0; p < samples; ++p) c[p] = conj_mul(a[p], b[p]);
        } else {
            for (size_t p = 0; p < samples; ++p) c[p] = conj_mul(a[p], b[opposite[p]]);
        }
        fft_inverse_bit_reversed(c, samples);
        return best_shift(c, samples, inverse_energies);
    };
    int likelier = best_possible(1) > best_possible(0) ? 1 : 0, other = 1 - likelier;
    ShiftChoice choice[2];
    choice[likelier] = correlate(likelier);
    if (best_possible(other) >= choice[likelier].score - kBoundSlack) choice[other] = correlate(other);
    result.winding = choice[1].score > choice[0].score ? 1 : 0;  // winding 0 on ties, as in a scan of 0 then 1

    // Refined to a fraction of a sample by a parabola through the neighbouring scores.
    const Vec2* c = scratch.correlation[result.winding].data();
    size_t best = choice[result.winding].shift;
    double before = alignment_score(c[(best + samples - 1) % samples], inverse_energies);
    double here = choice[result.winding].score;
    double after = alignment_score(c[(best + 1) % samples], inverse_energies);
    double curvature = before - 2 * here + after, fraction = 0;
    if (curvature < 0) fraction = std::clamp(0.5 * (before - after) / curvature, -0.5, 0.5);
    result.shift = wrap_unit(((double)best + fraction) / (double)samples);
    return result;
}

// [SECTION] Improved morph: correspondence and fit

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

// The smaller gap from sorted[i] to a neighbour (around the circle when cyclic), at most 1.
double neighbour_gap(const double* sorted, size_t n, size_t i, bool cyclic) {
    double gap = 1;
    if (i > 0) gap = std::min(gap, sorted[i] - sorted[i - 1]);
    else if (cyclic) gap = std::min(gap, sorted[0] + 1 - sorted[n - 1]);
    if (i + 1 < n) gap = std::min(gap, sorted[i + 1] - sorted[i]);
    else if (cyclic) gap = std::min(gap, sorted[0] + 1 - sorted[i]);
    return gap;
}

// The position among the later keyframe's vertices (`right`, n positions sorted along the curve)
// that the earlier keyframe's vertex at x pairs with, or SIZE_MAX: the nearest one, when the two
// are closer than half the gap from either to its own neighbours (gap_before and gap_after for
// the earlier one's), which also makes each the other's nearest. `lower` is the first position
// not below x.
size_t partner_on_right(const double* right, size_t n, double x, size_t lower, double gap_before, double gap_after,
                        bool cyclic) {
    if (lower > 0 && lower < n) {
        // Between two vertices: only they can be the nearest, and both can pass the test only on
        // a tie, which neither passes (each would be half the gap between them away). So both are
        // tested, with comparisons joined as numbers rather than branches, which WebAssembly
        // engines would mispredict about every other vertex.
        size_t below = lower - 1, above = lower;
        double around = cyclic ? right[0] + 1 - right[n - 1] : 1;  // from the last to the first
        double between = right[above] - right[below];
        double under = below > 0 ? right[below] - right[below - 1] : around;
        double over = above + 1 < n ? right[above + 1] - right[above] : around;
        double twice_below = 2 * unit_gap(right[below], x, cyclic), twice_above = 2 * unit_gap(right[above], x, cyclic);
        bool pairs_below = (twice_below < 1) & (twice_below < gap_before) & (twice_below < gap_after) &
                           (twice_below < under) & (twice_below < between);
        bool pairs_above = (twice_above < 1) & (twice_above < gap_before) & (twice_above < gap_after) &
                           (twice_above < between) & (twice_above < over);
        return pairs_below ? below : pairs_above ? above : SIZE_MAX;
    }
    // Before the first or after the last: the nearest may be the other end, round the circle. The
    // candidates are the two either side of x and the first and the last; the lowest on a tie.
    size_t below = lower > 0 ? lower - 1 : 0, above = std::min(lower, n - 1);
    size_t best = below;
    for (size_t c : {above, (size_t)0, n - 1}) {
        double d = unit_gap(right[c], x, cyclic), db = unit_gap(right[best], x, cyclic);
        if (d < db || (d == db && c < best)) best = c;
    }
    double gap = std::min(std::min(std::min(1.0, gap_before), gap_after), neighbour_gap(right, n, best, cyclic));
    return unit_gap(x, right[best], cyclic) < 0.5 * gap ? best : SIZE_MAX;
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

// Step 3 of build_morph, on points sorted by their position along the earlier keyframe: each
// weighted by half the span to its neighbours. Sums are taken relative to the first points, so
// that the centroids and the correlation come out of one pass without losing digits far from the
// image's origin.
void fit_morph(const std::vector<MatchedPoint>& matched, bool closed, Morph& m) {
    size_t n = matched.size();
    const MatchedPoint* p = matched.data();
    Vec2 origin_a = p[0].a, origin_b = p[0].b;
    double total = 0, sum_aa = 0, sum_bb = 0;
    Vec2 sum_a, sum_b, sum_ab;
    for (size_t k = 0; k < n; ++k) {
        double before = k > 0 ? p[k].at - p[k - 1].at : (closed ? p[0].at + 1 - p[n - 1].at : 0);
        double after = k + 1 < n ? p[k + 1].at - p[k].at : (closed ? p[0].at + 1 - p[k].at : 0);
        double weight = (before + after) / 2;
        Vec2 da = sub(p[k].a, origin_a), db = sub(p[k].b, origin_b);
        total += weight;
        sum_a = add(sum_a, scaled(da, weight));
        sum_b = add(sum_b, scaled(db, weight));
        sum_ab = add(sum_ab, scaled(conj_mul(da, db), weight));
        sum_aa += weight * norm2(da);
        sum_bb += weight * norm2(db);
    }
    Vec2 mean_a = scaled(sum_a, 1 / total), mean_b = scaled(sum_b, 1 / total);  // relative to the origins
    Vec2 corr = sub(sum_ab, scaled(conj_mul(mean_a, mean_b), total));
    double spread_a = sum_aa - total * norm2(mean_a), spread_b = sum_bb - total * norm2(mean_b);
    double size = std::sqrt(norm2(corr));
    m.base.resize(n);
    m.deform.resize(n);
    Vec2* base = m.base.data();
    Vec2* deform = m.deform.data();
    // Too little alike to speak of one rotation and scale (or a collapsed side): blend straight.
    if (!(total > 0) || !(spread_a > 0 && spread_b > 0) || size < 0.5 * std::sqrt(spread_a * spread_b)) {
        m.from_centre = m.to_centre = Vec2{};
        m.scale = 1;
        m.angle = 0;
        for (size_t k = 0; k < n; ++k) {
            base[k] = p[k].a;
            deform[k] = sub(p[k].b, p[k].a);
        }
        return;
    }
    Vec2 ca = add(origin_a, mean_a), cb = add(origin_b, mean_b);
    m.from_centre = ca;
    m.to_centre = cb;
    m.scale = size / spread_a;
    m.angle = std::atan2(corr.y, corr.x);
    Vec2 undo = scaled(corr, 1 / (size * m.scale));  // 1 / z: e^(-i angle) / scale, as conj(corr) / |corr| / scale
    undo.y = -undo.y;
    for (size_t k = 0; k < n; ++k) {
        base[k] = sub(p[k].a, ca);
        deform[k] = sub(complex_mul(sub(p[k].b, cb), undo), base[k]);
    }
}

Points evaluate_morph(const Morph& m, double t) {
    Vec2 centre = lerp(m.from_centre, m.to_centre, t);
    double s = 1 + (m.scale - 1) * t;
    Vec2 turn = m.angle == 0 ? Vec2{s, 0} : Vec2{s * std::cos(m.angle * t), s * std::sin(m.angle * t)};
    size_t n = m.base.size();
    Points out(2 * n);
    const Vec2* base = m.base.data();
    const Vec2* deform = m.deform.data();
    double* xy = out.data();
    for (size_t k = 0; k < n; ++k) {
        Vec2 local = {base[k].x + deform[k].x * t, base[k].y + deform[k].y * t};
        Vec2 p = add(centre, complex_mul(turn, local));
        xy[2 * k] = p.x;
        xy[2 * k + 1] = p.y;
    }
    return out;
}

// The morph from one keyframe to the other, into `m` (whose memory it reuses).
void build_morph(const Points& from, const Points& to, bool closed, Morph& m) {
    thread_local MorphScratch scratch;
    Curve& left = scratch.left;
    std::vector<Vec2>& right_vertices = scratch.right_vertices;
    read_vertices(from, left.v);
    read_vertices(to, right_vertices);
    if (left.v.empty()) {
        m = linear_morph(right_vertices, right_vertices);
        return;
    }
    if (right_vertices.empty()) {
        m = linear_morph(left.v, left.v);
        return;
    }
    measure_curve(left, closed);
    canonical_order(right_vertices, closed, scratch.right_canonical.v);
    measure_curve(scratch.right_canonical, closed);

    // A side without length (a single point, or all vertices on one spot) moves as a whole.
    bool left_flat = left.v.size() < 2 || !(left.length > 0);
    bool right_flat = scratch.right_canonical.v.size() < 2 || !(scratch.right_canonical.length > 0);
    if (left_flat || right_flat) {
        if (left_flat && !right_flat) m = linear_morph(std::vector<Vec2>(right_vertices.size(), left.v[0]), right_vertices);
        else m = linear_morph(left.v, std::vector<Vec2>(left.v.size(), right_vertices[0]));
        return;
    }

    // 1. Align.
    Alignment alignment = align(left, scratch.right_canonical, closed, scratch);
    double shift = alignment.shift;
    if (alignment.winding == 1) {
        reversed_order(scratch.right_canonical.v, closed, scratch.right_reversed.v);
        measure_curve(scratch.right_reversed, closed);
    }
    const Curve& right = alignment.winding == 0 ? scratch.right_canonical : scratch.right_reversed;

    // 2. Correspond: positions along the earlier keyframe (the later one's shifted by `shift`).
    size_t nl = left.v.size(), nr = right.v.size();
    scratch.left_at.resize(nl);
    double* left_at = scratch.left_at.data();
    double per_left_length = 1 / left.length, per_right_length = 1 / right.length;
    for (size_t i = 0; i < nl; ++i) left_at[i] = left.at[i] * per_left_length;
    scratch.right_positions.resize(nr);
    CurvePosition* positions = scratch.right_positions.data();
    for (size_t j = 0; j < nr; ++j) {
        double at = right.at[j] * per_right_length;
        positions[j].at = closed ? wrap_unit_from_near(at - shift) : at;
        positions[j].index = j;
    }
    sort_by_merging_runs(scratch.right_positions, scratch.positions_buffer, [](const CurvePosition& x, const CurvePosition& y) {
        return x.at < y.at || (x.at == y.at && x.index < y.index);
    });
    positions = scratch.right_positions.data();  // sorting may have swapped it with its buffer
    scratch.right_at.resize(nr);
    double* right_at = scratch.right_at.data();  // by position in sorted order
    for (size_t q = 0; q < nr; ++q) right_at[q] = positions[q].at;

    // Pairs of vertices (see partner_on_right), kept only while in the earlier keyframe's order
    // they also run forward on the later one.
    scratch.partner_vertex.resize(nl);
    scratch.anchor_left.resize(nl);
    scratch.anchor_right.resize(nl);
    scratch.right_paired.resize(nr);
    size_t* partner_vertex = scratch.partner_vertex.data();  // by left vertex: the right vertex, or SIZE_MAX
    double* anchor_left = scratch.anchor_left.data();
    double* anchor_right = scratch.anchor_right.data();
    char* right_paired = scratch.right_paired.data();  // by position in sorted order
    for (size_t q = 0; q < nr; ++q) right_paired[q] = 0;
    size_t anchors = 0, lower = 0;  // lower: the first position whose value is not below left_at[i]
    double left_around = closed ? left_at[0] + 1 - left_at[nl - 1] : 1;  // from the last to the first
    for (size_t i = 0; i < nl; ++i) {
        partner_vertex[i] = SIZE_MAX;
        double x = left_at[i];
        while (lower < nr && right_at[lower] < x) ++lower;
        size_t q;
        if (!closed && (i == 0 || i + 1 == nl)) {  // a polyline's ends always meet
            q = i + 1 == nl ? nr - 1 : 0;
        } else {
            double gap_before = i > 0 ? x - left_at[i - 1] : left_around;
            double gap_after = i + 1 < nl ? left_at[i + 1] - x : left_around;
            q = partner_on_right(right_at, nr, x, lower, gap_before, gap_after, closed);
            if (q == SIZE_MAX) continue;
            if (!closed && (q == 0 || q + 1 == nr)) continue;  // those are the ends'
        }
        double r = right_at[q];
        if (closed && anchors > 0) r = anchor_right[0] + wrap_unit_from_near(r - anchor_right[0]);
        if (anchors > 0 && !(r > anchor_right[anchors - 1])) continue;
        partner_vertex[i] = positions[q].index;
        anchor_left[anchors] = x;
        anchor_right[anchors] = r;
        ++anchors;
        right_paired[q] = 1;
    }
    scratch.anchor_left.resize(anchors);
    scratch.anchor_right.resize(anchors);

    // Every vertex of either keyframe with its counterpart on the other, the pairs once.
    scratch.matched.resize(nl + nr - anchors);
    MatchedPoint* matched = scratch.matched.data();
    const Vec2* left_v = left.v.data();
    const Vec2* right_v = right.v.data();
    for (size_t i = 0; i < nl; ++i) {
        Vec2 on_right = partner_vertex[i] != SIZE_MAX
                            ? right_v[partner_vertex[i]]
                            : point_at(right, map_through(scratch.anchor_left, scratch.anchor_right, left_at[i], closed) + (closed ? shift : 0));
        set_matched_point(matched[i], left_at[i], i, left_v[i], on_right);
    }
    for (size_t q = 0, k = nl; q < nr; ++q) {
        if (right_paired[q]) continue;
        double at = map_through(scratch.anchor_right, scratch.anchor_left, right_at[q], closed);
        set_matched_point(matched[k], at, k, point_at(left, at), right_v[positions[q].index]);
        ++k;
    }
    sort_by_merging_runs(scratch.matched, scratch.matched_buffer,
                         [](const MatchedPoint& x, const MatchedPoint& y) { return x.at < y.at || (x.at == y.at && x.order < y.order); });

    // 3. Fit; 4. is evaluate_morph.
    fit_morph(scratch.matched, closed, m);
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
    if (!cache) {
        thread_local Morph morph;  // its memory is reused from call to call
        build_morph(from, to, closed, morph);
        return evaluate_morph(morph, t);
    }
    InterpolationCache::Impl& impl = cache->impl();
    uint64_t key = content_key(type, from, to);
    auto found = impl.entries.find(key);
    if (found != impl.entries.end() && found->second.type == type && found->second.from == from && found->second.to == to)
        return evaluate_morph(found->second.morph, t);
    Morph morph;
    build_morph(from, to, closed, morph);
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

// Keyframes on deleted frames, or outside the frame's medium, are passed over.
Governing governing_keyframes(const Track& track, long long frame, const FrameSet& deleted, MediumSpan medium) {
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
        if (k[i].frame > frame && medium.contains(k[i].frame)) g.right = &k[i];
        break;
    }
    for (size_t i = lo; i-- > 0;) {
        if (deleted.count(k[i].frame)) continue;
        if (k[i].frame <= frame && medium.contains(k[i].frame)) g.left = &k[i];
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
                                   bool visible_only, MediumSpan medium) {
    if (track.type == ShapeType::Tag || deleted.count(frame) || !medium.contains(frame)) return std::nullopt;
    Governing g = governing_keyframes(track, frame, deleted, medium);
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
        if (k.attributes.empty() || deleted.count(k.frame) || !medium.contains(k.frame)) continue;
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
                                         InterpolationCache* cache, MediumSpan medium) {
    try {
        return state_at(track, frame, deleted_frames, cache, false, medium);
    } catch (...) {
        return std::nullopt;
    }
}

std::optional<TrackState> track_shape_at(const Track& track, long long frame, const FrameSet& deleted_frames,
                                         InterpolationCache* cache, MediumSpan medium) {
    try {
        return state_at(track, frame, deleted_frames, cache, true, medium);
    } catch (...) {
        return std::nullopt;
    }
}

Object track_object_at(const Track& track, long long frame, TrackState&& state) {
    Object o;
    o.id = track.id;
    o.type = track.type;
    o.frame = frame;
    o.label = track.label;
    o.points = std::move(state.points);
    o.rotation = state.rotation;
    o.attributes = std::move(state.attributes);
    o.source = track.source;
    if (state.keyframe) {  // a keyframe's own score (a model's prediction on that frame)
        auto k = std::lower_bound(track.keyframes.begin(), track.keyframes.end(), frame, [](const Keyframe& kf, long long f) { return kf.frame < f; });
        if (k != track.keyframes.end() && k->frame == frame) o.score = k->score;
    }
    o.z = state.z;
    o.group = track.group;
    o.occluded = state.occluded;
    return o;
}

std::vector<FrameShape> shapes_on_frame(const Document& doc, long long frame, const FrameSet& deleted_frames,
                                        InterpolationCache* cache, MediumSpan medium) {
    try {
        std::vector<FrameShape> out;
        if (deleted_frames.count(frame)) return out;
        out.reserve(doc.tracks.size());
        for (const Object& o : doc.objects)
            if (o.frame == frame) out.push_back({o, false, false, {}});
        for (const Track& track : doc.tracks) {
            std::optional<TrackState> s = state_at(track, frame, deleted_frames, cache, true, medium);
            if (!s) continue;
            FrameShape shape;
            shape.from_track = true;
            shape.keyframe = s->keyframe;
            shape.keyframe_id = std::move(s->keyframe_id);
            shape.object = track_object_at(track, frame, std::move(*s));
            out.push_back(std::move(shape));
        }
        return out;
    } catch (...) {
        return {};
    }
}

}  // namespace pm
