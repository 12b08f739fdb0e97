// The timeline under the canvas of a task with more than one frame: play / pause, a scrubber
// with the playhead, and one row per track (the selected ones, else all) with its visible spans,
// keyframes as marks and outside stretches greyed. Click to jump, drag a keyframe to move it.
#pragma once
#include "app/app.hpp"

#include <imgui.h>

#include <optional>
#include <string>

namespace pm {

class Timeline {
public:
    static constexpr float kRowHeight = 16;
    static constexpr int kMaxRows = 5;
    // The height it takes for this app now (0: a single frame, no timeline).
    static float height(const App& app);
    void draw(App& app, Rect area);

private:
    struct KeyframeDrag { std::string track_id; long long from = 0; };
    std::optional<KeyframeDrag> dragging_;

    long long frame_at(float x, float x0, float width, long long frames) const;
};

}  // namespace pm
