#include "polymark/view.hpp"

#include <algorithm>
#include <cmath>

namespace pm {

void View::zoom_around(Vec2 anchor, double factor) {
    if (!(factor > 0) || !std::isfinite(factor)) return;
    Vec2 image = to_image(anchor);
    zoom = std::clamp(zoom * factor, kMinZoom, kMaxZoom);
    offset = {anchor.x - image.x * zoom, anchor.y - image.y * zoom};
}

View View::fit(double image_w, double image_h, Rect viewport, double margin) {
    View v;
    double avail_w = std::max(1.0, viewport.w - 2 * margin), avail_h = std::max(1.0, viewport.h - 2 * margin);
    if (image_w <= 0 || image_h <= 0) {
        v.offset = {viewport.x + viewport.w / 2, viewport.y + viewport.h / 2};
        return v;
    }
    v.zoom = std::clamp(std::min(avail_w / image_w, avail_h / image_h), kMinZoom, kMaxZoom);
    v.offset = {viewport.x + (viewport.w - image_w * v.zoom) / 2, viewport.y + (viewport.h - image_h * v.zoom) / 2};
    return v;
}

double wheel_zoom_factor(double wheel_delta) { return std::pow(1.2, wheel_delta); }

}  // namespace pm
