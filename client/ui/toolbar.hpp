// The toolbar: frame navigation, zoom, the tools, the next shape's label, snapping, tracks, undo
// and redo, the sidebar and help. What does not fit the width goes into a "More" menu at its end,
// the least needed first, so that every control stays reachable down to a 480-pixel embed.
#pragma once
#include "app/app.hpp"

#include <string>
#include <vector>

namespace pm {

class Toolbar {
public:
    struct Wants {
        bool toggle_help = false;
        bool toggle_sidebar = false;
    };
    // Draws the bar across `width` and `height` at the top; reports where each control went.
    Wants draw(App& app, float width, float height, bool sidebar_open, std::vector<UiControl>& layout);

private:
    char frame_input_[24] = "";
};

}  // namespace pm
