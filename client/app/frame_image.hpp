// One frame's picture as the app holds it and the renderer reads it: plain data, no GL. Decoded
// pixels wait here until render uploads them (and empties `pixels`); a video frame is a picture
// the platform keeps on the GPU itself, named by an opaque handle that only render resolves.
// Units: width, height and every position are image pixels unless a field says otherwise.
#pragma once
#include "polymark/document.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace pm {

enum class LoadState { Idle, Loading, Ready, Failed };

struct FrameImage {
    LoadState state = LoadState::Idle;
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;  // RGBA, emptied once uploaded
    uint64_t generation = 0;      // changes when new pixels arrive
    // A huge image is shown at a reduced level (docs/API.md, "Images"): `pixels` are
    // level_width x level_height, one pixel covering level x level image pixels; width and height
    // stay the image's, in which shapes are drawn and picked.
    int level = 1, level_width = 0, level_height = 0;
    // Zoomed in past a reduced level, the visible region decoded finer (MediaCache::advance_detail),
    // drawn over the level: `pixels` are pixels_width x pixels_height, each covering level x level
    // image pixels, the first at image pixel (x, y); the region is width x height image pixels.
    // width 0: none. `generation` changes whenever it does (the renderer replaces or deletes it).
    struct Detail {
        int x = 0, y = 0, width = 0, height = 0, level = 1, pixels_width = 0, pixels_height = 0;
        std::vector<uint8_t> pixels;  // RGBA, emptied once uploaded
        uint64_t generation = 0;
    } detail;
    uint64_t last_shown = 0;  // when it was last the current image (the image cache's LRU order)
    std::string reported_failure;  // a video's failure already reported: a repeat is not reported again
    long long failed_frame = -1;   // the video frame whose request failed last
    Error error;
    // Video: the platform's picture of the shown frame (then `pixels` stays empty); the frame of
    // the video it shows, the frame wanted, and whether a request is out.
    uint32_t platform_picture = 0;
    long long shown_frame = -1, wanted_frame = -1;
    double shown_seconds = 0;  // how long the shown video frame lasts (variable frame rates vary)
    bool video_request_out = false;
};

// Display adjustments of the image, applied on the GPU; they never change the pixels or the
// document. brightness is added (-0.5..0.5), contrast scales around mid-grey, gamma > 1 lightens.
struct ImageAdjust {
    double brightness = 0, contrast = 1, gamma = 1;
    bool identity() const { return brightness == 0 && contrast == 1 && gamma == 1; }
};

}  // namespace pm
