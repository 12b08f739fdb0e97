// Box to polygon: the outline of the object inside a box, GrabCut-style. Colour models (Gaussian
// mixtures) of the object and of the background are learnt from the box and a margin around it,
// then each iteration labels the box's pixels by a minimum graph cut (MaxFlowGraph: the colour
// likelihoods against a contrast-sensitive smoothness between 8-neighbours) and relearns the
// models from the labels. The work runs in steps so that a caller (a Web Worker) can report
// progress and cancel between them. Large boxes are segmented at a reduced scale.
// Platform-free: the box's pixels are copied at start(), the view is not kept; never throws.
// Units: image pixels, (0,0) the top-left corner of pixel (0,0). The result is the outer outline
// of the largest object region (holes filled), clockwise on screen, inside the box.
#pragma once
#include "polymark/error.hpp"
#include "polymark/geometry.hpp"
#include "polymark/tracker.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace pm {

struct BoxSegmentOptions {
    int iterations = 5;           // graph cuts (each one step)
    size_t max_vertices = 64;     // the polygon's budget (>= 3)
    int work_pixels = 160000;     // box and margin are reduced to about this many pixels
};

class BoxSegmenter {
public:
    // A box given by two opposite corners (any order), clipped to the image. Errors:
    // "empty_image", "not_a_number", "empty_box" (under 2 pixels wide or high), "outside_image",
    // "bad_vertex_budget", "bad_iterations".
    static Expected<BoxSegmenter> start(const FrameView& image, double x1, double y1, double x2, double y2,
                                        const BoxSegmentOptions& options = {});

    // Does the next step (the colour models, one graph cut, or the outline). False when finished.
    bool step();
    bool finished() const { return done_ >= total(); }
    int done() const { return done_; }
    int total() const { return options_.iterations + 2; }
    // Once finished: the polygon, or "no_object" when nothing in the box stood out.
    Expected<Points> result() const;

    struct Gaussian {
        double weight = 0;
        std::array<double, 3> mean{};
        std::array<double, 9> inverse{};
        double log_norm = 0;  // log(weight / sqrt((2 pi)^3 det))
    };

private:
    BoxSegmenter() = default;
    void initialise_models();
    void cut();
    void finish();

    BoxSegmentOptions options_;
    int done_ = 0;
    int width_ = 0, height_ = 0;       // the work area (box and margin, reduced)
    int scale_ = 1;                    // image pixels per work pixel
    double origin_x_ = 0, origin_y_ = 0;
    double box_[4] = {0, 0, 0, 0};     // the clipped box in image pixels
    std::vector<std::array<float, 3>> colour_;
    std::vector<uint8_t> in_box_;      // 1: may be the object, 0: known background
    std::vector<uint8_t> object_;      // the current labels
    std::vector<Gaussian> object_model_, background_model_;
    double beta_ = 0;
    Expected<Points> result_{Error{"not_finished", "", "the segmentation has not finished"}};
};

}  // namespace pm
