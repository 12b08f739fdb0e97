#include "polymark/box_segment.hpp"

#include "polymark/mask_outline.hpp"
#include "polymark/max_flow.hpp"

#include <algorithm>
#include <cmath>

namespace pm {

namespace {

constexpr int kComponents = 5;
constexpr double kSmoothness = 50;   // GrabCut's gamma
constexpr float kCertain = 1e6f;     // a terminal link that is never cut
constexpr double kPi = 3.14159265358979323846;
using Gaussian = BoxSegmenter::Gaussian;

struct Moments {
    double n = 0;
    std::array<double, 3> sum{};
    std::array<double, 9> products{};
    void add(const std::array<float, 3>& z) {
        n += 1;
        for (int a = 0; a < 3; ++a) {
            sum[a] += z[a];
            for (int b = 0; b < 3; ++b) products[a * 3 + b] += double(z[a]) * z[b];
        }
    }
};

Gaussian fit(const Moments& m, double total) {
    Gaussian g;
    if (m.n < 1) return g;
    g.weight = m.n / total;
    for (int a = 0; a < 3; ++a) g.mean[a] = m.sum[a] / m.n;
    double c[9];
    for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) c[a * 3 + b] = m.products[a * 3 + b] / m.n - g.mean[a] * g.mean[b] + (a == b ? 0.01 + 4.0 : 0.0);
    // 4 grey levels squared on the diagonal: a flat patch (no noise) still has a usable density.
    const double det = c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6]);
    const double inv_det = 1.0 / det;
    g.inverse = {(c[4] * c[8] - c[5] * c[7]) * inv_det, (c[2] * c[7] - c[1] * c[8]) * inv_det, (c[1] * c[5] - c[2] * c[4]) * inv_det,
                 (c[5] * c[6] - c[3] * c[8]) * inv_det, (c[0] * c[8] - c[2] * c[6]) * inv_det, (c[2] * c[3] - c[0] * c[5]) * inv_det,
                 (c[3] * c[7] - c[4] * c[6]) * inv_det, (c[1] * c[6] - c[0] * c[7]) * inv_det, (c[0] * c[4] - c[1] * c[3]) * inv_det};
    g.log_norm = std::log(g.weight) - 0.5 * std::log(det) - 1.5 * std::log(2 * kPi);
    return g;
}

double log_density(const Gaussian& g, const std::array<float, 3>& z) {
    const double d0 = z[0] - g.mean[0], d1 = z[1] - g.mean[1], d2 = z[2] - g.mean[2];
    const double* q = g.inverse.data();
    const double m = d0 * (q[0] * d0 + q[1] * d1 + q[2] * d2) + d1 * (q[3] * d0 + q[4] * d1 + q[5] * d2) + d2 * (q[6] * d0 + q[7] * d1 + q[8] * d2);
    return g.log_norm - 0.5 * m;
}

int best_component(const std::vector<Gaussian>& model, const std::array<float, 3>& z) {
    int best = 0;
    double best_value = -1e300;
    for (int k = 0; k < int(model.size()); ++k) {
        if (model[k].weight <= 0) continue;
        const double v = log_density(model[k], z);
        if (v > best_value) best_value = v, best = k;
    }
    return best;
}

// -log of the mixture's density at z.
double cost(const std::vector<Gaussian>& model, const std::array<float, 3>& z) {
    double top = -1e300;
    double values[kComponents];
    for (int k = 0; k < kComponents; ++k) {
        values[k] = model[k].weight > 0 ? log_density(model[k], z) : -1e300;
        top = std::max(top, values[k]);
    }
    double sum = 0;
    for (int k = 0; k < kComponents; ++k)
        if (values[k] > -1e299) sum += std::exp(values[k] - top);
    return -(top + std::log(sum));
}

// k-means (a few rounds from luminance quantiles) of the samples, then one Gaussian per cluster.
std::vector<Gaussian> initial_model(const std::vector<std::array<float, 3>>& samples) {
    std::vector<Gaussian> model(kComponents);
    if (samples.empty()) return model;
    std::vector<size_t> order(samples.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto luma = [&](size_t i) { return samples[i][0] + samples[i][1] + samples[i][2]; };
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return luma(a) < luma(b); });
    std::array<std::array<double, 3>, kComponents> centre;
    for (int k = 0; k < kComponents; ++k) {
        const auto& z = samples[order[std::min(order.size() - 1, size_t((k + 0.5) / kComponents * order.size()))]];
        centre[k] = {z[0], z[1], z[2]};
    }
    std::vector<int> cluster(samples.size(), 0);
    for (int round = 0; round < 6; ++round) {
        std::array<std::array<double, 4>, kComponents> acc{};
        for (size_t i = 0; i < samples.size(); ++i) {
            double best = 1e300;
            for (int k = 0; k < kComponents; ++k) {
                const double d = (samples[i][0] - centre[k][0]) * (samples[i][0] - centre[k][0]) + (samples[i][1] - centre[k][1]) * (samples[i][1] - centre[k][1]) +
                                 (samples[i][2] - centre[k][2]) * (samples[i][2] - centre[k][2]);
                if (d < best) best = d, cluster[i] = k;
            }
            auto& a = acc[cluster[i]];
            a[0] += samples[i][0], a[1] += samples[i][1], a[2] += samples[i][2], a[3] += 1;
        }
        for (int k = 0; k < kComponents; ++k)
            if (acc[k][3] > 0) centre[k] = {acc[k][0] / acc[k][3], acc[k][1] / acc[k][3], acc[k][2] / acc[k][3]};
    }
    std::array<Moments, kComponents> moments;
    for (size_t i = 0; i < samples.size(); ++i) moments[cluster[i]].add(samples[i]);
    for (int k = 0; k < kComponents; ++k) model[k] = fit(moments[k], double(samples.size()));
    return model;
}

}  // namespace

Expected<BoxSegmenter> BoxSegmenter::start(const FrameView& im, double x1, double y1, double x2, double y2, const BoxSegmentOptions& options) {
    const int channels = im.format == PixelFormat::rgba8 ? 4 : 1;
    if (im.width <= 0 || im.height <= 0 || !im.pixels || im.stride < im.width * channels)
        return Error{"empty_image", "", "the image has no pixels (or its row stride is shorter than a row)"};
    if (!std::isfinite(x1) || !std::isfinite(y1) || !std::isfinite(x2) || !std::isfinite(y2))
        return Error{"not_a_number", "", "the box's corners are not finite numbers"};
    if (options.max_vertices < 3) return Error{"bad_vertex_budget", "", "a polygon needs a budget of at least 3 vertices"};
    if (options.iterations < 1 || options.iterations > 50) return Error{"bad_iterations", "", "iterations must be between 1 and 50"};
    if (x1 > x2) std::swap(x1, x2);
    if (y1 > y2) std::swap(y1, y2);
    if (x2 - x1 < 2 || y2 - y1 < 2) return Error{"empty_box", "", "the box is less than 2 pixels wide or high"};
    x1 = std::max(x1, 0.0), y1 = std::max(y1, 0.0), x2 = std::min(x2, double(im.width)), y2 = std::min(y2, double(im.height));
    if (x2 - x1 < 2 || y2 - y1 < 2) return Error{"outside_image", "", "the box lies (almost) outside the image"};

    BoxSegmenter s;
    s.options_ = options;
    s.box_[0] = x1, s.box_[1] = y1, s.box_[2] = x2, s.box_[3] = y2;
    const double margin = std::max(8.0, 0.15 * std::max(x2 - x1, y2 - y1));
    const int cx0 = std::max(0, int(std::floor(x1 - margin))), cy0 = std::max(0, int(std::floor(y1 - margin)));
    const int cx1 = std::min(im.width, int(std::ceil(x2 + margin))), cy1 = std::min(im.height, int(std::ceil(y2 + margin)));
    const double area = double(cx1 - cx0) * (cy1 - cy0);
    const int f = std::max(1, int(std::ceil(std::sqrt(area / std::max(1000, options.work_pixels)))));
    s.scale_ = f;
    s.origin_x_ = cx0, s.origin_y_ = cy0;
    s.width_ = (cx1 - cx0 + f - 1) / f;
    s.height_ = (cy1 - cy0 + f - 1) / f;
    const size_t n = size_t(s.width_) * s.height_;
    s.colour_.resize(n);
    s.in_box_.resize(n);
    for (int v = 0; v < s.height_; ++v)
        for (int u = 0; u < s.width_; ++u) {
            double acc[3] = {0, 0, 0};
            int count = 0;
            for (int y = cy0 + v * f; y < std::min(cy1, cy0 + (v + 1) * f); ++y) {
                const uint8_t* row = im.pixels + size_t(y) * im.stride;
                for (int x = cx0 + u * f; x < std::min(cx1, cx0 + (u + 1) * f); ++x) {
                    const uint8_t* p = row + size_t(x) * channels;
                    for (int c = 0; c < 3; ++c) acc[c] += p[channels == 4 ? c : 0];
                    ++count;
                }
            }
            const size_t i = size_t(v) * s.width_ + u;
            for (int c = 0; c < 3; ++c) s.colour_[i][c] = float(acc[c] / count);
            const double px = cx0 + (u + 0.5) * f, py = cy0 + (v + 0.5) * f;
            s.in_box_[i] = px >= x1 && px < x2 && py >= y1 && py < y2;
        }
    s.object_ = s.in_box_;
    return s;
}

bool BoxSegmenter::step() {
    if (finished()) return false;
    if (done_ == 0) initialise_models();
    else if (done_ <= options_.iterations) cut();
    else finish();
    ++done_;
    return !finished();
}

void BoxSegmenter::initialise_models() {
    const int w = width_, h = height_;
    const size_t n = colour_.size();
    std::vector<std::array<float, 3>> inside, outside;
    for (size_t i = 0; i < n; ++i) (in_box_[i] ? inside : outside).push_back(colour_[i]);
    // A box against the image's edges has little around it: its own outer ring is then taken as
    // background to begin with (the cuts may still give it to the object).
    if (outside.size() < 200) {
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                if (in_box_[size_t(y) * w + x]) x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
        const int ring = std::max(1, std::min(x1 - x0, y1 - y0) / 20);
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x)
                if (x - x0 < ring || x1 - x < ring || y - y0 < ring || y1 - y < ring) {
                    object_[size_t(y) * w + x] = 0;
                    outside.push_back(colour_[size_t(y) * w + x]);
                }
    }
    auto thin = [](std::vector<std::array<float, 3>>& v) {
        if (v.size() <= 40000) return;
        const size_t stride = v.size() / 40000 + 1;
        size_t k = 0;
        for (size_t i = 0; i < v.size(); i += stride) v[k++] = v[i];
        v.resize(k);
    };
    thin(inside);
    thin(outside);
    object_model_ = initial_model(inside);
    background_model_ = initial_model(outside);

    // Contrast normalisation of the smoothness term: beta = 1 / (2 <|z_m - z_n|^2>).
    double sum = 0;
    size_t pairs = 0;
    auto diff2 = [&](size_t a, size_t b) {
        const auto &p = colour_[a], &q = colour_[b];
        return double(p[0] - q[0]) * (p[0] - q[0]) + double(p[1] - q[1]) * (p[1] - q[1]) + double(p[2] - q[2]) * (p[2] - q[2]);
    };
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const size_t i = size_t(y) * w + x;
            if (x + 1 < w) sum += diff2(i, i + 1), ++pairs;
            if (y + 1 < h) sum += diff2(i, i + w), ++pairs;
            if (x + 1 < w && y + 1 < h) sum += diff2(i, i + w + 1), ++pairs;
            if (x > 0 && y + 1 < h) sum += diff2(i, i + w - 1), ++pairs;
        }
    beta_ = sum > 0 ? pairs / (2 * sum) : 0;
}

void BoxSegmenter::cut() {
    const int w = width_, h = height_;
    const size_t n = colour_.size();
    // Relearn both models from the current labels (each pixel in its likeliest component).
    std::array<Moments, kComponents> obj, bg;
    double obj_n = 0, bg_n = 0;
    for (size_t i = 0; i < n; ++i) {
        if (object_[i]) obj[best_component(object_model_, colour_[i])].add(colour_[i]), ++obj_n;
        else bg[best_component(background_model_, colour_[i])].add(colour_[i]), ++bg_n;
    }
    if (obj_n > 0) for (int k = 0; k < kComponents; ++k) object_model_[k] = fit(obj[k], obj_n);
    if (bg_n > 0) for (int k = 0; k < kComponents; ++k) background_model_[k] = fit(bg[k], bg_n);

    MaxFlowGraph graph(int(n), 4 * n);
    for (size_t i = 0; i < n; ++i) {
        if (!in_box_[i]) graph.add_terminal(int(i), 0, kCertain);
        else graph.add_terminal(int(i), float(cost(background_model_, colour_[i])), float(cost(object_model_, colour_[i])));
    }
    const double diagonal = kSmoothness / std::sqrt(2.0);
    auto weight = [&](size_t a, size_t b, double g) {
        const auto &p = colour_[a], &q = colour_[b];
        const double d = double(p[0] - q[0]) * (p[0] - q[0]) + double(p[1] - q[1]) * (p[1] - q[1]) + double(p[2] - q[2]) * (p[2] - q[2]);
        return float(g * std::exp(-beta_ * d));
    };
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const size_t i = size_t(y) * w + x;
            if (x + 1 < w) { const float c = weight(i, i + 1, kSmoothness); graph.add_edge(int(i), int(i + 1), c, c); }
            if (y + 1 < h) { const float c = weight(i, i + w, kSmoothness); graph.add_edge(int(i), int(i + w), c, c); }
            if (x + 1 < w && y + 1 < h) { const float c = weight(i, i + w + 1, diagonal); graph.add_edge(int(i), int(i + w + 1), c, c); }
            if (x > 0 && y + 1 < h) { const float c = weight(i, i + w - 1, diagonal); graph.add_edge(int(i), int(i + w - 1), c, c); }
        }
    graph.solve();
    for (size_t i = 0; i < n; ++i) object_[i] = in_box_[i] && graph.source_side(int(i));
}

void BoxSegmenter::finish() {
    Mask mask(width_, height_);
    mask.bits = object_;
    despeckle(mask, 1);
    Mask region = largest_region(mask);
    size_t first = 0;
    while (first < region.bits.size() && !region.bits[first]) ++first;
    if (first == region.bits.size()) {
        result_ = Error{"no_object", "", "nothing inside the box stands out from its surroundings"};
        return;
    }
    Points outline = trace_region_outline(region);
    for (size_t i = 0; i < outline.size(); i += 2) {
        outline[i] = std::clamp(origin_x_ + outline[i] * scale_, box_[0], box_[2]);
        outline[i + 1] = std::clamp(origin_y_ + outline[i + 1] * scale_, box_[1], box_[3]);
    }
    result_ = simplify_closed(outline, 0.5 * scale_ + 0.2, options_.max_vertices);
}

Expected<Points> BoxSegmenter::result() const { return result_; }

}  // namespace pm
