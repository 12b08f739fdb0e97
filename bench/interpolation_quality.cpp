// How close each polygon interpolation mode comes to the true shapes between keyframes.
//
// Synthetic tracks from fixed seeds, half smooth blobs and half irregular stars of 20-40 vertices,
// that over 10-30 frames move along a curved path, turn by up to 60 degrees, scale by 0.6-1.6x and
// deform smoothly (each with its own easing in time). The true shape is known at every frame: a
// star is its own polygon, a blob is its smooth outline (sampled at 256 points). Keyframes are
// drawn from the truth at both ends (and, in the second table, every 5 frames), in four ways:
//   (a) every keyframe drawn with the same vertices, start vertex and winding;
//   (b) later keyframes start from another vertex;
//   (c) every other keyframe runs the other way round;
//   (d) later keyframes have another vertex count (blobs redrawn with 0.6-1.5x the vertices,
//       stars with extra vertices along their edges, corners kept).
// Reported: the mean IoU with the truth over every frame strictly between keyframes, and its 5th
// percentile. IoU is exact along horizontal scanlines (about 1024 over the pair's height, at least
// one between any two vertex heights) and integrated across them by the midpoint rule, which is
// exact but where edges of the two cross; even-odd rule, so self-intersecting results count as drawn.
// Prints numbers; exits non-zero only if the IoU self-check fails.
#include "polymark/interpolate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using namespace pm;

constexpr double kPi = 3.14159265358979323846;

// [SECTION] Polygon IoU by scanlines

// Scanlines: between any two consecutive vertex heights of either polygon, the lengths inside
// each polygon and inside both are linear in y except where an edge of one crosses an edge of the
// other, so the midpoint rule over rows placed within those bands is exact but for those kinks.
struct Rows {
    std::vector<double> y, weight;
};

static Rows scanlines(const Points& a, const Points& b, size_t target_rows) {
    std::vector<double> heights;
    for (const Points* p : {&a, &b})
        for (size_t i = 1; i < p->size(); i += 2) heights.push_back((*p)[i]);
    std::sort(heights.begin(), heights.end());
    heights.erase(std::unique(heights.begin(), heights.end()), heights.end());
    Rows rows;
    if (heights.size() < 2) return rows;
    double step = (heights.back() - heights.front()) / (double)target_rows;
    for (size_t k = 0; k + 1 < heights.size(); ++k) {
        double band = heights[k + 1] - heights[k];
        size_t count = std::max<size_t>(1, (size_t)std::lround(band / step));
        for (size_t r = 0; r < count; ++r) {
            rows.y.push_back(heights[k] + band * ((double)r + 0.5) / (double)count);
            rows.weight.push_back(band / (double)count);
        }
    }
    return rows;
}

// Per scanline, the sorted x where a polygon's edges cross it (rows in compressed form).
struct Crossings {
    std::vector<size_t> first;  // row r holds x[first[r] .. first[r + 1])
    std::vector<double> x;
};

static Crossings crossings(const Points& polygon, const std::vector<double>& row_y) {
    size_t rows = row_y.size(), n = vertex_count(polygon);
    Crossings c;
    c.first.assign(rows + 1, 0);
    std::vector<size_t> fill;
    for (int pass = 0; pass < 2; ++pass) {
        if (pass == 1) {
            for (size_t r = 0; r < rows; ++r) c.first[r + 1] += c.first[r];
            c.x.resize(c.first[rows]);
            fill.assign(c.first.begin(), c.first.end() - 1);
        }
        for (size_t i = 0; i < n; ++i) {
            Vec2 p = vertex(polygon, i), q = vertex(polygon, (i + 1) % n);
            if (p.y == q.y) continue;
            // Rows with y in [low, high): row heights never equal a vertex's.
            size_t begin = std::lower_bound(row_y.begin(), row_y.end(), std::min(p.y, q.y)) - row_y.begin();
            size_t end = std::lower_bound(row_y.begin(), row_y.end(), std::max(p.y, q.y)) - row_y.begin();
            for (size_t r = begin; r < end; ++r) {
                if (pass == 0) ++c.first[r + 1];
                else c.x[fill[r]++] = p.x + (row_y[r] - p.y) * (q.x - p.x) / (q.y - p.y);
            }
        }
    }
    for (size_t r = 0; r < rows; ++r) std::sort(c.x.begin() + c.first[r], c.x.begin() + c.first[r + 1]);
    return c;
}

// Intersection over union of two polygons (even-odd inside), with about `target_rows` scanlines
// over their joint height, plus one per band between vertex heights.
static double polygon_iou(const Points& a, const Points& b, size_t target_rows = 1024) {
    Rows rows = scanlines(a, b, target_rows);
    Crossings ca = crossings(a, rows.y), cb = crossings(b, rows.y);
    double area_a = 0, area_b = 0, overlap = 0;
    for (size_t r = 0; r < rows.y.size(); ++r) {
        size_t i = ca.first[r], i_end = ca.first[r + 1], j = cb.first[r], j_end = cb.first[r + 1];
        double in_a = 0, in_b = 0, in_both = 0;
        for (size_t k = i; k + 1 < i_end; k += 2) in_a += ca.x[k + 1] - ca.x[k];
        for (size_t k = j; k + 1 < j_end; k += 2) in_b += cb.x[k + 1] - cb.x[k];
        while (i + 1 < i_end && j + 1 < j_end) {  // intervals [x[k], x[k+1]] of both, by merge
            double lo = std::max(ca.x[i], cb.x[j]), hi = std::min(ca.x[i + 1], cb.x[j + 1]);
            if (hi > lo) in_both += hi - lo;
            if (ca.x[i + 1] < cb.x[j + 1]) i += 2; else j += 2;
        }
        area_a += in_a * rows.weight[r];
        area_b += in_b * rows.weight[r];
        overlap += in_both * rows.weight[r];
    }
    double united = area_a + area_b - overlap;
    return united > 0 ? overlap / united : 0;
}

static bool iou_self_check() {
    const Points square = {0, 0, 10, 0, 10, 10, 0, 10}, shifted = {5, 0, 15, 0, 15, 10, 5, 10};
    const Points u = {0, 0, 30, 0, 30, 30, 20, 30, 20, 10, 10, 10, 10, 30, 0, 30};  // a U, area 700
    const Points bar = {0, 20, 30, 20, 30, 25, 0, 25};                                // across the notch: 150, 100 inside
    Points circle, turned;  // regular 64-gons of radius 40, the second turned by half a step
    for (int i = 0; i < 64; ++i) {
        double t = 2 * kPi * i / 64;
        circle.push_back(50 + 40 * std::cos(t));
        circle.push_back(50 + 40 * std::sin(t));
        turned.push_back(50 + 40 * std::cos(t + kPi / 64));
        turned.push_back(50 + 40 * std::sin(t + kPi / 64));
    }
    bool ok = true;
    auto expect = [&](const char* what, double got, double want, double tolerance) {
        if (std::fabs(got - want) > tolerance) {
            std::printf("IoU self-check failed: %s: %.6f, expected %.6f\n", what, got, want);
            ok = false;
        }
    };
    expect("two half-overlapping squares", polygon_iou(square, shifted), 1.0 / 3, 1e-12);
    expect("a polygon with itself", polygon_iou(circle, circle), 1, 1e-12);
    expect("a bar across a U's notch", polygon_iou(u, bar), 100.0 / 750, 1e-12);
    expect("a reversed polygon", polygon_iou(square, {0, 0, 0, 10, 10, 10, 10, 0}), 1, 1e-12);
    // A 64-gon inside a square: slanted edges measured to the midpoint rule's accuracy.
    const Points frame = {0, 0, 100, 0, 100, 100, 0, 100};
    expect("a 64-gon in a square", polygon_iou(circle, frame), std::fabs(polygon_area(circle)) / 10000, 1e-12);
    expect("two 64-gons turned by half a step, either way", polygon_iou(circle, turned), polygon_iou(turned, circle), 1e-12);
    double turned_area = std::fabs(polygon_area(turned));  // their intersection is a 128-gon of inradius 40 cos(pi/64)
    double inner = 128 * std::pow(40 * std::cos(kPi / 64), 2) * std::tan(kPi / 128);
    expect("two 64-gons turned by half a step", polygon_iou(circle, turned), inner / (2 * turned_area - inner), 2e-5);  // 128 kinks
    return ok;
}

// [SECTION] Synthetic tracks with a known truth

struct Easing {
    double power = 1;
    double at(double t) const { return std::pow(t, power); }
};

struct SyntheticTrack {
    bool star = false;
    size_t vertices = 0;
    long long frames = 0;        // keyframes at 0 and `frames`
    std::vector<double> angle;   // of each vertex, in the shape's own frame
    std::vector<double> radius0, radius1;  // star: each vertex's radius at the start and the end
    double harmonic0[7] = {}, harmonic1[7] = {}, phase0[7] = {}, phase1[7] = {};  // blob outline
    Vec2 start, bend, end;       // the centre's path (a quadratic Bezier)
    double size = 1, turn = 0, scale = 1;
    Easing move, spin, grow, deform;

    double blob_radius(double a, double t) const {
        double d = deform.at(t), r = 1;
        for (int k = 2; k <= 6; ++k)
            r += (harmonic0[k] + (harmonic1[k] - harmonic0[k]) * d) * std::cos(k * a + phase0[k] + (phase1[k] - phase0[k]) * d);
        return r;
    }
    // Shape-space point at direction a with radius r, placed at time t in [0, 1].
    Vec2 place(double a, double r, double t) const {
        double m = move.at(t), u = 1 - m;
        Vec2 c{u * u * start.x + 2 * u * m * bend.x + m * m * end.x, u * u * start.y + 2 * u * m * bend.y + m * m * end.y};
        double s = size * (1 + (scale - 1) * grow.at(t)), b = a + turn * spin.at(t);
        return {c.x + s * r * std::cos(b), c.y + s * r * std::sin(b)};
    }
    // The shape at time t drawn through the vertex directions `at` (blobs) or the star's corners.
    Points drawn(double t, const std::vector<double>& at) const {
        Points p;
        for (double a : at) {
            Vec2 v = place(a, blob_radius(a, t), t);
            p.push_back(v.x);
            p.push_back(v.y);
        }
        return p;
    }
    Points star_corners(double t) const {
        Points p;
        double d = deform.at(t);
        for (size_t i = 0; i < vertices; ++i) {
            Vec2 v = place(angle[i], radius0[i] + (radius1[i] - radius0[i]) * d, t);
            p.push_back(v.x);
            p.push_back(v.y);
        }
        return p;
    }
    Points truth(double t) const {
        if (star) return star_corners(t);
        std::vector<double> dense(256);
        for (size_t i = 0; i < dense.size(); ++i) dense[i] = 2 * kPi * (double)i / (double)dense.size();
        return drawn(t, dense);
    }
};

static SyntheticTrack make_track(std::mt19937& rng, bool star) {
    auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
    SyntheticTrack s;
    s.star = star;
    s.vertices = star ? 2 * (size_t)std::uniform_int_distribution<int>(10, 20)(rng) : (size_t)std::uniform_int_distribution<int>(20, 40)(rng);
    s.frames = std::uniform_int_distribution<int>(10, 30)(rng);
    for (size_t i = 0; i < s.vertices; ++i) s.angle.push_back(2 * kPi * ((double)i + uniform(-0.3, 0.3)) / (double)s.vertices);
    std::sort(s.angle.begin(), s.angle.end());
    double bulge[4], bulge_phase[4];  // a smooth change of the star's radii over its outline
    for (int k = 1; k <= 3; ++k) {
        bulge[k] = uniform(-0.1, 0.1);
        bulge_phase[k] = uniform(0, 2 * kPi);
    }
    for (size_t i = 0; i < s.vertices; ++i) {
        double r = i % 2 ? uniform(0.35, 0.6) : uniform(0.75, 1.2), change = 1;
        for (int k = 1; k <= 3; ++k) change += bulge[k] * std::cos(k * s.angle[i] + bulge_phase[k]);
        s.radius0.push_back(r);
        s.radius1.push_back(r * change);
    }
    for (int k = 2; k <= 6; ++k) {
        s.harmonic0[k] = uniform(-0.25, 0.25) / (k - 1);
        s.harmonic1[k] = s.harmonic0[k] + uniform(-0.06, 0.06);
        s.phase0[k] = uniform(0, 2 * kPi);
        s.phase1[k] = s.phase0[k] + uniform(-0.3, 0.3);
    }
    s.size = uniform(30, 120);
    s.start = {uniform(200, 1800), uniform(200, 1000)};
    double travel = uniform(0, 2) * s.size, heading = uniform(0, 2 * kPi), sideways = uniform(-0.3, 0.3) * travel;
    s.end = {s.start.x + travel * std::cos(heading), s.start.y + travel * std::sin(heading)};
    s.bend = {(s.start.x + s.end.x) / 2 - sideways * std::sin(heading), (s.start.y + s.end.y) / 2 + sideways * std::cos(heading)};
    s.turn = uniform(-60, 60) * kPi / 180;
    s.scale = uniform(0.6, 1.6);
    for (Easing* e : {&s.move, &s.spin, &s.grow, &s.deform}) e->power = uniform(0.8, 1.25);
    return s;
}

enum class Case { Same, OtherStart, OtherWinding, OtherCount };

static Points shifted_start(const Points& p, size_t by) {
    size_t n = vertex_count(p);
    Points out(p.size());
    for (size_t i = 0; i < n; ++i) set_vertex(out, i, vertex(p, (i + by) % n));
    return out;
}

static Points reversed_winding(const Points& p) {
    size_t n = vertex_count(p);
    Points out(p.size());
    for (size_t i = 0; i < n; ++i) set_vertex(out, i, vertex(p, (n - i) % n));
    return out;
}

// Keyframe number `index` (0 = the first) of the track at time t, drawn the way `c` says.
static Points draw_keyframe(const SyntheticTrack& s, double t, size_t index, Case c, std::mt19937& rng) {
    if (index == 0 || c == Case::Same) return s.star ? s.star_corners(t) : s.drawn(t, s.angle);
    switch (c) {
    case Case::OtherStart: {
        Points p = s.star ? s.star_corners(t) : s.drawn(t, s.angle);
        return shifted_start(p, std::uniform_int_distribution<size_t>(1, s.vertices - 1)(rng));
    }
    case Case::OtherWinding: {
        Points p = s.star ? s.star_corners(t) : s.drawn(t, s.angle);
        return index % 2 ? reversed_winding(p) : p;
    }
    case Case::OtherCount: {
        if (!s.star) {  // redrawn through a new set of directions
            size_t m = s.vertices;
            while (m == s.vertices) m = (size_t)std::lround((double)s.vertices * std::uniform_real_distribution<double>(0.6, 1.5)(rng));
            std::vector<double> at;
            double offset = s.angle[0];
            for (size_t i = 0; i < m; ++i) at.push_back(offset + 2 * kPi * ((double)i + std::uniform_real_distribution<double>(-0.3, 0.3)(rng)) / (double)m);
            std::sort(at.begin(), at.end());
            return s.drawn(t, at);
        }
        Points corners = s.star_corners(t), p;  // every corner, plus points along some edges
        size_t extra = std::uniform_int_distribution<size_t>(1, s.vertices / 2)(rng);
        std::vector<size_t> per_edge(s.vertices, 0);
        for (size_t k = 0; k < extra; ++k) ++per_edge[std::uniform_int_distribution<size_t>(0, s.vertices - 1)(rng)];
        for (size_t i = 0; i < s.vertices; ++i) {
            Vec2 a = vertex(corners, i), b = vertex(corners, (i + 1) % s.vertices);
            p.push_back(a.x);
            p.push_back(a.y);
            for (size_t k = 1; k <= per_edge[i]; ++k) {
                double f = (double)k / (double)(per_edge[i] + 1) + std::uniform_real_distribution<double>(-0.1, 0.1)(rng) / (double)(per_edge[i] + 1);
                p.push_back(a.x + (b.x - a.x) * f);
                p.push_back(a.y + (b.y - a.y) * f);
            }
        }
        return p;
    }
    case Case::Same:
        break;
    }
    return {};
}

struct Result {
    std::vector<double> cvat, improved;
    size_t tracks = 0;
};

static double mean(const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? 0 : sum / (double)v.size();
}

static double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[(size_t)std::floor(p * (double)(v.size() - 1))];
}

static Result evaluate(Case c, long long keyframe_every, size_t track_count) {
    Result result;
    std::mt19937 shapes(1234), drawing(99 + (unsigned)c);
    for (size_t n = 0; n < track_count; ++n) {
        SyntheticTrack s = make_track(shapes, n % 2 == 1);
        Track track;
        track.id = "t";
        track.type = ShapeType::Polygon;
        track.label = "l";
        std::vector<long long> key_frames;
        for (long long f = 0; f < s.frames; f += keyframe_every) key_frames.push_back(f);
        key_frames.push_back(s.frames);
        for (size_t k = 0; k < key_frames.size(); ++k) {
            Keyframe key;
            key.id = "k" + std::to_string(k);
            key.frame = key_frames[k];
            key.points = draw_keyframe(s, (double)key.frame / (double)s.frames, k, c, drawing);
            track.keyframes.push_back(key);
        }
        ++result.tracks;
        for (long long f = 1; f < s.frames; ++f) {
            if (std::find(key_frames.begin(), key_frames.end(), f) != key_frames.end()) continue;
            Points truth = s.truth((double)f / (double)s.frames);
            for (Interpolation mode : {Interpolation::Cvat, Interpolation::Improved}) {
                track.interpolation = mode;
                auto shape = track_shape_at(track, f);
                double iou = shape ? polygon_iou(shape->points, truth) : 0;
                (mode == Interpolation::Cvat ? result.cvat : result.improved).push_back(iou);
            }
        }
    }
    return result;
}

int main() {
    if (!iou_self_check()) return 1;
    const size_t kTracks = 200;
    const char* names[] = {"(a) same start vertex and winding", "(b) later keyframes from another start vertex",
                           "(c) every other keyframe in the other winding", "(d) later keyframes with another vertex count"};
    std::printf("Polygon interpolation quality: IoU with the true shape on every frame between keyframes\n");
    std::printf("  %zu synthetic tracks per case (half blobs, half stars; 20-40 vertices; 10-30 frames; moving, turning up to 60 deg,\n"
                "  scaling 0.6-1.6x, deforming); IoU by scanlines, see the source\n", kTracks);
    for (long long every : {1000000LL, 5LL}) {
        if (every > 1000) std::printf("\nKeyframes at both ends only\n");
        else std::printf("\nKeyframes every %lld frames and at the end\n", every);
        std::printf("  %-48s %10s %10s %10s %10s %7s %7s\n", "case", "mean cvat", "mean impr", "p5 cvat", "p5 impr", "tracks", "frames");
        for (Case c : {Case::Same, Case::OtherStart, Case::OtherWinding, Case::OtherCount}) {
            Result r = evaluate(c, every, kTracks);
            std::printf("  %-48s %10.4f %10.4f %10.4f %10.4f %7zu %7zu\n", names[(int)c], mean(r.cvat), mean(r.improved),
                        percentile(r.cvat, 0.05), percentile(r.improved, 0.05), r.tracks, r.cvat.size());
        }
    }
    return 0;
}
