// The application state and its operations: the task, the annotation document, the current
// frame and view, and what is loading. No ImGui, SDL, GL or emscripten here: the UI reads this
// and calls its operations, the platform feeds it results, the renderer uploads what it decodes.
// Units: view and pointer positions are screen (CSS) pixels of the canvas; shapes are image pixels.
#pragma once
#include "app/editor.hpp"
#include "app/platform_port.hpp"
#include "polymark/backend_profile.hpp"
#include "polymark/document.hpp"
#include "polymark/edit.hpp"
#include "polymark/image_decode.hpp"
#include "polymark/interpolate.hpp"
#include "polymark/profile_sync.hpp"
#include "polymark/sync.hpp"
#include "polymark/task.hpp"
#include "polymark/track_forward.hpp"
#include "polymark/view.hpp"

#include <deque>
#include <map>
#include <optional>
#include <set>
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
    // Sync through a backend profile (docs/PROFILES.md) instead of serve.py's routes: the
    // annotations are loaded and saved through it (ProfileSync). profile_context: the portal's
    // {"vars": {name: value}, "tables": {name: [[ours, theirs], ...]}} for its templates.
    std::optional<BackendProfile> profile;
    Json profile_context;
};

struct FetchResult {
    uint64_t request_id = 0;
    int status = 0;          // HTTP status; 0 when the request failed before an answer
    std::string error;       // network-level failure, empty otherwise
    std::vector<uint8_t> body;  // for a platform decode: RGBA pixels
    int width = 0, height = 0;   // for a platform decode
    unsigned texture = 0;        // for a video frame: the GL texture the platform filled
    long long video_frames = 0;  // for a video frame: the video's frame count
    long long frame = 0;         // for a video frame: which one
    double frame_seconds = 0;    // for a video frame: how long it is shown (0: unknown)
    int channels = 4;            // for pixels read for the tracker: 1 (luma) or 4 (RGBA)
};

enum class LoadState { Idle, Loading, Ready, Failed };

// One decoded image, waiting for or already on the GPU. The renderer takes `pixels` when it
// uploads them and bumps `uploaded_generation`.
struct FrameImage {
    LoadState state = LoadState::Idle;
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;  // RGBA, emptied once uploaded
    uint64_t generation = 0;      // changes when new pixels arrive
    // A huge image is shown at a reduced level (docs/API.md, "Images"): `pixels` are
    // level_width x level_height, one pixel covering level x level image pixels; width and height
    // stay the image's, in which shapes are drawn and picked.
    int level = 1, level_width = 0, level_height = 0;
    // Zoomed in past a reduced level, the visible region decoded finer (App::advance_detail), drawn
    // over the level: `pixels` are pixels_width x pixels_height, each covering level x level image
    // pixels, the first at image pixel (x, y); the region is width x height image pixels. width 0:
    // none. `generation` changes whenever it does (the renderer replaces or deletes its texture).
    struct Detail {
        int x = 0, y = 0, width = 0, height = 0, level = 1, pixels_width = 0, pixels_height = 0;
        std::vector<uint8_t> pixels;  // RGBA, emptied once uploaded
        uint64_t generation = 0;
    } detail;
    uint64_t last_shown = 0;  // when it was last the current image (the image cache's LRU order)
    std::string reported_failure;  // a video's failure already reported: a repeat is not reported again
    long long failed_frame = -1;   // the video frame whose request failed last
    Error error;
    // Video: the platform fills a texture of its own (then `pixels` stays empty); the frame of
    // the video it shows, the frame wanted, and whether a request is out.
    unsigned platform_texture = 0;
    long long shown_frame = -1, wanted_frame = -1;
    double shown_seconds = 0;  // how long the shown video frame lasts (variable frame rates vary)
    bool video_request_out = false;
};

// Display adjustments of the image, applied on the GPU; they never change the pixels or the
// document. brightness is added (-0.5..0.5), contrast scales around mid-grey, gamma > 1 lightens.
struct ImageAdjust {
    double brightness = 0, contrast = 1, gamma = 1;
    bool identity() const { return brightness == 0 && contrast == 1 && gamma == 1; }
};

struct Notice {
    Error error;
    double shown_at = 0;
};

class App {
public:
    App(PlatformPort& platform, AppOptions options);

    // [SECTION] Lifecycle, driven by the platform
    void start();
    void post_fetch_result(FetchResult result);
    // Applies finished async work. Called once at the start of every frame.
    void apply_pending();
    // Called by the frame after the current image was drawn: fires `ready` once.
    void frame_presented();

    // [SECTION] Queries for the UI and the API
    bool task_loaded() const { return task_.has_value(); }
    // Something on screen may change next frame (a load, playback): the frame draws every tick.
    // A tracking run is not: it asks for a redraw when its progress moved (take_redraw_request).
    bool busy() const;
    bool take_redraw_request() { return std::exchange(redraw_wanted_, false); }
    const Task* task() const { return task_ ? &*task_ : nullptr; }
    const Document& document() const { return document_; }
    long long frame() const { return frame_; }
    long long frame_count() const { return task_ ? task_->frame_count() : 0; }
    const View& view() const { return view_; }
    Rect viewport() const { return viewport_; }
    FrameImage* current_image();
    const FrameImage* current_image() const;
    // The current frame's picture is the one on screen (a video may still show the previous one).
    bool current_frame_shown() const;
    const std::string& current_media_name() const;
    const std::deque<Notice>& notices() const { return notices_; }
    const std::optional<Error>& fatal_error() const { return fatal_; }
    Json view_json(double device_pixel_ratio) const;

    // [SECTION] Operations
    Errors set_annotations_json(std::string_view text);
    std::string annotations_json() const { return serialize_document(document_); }
    bool set_frame(long long frame);
    void set_viewport(Rect viewport);
    void zoom_around(Vec2 screen_anchor, double factor);
    void pan_by(Vec2 screen_delta);
    void fit_to_viewport();
    void set_view(double zoom, Vec2 offset);  // zoom clamped to the View's limits
    const ImageAdjust& image_adjust() const { return adjust_; }
    void set_image_adjust(ImageAdjust adjust);  // values clamped to their ranges
    // Centres the view on an image rectangle; with `zoom`, also zooms so that it fills the view.
    void focus_on(Rect image_rect, bool zoom);
    void dismiss_notice(size_t index);
    void report(Error error);
    void report_skipped(const SkippedItem& item);  // an object or track left out when opening the task

    // [SECTION] Edits: the one mutation point of the document. perform() applies a command,
    // records it for undo and emits `change`; a refused command is reported and changes nothing.
    bool perform(Command command);
    bool undo();
    bool redo();
    const History& history() const { return history_; }
    uint64_t revision() const { return revision_; }  // changes with every change of the document
    std::string new_object_id() { return ids_.next(document_); }
    Editor& editor() { return editor_; }
    const Editor& editor() const { return editor_; }

    // [SECTION] Sync with the backend (SyncEngine): every command performed, undone or redone is
    // recorded; other devices' changes enter the document outside the undo history. The engine
    // starts once the annotations are loaded and the journal was read (start_sync); until then
    // edits are refused (another tab of the same task holds the writer lock). Times: a steady clock.
    bool sync_enabled() const { return options_.sync.has_value(); }
    bool sync_started() const { return sync_.has_value(); }
    // The journal's record texts (empty on a first visit); sync starts when the document is loaded.
    // device_id: the journal's own (when the writer lock came late); empty: the configured one.
    void start_sync(std::vector<std::string> journal_records, std::string device_id = "");
    void sync_tick();  // the platform calls it on a timer (not per frame: frames stop in hidden tabs)
    void sync_reply(uint64_t seq, int http_status, const std::string& body);
    void sync_failure(uint64_t seq, bool timeout);
    void sync_journal_written(bool ok, const std::string& message);
    void sync_flush();
    void sync_catchup();
    void set_sync_token(std::string token);
    Errors resolve_conflict(const std::string& id, Resolution choice);  // id "" with resolve_all
    Json sync_status_json() const;  // the `sync` event's payload
    std::vector<SyncConflict> sync_conflicts() const { return sync_ ? sync_->conflicts() : std::vector<SyncConflict>{}; }
    // Items the server refused for their content (sync.hpp): listed, retried or discarded (then
    // the server's value comes back outside the undo history). ids empty: all of them.
    std::vector<SetAsideItem> sync_set_aside() const { return sync_ ? sync_->set_aside() : std::vector<SetAsideItem>{}; }
    Errors retry_set_aside(const std::vector<std::string>& ids);
    Errors discard_set_aside(const std::vector<std::string>& ids);

    // [SECTION] The current frame's shapes: the document's objects on it, then every track's
    // shape there as an Object whose id is the track's. Rebuilt when the document or frame changes.
    const std::vector<Object>& frame_objects() const;
    bool is_track(const std::string& id) const { return find_track(document_, id) >= 0; }
    const Track* track(const std::string& id) const;
    // Commands for edits of frame shapes: an object is updated or deleted; a track gets (or
    // updates) a keyframe on the current frame, and deleting its shape deletes the track.
    Command update_shapes_command(std::string name, const std::vector<Object>& after);
    Command remove_shapes_command(std::string name, const std::vector<std::string>& ids);
    // Creates a shape drawn on the current frame, as a track when `as_track`.
    bool create_shape(std::string name, Object shape, bool as_track);
    std::vector<FrameShape> frame_state(long long frame) const;

    // [SECTION] Playback at the media's pace: a video frame for its own duration, a sequence of images at
    // the task's fps or 10 a second. A frame still loading holds the playhead: nothing is skipped.
    void set_playing(bool on);
    bool playing() const { return playing_; }
    double frame_rate() const;
    // Called once per UI frame with a monotonic clock.
    void advance_playback(double now_seconds);

    // [SECTION] Track forward (TrackForwardJob): the visual tracker over the frames after the current
    // one, sliced across UI frames. The pixels of the next few frames are read ahead (video: the
    // platform copies a decoded frame out; images: fetched and decoded here); each UI frame feeds
    // the job what arrived, within a time budget, so the canvas keeps drawing. Everything it wrote
    // becomes one command (one undo step) when it ends, is cancelled, or stops at a lost object.
    // frames: how many frames after the current one; 0: until every object is lost or the task ends.
    Errors start_tracking(const std::vector<std::string>& track_ids, long long frames);
    void cancel_tracking();
    bool tracking() const { return tracking_.has_value(); }
    // Feeds the job the frames that arrived, for about budget_ms (at least one frame); returns how
    // many. Called once per UI frame, or (web) from tasks of the page's own between frames.
    int advance_tracking(double budget_ms);
    // The run in progress, or the last one's outcome (null before the first): the `tracking` event.
    Json tracking_json() const;
    // A run in a worker (PlatformPort::start_tracking_worker): its progress, and its end with what
    // it wrote (track_written_to_json), merged as one command like a run here.
    void tracking_worker_status(const Json& status);
    void tracking_worker_done(const Json& status, const Json& written);

private:
    PlatformPort& platform_;
    AppOptions options_;
    std::optional<Task> task_;
    Document document_;
    History history_;
    uint64_t revision_ = 0;
    IdGenerator ids_;
    Editor editor_{*this};
    long long frame_ = 0;
    View view_;
    ImageAdjust adjust_;
    Rect viewport_{0, 0, 800, 600};
    bool fit_pending_ = true;   // fit the next image that becomes ready
    bool ready_sent_ = false;
    std::optional<Error> fatal_;
    std::deque<Notice> notices_;
    std::map<size_t, FrameImage> images_;  // by media index
    uint64_t show_clock_ = 0;              // counts current-image changes (FrameImage::last_shown)
    std::set<size_t> video_count_reported_;
    bool playing_ = false;
    double play_clock_ = -1;  // when the shown frame's time began; -1: at the next advance
    mutable InterpolationCache interpolation_;
    mutable std::vector<Object> frame_objects_;
    mutable uint64_t frame_objects_revision_ = ~0ull;
    mutable long long frame_objects_frame_ = -1;

    enum class Request { Task, Annotations, Media, Decode, VideoFrame, TrackPixels, TrackDecode, Detail };
    struct Pending { Request kind; size_t media_index; std::string url; long long frame = -1; };
    uint64_t next_request_id_ = 1;
    std::map<uint64_t, Pending> in_flight_;
    std::vector<FetchResult> inbox_;
    bool annotations_ready_ = false;
    int64_t loaded_revision_ = 0;  // the backend's revision of the document loaded

    struct TrackingRun {
        explicit TrackingRun(TrackForwardJob j) : job(std::move(j)) {}
        TrackForwardJob job;
        std::map<long long, FetchResult> arrived;  // pixels (or the failure) by task frame
        std::set<long long> requested;             // out, not arrived yet
        double started_ms = 0, last_emit_ms = 0, last_redraw_ms = 0;
        double feed_ms = 0;  // running mean of one frame's tracking time, for the budget
        long long frames_fed = 0;
        std::set<std::string> reported;  // objects whose failure was reported at the start
        bool in_worker = false;
        Json worker_status;  // the worker's last progress (in_worker)
    };
    std::optional<TrackingRun> tracking_;
    bool redraw_wanted_ = false;
    Json last_tracking_;
    void request_tracking_pixels();
    void on_tracking_pixels(FetchResult& r, const Pending& p);
    void finish_tracking(const char* how);
    void redraw_progress(TrackingRun& run);
    void end_tracking(Command command, Json status, const TrackingRun& run);
    Json tracking_status_json(const TrackingRun& run, const char* state) const;

    std::optional<SyncEngine> sync_;
    std::optional<ProfileSync> link_;  // with a profile: every sync request goes through it
    uint64_t link_load_seq_ = 0;       // the profile's load request, while it is out
    std::string link_load_url_;
    void start_profile_load();
    void on_profile_load(int http_status, const std::string& body);
    void handle_link_step(ProfileStep step);
    std::optional<std::vector<std::string>> sync_journal_;  // read, waiting for the document
    size_t journal_writes_ = 0;  // journal transactions not yet committed
    std::string journal_error_;
    std::string last_sync_status_;
    std::string pending_token_;  // given before the engine started
    struct HeldReply { uint64_t seq; int status; std::string body; };
    std::vector<HeldReply> held_replies_;  // arrived mid-gesture (sync_reply)
    void begin_sync();
    static Command replace_command(const Document& before, const Document& after);
    void record_for_sync(const Command& applied);
    void handle_sync_output(SyncOutput out);
    void poll_sync();
    void emit_sync_status();

    std::string api_url(const std::string& path) const;
    std::string media_url(const Media& m) const;
    void request(Request kind, const std::string& url, size_t media_index = 0);
    void on_task(const FetchResult& r, const std::string& url);
    void on_annotations(const FetchResult& r, const std::string& url);
    void on_media(const FetchResult& r, size_t media_index, const std::string& url);
    void on_platform_decoded(FetchResult& r, size_t media_index, const std::string& url);
    void request_video_frame(size_t media_index);
    void on_video_frame(const FetchResult& r, size_t media_index, const std::string& url);
    void accept_task(Task task);
    void load_current_media();
    // The image cache: frees images not on screen, reduced levels of huge images at once, others
    // least recently shown first while the decoded bytes exceed kImageCacheBytes.
    void release_left_images(size_t current_media);
    // The reduced level of a huge PNG being decoded for the current image, a slice a frame.
    struct LevelJob {
        uint64_t request_id = 0;
        size_t media_index = 0;
        std::unique_ptr<PngLevelDecoder> decoder;
    };
    std::optional<LevelJob> level_job_;
    void advance_level_decode();
    void drop_level_decode();
    // What a huge image's detail regions are decoded from, kept while its frame is shown: the
    // PNG's layout (its compressed data) or, for other formats, the file's bytes.
    struct HugeSource {
        size_t media_index = 0;
        std::shared_ptr<const PngLayout> png;
        std::vector<uint8_t> bytes;
    };
    std::optional<HugeSource> huge_source_;
    // The detail region being decoded: a PNG by the core a slice a frame, others by the platform.
    struct DetailJob {
        uint64_t request_id = 0;
        size_t media_index = 0;
        PixelWindow region;
        int level = 1;
        std::unique_ptr<PngLevelDecoder> decoder;  // null: the platform's
    };
    std::optional<DetailJob> detail_job_;
    View detail_seen_view_;
    Rect detail_seen_viewport_;
    int64_t view_changed_ms_ = 0;
    void advance_detail();
    void drop_detail_job();
    void on_detail_decoded(FetchResult& r);
    void fail_startup(Error error);
    std::optional<Error> http_error(const FetchResult& r, const std::string& url, const char* what) const;
    void document_changed(const std::string& command_name);
};

}  // namespace pm
