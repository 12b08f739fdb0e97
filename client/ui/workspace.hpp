// The ImGui layer: toolbar, canvas interaction (pan, zoom), timeline, status bar, notices and the
// start-up error screen. Reads the App and calls its operations; owns no document state.
#pragma once
#include "app/app.hpp"
#include "render/image_textures.hpp"
#include "ui/formats_panel.hpp"
#include "ui/panels.hpp"
#include "ui/scene_layer.hpp"
#include "ui/shape_layer.hpp"
#include "ui/timeline.hpp"
#include "ui/toolbar.hpp"

#include <string>
#include <vector>

namespace pm {

class Workspace {
public:
    // Draws one frame's UI. `canvas_w/h` are the canvas size in screen (CSS) pixels; `scene`
    // says whether the picture and shapes go through the scene cache.
    void draw(App& app, ImageTextures& textures, double canvas_w, double canvas_h, SceneLayer::Mode scene);
    // Frees the GL objects of the scene (before the GL context goes).
    void release_gl() { shapes_.release(); scene_.release(); }
    uint64_t scene_captures() const { return scene_.captures(); }
    // The last frame's input moved the view by a gesture (a pan drag, the wheel): motion, not a jump.
    bool view_gesture() const { return view_gesture_; }

private:
    bool panning_ = false;
    bool view_gesture_ = false;
    bool editor_pressed_ = false;  // a left press on the canvas went to the editor
    bool show_help_ = false;
    SceneLayer scene_;
    ShapeLayer shapes_;
    Panels panels_;
    Timeline timeline_;
    Toolbar toolbar_;
    FormatsPanel formats_;
    bool sidebar_open_wide_ = true;
    bool sidebar_open_narrow_ = false;
    std::vector<UiControl> layout_;  // this frame's controls, for App::report_ui_layout
    bool space_panned_ = false;
    Vec2 cursor_image_{0, 0};
    bool cursor_over_image_ = false;
    std::string menu_shape_;  // the shape whose context menu is open (right-click on it)

    void draw_status_bar(App& app, double canvas_w, double canvas_h);
    struct SyncBadge {
        std::string text;
        ImU32 colour = 0;
        std::string tip;
    };
    static SyncBadge sync_badge(App& app);  // the sync state as the status bar says it
    static std::string elided(const std::string& text, float width);
    void draw_conflicts(App& app, double canvas_w);
    void draw_set_aside(App& app, double canvas_w);
    void draw_notices(App& app, double canvas_w);
    void draw_shape_menu(App& app);
    void handle_canvas_input(App& app);
    void handle_shortcuts(App& app);
    void draw_help(double canvas_w, double canvas_h);
    PointerInput pointer_input(const App& app) const;
};

inline constexpr float kToolbarHeight = 34;
inline constexpr float kStatusBarHeight = 26;
inline constexpr float kSidebarWidth = 300;
inline constexpr double kWideCanvas = 640;  // narrower: the sidebar lies over the image when shown
inline constexpr double kHandleRadius = 6;  // screen pixels
// A click takes a point as far as it is drawn.
static_assert(kHandleRadius == kPointRadius, "the pick radius is the drawn point's radius");
inline constexpr long long kFrameStep = 10;         // V / C
inline constexpr long long kPropagateFrames = 10;   // Ctrl+B

}  // namespace pm
