// Runs Polymark's tracker (shared/polymark/tracker.hpp) over tracking sequences and prints, per
// sequence, the speed and the accuracy against the ground truth; the same source builds natively
// and for wasm (em++ -msimd128 -sNODERAWFS=1, run in node), see bench/README.md.
//
//   track_bench RAW_DIR SEQ_DIR... [--boxes DIR] [--speed100] [--param NAME=VALUE]...
//       RAW_DIR from decode_frames.py; SEQ_DIR holds groundtruth.txt and, optionally, polygons.txt
//
// Ground truth and scoring follow bench/tracking/metrics.py (the tests in tests/bench/ hold the
// three runners to it): a row is x,y,w,h, or a VOT polygon x1,y1,...,x4,y4 read as its bounding
// box, or has `nan` where the target is absent; absent frames are left out of the averages and a
// box reported on them is counted apart. The first box is clipped to the frame. A sequence that
// cannot be run is reported on stderr and skipped (exit status 1 at the end); the others still run.
// Times only init() and update(): frames are read from the raw file between the timed calls.
// Prints a table, and one "RESULT {json}" line per sequence for run_all.sh.
#include "polymark/tracker.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
// CPU seconds of the node process (user + system): under node the C clocks are wall clocks.
EM_JS(double, process_cpu_seconds, (), {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
});
#else
#include <ctime>
static double process_cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}
#endif

using namespace pm;

namespace {

#ifdef __EMSCRIPTEN__
const char* const kName[] = {"polymark-wasm", "polymark-wasm-100x100"};
#else
const char* const kName[] = {"polymark", "polymark-100x100"};
#endif

// The numbers of one line, separated by commas, tabs, semicolons or spaces (strtod: "nan" too).
// false when a field is not a number.
bool parse_numbers(const std::string& line, std::vector<double>& out) {
    out.clear();
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ',' || line[i] == ';' || std::isspace(static_cast<unsigned char>(line[i])))) ++i;
        if (i >= line.size()) break;
        size_t j = i;
        while (j < line.size() && line[j] != ',' && line[j] != ';' && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
        const std::string field = line.substr(i, j - i);
        char* end = nullptr;
        const double v = std::strtod(field.c_str(), &end);
        if (end != field.c_str() + field.size()) return false;
        out.push_back(v);
        i = j;
    }
    return true;
}

// Every non-blank line's numbers (polygons.txt).
std::vector<std::vector<double>> read_rows(const std::string& path) {
    std::vector<std::vector<double>> rows;
    std::ifstream in(path);
    std::string line;
    std::vector<double> row;
    while (std::getline(in, line))
        if (parse_numbers(line, row) && !row.empty()) rows.push_back(row);
    return rows;
}

// One frame of ground truth: the box, or absent.
struct Truth {
    bool present = false;
    Rect box;
};

// groundtruth.txt, one Truth per non-blank line; false (and why, naming the line) for a line that
// is not 4 or 8 numbers.
bool read_truth(const std::string& path, std::vector<Truth>& out, std::string& error) {
    out.clear();
    std::ifstream in(path);
    if (!in) {
        error = path + ": cannot open";
        return false;
    }
    std::string line;
    std::vector<double> v;
    for (int k = 1; std::getline(in, line); ++k) {
        const bool numbers = parse_numbers(line, v);
        if (numbers && v.empty()) continue;
        if (!numbers || (v.size() != 4 && v.size() != 8)) {
            error = path + ":" + std::to_string(k) + ": expected 4 numbers (x,y,w,h) or 8 (a VOT polygon)";
            return false;
        }
        Truth t;
        t.present = std::none_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
        if (t.present && v.size() == 8) {
            double x0 = v[0], x1 = v[0], y0 = v[1], y1 = v[1];
            for (int c = 1; c < 4; ++c) {
                x0 = std::min(x0, v[2 * c]), x1 = std::max(x1, v[2 * c]);
                y0 = std::min(y0, v[2 * c + 1]), y1 = std::max(y1, v[2 * c + 1]);
            }
            t.box = {x0, y0, x1 - x0, y1 - y0};
        } else if (t.present) {
            t.box = {v[0], v[1], v[2], v[3]};
        }
        out.push_back(t);
    }
    return true;
}

Rect clip_box(const Rect& b, int width, int height) {
    const double x0 = std::max(b.x, 0.0), y0 = std::max(b.y, 0.0);
    const double x1 = std::min(b.x + b.w, double(width)), y1 = std::min(b.y + b.h, double(height));
    return {x0, y0, std::max(0.0, x1 - x0), std::max(0.0, y1 - y0)};
}

bool read_meta(const std::string& path, int& w, int& h, int& n) {
    std::ifstream in(path);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto num = [&](const char* key, int& out) {
        size_t p = s.find(std::string("\"") + key + "\"");
        if (p == std::string::npos) return false;
        p = s.find(':', p);
        out = std::atoi(s.c_str() + p + 1);
        return true;
    };
    return num("width", w) && num("height", h) && num("frames", n);
}

double box_iou(const Rect& a, const Rect& b) {
    double ix = std::max(0.0, std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x));
    double iy = std::max(0.0, std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y));
    double i = ix * iy, u = a.w * a.h + b.w * b.h - i;
    return u > 0 ? i / u : 0;
}

// Intervals of a row y inside a polygon (even-odd), sorted.
void row_spans(const std::vector<double>& p, double y, std::vector<double>& xs) {
    xs.clear();
    size_t n = p.size() / 2;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        double yi = p[2 * i + 1], yj = p[2 * j + 1];
        if ((yi > y) != (yj > y)) xs.push_back(p[2 * i] + (y - yi) / (yj - yi) * (p[2 * j] - p[2 * i]));
    }
    std::sort(xs.begin(), xs.end());
}

double spans_length(const std::vector<double>& s) {
    double l = 0;
    for (size_t i = 0; i + 1 < s.size(); i += 2) l += s[i + 1] - s[i];
    return l;
}

double spans_overlap(const std::vector<double>& a, const std::vector<double>& b) {
    double l = 0;
    for (size_t i = 0; i + 1 < a.size(); i += 2)
        for (size_t j = 0; j + 1 < b.size(); j += 2)
            l += std::max(0.0, std::min(a[i + 1], b[j + 1]) - std::max(a[i], b[j]));
    return l;
}

// Polygon IoU along rows a quarter pixel apart (exact along each row).
double polygon_iou(const std::vector<double>& a, const std::vector<double>& b) {
    double y0 = 1e300, y1 = -1e300;
    for (size_t i = 1; i < a.size(); i += 2) y0 = std::min(y0, a[i]), y1 = std::max(y1, a[i]);
    for (size_t i = 1; i < b.size(); i += 2) y0 = std::min(y0, b[i]), y1 = std::max(y1, b[i]);
    std::vector<double> sa, sb;
    double inter = 0, uni = 0;
    for (double y = std::floor(y0) + 0.125; y < y1; y += 0.25) {
        row_spans(a, y, sa);
        row_spans(b, y, sb);
        double o = spans_overlap(sa, sb);
        inter += o;
        uni += spans_length(sa) + spans_length(sb) - o;
    }
    return uni > 0 ? inter / uni : 0;
}

struct Summary {
    std::string name;
    int frames = 0;
    double fps = 0, cpu_fps = 0, mean_iou = 0, auc = 0, precision20 = 0;
    bool has_poly = false;
    double poly_iou = 0;
    int scored = 0;      // frames scored: after the first, with the target present
    int first_loss = 0;  // scored frames before IoU first fell under 0.1 (all of them when never)
    int lost_reported = 0;
    int absent = 0, absent_boxed = 0;  // frames without the target; of them, where we reported it
};

// Success AUC as in OTB: the fraction of frames with IoU above each of 21 thresholds 0..1.
double success_auc(const std::vector<double>& ious) {
    if (ious.empty()) return 0;
    double auc = 0;
    for (int t = 0; t <= 20; ++t) {
        double th = t / 20.0;
        size_t k = 0;
        for (double v : ious) k += v > th;
        auc += double(k) / double(ious.size());
    }
    return auc / 21;
}

double centre_distance(const Rect& a, const Rect& b) {
    return std::hypot(a.x + a.w / 2 - b.x - b.w / 2, a.y + a.h / 2 - b.y - b.h / 2);
}

void set_param(TrackerParams& p, const std::string& kv) {
    size_t eq = kv.find('=');
    std::string k = kv.substr(0, eq);
    double v = eq == std::string::npos ? 0 : std::atof(kv.c_str() + eq + 1);
    if (k == "padding") p.padding = v;
    else if (k == "lambda") p.lambda = v;
    else if (k == "kernel_sigma") p.kernel_sigma = v;
    else if (k == "output_sigma") p.output_sigma = v;
    else if (k == "learning_rate") p.learning_rate = v;
    else if (k == "scale_count") p.scale_count = int(v);
    else if (k == "scale_step") p.scale_step = v;
    else if (k == "scale_learning_rate") p.scale_learning_rate = v;
    else if (k == "lost_psr") p.lost_psr = v;
    else if (k == "lost_peak") p.lost_peak = v;
    else if (k == "sure_psr") p.sure_psr = v;
    else if (k == "update_psr") p.update_psr = v;
    else if (k == "update_peak") p.update_peak = v;
    else if (k == "redetect") p.redetect = int(v);
    else if (k == "unlearnt_peak_rate") p.unlearnt_peak_rate = v;
    else if (k == "angle_count") p.angle_count = int(v);
    else if (k == "max_scale_steps") p.max_scale_steps = v;
    else if (k == "angle_step_degrees") p.angle_step_degrees = v;
    else if (k == "angle_learning_rate") p.angle_learning_rate = v;
    else std::fprintf(stderr, "unknown parameter %s\n", k.c_str());
}

// One sequence: false (and why) when it cannot be run.
bool run_sequence(const std::string& raw_dir, const std::string& seq, const std::string& name, const TrackerParams& params,
                  bool speed100, const std::string& boxes_dir, Summary& s, std::string& error) {
    int w = 0, h = 0, n = 0;
    if (!read_meta(raw_dir + "/" + name + ".json", w, h, n)) {
        error = "no " + raw_dir + "/" + name + ".json (run decode_frames.py)";
        return false;
    }
    std::vector<Truth> gt;
    if (!read_truth(seq + "/groundtruth.txt", gt, error)) return false;
    auto polys = read_rows(seq + "/polygons.txt");
    n = std::min<int>(n, int(gt.size()));
    if (n < 2) {
        error = "fewer than 2 frames with ground truth";
        return false;
    }
    if (!gt[0].present) {
        error = "the first frame has no box (nan): nothing to start from";
        return false;
    }
    FILE* f = std::fopen((raw_dir + "/" + name + ".gray").c_str(), "rb");
    if (!f) {
        error = "cannot read " + raw_dir + "/" + name + ".gray";
        return false;
    }
    std::vector<uint8_t> frame(size_t(w) * h);
    const FrameView view{w, h, w, frame.data(), PixelFormat::gray8};
    Tracker tracker(params);
    using clock = std::chrono::steady_clock;
    double seconds = 0, cpu_seconds = 0;
    std::vector<double> ious, dists, pious;
    s.name = name;
    Rect init_box = gt[0].box;
    if (speed100) {  // the speed target's case: a 100 x 100 box on the object's centre
        double cx = init_box.x + init_box.w / 2, cy = init_box.y + init_box.h / 2;
        init_box = {cx - 50, cy - 50, 100, 100};
    }
    init_box = clip_box(init_box, w, h);  // every runner starts from the part inside the frame
    s.has_poly = polys.size() >= size_t(n);
    bool lost_once = false;
    FILE* boxes_out = boxes_dir.empty() ? nullptr : std::fopen((boxes_dir + "/" + name + ".txt").c_str(), "w");
    // x,y,w,h,reported (metrics.write_boxes), then our psr, peak ratio and angle in degrees.
    auto write_box = [&](const Rect& b, bool reported, double psr, double peak, double angle) {
        if (boxes_out)
            std::fprintf(boxes_out, "%.3f,%.3f,%.3f,%.3f,%d,%.2f,%.3f,%.2f\n", b.x, b.y, b.w, b.h, int(reported), psr, peak,
                         angle * 57.29578);
    };
    bool ok = true;
    for (int i = 0; i < n && ok; ++i) {
        if (std::fread(frame.data(), 1, frame.size(), f) != frame.size()) {
            error = "short raw file";
            ok = false;
            break;
        }
        auto t0 = clock::now();
        const double c0 = process_cpu_seconds();
        if (i == 0) {
            auto r = tracker.init(view, init_box);
            if (!r.ok()) {
                error = r.first_error().message;
                ok = false;
            }
            write_box(init_box, true, 0, 0, 0);
            continue;
        }
        auto r = tracker.update(view);
        seconds += std::chrono::duration<double>(clock::now() - t0).count();
        cpu_seconds += process_cpu_seconds() - c0;
        if (!r.ok()) {
            error = r.first_error().message;
            ok = false;
            break;
        }
        const Rect box = r->box;
        write_box(box, !r->lost, r->psr, r->peak_ratio, r->angle);
        s.lost_reported += r->lost;
        if (!gt[i].present) {
            ++s.absent;
            s.absent_boxed += !r->lost;
            continue;
        }
        const double iou = box_iou(box, gt[i].box);
        if (iou < 0.1 && !lost_once) {
            lost_once = true;
            s.first_loss = int(ious.size());
        }
        ious.push_back(iou);
        dists.push_back(centre_distance(box, gt[i].box));
        if (s.has_poly) pious.push_back(polygon_iou(move_polygon(polys[0], r->since_start), polys[i]));
    }
    std::fclose(f);
    if (boxes_out) std::fclose(boxes_out);
    if (!ok) return false;
    s.frames = n;
    s.scored = int(ious.size());
    if (!lost_once) s.first_loss = s.scored;
    s.fps = (n - 1) / seconds;
    s.cpu_fps = (n - 1) / std::max(cpu_seconds, 1e-9);
    for (double v : ious) s.mean_iou += v / double(ious.size());
    for (double d : dists) s.precision20 += (d <= 20) / double(dists.size());
    s.auc = success_auc(ious);
    for (double v : pious) s.poly_iou += v / double(pious.size());
    return true;
}

std::string poly_cell(bool has, double v) {
    char buf[32];
    if (has) std::snprintf(buf, sizeof buf, "%.3f", v);
    return has ? buf : "-";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s RAW_DIR SEQ_DIR... [--boxes DIR] [--speed100] [--param NAME=VALUE]\n", argv[0]);
        return 2;
    }
    const std::string raw_dir = argv[1];
    // --speed100: track a 100 x 100 box centred on the first ground-truth box instead (speed only).
    // --boxes DIR: also write each sequence's boxes, one row per frame from frame 1 (the given box),
    //   to DIR/<name>.txt.
    // --param NAME=VALUE: change one of TrackerParams (experiments only; the bench reports defaults).
    bool speed100 = false;
    std::string boxes_dir;
    TrackerParams params;
    std::vector<std::string> seqs;
    for (int a = 2; a < argc; ++a) {
        if (std::string(argv[a]) == "--speed100")
            speed100 = true;
        else if (std::string(argv[a]) == "--boxes" && a + 1 < argc)
            boxes_dir = argv[++a];
        else if (std::string(argv[a]) == "--param" && a + 1 < argc)
            set_param(params, argv[++a]);
        else
            seqs.push_back(argv[a]);
    }
    std::vector<Summary> all;
    int failed = 0;
    std::printf("%-20s %6s %9s %9s %8s %8s %8s %11s %9s %6s %7s\n", "sequence", "frames", "fps", "cpu_fps", "meanIoU", "AUC",
                "prec20", "first_loss", "polyIoU", "lost", "absent");
    for (std::string seq : seqs) {
        while (seq.size() > 1 && seq.back() == '/') seq.pop_back();
        const std::string name = seq.substr(seq.find_last_of('/') + 1);
        Summary s;
        std::string error;
        if (!run_sequence(raw_dir, seq, name, params, speed100, boxes_dir, s, error)) {
            std::fprintf(stderr, "%s: skipped: %s\n", name.c_str(), error.c_str());
            ++failed;
            continue;
        }
        std::printf("%-20s %6d %9.1f %9.1f %8.3f %8.3f %8.3f %11d %9s %6d %3d/%-3d\n", name.c_str(), s.frames, s.fps, s.cpu_fps,
                    s.mean_iou, s.auc, s.precision20, s.first_loss, poly_cell(s.has_poly, s.poly_iou).c_str(), s.lost_reported,
                    s.absent_boxed, s.absent);
        std::fflush(stdout);
        all.push_back(s);
    }
    if (!all.empty()) {
        Summary avg;
        int with_poly = 0;
        double first_loss = 0;
        for (const Summary& s : all) {
            avg.fps += s.fps / all.size();
            avg.cpu_fps += s.cpu_fps / all.size();
            avg.mean_iou += s.mean_iou / all.size();
            avg.auc += s.auc / all.size();
            avg.precision20 += s.precision20 / all.size();
            first_loss += double(s.first_loss) / all.size();
            if (s.has_poly) avg.poly_iou += s.poly_iou, ++with_poly;
        }
        avg.has_poly = with_poly > 0;
        if (with_poly) avg.poly_iou /= with_poly;  // over the sequences that have polygons
        std::printf("%-20s %6s %9.1f %9.1f %8.3f %8.3f %8.3f %11.1f %9s\n", "average", "", avg.fps, avg.cpu_fps, avg.mean_iou,
                    avg.auc, avg.precision20, first_loss, poly_cell(avg.has_poly, avg.poly_iou).c_str());
    }
    for (const Summary& s : all) {
        std::printf("RESULT {\"tracker\": \"%s\", \"sequence\": \"%s\", \"frames\": %d, \"fps\": %.2f, \"cpu_fps\": %.2f, "
                    "\"scored\": %d, \"absent\": %d, \"absent_boxed\": %d, \"mean_iou\": %.4f, \"auc\": %.4f, "
                    "\"precision20\": %.4f, \"first_loss\": %d",
                    kName[speed100], s.name.c_str(), s.frames, s.fps, s.cpu_fps, s.scored, s.absent, s.absent_boxed, s.mean_iou,
                    s.auc, s.precision20, s.first_loss);
        if (s.has_poly) std::printf(", \"poly_iou\": %.4f", s.poly_iou);
        std::printf("}\n");
    }
    return failed ? 1 : 0;
}
