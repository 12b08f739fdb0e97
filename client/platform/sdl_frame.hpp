// The SDL2 window, its GL context and Dear ImGui, shared by the web and native builds, and the
// fixed per-frame pipeline: platform events -> the app's inbox applied -> UI -> render.
#pragma once
#include "app/app.hpp"
#include "render/image_textures.hpp"
#include "ui/workspace.hpp"

#include <imgui.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

struct SDL_Window;

namespace pm {

struct FrameConfig {
    const char* title = "Polymark";
    int width = 1280, height = 800;  // screen (CSS) pixels
    std::vector<uint8_t> font_ttf;    // empty: ImGui's built-in font
    float font_size = 15;
    // Fonts for other scripts, merged into the UI font for exactly these code points.
    std::vector<std::vector<uint8_t>> extra_fonts;
    std::vector<uint32_t> extra_code_points;
    // How the picture and shapes are drawn: Auto goes through the scene cache where WebGL is a
    // software rasteriser (and then draws frames at one pixel per CSS pixel while the view
    // moves), Cached always, Direct never.
    enum class Drawing { Auto, Cached, Direct } drawing = Drawing::Auto;
};

// What the frame knows about its drawing, for getRendering() and benchmarks.
struct RenderingInfo {
    std::string renderer;
    bool software = false;
    bool cached = false;
    uint64_t scene_captures = 0;   // times the scene was painted into the cache
    uint64_t reduced_frames = 0;   // frames drawn at one pixel per CSS pixel while moving
};

// A GL renderer string names a software rasteriser.
bool is_software_renderer(const std::string& renderer);

class SdlFrame {
public:
    SdlFrame() = default;
    SdlFrame(const SdlFrame&) = delete;
    SdlFrame& operator=(const SdlFrame&) = delete;
    ~SdlFrame() { shutdown(); }

    // Returns an empty string on success, or what failed.
    std::string init(const FrameConfig& config);
    // One frame. Returns false when the user closed the window.
    bool tick(App& app);
    void request_redraw() { redraw_frames_ = 3; }
    void shutdown();
    double device_pixel_ratio() const { return dpr_; }
    long long frames_drawn() const { return frames_drawn_; }
    // Text for the focused text field from outside SDL: an OS paste or an input method's
    // composition. ImGui drops characters typed while Ctrl is held, and a paste arrives during
    // Ctrl+V: Ctrl is released first, then the text.
    void insert_text(const char* text);
    // Where a text field is being edited (screen pixels), or visible=false when none is: the
    // platform places its input-method element there.
    std::function<void(bool visible, float x, float y, float line_height)> on_text_input_area;
    // Characters met in typed text or in the document that the font atlas lacks, each reported
    // once, so the platform can fetch fonts holding them and hand them to add_fonts.
    std::function<void(const std::vector<uint32_t>&)> on_missing_glyphs;
    // Merges more fonts into the UI font for these code points; the atlas is rebuilt before the
    // next frame.
    void add_fonts(std::vector<std::vector<uint8_t>> fonts, const std::vector<uint32_t>& code_points);
    // CPU milliseconds of each drawn frame (events, async results, UI, building and submitting
    // draw data; not the buffer swap) since the last call, for benchmarks.
    std::vector<float> take_frame_times() { return std::exchange(frame_ms_, {}); }
    // The GL renderer's name, where the platform knows it better than GL_RENDERER (WebGL masks it).
    void set_renderer(const std::string& renderer);
    // Sets the canvas's size in device pixels, where the platform can (web): frames are drawn at
    // one pixel per CSS pixel while the view moves on a software rasteriser. Unset: never.
    std::function<void(int width, int height)> set_canvas_pixels;
    RenderingInfo rendering() const;

private:
    SDL_Window* window_ = nullptr;
    void* gl_context_ = nullptr;
    bool imgui_ready_ = false;
    ImageTextures textures_;
    Workspace workspace_;
    std::vector<uint8_t> font_ttf_;
    std::vector<std::vector<uint8_t>> extra_fonts_;
    std::vector<ImWchar> extra_ranges_;  // pairs, zero-terminated
    float font_size_ = 15;
    double dpr_ = 1;
    int redraw_frames_ = 3;
    long long frames_drawn_ = 0;
    bool laid_out_ = false;  // ImGui ran a frame: the next one shows every window
    std::vector<float> frame_ms_;
    bool fonts_dirty_ = false;
    FrameConfig::Drawing drawing_ = FrameConfig::Drawing::Auto;
    std::string renderer_;
    bool software_ = false;
    // The view's motion: the last view drawn and when it last changed (seconds).
    View last_view_;
    double last_motion_ = -1;
    bool moving_ = false;
    bool last_frame_moved_view_ = false;  // the last drawn frame showed a changed view
    double canvas_scale_ = 0;  // device pixels per CSS pixel the canvas holds now (web)
    uint64_t reduced_frames_ = 0;
    static constexpr double kSettleSeconds = 0.25;  // still this long: the view has stopped moving
    std::set<uint32_t> glyphs_reported_;  // asked for once: a character no font holds is not asked again
    uint64_t scanned_revision_ = ~0ull;

    void build_fonts();
    void report_missing_glyphs(const App& app);
};

}  // namespace pm
