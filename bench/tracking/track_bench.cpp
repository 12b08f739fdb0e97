// Runs Polymark's tracker (shared/polymark/tracker.hpp) over tracking sequences and prints, per
// sequence, the speed and the accuracy against the ground truth; the same source builds natively
// and for wasm (em++ -msimd128 -sNODERAWFS=1, run in node), see bench/README.md.
//
//   track_bench RAW_DIR SEQ_DIR...      RAW_DIR from decode_frames.py; SEQ_DIR holds groundtruth.txt
//                                       (x,y,w,h a line) and, optionally, polygons.txt
//
// Times only init() and update(): frames are read from the raw file between the timed calls.
// Prints a table, and one "RESULT {json}" line per sequence for run_all.sh.
#include "polymark/tracker.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
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

std::vector<std::vector<double>> read_rows(const std::string& path) {
    std::vector<std::vector<double>> rows;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        for (char& c : line)
            if (c == ',' || c == '\t' || c == ';') c = ' ';
        std::istringstream ss(line);
        std::vector<double> row;
        double v;
        while (ss >> v) row.push_back(v);
        if (!row.empty()) rows.push_back(row);
    }
    return rows;
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
    double fps = 0, cpu_fps = 0, mean_iou = 0, auc = 0, poly_iou = -1;
    int first_loss = 0;  // frames tracked before IoU first fell under 0.1 (all frames when never)
    int lost_reported = 0;
};

// Success AUC as in OTB: the fraction of frames with IoU above each of 21 thresholds 0..1.
double success_auc(const std::vector<double>& ious) {
    double auc = 0;
    for (int t = 0; t <= 20; ++t) {
        double th = t / 20.0;
        size_t k = 0;
        for (double v : ious) k += v > th;
        auc += double(k) / double(ious.size());
    }
    return auc / 21;
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
    else if (k == "angle_count") p.angle_count = int(v);
    else if (k == "max_scale_steps") p.max_scale_steps = v;
    else if (k == "angle_step_degrees") p.angle_step_degrees = v;
    else if (k == "angle_learning_rate") p.angle_learning_rate = v;
    else std::fprintf(stderr, "unknown parameter %s\n", k.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s RAW_DIR SEQ_DIR...\n", argv[0]);
        return 2;
    }
    const std::string raw_dir = argv[1];
    // --speed100: track a 100 x 100 box centred on the first ground-truth box instead (speed only).
    // --boxes DIR: also write each sequence's boxes (x,y,w,h,lost,psr a frame) to DIR/<name>.txt.
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
    std::printf("%-20s %6s %9s %9s %8s %8s %11s %9s %6s\n", "sequence", "frames", "fps", "cpu_fps", "meanIoU",
                "AUC", "first_loss", "polyIoU", "lost");
    for (std::string seq : seqs) {
        while (seq.size() > 1 && seq.back() == '/') seq.pop_back();
        const std::string name = seq.substr(seq.find_last_of('/') + 1);
        int w = 0, h = 0, n = 0;
        if (!read_meta(raw_dir + "/" + name + ".json", w, h, n)) {
            std::fprintf(stderr, "%s: no %s/%s.json (run decode_frames.py)\n", name.c_str(), raw_dir.c_str(), name.c_str());
            return 1;
        }
        auto gt = read_rows(seq + "/groundtruth.txt");
        auto polys = read_rows(seq + "/polygons.txt");
        n = std::min<int>(n, int(gt.size()));
        FILE* f = std::fopen((raw_dir + "/" + name + ".gray").c_str(), "rb");
        if (!f || n < 2) {
            std::fprintf(stderr, "%s: cannot read frames or ground truth\n", name.c_str());
            return 1;
        }
        std::vector<uint8_t> frame(size_t(w) * h);
        const FrameView view{w, h, w, frame.data(), PixelFormat::gray8};
        Tracker tracker(params);
        using clock = std::chrono::steady_clock;
        double seconds = 0, cpu_seconds = 0;
        std::vector<double> ious, pious;
        Summary s;
        s.name = name;
        s.first_loss = n - 1;
        Rect init_box{gt[0][0], gt[0][1], gt[0][2], gt[0][3]};
        const bool with_poly = polys.size() >= size_t(n);
        bool lost_once = false;
        FILE* boxes_out = boxes_dir.empty() ? nullptr : std::fopen((boxes_dir + "/" + name + ".txt").c_str(), "w");
        if (speed100) {  // the speed target's case: a 100 x 100 box on the object's centre
            double cx = init_box.x + init_box.w / 2, cy = init_box.y + init_box.h / 2;
            init_box = {cx - 50, cy - 50, 100, 100};
        }
        for (int i = 0; i < n; ++i) {
            if (std::fread(frame.data(), 1, frame.size(), f) != frame.size()) {
                std::fprintf(stderr, "%s: short raw file\n", name.c_str());
                return 1;
            }
            auto t0 = clock::now();
            const double c0 = process_cpu_seconds();
            if (i == 0) {
                auto r = tracker.init(view, init_box);
                if (!r.ok()) {
                    std::fprintf(stderr, "%s: %s\n", name.c_str(), r.first_error().message.c_str());
                    return 1;
                }
                continue;
            }
            auto r = tracker.update(view);
            seconds += std::chrono::duration<double>(clock::now() - t0).count();
            cpu_seconds += process_cpu_seconds() - c0;
            if (!r.ok()) {
                std::fprintf(stderr, "%s: %s\n", name.c_str(), r.first_error().message.c_str());
                return 1;
            }
            const Rect box = r->box;
            if (boxes_out)
                std::fprintf(boxes_out, "%.2f,%.2f,%.2f,%.2f,%d,%.2f,%.3f,%.2f\n", box.x, box.y, box.w, box.h, int(r->lost), r->psr,
                             r->peak_ratio, r->angle * 57.29578);
            s.lost_reported += r->lost;
            Rect truth{gt[i][0], gt[i][1], gt[i][2], gt[i][3]};
            double iou = box_iou(box, truth);
            if (iou < 0.1 && !lost_once) {
                lost_once = true;
                s.first_loss = int(ious.size());
            }
            ious.push_back(iou);
            if (with_poly)
                pious.push_back(polygon_iou(move_polygon(polys[0], r->since_start), polys[i]));
        }
        std::fclose(f);
        if (boxes_out) std::fclose(boxes_out);
        s.frames = n;
        s.fps = (n - 1) / seconds;
        s.cpu_fps = (n - 1) / std::max(cpu_seconds, 1e-9);
        for (double v : ious) s.mean_iou += v;
        s.mean_iou /= double(ious.size());
        s.auc = success_auc(ious);
        if (with_poly) {
            s.poly_iou = 0;
            for (double v : pious) s.poly_iou += v;
            s.poly_iou /= double(pious.size());
        }
        std::printf("%-20s %6d %9.1f %9.1f %8.3f %8.3f %11d %9.3f %6d\n", name.c_str(), n, s.fps, s.cpu_fps,
                    s.mean_iou, s.auc, s.first_loss, s.poly_iou, s.lost_reported);
        std::fflush(stdout);
        all.push_back(s);
    }
    Summary avg;
    avg.poly_iou = 0;
    for (const Summary& s : all) {
        avg.fps += s.fps / all.size();
        avg.cpu_fps += s.cpu_fps / all.size();
        avg.mean_iou += s.mean_iou / all.size();
        avg.auc += s.auc / all.size();
        avg.poly_iou += s.poly_iou / all.size();
        avg.first_loss += s.first_loss;
    }
    std::printf("%-20s %6s %9.1f %9.1f %8.3f %8.3f %11.1f %9.3f\n", "average", "", avg.fps, avg.cpu_fps, avg.mean_iou, avg.auc,
                double(avg.first_loss) / all.size(), avg.poly_iou);
    for (const Summary& s : all)
        std::printf("RESULT {\"tracker\": \"%s\", \"sequence\": \"%s\", \"frames\": %d, \"fps\": %.2f, \"cpu_fps\": %.2f, \"mean_iou\": %.4f, \"auc\": %.4f, "
                    "\"first_loss\": %d, \"poly_iou\": %.4f}\n",
                    kName[speed100], s.name.c_str(), s.frames, s.fps, s.cpu_fps, s.mean_iou, s.auc, s.first_loss, s.poly_iou);
    return 0;
}
