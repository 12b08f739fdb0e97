#include "app/editor.hpp"

#include "polymark/sort_by_key.hpp"
#include "polymark/track_edit.hpp"

#include "app/app.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace pm {

const char* to_string(Tool t) {
    switch (t) {
        case Tool::Select: return "select";
        case Tool::Rectangle: return "rectangle";
        case Tool::Polygon: return "polygon";
        case Tool::Polyline: return "polyline";
        case Tool::Points: return "points";
        case Tool::Ellipse: return "ellipse";
        case Tool::Scissors: return "scissors";
        case Tool::Wand: return "wand";
        case Tool::Outline: return "outline";
    }
    return "select";
}

std::optional<Tool> tool_from_string(std::string_view s) {
    for (Tool t : {Tool::Select, Tool::Rectangle, Tool::Polygon, Tool::Polyline, Tool::Points, Tool::Ellipse, Tool::Scissors, Tool::Wand,
                   Tool::Outline})
        if (s == to_string(t)) return t;
    return std::nullopt;
}

static ShapeType shape_type_of(Tool t) {
    switch (t) {
        case Tool::Polygon:
        case Tool::Scissors:
        case Tool::Wand:
        case Tool::Outline: return ShapeType::Polygon;
        case Tool::Polyline: return ShapeType::Polyline;
        case Tool::Points: return ShapeType::Points;
        case Tool::Ellipse: return ShapeType::Ellipse;
        default: return ShapeType::Rectangle;
    }
}

static bool is_box(ShapeType t) { return t == ShapeType::Rectangle || t == ShapeType::Ellipse; }

// [SECTION] Tools and labels

void Editor::set_tool(Tool tool) {
    if (draft_) draft_.reset();
    reset_assist();
    redraw_.reset();
    tool_ = tool;
    if (tool != Tool::Select) last_draw_tool_ = tool;
}

bool Editor::label_allows(const std::string& label_id, Tool tool) const {
    const Task* task = app_.task();
    const LabelSpec* spec = task ? task->find_label(label_id) : nullptr;
    if (!spec) return false;
    return tool == Tool::Select || spec->allows(shape_type_of(tool));
}

bool Editor::set_label(const std::string& label_id) {
    const Task* task = app_.task();
    if (!task || !task->find_label(label_id)) return false;
    label_ = label_id;
    return true;
}

void Editor::repeat_last_tool() {
    if (draft_) return finish_drawing();
    set_tool(last_draw_tool_);
}

// [SECTION] Caches for picking

void Editor::refresh_caches() {
    if (cached_revision_ == app_.revision() && cached_frame_ == app_.frame()) return;
    cached_revision_ = app_.revision();
    cached_frame_ = app_.frame();
    const auto& objects = shapes();
    frame_shapes_.clear();
    for (uint32_t i = 0; i < objects.size(); ++i)
        if (objects[i].frame == cached_frame_ && objects[i].type != ShapeType::Tag) frame_shapes_.push_back(i);
    // Bottom to top: z first, then document order (later drawn over earlier).
    stable_sort_by_key(frame_shapes_, [&](uint32_t i) { return objects[i].z; });
    index_.build(objects, frame_shapes_);
    outside_.clear();
    MediumSpan medium = app_.medium();
    for (const Track& t : app_.document().tracks) {
        if (t.type == ShapeType::Tag) continue;
        auto state = track_state_at(t, cached_frame_, {}, nullptr, medium);
        if (state && state->outside) outside_.push_back(t.id);
    }
    // A selected track that is outside on this frame stays selected (O brings it back).
    auto alive = [&](const std::string& id) { return find_shape(id) >= 0 || std::find(outside_.begin(), outside_.end(), id) != outside_.end(); };
    selection_.erase(std::remove_if(selection_.begin(), selection_.end(), [&](const std::string& id) { return !alive(id); }), selection_.end());
}

const std::vector<Object>& Editor::shapes() const { return app_.frame_objects(); }

int Editor::find_shape(const std::string& id) const {
    const std::vector<Object>& all = shapes();
    for (size_t i = 0; i < all.size(); ++i)
        if (all[i].id == id) return (int)i;
    return -1;
}

const std::vector<uint32_t>& Editor::frame_shapes() {
    refresh_caches();
    return frame_shapes_;
}

const std::vector<std::string>& Editor::outside_tracks() {
    refresh_caches();
    return outside_;
}

bool Editor::is_outside_here(const std::string& id) {
    refresh_caches();
    return std::find(outside_.begin(), outside_.end(), id) != outside_.end();
}

int Editor::pick(Vec2 p, double tolerance) {
    refresh_caches();
    const auto& objects = shapes();
    index_.query_point(p, tolerance, candidates_);
    int best = -1;
    size_t best_rank = 0;
    // The rank of a shape is its place in frame_shapes_ (bottom to top); the highest hit wins.
    for (uint32_t i : candidates_) {
        const Object& o = objects[i];
        if (is_hidden(o.id) || !hit_shape(o, p, tolerance)) continue;
        size_t rank = (size_t)(std::find(frame_shapes_.begin(), frame_shapes_.end(), i) - frame_shapes_.begin());
        if (best < 0 || rank > best_rank) { best = (int)i; best_rank = rank; }
    }
    return best;
}

std::vector<int> Editor::picks(Vec2 p, double tolerance) {
    refresh_caches();
    const auto& objects = shapes();
    index_.query_point(p, tolerance, candidates_);
    std::vector<std::pair<size_t, int>> ranked;  // (place in frame_shapes_, index)
    for (uint32_t i : candidates_) {
        const Object& o = objects[i];
        if (is_hidden(o.id) || !hit_shape(o, p, tolerance)) continue;
        ranked.push_back({(size_t)(std::find(frame_shapes_.begin(), frame_shapes_.end(), i) - frame_shapes_.begin()), (int)i});
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<int> out;
    for (const auto& r : ranked) out.push_back(r.second);
    return out;
}

int Editor::press_target(Vec2 p, double tolerance) {
    std::vector<int> hits = picks(p, tolerance);
    for (int h : hits)
        if (is_selected(shapes()[(size_t)h].id)) return h;
    return hits.empty() ? -1 : hits[0];
}

void Editor::document_replaced() {
    cached_revision_ = ~0ull;
    if (!previews_.empty()) ++display_version_;
    previews_.clear();
    drag_ = Drag::None;
    redraw_.reset();
    refresh_caches();
}

void Editor::forget_view_state() {
    ++display_version_;
    selection_.clear();
    hidden_.clear();
    locked_.clear();
    hovered_.clear();
    draft_.reset();
}

// [SECTION] Selection

void Editor::select(std::vector<std::string> ids) {
    refresh_caches();
    ids.erase(std::remove_if(ids.begin(), ids.end(), [&](const std::string& id) { return find_shape(id) < 0 && !is_outside_here(id); }), ids.end());
    selection_ = std::move(ids);
}

bool Editor::is_selected(const std::string& id) const { return std::find(selection_.begin(), selection_.end(), id) != selection_.end(); }

void Editor::set_hidden(const std::string& id, bool hidden) {
    ++display_version_;
    if (hidden) hidden_.insert(id);
    else hidden_.erase(id);
}

void Editor::set_locked(const std::string& id, bool locked) {
    if (locked) locked_.insert(id);
    else locked_.erase(id);
}

std::vector<size_t> Editor::selected_indices() const {
    std::vector<size_t> out;
    for (const std::string& id : selection_)
        if (int i = find_shape(id); i >= 0) out.push_back((size_t)i);
    return out;
}

std::optional<Vec2> Editor::redraw_start() const {
    if (!redraw_) return std::nullopt;
    int i = find_shape(redraw_->id);
    if (i < 0 || redraw_->from >= vertex_count(shapes()[i].points)) return std::nullopt;
    return vertex(shapes()[i].points, redraw_->from);
}

std::optional<Rect> Editor::box_selection() const {
    if (drag_ != Drag::BoxSelect) return std::nullopt;
    return Rect{std::min(drag_start_.x, cursor_.x), std::min(drag_start_.y, cursor_.y), std::fabs(cursor_.x - drag_start_.x), std::fabs(cursor_.y - drag_start_.y)};
}

void Editor::cycle_selection(int step) {
    refresh_caches();
    std::vector<uint32_t> visible;
    for (uint32_t i : frame_shapes_)
        if (!is_hidden(shapes()[i].id)) visible.push_back(i);
    if (visible.empty()) return;
    long long at = -1;
    if (selection_.size() == 1)
        for (size_t k = 0; k < visible.size(); ++k)
            if (shapes()[visible[k]].id == selection_[0]) at = (long long)k;
    long long n = (long long)visible.size();
    long long next = at < 0 ? (step > 0 ? 0 : n - 1) : ((at + step) % n + n) % n;
    selection_ = {shapes()[visible[(size_t)next]].id};
}

// [SECTION] Creating shapes

std::optional<Points> Editor::inside_image(ShapeType type, const Points& p) const {
    const FrameImage* img = app_.current_image();
    const Task* task = app_.task();
    if (!img || img->state != LoadState::Ready || !task) return p;
    return keep_inside(type, p, img->width, img->height, task->clamp);
}

Object Editor::new_shape(ShapeType type, Points points) {
    Object o;
    o.id = app_.new_object_id();
    o.type = type;
    o.frame = app_.frame();
    o.label = label_;
    o.points = std::move(points);
    long long top = 0;
    for (uint32_t i : frame_shapes()) top = std::max(top, shapes()[i].z);
    o.z = frame_shapes_.empty() ? 0 : top;
    if (const Task* task = app_.task())
        if (const LabelSpec* spec = task->find_label(label_))
            for (const AttributeSpec& a : spec->attributes) o.attributes.push_back({a.id, a.default_value});
    return o;
}

bool Editor::draft_complete() const {
    if (!draft_) return false;
    size_t n = vertex_count(draft_->points);
    return n >= minimum_vertices(draft_->type) && !is_box(draft_->type);
}

void Editor::commit_draft() {
    if (!draft_) return;
    Object o = std::move(*draft_);
    draft_.reset();
    commit_shape(std::move(o));
}

void Editor::commit_shape(Object o) {
    if (tool_ == Tool::Scissors) reset_assist();
    auto kept = inside_image(o.type, o.points);
    if (!kept) {
        app_.refuse({"outside_image", o.id, std::string("the ") + to_string(o.type) + " was drawn outside the image and was not kept"});
        return;
    }
    o.points = *kept;
    if (!label_allows(o.label, tool_)) {
        report_label_refused(o.label, o.type);
        return;
    }
    std::string id = o.id;
    std::string name = std::string("draw ") + to_string(o.type);
    if (app_.create_shape(name, std::move(o), draw_tracks_)) selection_ = {id};
    if (tool_ != Tool::Wand && tool_ != Tool::Outline) tool_ = Tool::Select;
}

void Editor::finish_drawing() {
    if (!draft_) return;
    if (tool_ == Tool::Scissors) return close_scissors();
    if (draft_complete()) return commit_draft();
    if (is_box(draft_->type)) return;  // a box is finished by releasing the drag
    size_t needed = minimum_vertices(draft_->type);
    app_.refuse({"too_few_points", draft_->id, std::string("a ") + to_string(draft_->type) + " needs at least " + std::to_string(needed) +
                                                  (needed == 1 ? " point" : " points") + ": click to add more, or Esc to cancel"});
}

void Editor::remove_last_vertex() {
    if (!draft_ || is_box(draft_->type)) return;
    if (tool_ == Tool::Scissors) return remove_last_anchor();
    if (draft_->points.size() >= 2) draft_->points.resize(draft_->points.size() - 2);
    if (draft_->points.empty()) draft_.reset();
}

void Editor::add_tag() {
    if (label_.empty()) return app_.refuse({"no_label", "label", "pick a label for the tag first"});
    Object tag = new_shape(ShapeType::Tag, {});
    tag.z = 0;
    app_.create_shape("add tag", std::move(tag), false);
}

Vec2 Editor::snapped(Vec2 p, const PointerInput& in, const std::string& skip_id) {
    if (!snapping_ || in.ctrl) return p;
    refresh_caches();
    const auto& objects = shapes();
    index_.query_point(p, in.pick_radius, candidates_);
    std::vector<const Object*> near;
    for (uint32_t i : candidates_)
        if (!is_hidden(objects[i].id)) near.push_back(&objects[i]);
    return snap_point(near, p, in.pick_radius, skip_id).value_or(p);
}

// [SECTION] Pointer

Vec2 Editor::rotation_handle(const Object& o, double pick_radius) {
    Vec2 c = box_centre(o.points);
    double half_h = (o.points[3] - o.points[1]) / 2;
    double r = o.rotation * 3.14159265358979323846 / 180, reach = half_h + 6 * pick_radius;
    return {c.x + std::sin(r) * reach, c.y - std::cos(r) * reach};
}

// The one selected shape, when its handles may be used here: not locked, hidden, a tag or elsewhere.
const Object* Editor::editable_selected_shape() const {
    if (selection_.size() != 1 || is_locked(selection_[0]) || is_hidden(selection_[0])) return nullptr;
    int index = find_shape(selection_[0]);
    if (index < 0) return nullptr;
    const Object& o = shapes()[index];
    return o.type == ShapeType::Tag || o.frame != app_.frame() ? nullptr : &o;
}

// A right press on a vertex of the selected shape deletes it. A right press never starts a drag:
// no release of the left button would end it.
bool Editor::delete_selected_vertex_at(const PointerInput& in) {
    const Object* o = editable_selected_shape();
    if (!o) return false;
    auto v = nearest_vertex(editable_vertices(*o), in.at, in.pick_radius);
    if (!v) return false;
    if (auto fewer = remove_vertex(o->points, *v, o->type)) {
        Object after = *o;
        after.points = *fewer;
        perform_updates("delete vertex", {after});
    } else {
        app_.refuse({"too_few_points", o->id, std::string("a ") + to_string(o->type) + " keeps at least " + std::to_string(minimum_vertices(o->type)) +
                                                 " points: delete " + app_.display_name(o->id) + " instead (Delete)"});
    }
    return true;
}

bool Editor::handle_selected_shape_press(const PointerInput& in) {
    const Object* selected = editable_selected_shape();
    if (!selected) return false;
    const Object& o = *selected;
    if (in.alt && delete_selected_vertex_at(in)) return true;
    if (is_box(o.type) && distance(rotation_handle(o, in.pick_radius), in.at) <= in.pick_radius * 1.5) {
        start_drag(Drag::Rotate, in, {o.id});
        return true;
    }
    Points vertices = editable_vertices(o);
    if (auto v = nearest_vertex(vertices, in.at, in.pick_radius)) {
        if (in.shift && o.type == ShapeType::Polygon) {
            redraw_ = Redraw{o.id, *v, {}, std::nullopt};
            return true;
        }
        start_drag(Drag::Vertex, in, {o.id});
        drag_vertex_ = *v;
        return true;
    }
    if (o.type == ShapeType::Polygon || o.type == ShapeType::Polyline) {
        // Midpoint handles: dragging one inserts a vertex there.
        bool closed = o.type == ShapeType::Polygon;
        size_t n = vertex_count(o.points), edges = closed ? n : n - 1;
        for (size_t e = 0; e < edges; ++e) {
            Vec2 a = vertex(o.points, e), b = vertex(o.points, (e + 1) % n);
            Vec2 mid{(a.x + b.x) / 2, (a.y + b.y) / 2};
            if (distance(mid, in.at) > in.pick_radius) continue;
            start_drag(Drag::Vertex, in, {o.id});
            previews_[0].points = insert_vertex(o.points, e, mid);
            drag_vertex_ = e + 1;
            drag_moved_ = true;
            inserted_vertex_ = true;
            return true;
        }
    }
    return false;
}

void Editor::pointer_down(const PointerInput& in, PointerButton button) {
    if (std::exchange(assist_.release_waits, false)) end_drag(assist_.drag_input);
    cursor_ = in.at;
    if (button == PointerButton::Right) {
        if (draft_) return remove_last_vertex();
        if (delete_selected_vertex_at(in)) return;
        // On a shape: it is selected (unless it already is, with others) and its menu opens.
        int hit = press_target(in.at, in.pick_radius);
        if (hit < 0) return;
        context_menu_request_ = shapes()[(size_t)hit].id;
        if (!is_selected(context_menu_request_)) selection_ = {context_menu_request_};
        return;
    }
    if (redraw_) {
        int index = find_shape(redraw_->id);
        if (index < 0) { redraw_.reset(); return; }
        const Object& o = shapes()[index];
        if (std::optional<Points> outcome = redraw_outcome(in)) {
            Object after = o;
            after.points = std::move(*outcome);
            redraw_.reset();
            return perform_updates("redraw polygon part", {after});
        }
        Vec2 p = snapped(in.at, in, o.id);
        redraw_->path.push_back(p.x);
        redraw_->path.push_back(p.y);
        return;
    }
    if (tool_ != Tool::Select && !draft_ && !label_allows(label_, tool_)) return report_label_refused(label_, shape_type_of(tool_));
    if (assist_pointer_down(in)) return;
    if (tool_ == Tool::Rectangle || tool_ == Tool::Ellipse || tool_ == Tool::Outline) {
        Vec2 p = snapped(in.at, in, "");
        draft_ = new_shape(tool_ == Tool::Outline ? ShapeType::Rectangle : shape_type_of(tool_), {p.x, p.y, p.x, p.y});
        drag_ = Drag::DrawBox;
        drag_start_ = p;
        return;
    }
    if (tool_ == Tool::Polygon || tool_ == Tool::Polyline || tool_ == Tool::Points) {
        if (!draft_) draft_ = new_shape(shape_type_of(tool_), {});
        // Clicking the first vertex closes a polygon.
        if (tool_ == Tool::Polygon && vertex_count(draft_->points) >= 3 && distance(vertex(draft_->points, 0), in.at) <= in.pick_radius)
            return commit_draft();
        Vec2 p = snapped(in.at, in, "");
        draft_->points.push_back(p.x);
        draft_->points.push_back(p.y);
        return;
    }
    // Select tool.
    click_cycle_.clear();
    if (handle_selected_shape_press(in)) return;
    std::vector<int> hits = picks(in.at, in.pick_radius);
    if (!hits.empty()) {
        if (in.ctrl || in.shift) {
            const std::string& id = shapes()[(size_t)hits[0]].id;
            if (is_selected(id)) selection_.erase(std::find(selection_.begin(), selection_.end(), id));
            else selection_.push_back(id);
            return;
        }
        // The selected shape wins a press on it, even under others (a drag moves it). Clicked
        // again where the last click took it, it gives way to the next shape below, round to the
        // top: stacked shapes are reached by clicking on the spot.
        size_t at = 0;
        while (at < hits.size() && !is_selected(shapes()[(size_t)hits[at]].id)) ++at;
        bool again = at < hits.size() && selection_.size() == 1 && selection_[0] == last_click_id_ &&
                     distance(in.at, last_click_at_) <= 2 * in.pick_radius;
        if (at == hits.size()) selection_ = {shapes()[(size_t)hits[0]].id};
        else if (again && hits.size() > 1) click_cycle_ = shapes()[(size_t)hits[(at + 1) % hits.size()]].id;
        std::vector<std::string> movable;
        for (const std::string& s : selection_)
            if (!is_locked(s) && find_shape(s) >= 0) movable.push_back(s);
        start_drag(Drag::Move, in, movable);  // with nothing movable, it only tells a click from a drag
        return;
    }
    last_click_id_.clear();
    if (!in.ctrl && !in.shift) selection_.clear();
    drag_ = Drag::BoxSelect;
    drag_start_ = in.at;
}

void Editor::start_drag(Drag kind, const PointerInput& in, const std::vector<std::string>& ids) {
    drag_ = kind;
    drag_start_ = in.at;
    drag_moved_ = false;
    inserted_vertex_ = false;
    drag_before_.clear();
    drag_indices_.clear();
    for (const std::string& id : ids) {
        int i = find_shape(id);
        if (i < 0) continue;
        drag_before_.push_back(shapes()[i]);
        drag_indices_.push_back((size_t)i);
    }
    previews_ = drag_before_;
    ++display_version_;
}

void Editor::pointer_move(const PointerInput& in, bool button_held) {
    cursor_ = in.at;
    if (redraw_) redraw_->result = redraw_outcome(in);
    if (drag_ == Drag::None && !draft_) {
        int hit = tool_ == Tool::Select ? press_target(in.at, in.pick_radius) : -1;
        hovered_ = hit >= 0 ? shapes()[hit].id : std::string();
    }
    if (draft_ && drag_ == Drag::DrawBox) {
        Vec2 p = snapped(in.at, in, "");
        draft_->points = {std::min(drag_start_.x, p.x), std::min(drag_start_.y, p.y), std::max(drag_start_.x, p.x), std::max(drag_start_.y, p.y)};
        return;
    }
    if (draft_ && tool_ == Tool::Scissors) return assist_pointer_move(in);
    // Shift+drag while drawing a polygon or polyline lays vertices along the path.
    if (draft_ && button_held && in.shift && (draft_->type == ShapeType::Polygon || draft_->type == ShapeType::Polyline)) {
        size_t n = vertex_count(draft_->points);
        if (n == 0 || distance(vertex(draft_->points, n - 1), in.at) >= in.freehand_spacing) {
            draft_->points.push_back(in.at.x);
            draft_->points.push_back(in.at.y);
        }
        return;
    }
    if (drag_ != Drag::None && button_held) update_drag(in);
}

void Editor::update_drag(const PointerInput& in) {
    if (drag_ == Drag::BoxSelect) return;
    if (drag_ == Drag::Vertex) assist_.drag_input = in;
    if (distance(in.at, drag_start_) > 0) drag_moved_ = true;
    for (size_t k = 0; k < previews_.size(); ++k) {
        const Object& before = drag_before_[k];
        Object& after = previews_[k];
        switch (drag_) {
            case Drag::Move: after.points = translate(before.points, {in.at.x - drag_start_.x, in.at.y - drag_start_.y}); break;
            case Drag::Rotate: after.rotation = rotation_towards(before.points, in.at); break;
            case Drag::Vertex: {
                Vec2 p = snapped(in.at, in, before.id);
                if (p.x == in.at.x && p.y == in.at.y)
                    if (std::optional<Vec2> edge = edge_snapped(in)) p = *edge;
                if (is_box(before.type)) after.points = drag_box_corner(before.points, before.rotation, drag_vertex_, p);
                else set_vertex(after.points, drag_vertex_, p);
                break;
            }
            default: break;
        }
    }
}

void Editor::pointer_up(const PointerInput& in) {
    cursor_ = in.at;
    if (drag_ == Drag::DrawBox) {
        drag_ = Drag::None;
        if (draft_ && draft_->points[2] - draft_->points[0] >= in.pick_radius / 2 && draft_->points[3] - draft_->points[1] >= in.pick_radius / 2) {
            if (tool_ != Tool::Outline) return commit_draft();
            const Points& b = draft_->points;
            assist_box_released({b[0], b[1], b[2] - b[0], b[3] - b[1]});
            draft_.reset();
            return;
        }
        // A click, not a drag: nothing drawn.
        if (draft_) app_.refuse({"too_small", draft_->id, std::string("drag to draw a ") + to_string(draft_->type) + ": a click draws nothing"});
        draft_.reset();
        return;
    }
    if (drag_ == Drag::BoxSelect) {
        Rect r = *box_selection();
        drag_ = Drag::None;
        if (r.w < in.pick_radius && r.h < in.pick_radius) return;
        refresh_caches();
        index_.query_rect(r, candidates_);
        for (uint32_t i : candidates_) {
            const Object& o = shapes()[i];
            Rect b = shape_bounds(o);
            bool inside = b.x >= r.x && b.y >= r.y && b.x + b.w <= r.x + r.w && b.y + b.h <= r.y + r.h;
            if (inside && !is_hidden(o.id) && !is_selected(o.id)) selection_.push_back(o.id);
        }
        return;
    }
    if (drag_ == Drag::Vertex && edge_snapping_ && !in.ctrl) {
        update_drag(in);  // asks where the edge is at the release point, if not asked yet
        if (assist_.snap_request && !assist_.snap_answered) {
            assist_.release_waits = true;  // the answer ends the drag (on_assist_reply)
            return;
        }
    }
    if (drag_ != Drag::None) end_drag(in);
}

void Editor::end_drag(const PointerInput& in) {
    update_drag(in);
    Drag kind = drag_;
    drag_ = Drag::None;
    std::vector<Object> after = std::move(previews_);
    previews_.clear();
    ++display_version_;
    std::string cycle = std::exchange(click_cycle_, std::string());
    last_click_id_.clear();
    if (!drag_moved_) {
        if (kind != Drag::Move) return;
        if (!cycle.empty() && find_shape(cycle) >= 0) {
            selection_ = {cycle};
            hovered_ = cycle;
        }
        if (selection_.size() == 1) {
            last_click_id_ = selection_[0];
            last_click_at_ = drag_start_;
        }
        return;
    }
    if (kind == Drag::Move && after.empty()) {
        // Dragged, but nothing moved: everything selected is locked.
        for (const std::string& id : selection_)
            if (is_locked(id)) return app_.refuse({"locked", id, app_.display_name(id) + " is locked: L unlocks it"});
        return;
    }
    const char* name = kind == Drag::Move ? (after.size() > 1 ? "move shapes" : "move shape") : kind == Drag::Rotate ? "rotate shape"
                       : inserted_vertex_                  ? "insert vertex"
                                                           : "move vertex";
    perform_updates(name, after);
}

void Editor::report_label_refused(const std::string& label_id, ShapeType type) {
    const Task* task = app_.task();
    const LabelSpec* spec = task ? task->find_label(label_id) : nullptr;
    std::string name = spec ? spec->name : label_id;
    app_.refuse({"type_not_allowed", label_id, "label \"" + name + "\" does not allow " + to_string(type) + " shapes: pick a label the tool allows"});
}

void Editor::perform_updates(const std::string& name, const std::vector<Object>& after) {
    std::vector<Object> kept;
    for (const Object& a : after) {
        int i = find_shape(a.id);
        if (i < 0) continue;
        auto inside = inside_image(a.type, a.points);
        if (!inside) {  // moved wholly outside the image: that shape stays where it was
            app_.refuse({"outside_image", a.id, app_.display_name(a.id) + " would leave the image: it stays where it was"});
            continue;
        }
        Object k = a;
        k.points = *inside;
        if (!same_object(k, shapes()[i])) kept.push_back(std::move(k));
    }
    app_.perform(app_.update_shapes_command(name, kept));
}

// Ending on another vertex replaces the shorter side between the two, or with Shift the longer.
std::optional<Points> Editor::redraw_outcome(const PointerInput& in) const {
    int i = find_shape(redraw_->id);
    if (i < 0) return std::nullopt;
    const Points& polygon = shapes()[i].points;
    auto to = nearest_vertex(polygon, in.at, in.pick_radius);
    if (!to || *to == redraw_->from) return std::nullopt;
    bool forward = shorter_way_is_forward(polygon, redraw_->from, *to) != in.shift;
    Points result = redraw_polygon_part(polygon, redraw_->from, *to, redraw_->path, forward);
    if (vertex_count(result) < 3) return std::nullopt;
    return result;
}

}  // namespace pm
