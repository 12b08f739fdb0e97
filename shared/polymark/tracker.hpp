// Visual tracking of one object through video frames: a kernelised correlation filter (KCF,
// Gaussian kernel) on HOG-like features for the position, and DSST-style 1-D correlation filters
// over scales and in-plane angles. Also moves a polygon by the similarity the tracker estimated.
// Platform-free: takes frames as pixel views, returns values; no threads, no I/O, no throwing.
// Units: image pixels of the frame (x right, y down, origin at the top-left corner of the top-left
// pixel); a box is {x, y, w, h} of its top-left corner and size. Frames are in display order.
#pragma once
#include "polymark/error.hpp"
#include "polymark/view.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace pm {

enum class PixelFormat { gray8, rgba8 };

// A borrowed frame: `stride` is in bytes between rows. The tracker never keeps the pointer.
struct FrameView {
    int width = 0, height = 0, stride = 0;
    const uint8_t* pixels = nullptr;
    PixelFormat format = PixelFormat::gray8;
};

// A similarity transform p' = [a -b; b a] p + t (scale sqrt(a^2+b^2), rotation atan2(b, a)).
struct Similarity {
    double a = 1, b = 0, tx = 0, ty = 0;
    Vec2 apply(Vec2 p) const { return {a * p.x - b * p.y + tx, b * p.x + a * p.y + ty}; }
};

// The motion that takes box `from` onto box `to`: translation of the centre and the mean of the
// two scale ratios (the tracker keeps the aspect ratio, so the two ratios agree for its boxes).
Similarity box_motion(const Rect& from, const Rect& to);
// The least-squares similarity taking the points `from` onto `to` (flat x,y lists of one length;
// Umeyama without reflection). Identity when fewer than two points or all points coincide.
Similarity fit_similarity(const std::vector<double>& from, const std::vector<double>& to);
// The polygon (flat x0,y0,x1,y1,...) moved by `motion`.
std::vector<double> move_polygon(const std::vector<double>& polygon, const Similarity& motion);

struct TrackResult {
    Rect box;                 // the axis-aligned bounds of the (turned) target in this frame
    double confidence = 0;    // 0..1, from the PSR and the peak ratio of the position response
    double psr = 0;           // the peak-to-sidelobe ratio itself
    double peak_ratio = 0;    // the response peak over its running mean in confident frames
    bool lost = false;        // the object is not seen here (occluded, out of the frame, changed)
    double angle = 0;         // the target's in-plane rotation since init, radians, clockwise
    Similarity motion;        // from the target in the previous frame to this one
    Similarity since_start;   // from the box given to init to this frame: moves its polygon
};

// One set of parameters for every sequence; exposed for experiments, not for per-video tuning.
struct TrackerParams {
    double padding = 1.5;            // search window = target * (1 + padding) in each dimension
    double lambda = 1e-4;            // ridge regularisation of the position filter
    double kernel_sigma = 0.5;       // Gaussian kernel width on normalised features
    double output_sigma = 0.1;       // label width, relative to the target size
    double learning_rate = 0.02;     // position model update per confident frame
    int scale_count = 17;            // scales sampled by the scale filter (odd)
    double scale_step = 1.03;        // ratio between neighbouring scales
    double scale_learning_rate = 0.015;
    double max_scale_steps = 8;      // the most the size may change in a frame, in scale steps
    double scale_lambda = 1e-2;
    int angle_count = 9;             // angles sampled by the rotation filter (odd; 0: no rotation)
    double angle_step_degrees = 2.0;
    double angle_learning_rate = 0.025;
    // Lost (the box stays where it was) when the position response's peak-to-sidelobe ratio or
    // its peak relative to the running mean of confident peaks falls below these; between these
    // and the update thresholds the box moves but the models do not learn (occluders, blur).
    double lost_psr = 5.0;
    double lost_peak = 0.45;
    double sure_psr = 12.0;          // a peak this sharp is the target however low it is
    // Learning needs a PSR of update_psr: a deforming target (a blowing bag) keeps its peak
    // sharp while its height sinks, an occluder sliding over it (a pole) blunts it first.
    double update_psr = 10.0;
    double update_peak = 0.5;
    // How fast the running mean of the peak follows frames found but not learnt from: slowly,
    // or during an occlusion the mean sinks to the occluder's peak and the loss goes unseen.
    double unlearnt_peak_rate = 0.01;
    // When the first window finds no match to learn from (under the update thresholds), search
    // the 8 windows half a window around it (camera shake, a target reappearing beside where it
    // was lost); 0: off.
    int redetect = 1;
};

class Tracker {
public:
    Tracker();
    explicit Tracker(const TrackerParams& params);
    ~Tracker();
    Tracker(Tracker&&) noexcept;
    Tracker& operator=(Tracker&&) noexcept;

    // Starts tracking `box` in `frame`. Errors (code, message naming the box): "bad_frame",
    // "box_not_finite", "box_empty" (zero or negative size), "box_too_small" (under 4 px on a
    // side), "box_outside_image" (not entirely inside the frame).
    Expected<bool> init(const FrameView& frame, const Rect& box);
    // The object in the next frame. Error "not_initialised" before a successful init, "bad_frame"
    // for an empty view or one whose size differs from the frame given to init.
    Expected<TrackResult> update(const FrameView& frame);

    bool initialised() const;
    Rect box() const;

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace pm
