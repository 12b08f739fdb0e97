// The assisted tools of the editor: intelligent scissors, the magic wand, outlining a boxed
// object, and snapping a dragged vertex to an edge. The image work happens in the platform's
// assist worker (PlatformPort::assist); this file sends it requests and turns its replies, which
// come back through the inbox in the order they were asked, into the draft, previews and one
// command per polygon.
#include "app/app.hpp"
#include "app/editor.hpp"

#include <cmath>
#include <utility>

namespace pm {

namespace {

constexpr int kAssistMaxVertices = 160;

Json point_request(const char* type, Vec2 p) { return Json{{"type", type}, {"x", p.x}, {"y", p.y}}; }

uint64_t reply_id(const Json& reply) {
    auto it = reply.find("id");
    return it != reply.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

std::string reply_text(const Json& reply, const char* key) {
    auto it = reply.find(key);
    return it != reply.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double reply_number(const Json& reply, const char* key, double otherwise) {
    auto it = reply.find(key);
    if (it == reply.end() || !it->is_number()) return otherwise;
    double v = it->get<double>();
    return std::isfinite(v) ? v : otherwise;
}

// The reply's flat x,y list; empty when any of it is not a finite number.
Points reply_points(const Json& reply) {
    Points out;
    auto it = reply.find("points");
    if (it == reply.end() || !it->is_array()) return out;
    out.reserve(it->size());
    for (const Json& v : *it) {
        if (!v.is_number()) return {};
        double d = v.get<double>();
        if (!std::isfinite(d)) return {};
        out.push_back(d);
    }
    if (out.size() % 2) out.pop_back();
    return out;
}

}  // namespace

uint64_t Editor::send_assist(Json request) {
    uint64_t id = assist_.next_id++;
    request["id"] = id;
    if (app_.send_assist(std::move(request))) return id;
    app_.refuse({"no_assist", "tool", std::string("the ") + to_string(tool_) + " tool needs the assist worker, which is not available here"});
    return 0;
}

void Editor::reset_assist() {
    if (assist_.job) app_.send_assist(Json{{"type", "cancel"}, {"id", assist_.job}});
    uint64_t next = assist_.next_id;
    assist_ = AssistState();
    assist_.next_id = next;
}

// [SECTION] Scissors

bool Editor::assist_pointer_down(const PointerInput& in) {
    if (tool_ == Tool::Wand) {
        if (assist_.job) reset_assist();  // a new click replaces the region still being found
        uint64_t id = send_assist(Json{{"type", "wand"}, {"x", in.at.x}, {"y", in.at.y}, {"tolerance", wand_tolerance_}, {"max_vertices", kAssistMaxVertices}});
        if (!id) return true;
        assist_.job = id;
        assist_.job_box = Rect{in.at.x, in.at.y, 0, 0};
        assist_.job_frame = app_.frame();
        return true;
    }
    if (tool_ != Tool::Scissors) return false;
    if (!draft_) {
        if (!send_assist(point_request("anchor", in.at))) return true;
        draft_ = new_shape(ShapeType::Polygon, {in.at.x, in.at.y});
        assist_.anchors = {0};
        return true;
    }
    if (assist_.closing) return true;
    size_t anchors = assist_.anchors.size() + assist_.clicks.size();
    if (anchors >= 3 && distance(vertex(draft_->points, 0), in.at) <= in.pick_radius) {
        close_scissors();
        return true;
    }
    uint64_t id = send_assist(point_request("path", in.at));
    if (!id) return true;
    assist_.clicks.push_back({id, in.at});
    send_assist(point_request("anchor", in.at));
    assist_.preview.clear();
    return true;
}

void Editor::assist_pointer_move(const PointerInput& in) {
    if (assist_.closing) return;
    Json request = point_request("path", in.at);
    request["coalesce"] = true;
    assist_.newest_path = send_assist(std::move(request));
}

void Editor::close_scissors() {
    if (!draft_ || assist_.closing) return;
    if (assist_.anchors.size() + assist_.clicks.size() < 3) {
        app_.refuse({"too_few_points", draft_->id, "a polygon needs at least 3 anchors: click to add more, or Esc to cancel"});
        return;
    }
    assist_.closing = send_assist(point_request("path", vertex(draft_->points, 0)));
    assist_.preview.clear();
}

// Appends a path that starts at the draft's last vertex; with drop_last, without its end (the
// first vertex, when the path closes the polygon).
void Editor::scissors_take_path(const Points& path, bool drop_last) {
    size_t n = vertex_count(path);
    if (drop_last && n > 0) --n;
    for (size_t i = 1; i < n; ++i) {
        draft_->points.push_back(path[2 * i]);
        draft_->points.push_back(path[2 * i + 1]);
    }
}

void Editor::remove_last_anchor() {
    if (assist_.closing) return;
    if (!assist_.clicks.empty()) {
        assist_.clicks.pop_back();  // its path will be ignored when it comes
    } else if (assist_.anchors.size() > 1) {
        assist_.anchors.pop_back();
        draft_->points.resize(2 * (assist_.anchors.back() + 1));
    } else {
        draft_.reset();
        return reset_assist();
    }
    Vec2 last = assist_.clicks.empty() ? vertex(draft_->points, assist_.anchors.back()) : assist_.clicks.back().at;
    send_assist(point_request("anchor", last));
    assist_.preview.clear();
}

// [SECTION] Wand and outline

bool Editor::assist_box_released(const Rect& box) {
    if (assist_.job) reset_assist();
    uint64_t id = send_assist(Json{{"type", "box"}, {"x1", box.x}, {"y1", box.y}, {"x2", box.x + box.w}, {"y2", box.y + box.h},
                                   {"max_vertices", kAssistMaxVertices}});
    if (!id) return false;
    assist_.job = id;
    assist_.job_box = box;
    assist_.job_frame = app_.frame();
    return true;
}

// [SECTION] Snapping a dragged vertex to an edge

std::optional<Vec2> Editor::edge_snapped(const PointerInput& in) {
    if (!edge_snapping_ || in.ctrl) return std::nullopt;
    if (assist_.snap_request && assist_.snap_asked.x == in.at.x && assist_.snap_asked.y == in.at.y)
        return assist_.snap_answered ? std::optional<Vec2>(assist_.snap_result) : std::nullopt;
    Json request = point_request("snap", in.at);
    request["radius"] = std::max(6.0, 3 * in.pick_radius);
    uint64_t id = send_assist(std::move(request));
    if (!id) {
        edge_snapping_ = false;
        return std::nullopt;
    }
    assist_.snap_request = id;
    assist_.snap_asked = in.at;
    assist_.snap_answered = false;
    return std::nullopt;
}

// [SECTION] Replies

void Editor::on_assist_reply(const Json& reply) {
    const uint64_t id = reply_id(reply);
    const std::string type = reply_text(reply, "type");
    if (!id) return;  // image-ready and errors about the picture come without a request's id
    const bool error = type == "error";
    if (error && id != assist_.snap_request && id != assist_.newest_path)
        app_.refuse({reply_text(reply, "code").empty() ? "assist_failed" : reply_text(reply, "code"), "tool",
                     "the " + std::string(to_string(tool_)) + " tool: " + reply_text(reply, "message")});

    if (!assist_.clicks.empty() && assist_.clicks.front().id == id) {
        Vec2 at = assist_.clicks.front().at;
        assist_.clicks.pop_front();
        if (!draft_ || tool_ != Tool::Scissors) return;
        Points path = error ? Points() : reply_points(reply);
        if (vertex_count(path) >= 2) scissors_take_path(path, false);
        else {  // no path: a straight edge to the click, nothing the labeler did is lost
            draft_->points.push_back(at.x);
            draft_->points.push_back(at.y);
        }
        assist_.anchors.push_back(vertex_count(draft_->points) - 1);
        return;
    }
    if (id == assist_.closing) {
        assist_.closing = 0;
        if (!draft_ || tool_ != Tool::Scissors) return;
        if (!error) scissors_take_path(reply_points(reply), true);
        return commit_draft();
    }
    if (id == assist_.newest_path) {
        if (draft_ && tool_ == Tool::Scissors && assist_.clicks.empty()) assist_.preview = error ? Points() : reply_points(reply);
        return;
    }
    if (id == assist_.snap_request) {
        assist_.snap_answered = true;
        assist_.snap_result = assist_.snap_asked;
        auto moved = reply.find("moved");
        if (type == "snapped" && moved != reply.end() && moved->is_boolean() && moved->get<bool>())
            assist_.snap_result = {reply_number(reply, "x", assist_.snap_asked.x), reply_number(reply, "y", assist_.snap_asked.y)};
        if (drag_ != Drag::Vertex) return;
        update_drag(assist_.drag_input);
        if (std::exchange(assist_.release_waits, false)) end_drag(assist_.drag_input);
        return;
    }
    if (id != assist_.job) return;
    if (type == "progress") {
        double total = reply_number(reply, "total", 0);
        assist_.progress = total > 0 ? std::clamp(reply_number(reply, "done", 0) / total, 0.0, 1.0) : 0;
        return;
    }
    if (type != "polygon" && !error) return;
    const long long frame = assist_.job_frame;
    const bool from_wand = assist_.job_box && assist_.job_box->w == 0;
    assist_.job = 0;
    assist_.job_box.reset();
    assist_.progress = 0;
    if (error) return;
    Points polygon = reply_points(reply);
    if (vertex_count(polygon) < 3) {
        app_.refuse({"nothing_found", "tool", from_wand ? "the wand found no region there: click inside the object, or raise the tolerance"
                                                        : "no object was found in the box: draw it around one object"});
        return;
    }
    if (frame != app_.frame()) return;  // the labeler went to another frame meanwhile
    if (redraw_selected(polygon)) return;
    commit_shape(new_shape(ShapeType::Polygon, std::move(polygon)));
}

// One polygon or box selected, and the region found overlaps it: that shape is redrawn (a track
// gets its keyframe here), so a track that drifted is put right with one click or box, and a second
// try with another tolerance replaces the first instead of stacking on it. A box becomes the
// region's bounding box. Otherwise, or with nothing selected (Esc), the region is a new shape.
bool Editor::redraw_selected(const Points& polygon) {
    if (selection_.size() != 1 || is_locked(selection_[0])) return false;
    int i = find_shape(selection_[0]);
    if (i < 0) return false;
    Object shape = shapes()[i];
    if (shape.type != ShapeType::Polygon && shape.type != ShapeType::Rectangle) return false;
    Object region;
    region.type = ShapeType::Polygon;
    region.points = polygon;
    const Rect found = shape_bounds(region), now = shape_bounds(shape);
    const bool overlap = found.x < now.x + now.w && now.x < found.x + found.w && found.y < now.y + now.h && now.y < found.y + found.h;
    if (!overlap) return false;
    if (shape.type == ShapeType::Polygon) shape.points = polygon;
    else {
        shape.points = {found.x, found.y, found.x + found.w, found.y + found.h};
        shape.rotation = 0;
    }
    perform_updates(tool_ == Tool::Wand ? "redraw with the wand" : "redraw with the outline", {shape});
    return true;
}

}  // namespace pm
