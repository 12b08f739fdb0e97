#include "polymark/mask_outline.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace pm {

size_t Mask::count() const {
    size_t n = 0;
    for (uint8_t b : bits) n += b ? 1 : 0;
    return n;
}

namespace {

// Labels the 4-connected regions of pixels equal to `value`; returns each region's size
// (label k has size sizes[k - 1]); labels 0 elsewhere.
std::vector<size_t> label_regions(const Mask& m, uint8_t value, std::vector<int32_t>& labels) {
    const int w = m.width, h = m.height;
    labels.assign(m.bits.size(), 0);
    std::vector<size_t> sizes;
    std::vector<int32_t> stack;
    for (size_t start = 0; start < m.bits.size(); ++start) {
        if ((m.bits[start] != 0) != (value != 0) || labels[start]) continue;
        const int32_t label = int32_t(sizes.size()) + 1;
        size_t size = 0;
        labels[start] = label;
        stack.push_back(int32_t(start));
        while (!stack.empty()) {
            const int32_t i = stack.back();
            stack.pop_back();
            ++size;
            const int x = i % w, y = i / w;
            const int32_t next[4] = {x > 0 ? i - 1 : -1, x + 1 < w ? i + 1 : -1, y > 0 ? i - w : -1, y + 1 < h ? i + w : -1};
            for (int32_t j : next)
                if (j >= 0 && !labels[j] && (m.bits[j] != 0) == (value != 0)) {
                    labels[j] = label;
                    stack.push_back(j);
                }
        }
        sizes.push_back(size);
    }
    return sizes;
}

double segment_distance2(double px, double py, double ax, double ay, double bx, double by) {
    const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
    t = std::clamp(t, 0.0, 1.0);
    const double ex = px - ax - t * dx, ey = py - ay - t * dy;
    return ex * ex + ey * ey;
}

// Douglas-Peucker run to the end once: each vertex gets the (squared) tolerance below which it
// is kept, capped by its parent's, so that DP at any tolerance keeps exactly the vertices whose
// value exceeds it. Split at vertex 0 and the vertex farthest from it (both always kept).
std::vector<double> significance(const Points& p) {
    const size_t n = vertex_count(p);
    std::vector<double> sig(n, 0);
    size_t far = 0;
    double best = -1;
    for (size_t i = 1; i < n; ++i) {
        const double dx = p[2 * i] - p[0], dy = p[2 * i + 1] - p[1];
        if (dx * dx + dy * dy > best) best = dx * dx + dy * dy, far = i;
    }
    const double always = std::numeric_limits<double>::infinity();
    sig[0] = sig[far] = always;
    struct Span { size_t a, b; double cap; };
    std::vector<Span> stack{{0, far, always}, {far, n, always}};  // index n is vertex 0 again
    while (!stack.empty()) {
        const Span s = stack.back();
        stack.pop_back();
        if (s.b - s.a < 2) continue;
        const size_t bi = s.b % n;
        double worst = -1;
        size_t at = s.a + 1;
        for (size_t i = s.a + 1; i < s.b; ++i) {
            const double d = segment_distance2(p[2 * i], p[2 * i + 1], p[2 * s.a], p[2 * s.a + 1], p[2 * bi], p[2 * bi + 1]);
            if (d > worst) worst = d, at = i;
        }
        const double v = std::min(worst, s.cap);
        sig[at] = v;
        stack.push_back({s.a, at, v});
        stack.push_back({at, s.b, v});
    }
    return sig;
}

}  // namespace

Mask region_at(const Mask& m, int x, int y) {
    Mask out(m.width, m.height);
    if (!m.at(x, y)) return out;
    const int w = m.width, h = m.height;
    std::vector<int32_t> stack{int32_t(y * w + x)};
    out.bits[size_t(y) * w + x] = 1;
    while (!stack.empty()) {
        const int32_t i = stack.back();
        stack.pop_back();
        const int px = i % w, py = i / w;
        const int32_t next[4] = {px > 0 ? i - 1 : -1, px + 1 < w ? i + 1 : -1, py > 0 ? i - w : -1, py + 1 < h ? i + w : -1};
        for (int32_t j : next)
            if (j >= 0 && m.bits[j] && !out.bits[j]) {
                out.bits[j] = 1;
                stack.push_back(j);
            }
    }
    return out;
}

Mask largest_region(const Mask& m) {
    std::vector<int32_t> labels;
    std::vector<size_t> sizes = label_regions(m, 1, labels);
    Mask out(m.width, m.height);
    if (sizes.empty()) return out;
    const int32_t best = int32_t(std::max_element(sizes.begin(), sizes.end()) - sizes.begin()) + 1;
    for (size_t i = 0; i < labels.size(); ++i) out.bits[i] = labels[i] == best;
    return out;
}

void despeckle(Mask& m, int passes) {
    const int w = m.width, h = m.height, pw = w + 2;
    std::vector<uint8_t> padded(size_t(pw) * (h + 2), 0);
    for (int pass = 0; pass < passes; ++pass) {
        for (int y = 0; y < h; ++y) std::copy_n(m.bits.data() + size_t(y) * w, w, padded.data() + size_t(y + 1) * pw + 1);
        for (int y = 0; y < h; ++y) {
            const uint8_t* up = padded.data() + size_t(y) * pw + 1;
            const uint8_t* mid = up + pw;
            const uint8_t* down = mid + pw;
            uint8_t* out = m.bits.data() + size_t(y) * w;
            for (int x = 0; x < w; ++x) {
                const int n = up[x - 1] + up[x] + up[x + 1] + mid[x - 1] + mid[x + 1] + down[x - 1] + down[x] + down[x + 1];
                out[x] = mid[x] ? n > 2 : n >= 6;
            }
        }
    }
}

Points trace_outer_outline(const Mask& m, int x, int y) { return trace_region_outline(region_at(m, x, y)); }

Points trace_region_outline(const Mask& region) {
    size_t first = 0;
    while (first < region.bits.size() && !region.bits[first]) ++first;
    if (first == region.bits.size()) return {};
    const int x0 = int(first % region.width), y0 = int(first / region.width);
    static const int kDx[4] = {1, 0, -1, 0}, kDy[4] = {0, 1, 0, -1};  // right, down, left, up
    // The region stays on the right of the walk; corners touching diagonally do not connect.
    Points out{double(x0), double(y0)};
    int vx = x0, vy = y0, d = 0;
    for (;;) {
        vx += kDx[d], vy += kDy[d];
        if (vx == x0 && vy == y0) break;
        const int nx = -kDy[d], ny = kDx[d];
        const bool right = region.at((2 * vx + kDx[d] + nx - 1) / 2, (2 * vy + kDy[d] + ny - 1) / 2);
        const bool left = region.at((2 * vx + kDx[d] - nx - 1) / 2, (2 * vy + kDy[d] - ny - 1) / 2);
        const int nd = right ? (left ? (d + 3) % 4 : d) : (d + 1) % 4;
        if (nd != d) {
            out.push_back(vx), out.push_back(vy);
            d = nd;
        }
    }
    return out;
}

Points simplify_closed(const Points& polygon, double epsilon, size_t max_vertices) {
    max_vertices = std::max<size_t>(max_vertices, 3);
    const size_t n = vertex_count(polygon);
    if (n <= 3) return polygon;
    const std::vector<double> sig = significance(polygon);
    size_t wanted = 0;
    for (double v : sig) wanted += v > epsilon * epsilon ? 1 : 0;
    wanted = std::clamp<size_t>(wanted, 3, max_vertices);
    // The `wanted` most significant vertices, in their order along the outline.
    std::vector<double> sorted = sig;
    std::nth_element(sorted.begin(), sorted.begin() + (wanted - 1), sorted.end(), std::greater<double>());
    const double threshold = sorted[wanted - 1];
    size_t above = 0;
    for (double v : sig) above += v > threshold ? 1 : 0;
    size_t ties = wanted - above;
    Points out;
    for (size_t i = 0; i < n; ++i)
        if (sig[i] > threshold || (sig[i] == threshold && ties > 0 && ties--)) out.push_back(polygon[2 * i]), out.push_back(polygon[2 * i + 1]);
    return out;
}

}  // namespace pm
