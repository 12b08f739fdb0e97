// Where the UI drew its controls in the last frame: the embedding API's getLayout, so that tests
// and portals can check that every control is reachable at their size. Written by the UI layer
// once per frame; the app only keeps it.
#pragma once
#include "polymark/view.hpp"

#include <string>
#include <vector>

namespace pm {

struct UiControl {
    std::string id;     // "undo", "tool-box", "status-frame", "sidebar", ...
    std::string place;  // "toolbar", "more" (the toolbar's overflow menu), "status", "sidebar", "timeline"
    Rect rect;          // canvas pixels (CSS)
};

// Which items of a bar are shown when they do not all fit: the lowest priority leave first (of
// equal ones, the last first); those shown keep their order. `gap` separates shown items.
inline std::vector<bool> fit_by_priority(const std::vector<float>& widths, const std::vector<int>& priorities, float gap, float available) {
    std::vector<bool> shown(widths.size(), true);
    for (;;) {
        float total = 0;
        int count = 0, drop = -1;
        for (size_t i = 0; i < widths.size(); ++i) {
            if (!shown[i]) continue;
            total += widths[i];
            ++count;
            if (drop < 0 || priorities[i] <= priorities[(size_t)drop]) drop = (int)i;
        }
        if (count == 0 || total + gap * (float)(count - 1) <= available) return shown;
        shown[(size_t)drop] = false;
    }
}

}  // namespace pm
