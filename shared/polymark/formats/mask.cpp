#include "polymark/formats/mask.hpp"

#include <algorithm>
#include <cmath>

namespace pm::formats {

// COCO's counts string: each run is a signed number in 5-bit groups, low group first, each
// character '0' + group, bit 0x20 set while more groups follow, bit 0x10 of the last group the
// sign; from the third run on, the number is the difference to the run two before.
std::optional<std::vector<uint64_t>> decode_rle_string(std::string_view counts) {
    std::vector<uint64_t> runs;
    std::vector<long long> values;
    size_t p = 0;
    while (p < counts.size()) {
        long long x = 0;
        int shift = 0;
        bool more = true;
        while (more) {
            if (p >= counts.size()) return std::nullopt;
            int c = (unsigned char)counts[p] - 48;
            if (c < 0 || c > 63) return std::nullopt;
            ++p;
            if (shift > 55) return std::nullopt;  // no run needs more than 12 groups
            x |= (long long)(c & 0x1f) << shift;
            more = (c & 0x20) != 0;
            shift += 5;
            if (!more && (c & 0x10)) x -= (long long)1 << shift;  // sign-extend the last group
        }
        if (values.size() > 2) x += values[values.size() - 2];
        if (x < 0 || x > (long long)1 << 53) return std::nullopt;
        values.push_back(x);
        runs.push_back((uint64_t)x);
    }
    return runs;
}

std::string encode_rle_string(const std::vector<uint64_t>& runs) {
    std::string out;
    for (size_t i = 0; i < runs.size(); ++i) {
        long long x = (long long)runs[i];
        if (i > 2) x -= (long long)runs[i - 2];
        bool more = true;
        while (more) {
            int c = int(x & 0x1f);
            x >>= 5;  // arithmetic: a negative difference keeps its sign
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more) c |= 0x20;
            out += char(c + 48);
        }
    }
    return out;
}

std::vector<uint8_t> mask_from_runs(const std::vector<uint64_t>& runs, uint32_t h, uint32_t w) {
    std::vector<uint8_t> mask((size_t)h * w, 0);
    size_t at = 0;
    uint8_t value = 0;
    for (uint64_t r : runs) {
        size_t end = std::min(mask.size(), at + (size_t)r);
        if (value) std::fill(mask.begin() + (long)at, mask.begin() + (long)end, 1);
        at = end;
        value ^= 1;
    }
    return mask;
}

std::vector<uint64_t> runs_from_mask(const std::vector<uint8_t>& mask) {
    std::vector<uint64_t> runs;
    uint8_t value = 0;
    uint64_t n = 0;
    for (uint8_t m : mask) {
        uint8_t v = m ? 1 : 0;
        if (v != value) { runs.push_back(n); n = 0; value = v; }
        ++n;
    }
    runs.push_back(n);
    return runs;
}

namespace {

struct P { double x, y; };

double distance_to_segment(P p, P a, P b) {
    double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / len2, 0.0, 1.0) : 0.0;
    double ex = a.x + t * dx - p.x, ey = a.y + t * dy - p.y;
    return std::sqrt(ex * ex + ey * ey);
}

// Douglas-Peucker on the open chain ring[from..to] (indices mod n), marking kept vertices.
void simplify_chain(const std::vector<P>& ring, size_t from, size_t to, double tolerance, std::vector<char>& keep) {
    size_t n = ring.size();
    std::vector<std::pair<size_t, size_t>> stack{{from, to}};
    while (!stack.empty()) {
        auto [a, b] = stack.back();
        stack.pop_back();
        size_t span = (b + n - a) % n;
        if (span < 2) continue;
        double worst = -1;
        size_t worst_at = a;
        for (size_t k = 1; k < span; ++k) {
            size_t i = (a + k) % n;
            double d = distance_to_segment(ring[i], ring[a % n], ring[b % n]);
            if (d > worst) { worst = d; worst_at = i; }
        }
        if (worst > tolerance) {
            keep[worst_at] = 1;
            stack.push_back({a, worst_at});
            stack.push_back({worst_at, b});
        }
    }
}

std::vector<P> simplify_ring(const std::vector<P>& ring, double tolerance) {
    size_t n = ring.size();
    if (tolerance <= 0 || n <= 4) return ring;
    size_t far = 0;
    double best = -1;
    for (size_t i = 1; i < n; ++i) {
        double d = std::hypot(ring[i].x - ring[0].x, ring[i].y - ring[0].y);
        if (d > best) { best = d; far = i; }
    }
    std::vector<char> keep(n, 0);
    keep[0] = keep[far] = 1;
    simplify_chain(ring, 0, far, tolerance, keep);
    simplify_chain(ring, far, 0, tolerance, keep);
    std::vector<P> out;
    for (size_t i = 0; i < n; ++i)
        if (keep[i]) out.push_back(ring[i]);
    return out.size() >= 3 ? out : ring;
}

}  // namespace

TracedMask trace_mask(const std::vector<uint8_t>& mask, uint32_t h, uint32_t w, double tolerance) {
    TracedMask out;
    if ((size_t)h * w != mask.size() || h == 0 || w == 0) return out;
    // The foreground's bounding box: the edge grid covers only it.
    uint32_t x0 = w, x1 = 0, y0 = h, y1 = 0;
    for (uint32_t x = 0; x < w; ++x)
        for (uint32_t y = 0; y < h; ++y)
            if (mask[(size_t)x * h + y]) { x0 = std::min(x0, x); x1 = std::max(x1, x); y0 = std::min(y0, y); y1 = std::max(y1, y); }
    if (x0 > x1) return out;
    uint32_t bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    auto fg = [&](long long x, long long y) {
        return x >= 0 && y >= 0 && x < bw && y < bh && mask[(size_t)(x + x0) * h + (size_t)(y + y0)] != 0;
    };
    // Outgoing boundary edges per grid vertex (bit d: direction d = right, down, left, up), each
    // with the foreground on its right: outer boundaries run clockwise on screen, holes the other way.
    size_t gw = (size_t)bw + 1;
    std::vector<uint8_t> out_edges(gw * ((size_t)bh + 1), 0);
    auto vertex = [&](size_t x, size_t y) { return y * gw + x; };
    for (uint32_t x = 0; x < bw; ++x)
        for (uint32_t y = 0; y < bh; ++y) {
            if (!fg(x, y)) continue;
            if (!fg(x, (long long)y - 1)) out_edges[vertex(x, y)] |= 1;
            if (!fg(x + 1, y)) out_edges[vertex(x + 1, y)] |= 2;
            if (!fg(x, y + 1)) out_edges[vertex(x + 1, y + 1)] |= 4;
            if (!fg((long long)x - 1, y)) out_edges[vertex(x, y + 1)] |= 8;
        }
    const int dx[4] = {1, 0, -1, 0}, dy[4] = {0, 1, 0, -1};
    for (size_t start = 0; start < out_edges.size(); ++start) {
        while (out_edges[start]) {
            size_t vx = start % gw, vy = start / gw;
            int dir = 0;
            while (!(out_edges[start] & (1 << dir))) ++dir;
            std::vector<P> ring;
            int first_dir = dir;
            size_t v = start;
            while (true) {
                out_edges[v] &= uint8_t(~(1 << dir));
                vx += dx[dir];
                vy += dy[dir];
                v = vertex(vx, vy);
                if (v == start) {
                    if (dir != first_dir) ring.push_back({double(vx) + x0, double(vy) + y0});
                    break;
                }
                // Right turn first: regions touching only at a corner stay apart (4-connectivity).
                int next = -1;
                for (int turn : {1, 0, 3})
                    if (out_edges[v] & (1 << ((dir + turn) % 4))) { next = (dir + turn) % 4; break; }
                if (next < 0) break;  // cannot happen: every vertex has as many edges out as in
                if (next != dir) ring.push_back({double(vx) + x0, double(vy) + y0});
                dir = next;
            }
            if (ring.size() < 3) continue;
            double area2 = 0;
            for (size_t i = 0; i < ring.size(); ++i) {
                const P& a = ring[i];
                const P& b = ring[(i + 1) % ring.size()];
                area2 += a.x * b.y - b.x * a.y;
            }
            if (area2 < 0) { ++out.holes; continue; }
            std::vector<P> simple = simplify_ring(ring, tolerance);
            std::vector<double>& flat = out.polygons.emplace_back();
            flat.reserve(simple.size() * 2);
            for (const P& p : simple) { flat.push_back(p.x); flat.push_back(p.y); }
        }
    }
    return out;
}

std::vector<uint8_t> rasterize_polygon(const std::vector<double>& polygon, uint32_t h, uint32_t w) {
    std::vector<uint8_t> mask((size_t)h * w, 0);
    size_t n = polygon.size() / 2;
    for (uint32_t y = 0; y < h; ++y) {
        double cy = y + 0.5;
        for (uint32_t x = 0; x < w; ++x) {
            double cx = x + 0.5;
            bool inside = false;
            for (size_t i = 0, j = n - 1; i < n; j = i++) {
                double xi = polygon[2 * i], yi = polygon[2 * i + 1], xj = polygon[2 * j], yj = polygon[2 * j + 1];
                if ((yi > cy) != (yj > cy) && cx < (xj - xi) * (cy - yi) / (yj - yi) + xi) inside = !inside;
            }
            mask[(size_t)x * h + y] = inside;
        }
    }
    return mask;
}

}  // namespace pm::formats
