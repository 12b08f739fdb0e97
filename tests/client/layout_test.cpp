// Small canvases (issue 14): the bars keep the most needed controls, a fitted image stays fitted
// through a resize, and a read-only editor says where the task is written.
#include "null_platform.hpp"

#include "app/ui_layout.hpp"

using namespace pm;
using namespace pm::testing;

TEST_CASE("a bar too narrow drops its least needed items first and keeps the order of the rest") {
    std::vector<float> widths{50, 40, 40, 30, 20};
    std::vector<int> priorities{10, 3, 8, 3, 1};
    CHECK(fit_by_priority(widths, priorities, 5, 1000) == std::vector<bool>{true, true, true, true, true});
    CHECK(fit_by_priority(widths, priorities, 5, 170) == std::vector<bool>{true, true, true, false, false});  // the last of equals leaves first
    CHECK(fit_by_priority(widths, priorities, 5, 95) == std::vector<bool>{true, false, true, false, false});
    CHECK(fit_by_priority(widths, priorities, 5, 10) == std::vector<bool>{false, false, false, false, false});
}

TEST_CASE("an image shown fitted is fitted again when the view resizes, and a zoomed one keeps its centre") {
    LoadedApp t;
    t.app.set_viewport({0, 34, 800, 500});
    t.app.fit_to_viewport();
    double fitted_zoom = t.app.view().zoom;
    t.app.set_viewport({0, 34, 400, 250});
    CHECK(t.app.view().zoom < fitted_zoom);
    CHECK(t.app.view().zoom == Approx(View::fit(400, 300, t.app.viewport(), 16).zoom));
    Vec2 centre = t.app.view().to_image({200, 34 + 125});
    CHECK(centre.x == Approx(200));
    CHECK(centre.y == Approx(150));

    t.app.zoom_around({200, 159}, 2);
    double zoomed = t.app.view().zoom;
    Vec2 before = t.app.view().to_image({200, 159});
    t.app.set_viewport({0, 34, 800, 500});
    CHECK(t.app.view().zoom == zoomed);
    Vec2 after = t.app.view().to_image({400, 34 + 250});
    CHECK(after.x == Approx(before.x));
    CHECK(after.y == Approx(before.y));
}
