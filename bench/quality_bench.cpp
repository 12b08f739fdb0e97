// Quality measures of issue 17, native or wasm (bench/README.md, "Quality"): scoring 100,000
// shapes against a golden set, a 3-way consensus over 10,000 frames, the throughput report over
// 1,000,000 history events. Natively it also measures its peers in the same run where Debian has
// one: shapely's polygon IoU and scipy's linear_sum_assignment on the very same inputs (written to
// a temporary file and run by bench/quality_peer.py under /usr/bin/python3).
// Prints median [min-max] of the runs; never fails on speed.
#include "polymark/assignment.hpp"
#include "polymark/quality.hpp"
#include "polymark/quality_wire.hpp"
#include "polymark/similarity.hpp"
#include "polymark/throughput.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace pm;
using Clock = std::chrono::steady_clock;

#ifdef __EMSCRIPTEN__
static const char* kBuild = "wasm";
#else
static const char* kBuild = "native";
#endif

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}
static void print(const std::string& what, const std::vector<double>& runs, const char* unit) {
    std::printf("  %-58s %9.1f %s  [%.1f-%.1f]\n", what.c_str(), median(runs), unit, *std::min_element(runs.begin(), runs.end()),
                *std::max_element(runs.begin(), runs.end()));
}
template <class F>
static std::vector<double> time_ms(int runs, F f) {
    std::vector<double> out;
    for (int i = 0; i < runs; ++i) {
        auto t0 = Clock::now();
        f();
        out.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    return out;
}

// A star-ish concave polygon of `n` vertices around (cx, cy).
static Points star(std::mt19937& rng, double cx, double cy, double r, int n) {
    std::uniform_real_distribution<double> wobble(0.55, 1.0);
    Points p;
    for (int k = 0; k < n; ++k) {
        double a = 2 * 3.14159265358979323846 * k / n, rr = r * (k % 2 ? wobble(rng) * 0.6 : wobble(rng));
        p.push_back(cx + rr * std::cos(a));
        p.push_back(cy + rr * std::sin(a));
    }
    return p;
}

static Object make_shape(std::mt19937& rng, size_t i, long long frame) {
    std::uniform_real_distribution<double> pos(50, 1870), posy(50, 1030), size(15, 60), angle(0, 360);
    static const char* kLabels[] = {"car", "person", "bike", "truck"};
    Object o;
    o.id = "s" + std::to_string(i);
    o.frame = frame;
    o.label = kLabels[i % 4];
    double cx = pos(rng), cy = posy(rng), r = size(rng);
    if (i % 10 < 6) {
        o.type = ShapeType::Rectangle;
        o.points = {cx - r, cy - r / 2, cx + r, cy + r / 2};
        if (i % 3 == 0) o.rotation = angle(rng);
    } else if (i % 10 < 9) {
        o.type = ShapeType::Polygon;
        o.points = star(rng, cx, cy, r, 12);
    } else {
        o.type = ShapeType::Points;
        for (int k = 0; k < 5; ++k) { o.points.push_back(cx + k * 5); o.points.push_back(cy + (k % 2) * 5); }
    }
    o.attributes = {{"color", i % 7 ? "red" : "blue"}};
    return o;
}

// A labeler's copy: shifted by a few pixels, 5 % left out, 5 % added, 3 % relabelled.
static Object jitter(std::mt19937& rng, Object o, const std::string& id) {
    std::normal_distribution<double> d(0, 1.5);
    double dx = d(rng), dy = d(rng);
    for (size_t k = 0; k < o.points.size(); k += 2) { o.points[k] += dx; o.points[k + 1] += dy; }
    if (o.type == ShapeType::Rectangle) {
        o.points[2] += d(rng);
        o.points[3] += d(rng);
        if (o.points[2] < o.points[0]) std::swap(o.points[0], o.points[2]);
        if (o.points[3] < o.points[1]) std::swap(o.points[1], o.points[3]);
        o.rotation += d(rng);
    }
    o.id = id;
    return o;
}

static Document labeler_copy(std::mt19937& rng, const Document& gt, const std::string& prefix) {
    std::uniform_real_distribution<double> u(0, 1);
    Document out;
    size_t n = 0;
    for (const Object& o : gt.objects) {
        double r = u(rng);
        if (r < 0.05) continue;
        Object c = jitter(rng, o, prefix + std::to_string(n++));
        if (r > 0.97) c.label = "truck";
        out.objects.push_back(std::move(c));
        if (u(rng) < 0.05) out.objects.push_back(make_shape(rng, 1000000 + n++, o.frame));
    }
    return out;
}

#ifndef __EMSCRIPTEN__
static std::string peer_script() {
#ifdef POLYMARK_SOURCE_DIR
    return std::string(POLYMARK_SOURCE_DIR) + "/bench/quality_peer.py";
#else
    return "bench/quality_peer.py";
#endif
}
#endif

int main(int argc, char** argv) {
    int runs = 5;
    bool peers = true;
    std::string only;  // --only golden|consensus|throughput|peers: that section alone (for profiling)
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        if (a == "--no-peers") peers = false;
        if (a == "--only" && i + 1 < argc) only = argv[++i];
    }
    auto section = [&](const char* name) { return only.empty() || only == name; };
    std::printf("Polymark quality benchmark (%s; median [min-max] of %d runs)\n", kBuild, runs);

    // [SECTION] Golden: 100,000 shapes over 10,000 frames.
    if (section("golden")) {
        std::mt19937 rng(17);
        Document gt;
        for (size_t i = 0; i < 100000; ++i) gt.objects.push_back(make_shape(rng, i, (long long)(i / 10)));
        Document job = labeler_copy(rng, gt, "j");
        QualityOptions o;
        o.threshold = 0.5;
        QualityReport last;
        auto t = time_ms(runs, [&] { last = compare_with_golden(gt, job, o); });
        std::printf("Golden set: %zu shapes (60%% boxes, 1/3 of them rotated; 30%% 12-vertex concave polygons; 10%% 5-point sets)\n"
                    "  on 10,000 frames against a job of %zu shapes\n",
                    gt.objects.size(), job.objects.size());
        print("score the job (compare_with_golden)", t, "ms");
        auto tj = time_ms(runs, [&] { (void)quality_report_to_json(last).dump(); });
        print("  and write the report as JSON", tj, "ms");
        std::printf("  valid %lld, missing %lld, extra %lld, mislabelled %lld; accuracy %.4f\n", last.totals.valid, last.totals.missing,
                    last.totals.extra, last.totals.mislabelled_gt, last.totals.accuracy().value_or(-1));
        // The manager view's one call (quality_wire.hpp): both documents as JSON text in, the report out.
        const std::string call = Json{{"op", "golden"}, {"gt", document_to_json(gt)}, {"job", document_to_json(job)}}.dump();
        Json parsed;
        auto tn = time_ms(runs, [&] { parsed = Json::parse(call); });
        print("  the call's JSON text parsed (" + std::to_string(call.size() / 1000000) + " MB) by nlohmann's Json::parse", tn, "ms");
        auto tp = time_ms(runs, [&] { parsed = parse_json_or_discarded(call); });
        print("    by the core's parse_json_or_discarded (its fast path)", tp, "ms");
        auto td = time_ms(runs, [&] { (void)document_from_json(parsed["gt"]); (void)document_from_json(parsed["job"]); });
        print("  both documents read and checked (document_from_json)", td, "ms");
        auto tc = time_ms(runs, [&] { (void)quality_call_text(call); });
        print("  the whole call: parse, read, score, report (quality_call_text)", tc, "ms");
    }

    // [SECTION] Consensus: 3 labelers over 10,000 frames.
    if (section("consensus")) {
        std::mt19937 rng(18);
        Document base;
        for (size_t i = 0; i < 50000; ++i) base.objects.push_back(make_shape(rng, i, (long long)(i / 5)));
        std::vector<Document> sets = {labeler_copy(rng, base, "a"), labeler_copy(rng, base, "b"), labeler_copy(rng, base, "c")};
        ConsensusOptions o;
        o.quorum = 0.5;
        size_t merged = 0, groups = 0;
        auto t = time_ms(runs, [&] {
            auto r = consensus(sets, o);
            merged = r ? r->merged.objects.size() : 0;
            groups = r ? r->groups.size() : 0;
        });
        std::printf("Consensus: 3 sets of about %zu shapes each over 10,000 frames (5 a frame, the golden mix)\n", sets[0].objects.size());
        print("group, vote, merge, agreement (consensus)", t, "ms");
        std::printf("  %zu groups, %zu merged at quorum 2 of 3\n", groups, merged);
    }

    // [SECTION] Throughput: 1,000,000 history events.
    if (section("throughput")) {
        std::mt19937 rng(19);
        std::uniform_int_distribution<int> gap(1, 140), user(0, 39);
        std::vector<HistoryEntry> entries(1000000);
        std::vector<int64_t> clock(40, *parse_utc_time("2026-11-01T08:00:00Z"));
        std::vector<std::string> times;
        times.reserve(entries.size());
        for (size_t i = 0; i < entries.size(); ++i) {
            int u = user(rng);
            clock[(size_t)u] += (int64_t)gap(rng) * 1000;
            HistoryEntry& e = entries[i];
            e.revision = (int64_t)i + 1;
            e.user = "user" + std::to_string(u);
            e.kind = i % 20 == 0 ? "decision" : "object";
            e.op = i % 4 == 0 ? "create" : (i % 50 == 1 ? "delete" : "update");
            e.id = "o" + std::to_string(i % 4 == 0 ? i : i - i % 4);
            e.at_ms = clock[(size_t)u];
        }
        std::vector<Decision> decisions;
        for (size_t i = 4; i < entries.size(); i += 40) {  // items made by a create (i % 4 == 0, not a decision)
            Decision d;
            d.item = "o" + std::to_string(i);
            d.verdict = i % 120 == 4 ? Verdict::Rejected : Verdict::Accepted;
            decisions.push_back(d);
        }
        // The `at` texts as the server writes them, to time the parsing apart.
        for (const HistoryEntry& e : entries) {
            int64_t ms = e.at_ms % 1000, s = e.at_ms / 1000;
            char buf[40];
            std::string day = utc_day(e.at_ms);
            int64_t sod = s % 86400;
            std::snprintf(buf, sizeof buf, "%sT%02lld:%02lld:%02lld.%03lldZ", day.c_str(), (long long)(sod / 3600),
                          (long long)(sod / 60 % 60), (long long)(sod % 60), (long long)ms);
            times.push_back(buf);
        }
        ThroughputReport r;
        auto t = time_ms(runs, [&] { r = throughput_report(entries, decisions); });
        int64_t sum = 0;
        auto tp = time_ms(runs, [&] {
            for (const std::string& s : times) sum += *parse_utc_time(s);
        });
        std::printf("Throughput: 1,000,000 history events of 40 users over %zu days, %zu decisions\n",
                    r.per_user_day.empty() ? 0 : r.per_user_day.begin()->second.size(), decisions.size());
        print("report per user and day (throughput_report)", t, "ms");
        print("  parse the 1,000,000 `at` times (parse_utc_time)", tp, "ms");
        std::printf("  %lld created, %.0f active hours, first-pass acceptance %.3f\n", r.totals.created, r.totals.active_s / 3600,
                    r.totals.first_pass_acceptance().value_or(-1));
    }

    // [SECTION] Peers: polygon IoU and the assignment on the same inputs.
    if (!section("peers")) return 0;
    std::mt19937 rng(20);
    std::vector<std::pair<Points, Points>> pairs;
    for (int i = 0; i < 10000; ++i) {
        std::uniform_real_distribution<double> off(-15, 15);
        Points a = star(rng, 100, 100, 40, 12);
        Points b = star(rng, 100 + off(rng), 100 + off(rng), 40, 12);
        pairs.push_back({a, b});
    }
    double iou_sum = 0;
    auto ti = time_ms(runs, [&] {
        iou_sum = 0;
        for (auto& p : pairs) iou_sum += polygon_iou(p.first, p.second);
    });
    std::vector<std::vector<double>> matrices;
    std::uniform_real_distribution<double> c01(0, 1);
    for (int i = 0; i < 100; ++i) {
        std::vector<double> m(100 * 100);
        for (double& v : m) v = c01(rng);
        matrices.push_back(std::move(m));
    }
    double cost_sum = 0;
    auto ta = time_ms(runs, [&] {
        cost_sum = 0;
        for (auto& m : matrices) {
            std::vector<int> a = assign_min_cost(m, 100, 100);
            for (size_t r = 0; r < 100; ++r) cost_sum += m[r * 100 + (size_t)a[r]];
        }
    });
    std::printf("Peers, same inputs (Polymark first)\n");
    print("10,000 IoUs of concave 12-vertex polygon pairs", ti, "ms");
    print("100 assignments of 100x100 random costs", ta, "ms");
    std::printf("  sum of IoUs %.6f, sum of optimal costs %.6f\n", iou_sum, cost_sum);
#ifndef __EMSCRIPTEN__
    if (peers) {
        std::string path = "/tmp/polymark-quality-peer-" + std::to_string((long long)std::chrono::system_clock::now().time_since_epoch().count()) + ".txt";
        FILE* f = std::fopen(path.c_str(), "w");
        if (!f) return 0;
        std::fprintf(f, "%d\n%zu\n", runs, pairs.size());
        for (auto& p : pairs) {
            for (const Points* q : {&p.first, &p.second}) {
                for (size_t k = 0; k < q->size(); ++k) std::fprintf(f, "%s%.17g", k ? " " : "", (*q)[k]);
                std::fprintf(f, "\n");
            }
        }
        std::fprintf(f, "%zu\n", matrices.size());
        for (auto& m : matrices) {
            for (size_t k = 0; k < m.size(); ++k) std::fprintf(f, "%s%.17g", k ? " " : "", m[k]);
            std::fprintf(f, "\n");
        }
        std::fclose(f);
        std::fflush(stdout);
        std::string cmd = "/usr/bin/python3 " + peer_script() + " " + path;
        int rc = std::system(cmd.c_str());
        if (rc != 0) std::printf("  (peer script failed: exit %d; is /usr/bin/python3 with python3-shapely and python3-scipy there?)\n", rc);
        std::remove(path.c_str());
    }
#endif
    return 0;
}
