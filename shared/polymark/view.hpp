// The view transform between image pixels and screen pixels (CSS pixels of the canvas, origin at
// its top-left corner): screen = offset + image * zoom. Pure geometry, no state beyond that.
#pragma once

namespace pm {

struct Vec2 {
    double x = 0, y = 0;
};

struct Rect {
    double x = 0, y = 0, w = 0, h = 0;
};

struct View {
    double zoom = 1;        // screen pixels per image pixel
    Vec2 offset{0, 0};      // screen position of image point (0,0)

    static constexpr double kMinZoom = 1.0 / 64;
    static constexpr double kMaxZoom = 256;

    Vec2 to_screen(Vec2 image) const { return {offset.x + image.x * zoom, offset.y + image.y * zoom}; }
    Vec2 to_image(Vec2 screen) const { return {(screen.x - offset.x) / zoom, (screen.y - offset.y) / zoom}; }

    // Zooms by `factor` keeping the image point under `screen_anchor` where it is (clamped zoom).
    void zoom_around(Vec2 screen_anchor, double factor);
    void pan_by(Vec2 screen_delta) { offset.x += screen_delta.x; offset.y += screen_delta.y; }
    // Whole image visible and centred in `viewport`, leaving `margin` screen pixels on each side.
    static View fit(double image_w, double image_h, Rect viewport, double margin);
};

// Wheel notches to a zoom factor: one notch (delta 1) is a 1.2x step, as most viewers do.
double wheel_zoom_factor(double wheel_delta);

}  // namespace pm
