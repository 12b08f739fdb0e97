#include "platform/sdl_frame.hpp"

#include "render/gl.hpp"

#include <SDL.h>
#include <imgui.h>
#include <imgui_impl_opengl3.h>
#include <imgui_internal.h>  // GImGui->InputEventsQueue
#include <imgui_impl_sdl2.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace pm {

namespace {
SdlFrame* g_ime_frame = nullptr;  // one frame per module instance
void (*g_sdl_set_ime_data)(ImGuiViewport*, ImGuiPlatformImeData*) = nullptr;

void set_platform_ime_data(ImGuiViewport* viewport, ImGuiPlatformImeData* data) {
    if (g_sdl_set_ime_data) g_sdl_set_ime_data(viewport, data);
    if (g_ime_frame && g_ime_frame->on_text_input_area)
        g_ime_frame->on_text_input_area(data->WantVisible, data->InputPos.x, data->InputPos.y, data->InputLineHeight);
}

void add_code_point_ranges(std::vector<ImWchar>& ranges, const std::vector<uint32_t>& code_points) {
    if (!ranges.empty() && ranges.back() == 0) ranges.pop_back();
    for (uint32_t c : code_points)
        if (c > 0 && c <= 0xFFFF) ranges.insert(ranges.end(), {(ImWchar)c, (ImWchar)c});
    ranges.push_back(0);
}
}  // namespace

std::string SdlFrame::init(const FrameConfig& config) {
    if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_TIMER) != 0) return std::string("SDL could not start: ") + SDL_GetError();
#if defined(POLYMARK_GLES)
    const char* glsl = "#version 300 es";
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_FLAGS, 0);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_ES);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
#else
    const char* glsl = "#version 130";
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_FLAGS, 0);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_CORE);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
#endif
    SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
    SDL_GL_SetAttribute(SDL_GL_DEPTH_SIZE, 0);
    SDL_GL_SetAttribute(SDL_GL_STENCIL_SIZE, 0);
    auto flags = (SDL_WindowFlags)(SDL_WINDOW_OPENGL | SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI);
    window_ = SDL_CreateWindow(config.title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, config.width, config.height, flags);
    if (!window_) return std::string("could not create the window: ") + SDL_GetError();
    gl_context_ = SDL_GL_CreateContext(window_);
    if (!gl_context_) return std::string("could not create a WebGL2 / OpenGL 3 context: ") + SDL_GetError();
    SDL_GL_MakeCurrent(window_, gl_context_);
    SDL_GL_SetSwapInterval(1);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // no layout file: an embedded instance writes nothing behind the host's back
    io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
    ImGui::StyleColorsDark();
    ImGuiStyle& style = ImGui::GetStyle();
    style.WindowRounding = 4;
    style.FrameRounding = 3;
    style.WindowBorderSize = 0;
    ImGui_ImplSDL2_InitForOpenGL(window_, gl_context_);
    ImGui_ImplOpenGL3_Init(glsl);
    g_ime_frame = this;
    g_sdl_set_ime_data = io.SetPlatformImeDataFn;
    io.SetPlatformImeDataFn = set_platform_ime_data;
    imgui_ready_ = true;

    font_ttf_ = config.font_ttf;
    extra_fonts_ = config.extra_fonts;
    extra_ranges_.clear();
    add_code_point_ranges(extra_ranges_, config.extra_code_points);
    font_size_ = config.font_size;
    int w = 0, h = 0, dw = 0, dh = 0;
    SDL_GetWindowSize(window_, &w, &h);
    SDL_GL_GetDrawableSize(window_, &dw, &dh);
    dpr_ = w > 0 ? (double)dw / w : 1;
    canvas_scale_ = dpr_;
    build_fonts();
    drawing_ = config.drawing;
    const GLubyte* renderer = glGetString(GL_RENDERER);
    set_renderer(renderer ? (const char*)renderer : "");
    return {};
}

bool is_software_renderer(const std::string& renderer) {
    std::string name = renderer;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return (char)std::tolower(c); });
    for (const char* software : {"swiftshader", "llvmpipe", "softpipe", "lavapipe", "software", "basic render driver"})
        if (name.find(software) != std::string::npos) return true;
    return false;
}

void SdlFrame::set_renderer(const std::string& renderer) {
    renderer_ = renderer;
    software_ = is_software_renderer(renderer);
}

RenderingInfo SdlFrame::rendering() const {
    bool cached = drawing_ == FrameConfig::Drawing::Cached || (drawing_ == FrameConfig::Drawing::Auto && software_);
    return RenderingInfo{renderer_, software_, cached, workspace_.scene_captures(), reduced_frames_};
}

// Glyphs are rasterised at the device pixel ratio and scaled back, so text stays sharp on HiDPI.
void SdlFrame::build_fonts() {
    ImGuiIO& io = ImGui::GetIO();
    io.Fonts->Clear();
    float scale = (float)std::max(1.0, dpr_);
    if (!font_ttf_.empty()) {
        ImFontConfig cfg;
        cfg.FontDataOwnedByAtlas = false;
        // What fonts/ui-latin.ttf holds (tools/subset_font.py LATIN): ASCII and what else the UI writes.
        static const ImWchar ranges[] = {0x0020, 0x007E, 0x00A0, 0x00A0, 0x00B7, 0x00B7, 0x00D7, 0x00D7, 0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2022, 0x2026, 0x2026, 0};
        io.Fonts->AddFontFromMemoryTTF(font_ttf_.data(), (int)font_ttf_.size(), font_size_ * scale, &cfg, ranges);
        // Only the characters the task uses, so that a CJK font adds dozens of glyphs to the
        // atlas, not thousands.
        for (std::vector<uint8_t>& extra : extra_fonts_) {
            if (extra_ranges_.size() < 3) break;
            ImFontConfig merge;
            merge.FontDataOwnedByAtlas = false;
            merge.MergeMode = true;
            io.Fonts->AddFontFromMemoryTTF(extra.data(), (int)extra.size(), font_size_ * scale, &merge, extra_ranges_.data());
        }
    } else {
        ImFontConfig cfg;
        cfg.SizePixels = 13 * scale;
        io.Fonts->AddFontDefault(&cfg);
    }
    io.FontGlobalScale = 1.0f / scale;
    ImGui_ImplOpenGL3_DestroyFontsTexture();
    ImGui_ImplOpenGL3_CreateFontsTexture();
    fonts_dirty_ = false;
}

void SdlFrame::add_fonts(std::vector<std::vector<uint8_t>> fonts, const std::vector<uint32_t>& code_points) {
    for (std::vector<uint8_t>& font : fonts) extra_fonts_.push_back(std::move(font));
    add_code_point_ranges(extra_ranges_, code_points);
    fonts_dirty_ = true;
    request_redraw();
}

// Typed or pasted text, and text values in the document, may use a script the task's names do
// not: those characters would show as "?" until a font holding them is merged in.
void SdlFrame::report_missing_glyphs(const App& app) {
    ImFont* font = ImGui::GetFont();
    std::vector<uint32_t> missing;
    auto check = [&](uint32_t c) {
        if (c < 0x80 || c > 0xFFFF || glyphs_reported_.count(c) || font->FindGlyphNoFallback((ImWchar)c)) return;
        glyphs_reported_.insert(c);
        missing.push_back(c);
    };
    for (ImWchar c : ImGui::GetIO().InputQueueCharacters) check(c);
    if (app.revision() != scanned_revision_) {
        scanned_revision_ = app.revision();
        auto check_text = [&](const std::vector<Attribute>& attributes) {
            for (const Attribute& a : attributes)
                if (a.value.is_string())
                    for (uint32_t c : utf8_code_points(a.value.get_ref<const std::string&>())) check(c);
        };
        for (const Object& o : app.document().objects) check_text(o.attributes);
        for (const Track& t : app.document().tracks) {
            check_text(t.attributes);
            for (const Keyframe& k : t.keyframes) check_text(k.attributes);
        }
    }
    if (!missing.empty() && on_missing_glyphs) on_missing_glyphs(missing);
}

bool SdlFrame::tick(App& app) {
    Uint64 started = SDL_GetPerformanceCounter();
    bool had_events = false;
    SDL_Event event;
    while (SDL_PollEvent(&event)) {
        had_events = true;
        ImGui_ImplSDL2_ProcessEvent(&event);
        if (event.type == SDL_QUIT) return false;
        if (event.type == SDL_WINDOWEVENT && event.window.event == SDL_WINDOWEVENT_CLOSE && event.window.windowID == SDL_GetWindowID(window_)) return false;
    }
    bool was_busy = app.busy();
    app.apply_inbox();
    if (auto size = app.take_canvas_resize()) {
        SDL_SetWindowSize(window_, size->first, size->second);
        canvas_scale_ = 0;  // SDL sized the canvas at the device pixel ratio
        redraw_frames_ = std::max(redraw_frames_, 3);
    }
    double now = (double)SDL_GetPerformanceCounter() / (double)SDL_GetPerformanceFrequency();
    // The view moves (a pan drag or the wheel, or it changes again on the next drawn frame or
    // within kSettleSeconds; a single jump, as a fit or a click on an object's row, is no
    // motion): the scene cache paints a margin for it, and on software rasterisers frames are
    // drawn at one pixel per CSS pixel until it stops. Counted in frames too: a frame drawn at
    // full resolution may itself last longer than kSettleSeconds.
    const View& view = app.view();
    bool view_changed = view.zoom != last_view_.zoom || view.offset.x != last_view_.offset.x || view.offset.y != last_view_.offset.y;
    if (view_changed) {
        moving_ = workspace_.view_gesture() || last_frame_moved_view_ || (last_motion_ >= 0 && now - last_motion_ <= kSettleSeconds);
        last_view_ = view;
        last_motion_ = now;
    } else if (moving_ && now - last_motion_ > kSettleSeconds) {
        moving_ = false;
        redraw_frames_ = std::max(redraw_frames_, 1);  // the still frame, at full resolution
    }
    app.advance_playback(now);
    // A refusal fades from the status bar: the frames after it went are drawn even when idle.
    if (app.notices().expire(now)) redraw_frames_ = std::max(redraw_frames_, 3);
    // While a drawing or a drag is in progress every frame is drawn: the draft follows the cursor.
    if (had_events || was_busy || app.editor().busy()) redraw_frames_ = std::max(redraw_frames_, 3);
    // ImGui takes one change of a key or button per frame (typed text, then a click, come over
    // many frames): until its queue is empty, frames are drawn, or a click after fast typing
    // would wait for the next mouse move.
    if (GImGui && !GImGui->InputEventsQueue.empty()) redraw_frames_ = std::max(redraw_frames_, 1);
    if (app.take_redraw_request()) redraw_frames_ = std::max(redraw_frames_, 1);

    int w = 0, h = 0, dw = 0, dh = 0;
    SDL_GetWindowSize(window_, &w, &h);
    SDL_GL_GetDrawableSize(window_, &dw, &dh);
    double dpr = w > 0 ? (double)dw / w : 1;
    if (std::fabs(dpr - dpr_) > 1e-3) {
        dpr_ = dpr;
        build_fonts();
        redraw_frames_ = std::max(redraw_frames_, 3);
    }
    // Nothing changed: draw nothing, so an idle labeler's laptop stays cool.
    if (redraw_frames_ <= 0) return true;
    --redraw_frames_;

    // Before `ready` the page's loading overlay covers the canvas: nothing is laid out or painted
    // until the first picture can be shown (on a software-GL browser every painted frame costs a
    // read-back of the canvas). That frame is laid out twice (ImGui sizes new windows on their
    // first frame and shows them on the second) and painted once. Meanwhile the font texture and
    // ImGui's shaders are made, while the network still works.
    if (!app.worth_painting()) {
        if (fonts_dirty_) build_fonts();
        ImGui_ImplOpenGL3_NewFrame();
        return true;
    }
    RenderingInfo info{};
    for (int pass = laid_out_ ? 1 : 0; pass < 2; ++pass) {
        if (fonts_dirty_) build_fonts();
        ImGui_ImplOpenGL3_NewFrame();
        ImGui_ImplSDL2_NewFrame();
        info = rendering();
        if (set_canvas_pixels) {
            // Presenting a WebGL canvas from a software rasteriser costs time per pixel (about 14 ms
            // per million in headless Chromium's SwiftShader): while the view moves, a HiDPI canvas
            // holds one pixel per CSS pixel (the browser scales it up), and the still frame is sharp.
            double render_scale = info.cached && moving_ && dpr_ > 1 ? 1.0 : dpr_;
            if (std::fabs(render_scale - canvas_scale_) > 1e-6) {
                set_canvas_pixels((int)std::lround(w * render_scale), (int)std::lround(h * render_scale));
                canvas_scale_ = render_scale;
            }
            dw = (int)std::lround(w * render_scale);
            dh = (int)std::lround(h * render_scale);
            ImGui::GetIO().DisplayFramebufferScale = ImVec2((float)render_scale, (float)render_scale);
            if (render_scale < dpr_) ++reduced_frames_;
        }
        ImGui::NewFrame();
        report_missing_glyphs(app);
        // A gesture in progress (drawing, dragging) changes the shapes every frame: painting them into
        // the cache first would only add a pass.
        workspace_.draw(app, textures_, w, h, SceneLayer::Mode{info.cached && !app.editor().busy(), moving_});
        ImGui::Render();
    }
    laid_out_ = true;
    glViewport(0, 0, dw, dh);
    glClearColor(38 / 255.0f, 40 / 255.0f, 44 / 255.0f, 1);  // the canvas's background colour (Workspace)
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    if (frame_ms_.size() < 100000) frame_ms_.push_back((float)((SDL_GetPerformanceCounter() - started) * 1000.0 / SDL_GetPerformanceFrequency()));
    SDL_GL_SwapWindow(window_);
    if (view_changed) last_motion_ = (double)SDL_GetPerformanceCounter() / (double)SDL_GetPerformanceFrequency();
    last_frame_moved_view_ = view_changed;
    ++frames_drawn_;
    app.frame_presented();
    return true;
}

void SdlFrame::insert_text(const char* text) {
    ImGuiIO& io = ImGui::GetIO();
    for (ImGuiKey key : {ImGuiMod_Ctrl, ImGuiMod_Super, ImGuiKey_LeftCtrl, ImGuiKey_RightCtrl, ImGuiKey_LeftSuper, ImGuiKey_RightSuper}) io.AddKeyEvent(key, false);
    io.AddInputCharactersUTF8(text);
    request_redraw();
}

void SdlFrame::shutdown() {
    if (g_ime_frame == this) g_ime_frame = nullptr;
    if (imgui_ready_) {
        textures_.release_all();
        workspace_.release_gl();
        ImGui_ImplOpenGL3_Shutdown();
        ImGui_ImplSDL2_Shutdown();
        ImGui::DestroyContext();
        imgui_ready_ = false;
    }
    if (gl_context_) SDL_GL_DeleteContext(gl_context_);
    gl_context_ = nullptr;
    if (window_) SDL_DestroyWindow(window_);
    window_ = nullptr;
    SDL_Quit();
}

}  // namespace pm
