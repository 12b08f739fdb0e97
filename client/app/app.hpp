// The application: the parts a frame runs, composed. The task, the current frame and the view
// (zoom, pan, image adjustments, not undoable) are kept here; the rest is one part each:
//   DocumentSession    the document and its only writer: perform, undo/redo, history, revision
//   MediaCache         images and video frames: fetched, decoded, cached, released (no GL)
//   SyncLink           the journal and the sync engine (or a backend profile), and its status
//   TrackingController the one orchestrator of a track-forward run (in the platform's worker)
//   Editor             the tools as a state machine; it builds commands, the session applies them
//   FormatsController  imports and exports in other tools' formats (converted by the platform)
// Every async result arrives as a typed message in the Inbox (posted by the platform) and is
// applied in apply_inbox(), once, at the start of a frame. No ImGui, SDL, GL or emscripten here.
// Units: view and pointer positions are screen (CSS) pixels of the canvas; shapes are image pixels.
#pragma once
#include "app/editor.hpp"
#include "app/formats_controller.hpp"
#include "app/frame_image.hpp"
#include "app/inbox.hpp"
#include "app/media_cache.hpp"
#include "app/notices.hpp"
#include "app/platform_port.hpp"
#include "app/requests.hpp"
#include "app/session.hpp"
#include "app/sync_link.hpp"
#include "app/tracking_controller.hpp"
#include "app/ui_layout.hpp"
#include "polymark/task.hpp"
#include "polymark/view.hpp"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pm {

struct AppOptions {
    std::string backend;           // base URL of the JSON backend ("" = same origin)
    std::string task_id;           // fetched from the backend unless task_json is given
    std::string task_json;         // an inline task (embedding without a backend)
    std::string annotations_json;  // an inline document; otherwise fetched from the backend
    long long initial_frame = 0;
    // Sync with the backend (a task fetched from it only): the engine's settings; task_id is
    // filled in by the app. None: edits stay in this page.
    std::optional<SyncConfig> sync;
    bool writer_on_this_page = false;  // the task's writer lock is held by another editor of this page
    // Sync through a backend profile (docs/PROFILES.md) instead of serve.py's routes: the
    // annotations are loaded and saved through it (a ProfileSync behind a ProfileClient: on the
    // web it runs in a module of its own). profile_context: the portal's
    // {"vars": {name: value}, "tables": {name: [[ours, theirs], ...]}} for its templates.
    std::shared_ptr<ProfileClient> profile;
    Json profile_context;
};

// How shapes are drawn (view state, like the image adjustments: not undoable, not in the
// document): outline width in screen (CSS) pixels, fill opacity 0..1, and whether every shape
// is captioned with its name (else only the selected and hovered ones).
struct ShapeStyle {
    static constexpr double kMinOutline = 0.5, kMaxOutline = 8;
    double outline_width = 1.5;
    double fill_opacity = 0.25;
    bool captions = false;
};

class App {
public:
    App(PlatformPort& platform, AppOptions options);
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    // [SECTION] The frame, driven by the platform
    void start();
    Inbox& inbox() { return inbox_; }
    // Applies every message posted since the last call, then the work sliced across frames
    // (decoding a huge image). Called once at the start of every frame (and by the sync timer,
    // which runs while frames stop in a hidden tab). A sync reply waits here while a gesture is
    // in progress: applied now it would cancel the drag.
    void apply_inbox();
    void advance_playback(double now_seconds);  // a monotonic clock, once per frame
    // Called after the current image was drawn: fires `ready` once.
    void frame_presented();
    // Before `ready` the page's loading overlay covers the canvas: a frame is worth painting only
    // once it can show the first picture with its annotations (or say why it cannot).
    bool worth_painting() const;
    // Something on screen may change next frame (a load, playback): the frame draws every tick.
    // A tracking run is not: it asks for a redraw when its progress moved (take_redraw_request).
    bool busy() const;
    bool take_redraw_request();
    // The canvas size the page asked for (CSS pixels), once.
    std::optional<std::pair<int, int>> take_canvas_resize() { return std::exchange(canvas_resize_, std::nullopt); }

    // [SECTION] The parts
    DocumentSession& session() { return session_; }
    const DocumentSession& session() const { return session_; }
    MediaCache& media() { return media_; }
    SyncLink& sync() { return sync_; }
    const SyncLink& sync() const { return sync_; }
    TrackingController& tracking() { return tracking_; }
    const TrackingController& tracking() const { return tracking_; }
    Editor& editor() { return editor_; }
    const Editor& editor() const { return editor_; }
    FormatsController& formats() { return formats_; }
    const FormatsController& formats() const { return formats_; }
    PlatformPort& platform() { return platform_; }
    Notices& notices() { return notices_; }
    const Notices& notices() const { return notices_; }
    void report(Error error) { notices_.report(std::move(error)); }
    // An action that did nothing, and why: said in the status bar, fading (Notices::refuse).
    void refuse(Error error) { notices_.refuse(std::move(error)); }

    // [SECTION] Task, frame and view
    bool task_loaded() const { return task_.has_value(); }
    const Task* task() const { return task_ ? &*task_ : nullptr; }
    long long frame() const { return frame_; }
    long long frame_count() const { return task_ ? task_->frame_count() : 0; }
    // Leaving a video for a medium that is not one turns the editor's Track mode off.
    bool set_frame(long long frame);
    // The frames of the medium (one video, or one image) holding `frame`: a track lives within one.
    MediumSpan medium_of(long long frame) const { return task_ ? task_->medium_of(frame) : MediumSpan{}; }
    MediumSpan medium() const { return medium_of(frame_); }
    FrameImage* current_image() { return media_.image_at(frame_); }
    const FrameImage* current_image() const { return media_.image_at(frame_); }
    bool current_frame_shown() const { return media_.frame_shown(frame_); }
    const std::string& current_media_name() const;
    const View& view() const { return view_; }
    Rect viewport() const { return viewport_; }
    void set_viewport(Rect viewport);
    void zoom_around(Vec2 screen_anchor, double factor);
    void pan_by(Vec2 screen_delta);
    void fit_to_viewport();
    void set_view(double zoom, Vec2 offset);  // zoom clamped to the View's limits
    // Centres the view on an image rectangle; with `zoom`, also zooms so that it fills the view.
    void focus_on(Rect image_rect, bool zoom);
    // Centres the view on an image rectangle unless it is already wholly inside the viewport (the
    // view, zoom included, is then left as it is).
    void reveal(Rect image_rect);
    const ImageAdjust& image_adjust() const { return adjust_; }
    void set_image_adjust(ImageAdjust adjust);  // values clamped to their ranges
    const ShapeStyle& shape_style() const { return style_; }
    void set_shape_style(ShapeStyle style);  // values clamped to their ranges
    Json shape_style_json() const;
    Json view_json(double device_pixel_ratio) const;

    // [SECTION] Playback at the media's pace: a video frame for its own duration, a sequence of
    // images at the task's fps or 10 a second. A frame still loading holds the playhead.
    void set_playing(bool on);
    bool playing() const { return playing_; }
    double frame_rate() const;

    // [SECTION] The document at the current frame (the session does the writing)
    const Document& document() const { return session_.document(); }
    uint64_t revision() const { return session_.revision(); }
    bool perform(Command command, bool by_person = true) { return session_.perform(std::move(command), by_person); }
    // One step back or forward. A step that changed nothing on the current frame moves to the
    // nearest frame it changed. Either way step_note() says what it was ("Undid: move shape on
    // frame 12") until the document changes again.
    bool undo() { return step_history(true); }
    bool redo() { return step_history(false); }
    // Where the UI drew its controls last frame (getLayout); the UI reports it once per frame.
    const std::vector<UiControl>& ui_layout() const { return ui_layout_; }
    void report_ui_layout(std::vector<UiControl> controls) { ui_layout_ = std::move(controls); }
    std::string step_note() const { return step_note_revision_ == session_.revision() ? step_note_ : std::string(); }
    std::string new_object_id() { return session_.new_object_id(); }
    Errors set_annotations_json(std::string_view text);
    const std::vector<Object>& frame_objects() const { return session_.frame_objects(frame_, medium()); }
    bool is_track(const std::string& id) const { return session_.is_track(id); }
    // How the UI names an object or track: its label's name and number ("Person 3", "Person
    // track 2": DocumentSession::number_of); the id itself when the document has no such item.
    std::string display_name(const std::string& id) const;
    Command update_shapes_command(std::string name, const std::vector<Object>& after) {
        return session_.update_shapes_command(std::move(name), after, frame_, task());
    }
    Command remove_shapes_command(std::string name, const std::vector<std::string>& ids) const {
        return session_.remove_shapes_command(std::move(name), ids);
    }
    bool create_shape(std::string name, Object shape, bool as_track) { return session_.create_shape(std::move(name), std::move(shape), as_track, task()); }
    Errors start_tracking(const std::vector<std::string>& track_ids, long long frames) { return tracking_.start(track_ids, frame_, frames); }
    // Sends a request about the current frame's picture to the assist worker (the editor's
    // assisted tools); false when the platform has none or the frame has no medium.
    bool send_assist(Json request);

private:
    PlatformPort& platform_;
    AppOptions options_;
    BackendUrls urls_;
    Notices notices_;
    Requests requests_;
    Inbox inbox_;
    std::optional<Task> task_;
    DocumentSession session_;
    Editor editor_{*this};
    FormatsController formats_{*this};
    MediaCache media_;
    SyncLink sync_;
    TrackingController tracking_;
    long long frame_ = 0;
    View view_;
    ImageAdjust adjust_;
    ShapeStyle style_;
    Rect viewport_{0, 0, 800, 600};
    bool fit_pending_ = true;  // fit the next image that becomes ready
    bool fitted_ = false;      // the view is the fitted one: a resize fits again
    bool ready_sent_ = false;
    bool annotations_ready_ = false;
    bool playing_ = false;
    double play_clock_ = -1;  // when the shown frame's time began; -1: at the next advance
    std::optional<std::pair<int, int>> canvas_resize_;
    std::string step_note_;
    std::vector<UiControl> ui_layout_;
    uint64_t step_note_revision_ = ~0ull;

    bool step_history(bool back);
    void apply(FetchDone& done);
    void apply(ImageDecoded& decoded);
    void apply(VideoFrameShown& shown);
    void apply(SyncReplied& reply) { sync_.on_reply(reply); }
    void apply(SyncFailed& failure) { sync_.on_failure(failure); }
    void apply(JournalWritten& written) { sync_.on_journal_written(written); }
    void apply(JournalRead& read) { sync_.start(std::move(read.records), std::move(read.device_id)); }
    void apply(TrackingProgress& progress) { tracking_.on_worker_progress(progress); }
    void apply(TrackingFinished& finished) { tracking_.on_worker_finished(finished); }
    void apply(AssistReplied& replied) { editor_.on_assist_reply(replied.reply); }
    void apply(CanvasResized& resized) { canvas_resize_ = std::make_pair(resized.width, resized.height); }
    void on_task(const FetchDone& done, const std::string& url);
    void on_annotations(const FetchDone& done, const std::string& url);
    void accept_task(Task task);
    std::string sync_task_id() const { return options_.task_id.empty() && task_ ? task_->id : options_.task_id; }
};

}  // namespace pm
