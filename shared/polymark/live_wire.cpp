#include "polymark/live_wire.hpp"

#include <algorithm>
#include <cmath>

namespace pm {

namespace {

constexpr int kBins = 64;               // edge direction bins over a full turn
constexpr int kNoDirection = kBins;     // too flat to have a direction
constexpr uint32_t kBuckets = 256;      // more than the largest link cost
// The features' weights in cost units. Zero crossings and direction are blind to contrast and
// follow weak borders; magnitude keeps the path off texture. Near Mortensen & Barrett's weights;
// picked among five on the assist bench's images and the unit tests' textured disc.
constexpr int kMagnitudeCost = 25;
constexpr int kZeroCrossingCost = 35;
constexpr int kDirectionCost = 40;
constexpr double kPi = 3.14159265358979323846;

// Links 0..7 clockwise on screen from "right"; the pixel reached is p + (dx, dy).
constexpr int kDx[8] = {1, 1, 0, -1, -1, -1, 0, 1};
constexpr int kDy[8] = {0, 1, 1, 1, 0, -1, -1, -1};

bool bad(Vec2 p) { return !std::isfinite(p.x) || !std::isfinite(p.y); }

// The pixel loops are functions of one row each: in a browser a long loop inside one call runs
// in the baseline compiler's code to its end, while a function called per row is soon optimised
// (the first image's setup took about twice as long as later ones without this).
#define PM_ROW __attribute__((noinline))

PM_ROW void pad_row(const uint8_t* row, int w, int channels, int c, uint8_t* p) {
    for (int x = 0; x < w; ++x) p[x + 2] = row[size_t(x) * channels + c];
    p[0] = p[1] = p[2];
    p[w + 2] = p[w + 3] = p[w + 1];
}

PM_ROW void binomial_row(const uint8_t* p, int n, uint16_t* r) {
    for (int x = 0; x < n; ++x) r[x] = uint16_t(p[x] + 2 * p[x + 1] + p[x + 2]);
}

PM_ROW void binomial_column(const uint16_t* a, const uint16_t* b, const uint16_t* d, int n, uint16_t* o) {
    for (int x = 0; x < n; ++x) o[x] = uint16_t(a[x] + 2 * b[x] + d[x]);
}

// Sobel of one smoothed channel's row (up/mid/down point at pixel 0, with a border of 1): keeps
// the channel with the larger magnitude; adds the channel's Laplacian.
PM_ROW void sobel_row(const uint16_t* up, const uint16_t* mid, const uint16_t* down, int w, int16_t* ox, int16_t* oy, uint32_t* ob,
                      int32_t* ol) {
    for (int x = 0; x < w; ++x) {
        const int32_t sx = (up[x + 1] + 2 * mid[x + 1] + down[x + 1]) - (up[x - 1] + 2 * mid[x - 1] + down[x - 1]);
        const int32_t sy = (down[x - 1] + 2 * down[x] + down[x + 1]) - (up[x - 1] + 2 * up[x] + up[x + 1]);
        const uint32_t m2 = uint32_t(sx * sx + sy * sy);
        if (m2 >= ob[x]) ob[x] = m2, ox[x] = int16_t(sx), oy[x] = int16_t(sy);
        ol[x] += 4 * mid[x] - mid[x - 1] - mid[x + 1] - up[x] - down[x];
    }
}

PM_ROW float magnitude_row(const uint32_t* m2, int w, float* out) {
    float top = 0;
    for (int x = 0; x < w; ++x) top = std::max(top, out[x] = std::sqrt(float(m2[x])));
    return top;
}

PM_ROW void histogram_row(const float* m, int w, float scale, uint32_t* histogram) {
    for (int x = 0; x < w; ++x) ++histogram[size_t(m[x] * scale)];
}

// Channel c of the image, edges replicated by 2 pixels, smoothed by a 3x3 binomial (times 16)
// into `out`, which keeps a border of 1: out is (w + 2) x (h + 2), out(x + 1, y + 1) is pixel (x, y).
void smooth_channel(const FrameView& im, int c, int channels, std::vector<uint8_t>& padded, std::vector<uint16_t>& rows,
                    std::vector<uint16_t>& out) {
    const int w = im.width, h = im.height, pw = w + 4, ph = h + 4;
    padded.resize(size_t(pw) * ph);
    for (int y = 0; y < ph; ++y) pad_row(im.pixels + size_t(std::clamp(y - 2, 0, h - 1)) * im.stride, w, channels, c, padded.data() + size_t(y) * pw);
    const int ow = w + 2, oh = h + 2;
    rows.resize(size_t(ow) * ph);
    for (int y = 0; y < ph; ++y) binomial_row(padded.data() + size_t(y) * pw, ow, rows.data() + size_t(y) * ow);
    out.resize(size_t(ow) * oh);
    for (int y = 0; y < oh; ++y) {
        const uint16_t* a = rows.data() + size_t(y) * ow;
        binomial_column(a, a + ow, a + 2 * ow, ow, out.data() + size_t(y) * ow);
    }
}

// atan2(y, x) in [0, 2 pi) to within about 0.005 rad: plenty for 64 bins, far cheaper than atan2.
float fast_angle(float y, float x) {
    const float ax = std::abs(x), ay = std::abs(y);
    const float lo = std::min(ax, ay), hi = std::max(ax, ay);
    const float t = hi > 0 ? lo / hi : 0, t2 = t * t;
    float a = ((-0.0464964749f * t2 + 0.15931422f) * t2 - 0.327622764f) * t2 * t + t;
    if (ay > ax) a = 1.57079637f - a;
    if (x < 0) a = 3.14159274f - a;
    if (y < 0) a = 6.28318548f - a;
    return a >= 6.28318548f ? 0.0f : a;
}

}  // namespace

// Static cost and edge direction of row y (a zero crossing of the Laplacian: its sign changes
// towards a neighbour whose value is larger).
PM_ROW void LiveWire::cost_row(const int16_t* gx, const int16_t* gy, const int32_t* lap, int y, float flat, float inverse_limit) {
    const int w = width_, h = height_;
    const float to_bin = float(kBins / (2 * kPi));
    for (int x = 0; x < w; ++x) {
        const size_t i = size_t(y) * w + x;
        const float g = magnitude_[i];
        const float fg = 1.0f - std::min(g * inverse_limit, 1.0f);
        const int32_t L = lap[i];
        bool crossing = false;
        if (L != 0) {
            const int32_t nb[4] = {x + 1 < w ? lap[i + 1] : L, y + 1 < h ? lap[i + w] : L, x > 0 ? lap[i - 1] : L, y > 0 ? lap[i - w] : L};
            for (int32_t q : nb) crossing |= (q > 0) != (L > 0) && q != 0 && std::abs(q) >= std::abs(L);
        }
        cost_[i] = uint8_t(int(kMagnitudeCost * fg + 0.5f) + (crossing ? 0 : kZeroCrossingCost));
        // The edge runs perpendicular to the gradient: D' = (gy, -gx).
        direction_[i] = g < flat ? uint8_t(kNoDirection) : uint8_t(int(fast_angle(-float(gx[i]), float(gy[i])) * to_bin + 0.5f) % kBins);
    }
}

Expected<LiveWire> LiveWire::create(const FrameView& im) {
    const int channels = im.format == PixelFormat::rgba8 ? 4 : 1;
    if (im.width <= 0 || im.height <= 0 || !im.pixels || im.stride < im.width * channels)
        return Error{"empty_image", "", "the image has no pixels (or its row stride is shorter than a row)"};
    if (double(im.width) * im.height > double(1 << 28))
        return Error{"too_large", "", "the image is too large for the assisted tools (over 268 megapixels)"};
    LiveWire lw;
    const int w = im.width, h = im.height;
    const size_t n = size_t(w) * h;
    lw.width_ = w;
    lw.height_ = h;

    // [SECTION] Colour gradient: Sobel on each smoothed channel, the strongest channel wins; the
    // Laplacian of the channels' sum.
    std::vector<int16_t> gx(n), gy(n);
    std::vector<int32_t> lap(n, 0);
    std::vector<uint32_t> best(n, 0);
    {
        std::vector<uint8_t> padded;
        std::vector<uint16_t> rows, sm;
        const int colours = channels == 4 ? 3 : 1, ow = w + 2;
        for (int c = 0; c < colours; ++c) {
            smooth_channel(im, c, channels, padded, rows, sm);
            for (int y = 0; y < h; ++y) {
                const uint16_t* up = sm.data() + size_t(y) * ow + 1;
                const size_t row = size_t(y) * w;
                sobel_row(up, up + ow, up + 2 * ow, w, gx.data() + row, gy.data() + row, best.data() + row, lap.data() + row);
            }
        }
    }

    // [SECTION] Magnitude, its limit (a high percentile: edges at or above it cost nothing).
    lw.magnitude_.resize(n);
    float top = 0;
    for (int y = 0; y < h; ++y) top = std::max(top, magnitude_row(best.data() + size_t(y) * w, w, lw.magnitude_.data() + size_t(y) * w));
    best = {};
    {
        std::vector<uint32_t> histogram(1024, 0);
        const float scale = top > 0 ? 1023.0f / top : 0;
        for (int y = 0; y < h; ++y) histogram_row(lw.magnitude_.data() + size_t(y) * w, w, scale, histogram.data());
        size_t above = 0, k = 1023;
        while (k > 0 && (above += histogram[k]) < n / 200) --k;
        lw.edge_limit_ = std::max(top > 0 ? float(k) / scale : 1.0f, 64.0f);  // 64: a 1-level step
    }

    // [SECTION] Static cost per pixel and the edge direction bin.
    lw.cost_.resize(n);
    lw.direction_.resize(n);
    const float flat = 0.02f * lw.edge_limit_, inverse_limit = 1.0f / lw.edge_limit_;
    for (int y = 0; y < h; ++y) lw.cost_row(gx.data(), gy.data(), lap.data(), y, flat, inverse_limit);

    // [SECTION] Gradient direction cost per (bin p, bin q, link): small when the link runs along
    // both pixels' edge directions (M&B's f_D), half the weight where a pixel is flat.
    lw.link_cost_.assign(size_t(kBins + 1) * (kBins + 1) * 8, 0);
    for (int bp = 0; bp <= kBins; ++bp)
        for (int bq = 0; bq <= kBins; ++bq)
            for (int k = 0; k < 8; ++k) {
                double f;
                if (bp == kNoDirection || bq == kNoDirection) {
                    f = 0.5;
                } else {
                    const double ap = 2 * kPi * bp / kBins, aq = 2 * kPi * bq / kBins;
                    const double len = std::hypot(kDx[k], kDy[k]);
                    double lx = kDx[k] / len, ly = kDy[k] / len;
                    const double dpx = std::cos(ap), dpy = std::sin(ap);
                    if (dpx * lx + dpy * ly < 0) lx = -lx, ly = -ly;
                    const double dp = std::clamp(dpx * lx + dpy * ly, -1.0, 1.0);
                    const double dq = std::clamp(lx * std::cos(aq) + ly * std::sin(aq), -1.0, 1.0);
                    f = 2.0 / (3.0 * kPi) * (std::acos(dp) + std::acos(dq));
                }
                lw.link_cost_[(size_t(bp) * (kBins + 1) + bq) * 8 + k] = uint8_t(std::lround(kDirectionCost * f));
            }

    lw.mark_.assign(n, 0);
    lw.distance_.assign(n, 0);
    lw.parent_link_.assign(n, 0);
    lw.buckets_.resize(kBuckets);
    return lw;
}

Expected<bool> LiveWire::set_anchor(Vec2 p) {
    if (bad(p)) return Error{"not_a_number", "", "the anchor's coordinates are not finite numbers"};
    if (p.x < 0 || p.y < 0 || p.x >= width_ || p.y >= height_)
        return Error{"outside_image", "", "the anchor lies outside the image"};
    ++generation_;
    if (generation_ >= 0x7fffffffu) {  // wrapped: forget every old mark once
        std::fill(mark_.begin(), mark_.end(), 0u);
        generation_ = 1;
    }
    for (auto& b : buckets_) b.clear();
    anchor_ = int32_t(int(p.y) * width_ + int(p.x));
    anchor_point_ = p;
    distance_[anchor_] = 0;
    mark_[anchor_] = 2 * generation_;
    buckets_[0].push_back(anchor_);
    queued_ = 1;
    current_ = 0;
    settled_ = 0;
    return true;
}

int32_t LiveWire::expand_until(int32_t target, size_t budget) {
    const uint32_t reached = 2 * generation_, done = reached + 1;
    const int w = width_, h = height_;
    const int32_t offset[8] = {1, 1 + w, w, w - 1, -1, -1 - w, -w, 1 - w};
    const bool aimed = target >= 0;  // no target: expand on to the budget
    const int tx = aimed ? target % w : 0, ty = aimed ? target / w : 0;
    int32_t nearest = anchor_;
    int64_t nearest_d2 = INT64_MAX;
    size_t spent = 0;
    while ((!aimed || mark_[target] != done) && queued_ > 0 && spent < budget) {
        std::vector<int32_t>& bucket = buckets_[current_ % kBuckets];
        if (bucket.empty()) {
            ++current_;
            continue;
        }
        const int32_t i = bucket.back();
        bucket.pop_back();
        --queued_;
        if (mark_[i] == done || distance_[i] != current_) continue;  // stale entry
        mark_[i] = done;
        ++settled_;
        ++spent;
        const int x = i % w, y = i / w;
        const int64_t d2 = int64_t(x - tx) * (x - tx) + int64_t(y - ty) * (y - ty);
        if (d2 < nearest_d2) nearest_d2 = d2, nearest = i;
        const uint8_t* from_bin = link_cost_.data() + size_t(direction_[i]) * (kBins + 1) * 8;
        for (int k = 0; k < 8; ++k) {
            const int nx = x + kDx[k], ny = y + kDy[k];
            if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
            const int32_t j = i + offset[k];
            if (mark_[j] == done) continue;
            // Diagonal links are longer: the pixel's cost times sqrt(2) (as 181/128).
            const uint32_t step = (k & 1 ? (uint32_t(1 + cost_[j]) * 181 + 64) >> 7 : uint32_t(1 + cost_[j])) + from_bin[direction_[j] * 8 + k];
            const uint32_t d = current_ + step;
            if (mark_[j] != reached || d < distance_[j]) {
                mark_[j] = reached;
                distance_[j] = d;
                parent_link_[j] = uint8_t(k);
                buckets_[d % kBuckets].push_back(j);
                ++queued_;
            }
        }
    }
    return aimed && mark_[target] == done ? target : nearest;
}

Expected<Points> LiveWire::path_to(Vec2 p, size_t budget) {
    if (anchor_ < 0) return Error{"no_anchor", "", "no anchor has been set for this image"};
    if (bad(p)) return Error{"not_a_number", "", "the point's coordinates are not finite numbers"};
    if (p.x < 0 || p.y < 0 || p.x >= width_ || p.y >= height_)
        return Error{"outside_image", "", "the point lies outside the image"};
    const int32_t target = int32_t(int(p.y) * width_ + int(p.x));
    const int32_t reached = expand_until(target, budget);
    complete_ = reached == target;
    // Back from the pixel reached: only the pixels where the path turns.
    std::vector<int32_t> turns;
    int32_t i = reached;
    int last = -1;
    while (i != anchor_) {
        const int k = parent_link_[i];
        if (k != last) turns.push_back(i);
        last = k;
        i -= kDy[k] * width_ + kDx[k];
    }
    Points out{anchor_point_.x, anchor_point_.y};
    for (size_t t = turns.size(); t-- > (complete_ ? 1 : 0);) {
        out.push_back(turns[t] % width_ + 0.5);
        out.push_back(turns[t] / width_ + 0.5);
    }
    out.push_back(p.x);
    out.push_back(p.y);
    return out;
}

bool LiveWire::expand(size_t pixels) {
    if (anchor_ < 0 || queued_ == 0) return false;
    expand_until(-1, pixels);
    return queued_ > 0;
}

Expected<SnapResult> LiveWire::snap(Vec2 p, double radius) const {
    if (bad(p) || !std::isfinite(radius)) return Error{"not_a_number", "", "the point or the radius is not a finite number"};
    if (p.x < 0 || p.y < 0 || p.x >= width_ || p.y >= height_)
        return Error{"outside_image", "", "the point lies outside the image"};
    if (radius < 0 || radius > 256) return Error{"bad_radius", "", "the snap radius must be between 0 and 256 pixels"};
    const int cx = int(p.x), cy = int(p.y), r = int(std::ceil(radius));
    auto inside = [&](int x, int y) { return std::hypot(x + 0.5 - p.x, y + 0.5 - p.y) <= radius + 0.5; };
    auto m = [&](int x, int y) { return double(magnitude_[size_t(std::clamp(y, 0, height_ - 1)) * width_ + std::clamp(x, 0, width_ - 1)]); };
    const int y0 = std::max(0, cy - r), y1 = std::min(height_ - 1, cy + r), x0 = std::max(0, cx - r), x1 = std::min(width_ - 1, cx + r);
    double strongest = 0;
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x)
            if (inside(x, y)) strongest = std::max(strongest, m(x, y));
    if (strongest < 0.4 * edge_limit_) return SnapResult{p, false};  // texture and noise are no edge
    // The nearest strong pixel (not the strongest far away: the labeler aimed near), then up the
    // magnitude across the edge to its ridge, then a parabola through the ridge for the sub-pixel
    // position, so that a step between two pixels snaps onto their shared border.
    int bx = cx, by = cy;
    double nearest = 1e300;
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) {
            if (!inside(x, y) || m(x, y) < 0.6 * strongest) continue;
            const double d = std::hypot(x + 0.5 - p.x, y + 0.5 - p.y);
            if (d < nearest) nearest = d, bx = x, by = y;
        }
    const uint8_t bin = direction_[size_t(by) * width_ + bx];
    const double edge_angle = 2 * kPi * bin / kBins;
    const bool along_x = bin == kNoDirection || std::abs(std::sin(edge_angle)) >= std::abs(std::cos(edge_angle));
    const int sx = along_x ? 1 : 0, sy = along_x ? 0 : 1;
    for (int k = 0; k < 3; ++k) {
        if (m(bx + sx, by + sy) > m(bx, by) && inside(bx + sx, by + sy)) bx += sx, by += sy;
        else if (m(bx - sx, by - sy) > m(bx, by) && inside(bx - sx, by - sy)) bx -= sx, by -= sy;
        else break;
    }
    Vec2 at{bx + 0.5, by + 0.5};
    const double a = m(bx - sx, by - sy), b = m(bx, by), c = m(bx + sx, by + sy);
    const double curvature = a - 2 * b + c;
    if (curvature < 0) {
        const double t = std::clamp(0.5 * (a - c) / curvature, -0.5, 0.5);
        at.x += t * sx, at.y += t * sy;
    }
    return SnapResult{at, true};
}

}  // namespace pm
