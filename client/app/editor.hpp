// The editing tools as a state machine: drawing shapes, selecting, moving, reshaping, and the
// commands the labeler's keys stand for. Input arrives already in image pixels (the UI converts);
// every change to the document leaves here as one Command through App::perform, when the gesture
// ends: a drag previews and commits once. View-only state (hidden, locked, selection, the draft
// being drawn) lives here and is not undoable.
#pragma once
#include "polymark/edit.hpp"
#include "polymark/geometry.hpp"
#include "polymark/interpolate.hpp"
#include "polymark/spatial_index.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pm {

class App;

// Scissors, Wand and Outline draw polygons with the assist worker's help (editor_assist.cpp).
enum class Tool { Select, Rectangle, Polygon, Polyline, Points, Ellipse, Scissors, Wand, Outline };
const char* to_string(Tool t);
std::optional<Tool> tool_from_string(std::string_view s);

struct PointerInput {
    Vec2 at;                    // image pixels
    double pick_radius = 4;     // image pixels that make the handle radius on screen
    double freehand_spacing = 6;  // image pixels between vertices added by Shift+drag
    bool shift = false, ctrl = false, alt = false;
};

enum class PointerButton { Left, Right };

class Editor {
public:
    explicit Editor(App& app) : app_(app) {}

    // [SECTION] Tools and the label of the next shape
    void set_tool(Tool tool);
    Tool tool() const { return tool_; }
    bool set_label(const std::string& label_id);  // false when the task has no such label
    const std::string& label() const { return label_; }
    // Whether a label may be drawn with a tool (its `types`; the select tool takes any label).
    bool label_allows(const std::string& label_id, Tool tool) const;
    void repeat_last_tool();  // N when not drawing: the last drawing tool, same label

    // [SECTION] Pointer, in image pixels
    void pointer_down(const PointerInput& in, PointerButton button);
    void pointer_move(const PointerInput& in, bool button_held);
    void pointer_up(const PointerInput& in);
    void pointer_left() { hovered_.clear(); }  // the cursor left the canvas
    // The shape a right press on it (not on a vertex) selected, for its context menu, once.
    std::string take_context_menu_request() { return std::exchange(context_menu_request_, std::string()); }

    // [SECTION] Keys
    bool drawing() const { return draft_.has_value(); }
    bool busy() const { return drawing() || drag_ != Drag::None || redraw_.has_value(); }
    void finish_drawing();       // Enter, or N while drawing
    void cancel();               // Esc: the draft, a drag in progress, a redraw, else the selection
    void remove_last_vertex();   // Backspace while drawing
    void delete_selection();     // Delete; of predictions: rejects them and goes to the next one
    // [SECTION] A model's predictions (editor_predictions.cpp)
    // Enter (not drawing): accepts the selected predictions as they are (one command), then, as
    // with none selected, selects the next prediction to confirm; nothing when the task has none.
    void confirm_predictions();
    // One command accepting those of `ids` that are pending predictions; how many were accepted.
    size_t accept_predictions(const std::vector<std::string>& ids);
    // Selects the lowest-scoring pending prediction of this frame, else goes to the frame that
    // comes first in the queue and selects its lowest; the id, or none when every one is confirmed
    // (said in the status bar unless `quiet`).
    std::optional<std::string> next_prediction(bool quiet);
    bool selection_has_predictions() const;
    void duplicate_selection();
    void copy_selection();
    void paste(std::optional<Vec2> at);
    void bring_to_front();       // +
    void send_to_back();         // -
    void toggle_lock();          // L
    void toggle_hide();          // H
    bool relabel_selection(const std::string& label_id) { return relabel(selection_, label_id); }  // Ctrl+1..9
    // One command: the shapes `ids` whose type the label allows take it (the others keep theirs).
    bool relabel(const std::vector<std::string>& ids, const std::string& label_id);
    void cycle_selection(int step);  // Tab / Shift+Tab
    void add_tag();
    // [SECTION] Tracks of the selection, on the current frame (one undo step each)
    void toggle_keyframe();        // K
    void toggle_outside();         // O
    void toggle_occluded();        // Q
    void jump_to_keyframe(int direction);  // R (+1) / E (-1): of the selected tracks, else of all
    void merge_selection();        // M: the selected shapes and tracks into one track
    void propagate_selection(long long frames);  // Ctrl+B: copies onto the next frames
    // T: the selected tracks followed by the tracker from this frame (App::start_tracking) over
    // track_frames() frames (0: until lost); Esc cancels it.
    void track_selection_forward();
    long long track_frames() const { return track_frames_; }
    void set_track_frames(long long frames) { track_frames_ = std::max(0LL, frames); }
    void split_selected_track();   // at the current frame
    void delete_selected_track_from_here();
    void set_snapping(bool on) { snapping_ = on; }
    // New shapes become tracks or single-frame shapes. A track lives within one medium; App turns
    // this off when the frame leaves a video for an image.
    void set_draw_tracks(bool on) { draw_tracks_ = on; }
    bool draw_tracks() const { return draw_tracks_; }
    bool snapping() const { return snapping_; }

    // [SECTION] Assisted tools (editor_assist.cpp), answered by the platform's assist worker
    // Scissors: clicks place anchors; between them the outline follows the image's edges (the
    // path to the cursor is previewed); closed on the first vertex or with Enter; Backspace takes
    // back the last anchor. Wand: a click outlines the region of similar colour under it. Outline:
    // a dragged box becomes the outline of the object inside it. Each makes one polygon (one undo
    // step); the wand and outline tools stay on for the next object. Edge snapping moves a dragged
    // vertex onto the strongest edge near it.
    void on_assist_reply(const Json& reply);
    const Points* scissors_preview() const { return draft_ && tool_ == Tool::Scissors && !assist_.preview.empty() ? &assist_.preview : nullptr; }
    const std::vector<size_t>& scissors_anchors() const { return assist_.anchors; }
    // The box being outlined or the point being filled while the worker works, and its progress (0..1).
    std::optional<Rect> assist_pending_box() const { return assist_.job ? assist_.job_box : std::nullopt; }
    double assist_progress() const { return assist_.progress; }
    bool assist_busy() const { return assist_.job != 0; }
    void set_edge_snapping(bool on) { edge_snapping_ = on; }
    bool edge_snapping() const { return edge_snapping_; }
    int wand_tolerance() const { return wand_tolerance_; }
    void set_wand_tolerance(int tolerance) { wand_tolerance_ = std::clamp(tolerance, 1, 255); }

    // [SECTION] Selection and what the renderer needs
    const std::vector<std::string>& selection() const { return selection_; }
    void select(std::vector<std::string> ids);
    bool is_selected(const std::string& id) const;
    bool is_hidden(const std::string& id) const { return hidden_.count(id) > 0; }
    bool is_locked(const std::string& id) const { return locked_.count(id) > 0; }
    void set_hidden(const std::string& id, bool hidden);
    void set_locked(const std::string& id, bool locked);
    // The shape a press at the cursor would take (the selected one where it is under the cursor,
    // else the topmost), or empty.
    const std::string& hovered() const { return hovered_; }
    // Tracks known on this frame but outside here: not drawn, but listed (greyed) and selectable,
    // so that O can bring them back. Ids in document order.
    const std::vector<std::string>& outside_tracks();
    bool is_outside_here(const std::string& id);
    // The shape being drawn, and shapes being dragged (shown instead of their stored version).
    const std::optional<Object>& draft() const { return draft_; }
    const std::vector<Object>& previews() const { return previews_; }
    // Changes whenever the set of shapes drawn from the document changes without a document
    // change: hiding, showing, a drag starting or ending.
    uint64_t display_version() const { return display_version_; }
    std::optional<Rect> box_selection() const;
    const Points* redraw_path() const { return redraw_ ? &redraw_->path : nullptr; }
    // The polygon a click would make while the cursor is on the redraw's end vertex (Shift: the
    // longer side is replaced instead of the shorter), for the renderer.
    const Points* redraw_result() const { return redraw_ && redraw_->result ? &*redraw_->result : nullptr; }
    std::optional<Vec2> redraw_start() const;
    Vec2 cursor() const { return cursor_; }
    // Where a box's rotation handle sits, for the renderer and hit tests.
    static Vec2 rotation_handle(const Object& o, double pick_radius);
    // The current frame's shapes (App::frame_objects), and an id's index there or -1.
    const std::vector<Object>& shapes() const;
    int find_shape(const std::string& id) const;
    // Indices into shapes() of the drawable ones (no tags), bottom to top.
    const std::vector<uint32_t>& frame_shapes();
    // The topmost visible shape under p, or -1.
    int pick(Vec2 p, double tolerance);
    // Every visible shape under p, topmost first.
    std::vector<int> picks(Vec2 p, double tolerance);
    // What a press at p takes: a selected shape under p wins over the shapes above it; else the
    // topmost; -1 for none.
    int press_target(Vec2 p, double tolerance);
    // Called after the document changed outside a gesture (a command, undo, redo).
    void document_replaced();
    // A new document from the host: selection, hidden and locked shapes and any draft are dropped.
    void forget_view_state();

private:
    enum class Drag { None, Move, Vertex, Rotate, BoxSelect, DrawBox };
    struct Redraw { std::string id; size_t from = 0; Points path; std::optional<Points> result; };

    App& app_;
    Tool tool_ = Tool::Select;
    Tool last_draw_tool_ = Tool::Rectangle;
    std::string label_;
    bool snapping_ = true;
    bool draw_tracks_ = false;
    long long track_frames_ = 0;
    std::vector<std::string> selection_;
    std::set<std::string> hidden_, locked_;
    std::string hovered_;
    std::string context_menu_request_;
    std::vector<std::string> outside_;
    // A click (a press without a move) on the shape the last click took, at the same spot, takes
    // the next one below it instead (click_cycle_): stacked shapes are reached by clicking again.
    std::string click_cycle_, last_click_id_;
    Vec2 last_click_at_;
    std::optional<Object> draft_;
    std::vector<Object> previews_;
    std::vector<Object> drag_before_;
    std::vector<size_t> drag_indices_;
    Drag drag_ = Drag::None;
    uint64_t display_version_ = 0;
    Vec2 drag_start_, cursor_;
    size_t drag_vertex_ = 0;
    bool drag_moved_ = false;
    bool inserted_vertex_ = false;  // the vertex drag began on an edge's midpoint: a new vertex
    std::optional<Redraw> redraw_;
    struct AssistState {
        uint64_t next_id = 1;
        std::vector<size_t> anchors;            // the scissors draft's vertices that were clicked
        struct Click { uint64_t id; Vec2 at; };
        std::deque<Click> clicks;               // clicked anchors whose path has not come back yet
        uint64_t closing = 0;                   // the path back to the first vertex, then commit
        uint64_t newest_path = 0;               // the cursor's path
        Points preview;
        uint64_t job = 0;                       // a wand or outline request in flight
        std::optional<Rect> job_box;
        long long job_frame = -1;
        double progress = 0;
        uint64_t snap_request = 0;
        Vec2 snap_asked, snap_result;
        bool snap_answered = false;
        PointerInput drag_input;                // the vertex drag's last input, to redo with a snap
        bool release_waits = false;             // released before the snap's answer came
    };
    AssistState assist_;
    bool edge_snapping_ = false;
    int wand_tolerance_ = 32;
    std::vector<Object> clipboard_;
    // Picking caches: rebuilt when the document revision or the frame changes.
    SpatialIndex index_;
    std::vector<uint32_t> frame_shapes_, candidates_;
    uint64_t cached_revision_ = ~0ull;
    long long cached_frame_ = -1;

    void refresh_caches();
    Object new_shape(ShapeType type, Points points);
    void commit_draft();
    bool draft_complete() const;
    Vec2 snapped(Vec2 p, const PointerInput& in, const std::string& skip_id);
    void start_drag(Drag kind, const PointerInput& in, const std::vector<std::string>& ids);
    void update_drag(const PointerInput& in);
    uint64_t send_assist(Json request);  // the request's id, 0 when no assist worker answers here
    bool assist_pointer_down(const PointerInput& in);
    void assist_pointer_move(const PointerInput& in);
    bool assist_box_released(const Rect& box);
    void close_scissors();
    bool redraw_selected(const Points& polygon);
    void scissors_take_path(const Points& path, bool drop_last);
    void remove_last_anchor();
    std::optional<Vec2> edge_snapped(const PointerInput& in);
    void reset_assist();
    void commit_shape(Object o);
    void end_drag(const PointerInput& in);
    bool handle_selected_shape_press(const PointerInput& in);
    const Object* editable_selected_shape() const;
    bool delete_selected_vertex_at(const PointerInput& in);
    std::optional<Points> redraw_outcome(const PointerInput& in) const;
    void edit_selected_tracks(const std::string& name, const std::function<std::optional<Track>(const Track&, const std::function<std::string()>&)>& edit);
    using TrackFlagSetter = std::optional<Track> (*)(const Track&, long long, bool, const std::function<std::string()>&, MediumSpan);
    void toggle_track_flag(const std::string& name, bool TrackState::*flag, TrackFlagSetter set);
    std::vector<size_t> selected_indices() const;
    std::optional<Points> inside_image(ShapeType type, const Points& p) const;
    void perform_updates(const std::string& name, const std::vector<Object>& after);
    void report_label_refused(const std::string& label_id, ShapeType type);
    void set_z_of_selection(const std::string& name, long long z);
    // False, with a refusal saying what to select, when nothing is selected.
    bool need_selection(const char* to_do);
};

}  // namespace pm
