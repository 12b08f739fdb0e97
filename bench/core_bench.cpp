// Core benchmarks, native or wasm (see bench/README.md): picking the shape under the cursor among 10,000 shapes with the grid
// index (what the editor does) and with a linear scan over every shape (the naive peer), and
// the cost of rebuilding the index; then the shapes of one video frame with 1,000 polygon tracks.
// Prints median [min-max] of 5 runs (9 for the frame); never fails on speed.
#include "polymark/geometry.hpp"
#include "polymark/interpolate.hpp"
#include "polymark/spatial_index.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using namespace pm;
using Clock = std::chrono::steady_clock;

#ifdef __EMSCRIPTEN__
static const char* kBuild = "wasm";
#else
static const char* kBuild = "native";
#endif

static std::vector<Object> make_scene(size_t count, double w, double h) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> x(0, w), y(0, h), size(8, 60);
    std::vector<Object> objects(count);
    for (size_t i = 0; i < count; ++i) {
        Object& o = objects[i];
        o.id = "o" + std::to_string(i);
        o.label = "l";
        double cx = x(rng), cy = y(rng), r = size(rng);
        if (i % 3 == 0) {
            o.type = ShapeType::Rectangle;
            o.points = {cx - r, cy - r / 2, cx + r, cy + r / 2};
            o.rotation = (double)(i % 90);
        } else {
            o.type = ShapeType::Polygon;
            for (int k = 0; k < 30; ++k) {
                double a = 2 * 3.14159265358979 * k / 30, rr = r * (k % 2 ? 0.6 : 1.0);
                o.points.push_back(cx + rr * std::cos(a));
                o.points.push_back(cy + rr * std::sin(a));
            }
        }
        o.z = (long long)(i % 5);
    }
    return objects;
}

// Tracks of 30-vertex stars with keyframes at 0 and 20: the later one moved, turned up to 40
// degrees, rescaled and drawn from another start vertex, as an annotator would.
static Document make_track_scene(size_t count, Interpolation mode) {
    std::mt19937 rng(9);
    std::uniform_real_distribution<double> x(100, 3900), y(100, 2900), size(10, 60), move(-80, 80), turn(-40, 40), scale(0.7, 1.4);
    Document doc;
    doc.tracks.resize(count);
    for (size_t i = 0; i < count; ++i) {
        Track& t = doc.tracks[i];
        t.id = "t" + std::to_string(i);
        t.type = ShapeType::Polygon;
        t.label = "l";
        t.interpolation = mode;
        double cx = x(rng), cy = y(rng), r = size(rng), dx = move(rng), dy = move(rng), da = turn(rng) * 3.14159265358979 / 180, s = scale(rng);
        Keyframe first, last;
        first.id = t.id + ".k0";
        last.id = t.id + ".k20";
        last.frame = 20;
        for (int k = 0; k < 30; ++k) {
            double a = 2 * 3.14159265358979 * k / 30, rr = r * (k % 2 ? 0.6 : 1.0);
            first.points.push_back(cx + rr * std::cos(a));
            first.points.push_back(cy + rr * std::sin(a));
            double b = 2 * 3.14159265358979 * ((k + 7) % 30) / 30 + da, rs = s * r * ((k + 7) % 2 ? 0.6 : 1.0);
            last.points.push_back(cx + dx + rs * std::cos(b));
            last.points.push_back(cy + dy + rs * std::sin(b));
        }
        t.keyframes = {first, last};
    }
    return doc;
}

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[(v.size() - 1) / 2];
}

static void report(const char* what, const std::vector<double>& runs, const char* unit) {
    std::printf("  %-44s %9.3f %s  [%.3f-%.3f]\n", what, median(runs), unit, *std::min_element(runs.begin(), runs.end()), *std::max_element(runs.begin(), runs.end()));
}

int main() {
    const size_t kShapes = 10000, kQueries = 2000, kRuns = 5;
    const double w = 4000, h = 3000, tolerance = 4;
    std::vector<Object> objects = make_scene(kShapes, w, h);
    std::vector<uint32_t> all(kShapes);
    for (uint32_t i = 0; i < kShapes; ++i) all[i] = i;
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> qx(0, w), qy(0, h);
    std::vector<Vec2> queries(kQueries);
    for (Vec2& q : queries) q = {qx(rng), qy(rng)};

    std::vector<double> build_ms, index_us, scan_us;
    long long agree = 0;
    for (size_t run = 0; run < kRuns; ++run) {
        SpatialIndex index;
        auto t0 = Clock::now();
        index.build(objects, all);
        auto t1 = Clock::now();
        build_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());

        std::vector<uint32_t> candidates;
        std::vector<int> picked_index(kQueries), picked_scan(kQueries);
        t0 = Clock::now();
        for (size_t q = 0; q < kQueries; ++q) {
            index.query_point(queries[q], tolerance, candidates);
            int best = -1;
            for (uint32_t i : candidates)
                if (hit_shape(objects[i], queries[q], tolerance) && (best < 0 || objects[i].z > objects[best].z || (objects[i].z == objects[best].z && (int)i > best))) best = (int)i;
            picked_index[q] = best;
        }
        t1 = Clock::now();
        index_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / kQueries);

        t0 = Clock::now();
        for (size_t q = 0; q < kQueries; ++q) {
            int best = -1;
            for (uint32_t i = 0; i < kShapes; ++i)
                if (hit_shape(objects[i], queries[q], tolerance) && (best < 0 || objects[i].z > objects[best].z || (objects[i].z == objects[best].z && (int)i > best))) best = (int)i;
            picked_scan[q] = best;
        }
        t1 = Clock::now();
        scan_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / kQueries);
        agree = std::count_if(picked_index.begin(), picked_index.end(), [&, k = 0](int v) mutable { return v == picked_scan[k++]; });
    }
    std::printf("Polymark core benchmark (%s, %zu shapes: 2/3 star polygons of 30 vertices, 1/3 rotated boxes, on %gx%g; %zu random picks per run; %zu runs)\n",
                kBuild, kShapes, w, h, kQueries, kRuns);
    std::printf("  median [min-max] of the runs\n");
    report("pick, grid index + exact hit test (ours)", index_us, "us/pick");
    report("pick, linear scan of every shape (peer)", scan_us, "us/pick");
    report("index rebuild over all shapes", build_ms, "ms");
    std::printf("  ratio scan/index: %.0fx; both picked the same shape for %lld of %zu points\n", median(scan_us) / median(index_us), agree, kQueries);

    // Interpolation: all shapes of frame 7 of a document with 1,000 polygon tracks (getFrameState).
    // Cold: nothing cached, each track aligns its keyframes afresh; warm: the InterpolationCache
    // already holds the keyframe pairs, as when stepping through the frames between them.
    const size_t kTracks = 1000, kFrameRuns = 9;
    const long long kFrame = 7;
    Document cvat_doc = make_track_scene(kTracks, Interpolation::Cvat), improved_doc = make_track_scene(kTracks, Interpolation::Improved);
    std::vector<double> cvat_ms, cold_ms, warm_ms, edited_ms;
    size_t shown = 0, vertices_cvat = 0, vertices_improved = 0;
    auto time_frame = [&](const Document& doc, InterpolationCache* cache, size_t& vertices) {
        auto t0 = Clock::now();
        std::vector<FrameShape> shapes = shapes_on_frame(doc, kFrame, {}, cache);
        auto t1 = Clock::now();
        shown = shapes.size();
        vertices = 0;
        for (const FrameShape& s : shapes) vertices += vertex_count(s.object.points);
        return std::chrono::duration<double, std::milli>(t1 - t0).count();
    };
    InterpolationCache cache;
    for (int warm_up = 0; warm_up < 2; ++warm_up) {  // the wasm engine compiles hot code in tiers
        time_frame(cvat_doc, nullptr, vertices_cvat);
        time_frame(improved_doc, nullptr, vertices_improved);
    }
    shapes_on_frame(improved_doc, kFrame - 1, {}, &cache);  // fills the cache
    for (size_t run = 0; run < kFrameRuns; ++run) {
        cvat_ms.push_back(time_frame(cvat_doc, nullptr, vertices_cvat));
        cold_ms.push_back(time_frame(improved_doc, nullptr, vertices_improved));
        warm_ms.push_back(time_frame(improved_doc, &cache, vertices_improved));
    }
    // The labeler reshapes one track's keyframe: only that pair is aligned afresh, the others
    // come from the cache (its key is the pair's contents). What the next frame costs in the app.
    Document edited_doc = improved_doc;
    shapes_on_frame(edited_doc, kFrame, {}, &cache);
    for (size_t run = 0; run < kFrameRuns; ++run) {
        Points& moved = edited_doc.tracks[run * 97 % kTracks].keyframes.back().points;
        for (size_t i = 0; i < moved.size(); ++i) moved[i] += 0.5 + (double)run;
        edited_ms.push_back(time_frame(edited_doc, &cache, vertices_improved));
    }
    std::printf("Interpolate 1,000 polygon tracks of 30 vertices for one frame (shapes_on_frame; %zu runs)\n", kFrameRuns);
    report("cvat mode", cvat_ms, "ms");
    report("improved mode, cold (no cache)", cold_ms, "ms");
    report("improved mode, warm cache", warm_ms, "ms");
    report("improved mode, right after one track's keyframe is edited", edited_ms, "ms");
    // Cold and warm must agree to the bit (the cold path reuses its working memory from track to
    // track, the warm one reads the cache); the program exits non-zero if they do not.
    std::vector<FrameShape> cold_shapes = shapes_on_frame(improved_doc, kFrame), warm_shapes = shapes_on_frame(improved_doc, kFrame, {}, &cache);
    bool same = cold_shapes.size() == warm_shapes.size();
    for (size_t i = 0; same && i < cold_shapes.size(); ++i) same = cold_shapes[i].object.points == warm_shapes[i].object.points;
    std::printf("  %zu shapes shown; %.1f vertices per shape in cvat mode, %.1f in improved mode; improved cold and warm %s\n", shown,
                (double)vertices_cvat / (double)kTracks, (double)vertices_improved / (double)kTracks, same ? "agree" : "DIFFER");
    return agree == (long long)kQueries && same ? 0 : 1;
}
