// Import and export on screen: the toolbar's Data menu (import a file, export in a format), the
// running job's progress with Cancel, and the mapping step for labels the task lacks.
#pragma once
#include "app/app.hpp"

#include <vector>

namespace pm {

class FormatsPanel {
public:
    // The Data menu's button and popup, inside the toolbar (or its More menu). True: it acted.
    static bool draw_menu(App& app, std::vector<UiControl>& layout);
    static float menu_width();
    // Progress and the mapping dialog, over the canvas.
    void draw(App& app, double canvas_w, double canvas_h, std::vector<UiControl>& layout);
};

}  // namespace pm
