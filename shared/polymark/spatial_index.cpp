#include "polymark/spatial_index.hpp"

#include <algorithm>
#include <cmath>

namespace pm {

void SpatialIndex::build(const std::vector<Object>& objects, const std::vector<uint32_t>& which) {
    bounds_.clear();
    for (uint32_t i : which) {
        if (i >= objects.size() || objects[i].type == ShapeType::Tag) continue;
        bounds_.push_back({i, shape_bounds(objects[i])});
    }
    seen_.assign(bounds_.size(), 0);
    stamp_ = 0;
    cols_ = rows_ = 0;
    cell_start_.clear();
    cell_items_.clear();
    if (bounds_.empty()) return;
    double x0 = bounds_[0].bounds.x, y0 = bounds_[0].bounds.y, x1 = x0, y1 = y0;
    for (const Entry& e : bounds_) {
        x0 = std::min(x0, e.bounds.x); y0 = std::min(y0, e.bounds.y);
        x1 = std::max(x1, e.bounds.x + e.bounds.w); y1 = std::max(y1, e.bounds.y + e.bounds.h);
    }
    // About one shape per cell on average, at most 256x256 cells.
    double area = std::max((x1 - x0) * (y1 - y0), 1.0);
    cell_ = std::max(std::sqrt(area / (double)bounds_.size()), 1.0);
    cols_ = std::clamp((int)std::ceil((x1 - x0) / cell_) + 1, 1, 256);
    rows_ = std::clamp((int)std::ceil((y1 - y0) / cell_) + 1, 1, 256);
    cell_ = std::max({cell_, (x1 - x0) / (cols_ - 0.5), (y1 - y0) / (rows_ - 0.5), 1.0});
    x0_ = x0;
    y0_ = y0;
    std::vector<uint32_t> counts((size_t)cols_ * rows_ + 1, 0);
    for (const Entry& e : bounds_) {
        int c0, r0, c1, r1;
        cell_range(e.bounds, c0, r0, c1, r1);
        for (int r = r0; r <= r1; ++r)
            for (int c = c0; c <= c1; ++c) ++counts[(size_t)r * cols_ + c + 1];
    }
    for (size_t i = 1; i < counts.size(); ++i) counts[i] += counts[i - 1];
    cell_start_ = counts;
    cell_items_.resize(counts.back());
    for (uint32_t k = 0; k < bounds_.size(); ++k) {
        int c0, r0, c1, r1;
        cell_range(bounds_[k].bounds, c0, r0, c1, r1);
        for (int r = r0; r <= r1; ++r)
            for (int c = c0; c <= c1; ++c) cell_items_[counts[(size_t)r * cols_ + c]++] = k;
    }
}

void SpatialIndex::cell_range(Rect r, int& c0, int& r0, int& c1, int& r1) const {
    c0 = std::clamp((int)std::floor((r.x - x0_) / cell_), 0, cols_ - 1);
    r0 = std::clamp((int)std::floor((r.y - y0_) / cell_), 0, rows_ - 1);
    c1 = std::clamp((int)std::floor((r.x + r.w - x0_) / cell_), 0, cols_ - 1);
    r1 = std::clamp((int)std::floor((r.y + r.h - y0_) / cell_), 0, rows_ - 1);
}

void SpatialIndex::collect(Rect q, std::vector<uint32_t>& out) const {
    out.clear();
    if (bounds_.empty() || !(q.w >= 0 && q.h >= 0)) return;
    if (++stamp_ == 0) { std::fill(seen_.begin(), seen_.end(), 0); stamp_ = 1; }
    int c0, r0, c1, r1;
    cell_range(q, c0, r0, c1, r1);
    for (int r = r0; r <= r1; ++r) {
        for (int c = c0; c <= c1; ++c) {
            size_t cell = (size_t)r * cols_ + c;
            for (uint32_t i = cell_start_[cell]; i < cell_start_[cell + 1]; ++i) {
                uint32_t k = cell_items_[i];
                if (seen_[k] == stamp_) continue;
                seen_[k] = stamp_;
                const Rect& b = bounds_[k].bounds;
                if (b.x <= q.x + q.w && q.x <= b.x + b.w && b.y <= q.y + q.h && q.y <= b.y + b.h) out.push_back(bounds_[k].object);
            }
        }
    }
}

void SpatialIndex::query_point(Vec2 p, double tolerance, std::vector<uint32_t>& out) const {
    // A rotated box grown by the tolerance in its own frame reaches up to tolerance * sqrt(2)
    // past its axis-aligned bounds at the corners.
    double reach = tolerance * 1.5;
    collect({p.x - reach, p.y - reach, 2 * reach, 2 * reach}, out);
}

void SpatialIndex::query_rect(Rect r, std::vector<uint32_t>& out) const { collect(r, out); }

}  // namespace pm
