// The ImGui layer: toolbar, canvas interaction (pan, zoom), status bar, notices and the
// start-up error screen. Reads the App and calls its operations; owns no document state.
#pragma once
#include "app/app.hpp"
#include "render/image_textures.hpp"

namespace pm {

class Workspace {
public:
    // Draws one frame's UI. `canvas_w/h` are the canvas size in screen (CSS) pixels.
    void draw(App& app, ImageTextures& textures, double canvas_w, double canvas_h);

private:
    bool panning_ = false;
    Vec2 cursor_image_{0, 0};
    bool cursor_over_image_ = false;
    char frame_input_[24] = "";

    void draw_toolbar(App& app, double canvas_w);
    void draw_status_bar(App& app, double canvas_w, double canvas_h);
    void draw_notices(App& app, double canvas_w, double canvas_h);
    void handle_canvas_input(App& app);
    void handle_shortcuts(App& app);
};

inline constexpr float kToolbarHeight = 34;
inline constexpr float kStatusBarHeight = 26;

}  // namespace pm
