#include "app/app.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace pm {

namespace {

constexpr double kSequenceFrameRate = 10;

SyncLinkOptions sync_options(const AppOptions& o) { return SyncLinkOptions{o.sync, o.profile, o.profile_context, o.task_id, o.writer_on_this_page}; }

// The request a message answers, or 0 for messages that answer none.
uint64_t request_id_of(const Message& m) {
    if (auto* f = std::get_if<FetchDone>(&m)) return f->request_id;
    if (auto* d = std::get_if<ImageDecoded>(&m)) return d->request_id;
    if (auto* v = std::get_if<VideoFrameShown>(&m)) return v->request_id;
    return 0;
}

}  // namespace

App::App(PlatformPort& platform, AppOptions options)
    : platform_(platform),
      options_(std::move(options)),
      urls_{options_.backend},
      notices_(platform),
      session_(notices_),
      media_(platform, requests_, notices_),
      sync_(platform, notices_, session_, sync_options(options_), urls_),
      tracking_(platform, notices_, session_) {
    frame_ = std::max(0LL, options_.initial_frame);
    session_.refusal = [this] { return sync_.edit_refusal(); };
    session_.guideline = [this] { return sync_.review().guideline_version(); };
    session_.on_applied = [this](const Command& applied) { sync_.record(applied); };
    session_.on_changed = [this](const std::string& command_name) {
        editor_.document_replaced();
        if (!command_name.empty()) platform_.emit("change", Json{{"revision", session_.revision()}, {"command", command_name}});
    };
    sync_.on_profile_loaded = [this] { annotations_ready_ = true; };
}

// [SECTION] Start-up: task, then annotations and the first frame's media in parallel

void App::start() {
    if (!options_.task_json.empty()) {
        auto task = parse_task(options_.task_json);
        if (!task) return notices_.fail_startup(task.first_error());
        accept_task(std::move(task.value()));
        return;
    }
    if (options_.task_id.empty()) return notices_.fail_startup({"bad_options", "options.task", "no task given: pass a task id (options.task) or a task object"});
    if (!is_valid_id(options_.task_id))
        return notices_.fail_startup({"bad_options", "options.task", "task id \"" + options_.task_id + "\" must be 1 to 64 characters from A-Z a-z 0-9 _ . : -"});
    std::string task_url = urls_.api("/api/tasks/" + options_.task_id);
    platform_.fetch(requests_.add({RequestKind::Task, 0, task_url}), task_url);
    // The annotations do not depend on the task's content: fetch both at once (one round trip less).
    // Through a profile they are loaded once the task is known (its sizes and labels map them).
    if (options_.annotations_json.empty() && !options_.profile) {
        std::string url = urls_.api("/api/tasks/" + options_.task_id + "/annotations");
        platform_.fetch(requests_.add({RequestKind::Annotations, 0, url}), url);
    }
}

void App::on_task(const FetchDone& r, const std::string& url) {
    if (auto e = http_error(r.status, r.error, url, "task")) return notices_.fail_startup(*e);
    auto json = parse_json_text(std::string_view((const char*)r.body.data(), r.body.size()), "the task from " + url);
    if (!json) return notices_.fail_startup(json.first_error());
    auto task = task_from_json(json.value());
    if (!task) {
        Error e = task.first_error();
        e.message = "the task from " + url + " is invalid: " + e.message;
        return notices_.fail_startup(e);
    }
    accept_task(std::move(task.value()));
}

void App::accept_task(Task task) {
    task_ = std::move(task);
    media_.attach(*task_, urls_);
    tracking_.attach(*task_, urls_);
    if (!task_->labels.empty()) editor_.set_label(task_->labels.front().id);
    if (frame_ >= task_->frame_count()) frame_ = 0;
    if (!options_.annotations_json.empty()) {
        Errors errors = set_annotations_json(options_.annotations_json);
        if (!errors.empty()) return notices_.fail_startup(errors.front());
        annotations_ready_ = true;
    } else if (options_.profile) {
        sync_.load_through_profile(*task_);
    } else if (!options_.task_json.empty()) {
        annotations_ready_ = true;  // a task object given by the host has no backend to ask
    }
    media_.show(frame_);
    media_.probe_video_frame_counts();
}

void App::on_annotations(const FetchDone& r, const std::string& url) {
    if (auto e = http_error(r.status, r.error, url, "annotations")) return notices_.fail_startup(*e);
    // Tolerant: a document an older server stored with one unreadable object still opens, less that object.
    auto json = parse_json_text_tolerant(std::string_view((const char*)r.body.data(), r.body.size()), "the annotations from " + url);
    if (!json) return notices_.fail_startup(json.first_error());
    const Json& reply = json->value;
    if (!reply.is_object() || !reply.contains("document"))
        return notices_.fail_startup({"bad_reply", url, "the annotations reply from " + url + " has no \"document\""});
    Errors problems;
    for (const Error& p : json->problems) {
        if (p.path.compare(0, 10, "/document/") != 0) return notices_.fail_startup(p);
        problems.push_back(Error{p.code, p.path.substr(9), p.message});
    }
    auto doc = document_from_json_skipping_invalid(reply["document"], problems);
    if (!doc) {
        Error e = doc.first_error();
        e.message = "the annotations from " + url + " are invalid at /document" + e.path + ": " + e.message;
        return notices_.fail_startup(e);
    }
    session_.load(std::move(doc->document));
    for (const SkippedItem& item : doc->skipped) notices_.report_skipped(item);
    int64_t revision = reply.contains("revision") && reply["revision"].is_number_integer() ? reply["revision"].get<int64_t>() : 0;
    annotations_ready_ = true;
    sync_.annotations_loaded(sync_task_id(), revision);
}

// [SECTION] The inbox: every async result, applied here at the start of a frame

void App::apply_inbox() {
    std::vector<Message> waiting;
    for (Message& m : inbox_.take()) {
        if (std::holds_alternative<SyncReplied>(m) && editor_.busy()) {
            // Applied mid-gesture it would cancel the drag; applied after the gesture's command
            // without the engine knowing, that command would silently overwrite the other device's
            // change. Waiting, the engine sees the change after the local edit and holds a conflict
            // if they touch the same item.
            waiting.push_back(std::move(m));
            continue;
        }
        std::visit([this](auto& message) { apply(message); }, m);
    }
    inbox_.put_back(std::move(waiting));
    media_.advance(frame_, view_, viewport_);
    const FrameImage* img = current_image();
    if (fit_pending_ && img && img->state == LoadState::Ready) fit_to_viewport();
}

void App::apply(FetchDone& done) {
    auto request = requests_.take(done.request_id);
    if (!request) return;  // given up meanwhile
    switch (request->kind) {
        case RequestKind::Task: return on_task(done, request->url);
        case RequestKind::Annotations: return on_annotations(done, request->url);
        case RequestKind::Media: return media_.on_fetched(*request, done, frame_);
        default: return;
    }
}

void App::apply(ImageDecoded& decoded) {
    auto request = requests_.take(decoded.request_id);
    if (!request) return;
    switch (request->kind) {
        case RequestKind::Decode: return media_.on_decoded(*request, decoded, frame_);
        case RequestKind::Detail: return media_.on_detail_decoded(decoded.request_id, decoded);
        default: return;
    }
}

void App::apply(VideoFrameShown& shown) {
    auto request = requests_.take(shown.request_id);
    if (request && request->kind == RequestKind::VideoFrame) media_.on_video_frame(*request, shown);
}

bool App::busy() const {
    if (playing_ || requests_.any()) return true;
    return inbox_.any_of([this](const Message& m) { return requests_.find(request_id_of(m)) != nullptr; });
}

bool App::take_redraw_request() {
    bool media = media_.take_redraw_request();
    bool tracking = tracking_.take_redraw_request();
    return media || tracking;
}

bool App::worth_painting() const {
    const FrameImage* img = current_image();
    if (ready_sent_ || !img || notices_.fatal()) return true;
    return (img->state == LoadState::Ready && annotations_ready_) || img->state == LoadState::Failed;
}

void App::frame_presented() {
    const FrameImage* img = current_image();
    if (!img || ready_sent_ || notices_.fatal() || !annotations_ready_) return;
    if (img->state == LoadState::Ready && img->pixels.empty()) {
        ready_sent_ = true;
        platform_.emit("ready", Json{{"frame", frame_}, {"frames", frame_count()}, {"task", task_->id}});
    } else if (img->state == LoadState::Failed) {
        // The first image cannot be shown: the app keeps running (the labeler can move on),
        // and the host learns it through a fatal-for-mount error naming the image.
        ready_sent_ = true;
        platform_.emit("mountfailed", Json{{"code", img->error.code}, {"message", img->error.message}, {"where", img->error.path}});
    }
}

// [SECTION] The document

Errors App::set_annotations_json(std::string_view text) {
    auto doc = parse_document(text);
    if (!doc) return doc.errors();
    if (task_) {
        Errors errors = check_document_against_task(doc.value(), *task_);
        if (!errors.empty()) return errors;
    }
    if (sync_.edit_refusal()) return {{"read_only", "annotations", "the annotations cannot be replaced yet: " + sync_.read_only_reason()}};
    editor_.forget_view_state();
    return session_.replace(std::move(doc.value()));
}

std::string App::display_name(const std::string& id) const {
    const DocumentSession::ItemNumber* n = session_.number_of(id);
    if (!n) return id;
    const LabelSpec* spec = task_ ? task_->find_label(n->label) : nullptr;
    return (spec ? spec->name : n->label) + (n->track ? " track " : " ") + std::to_string(n->number);
}

// [SECTION] Frame and view

const std::string& App::current_media_name() const {
    static const std::string none;
    if (!task_) return none;
    auto ref = task_->locate_frame(frame_);
    return ref ? task_->media[ref->media_index].name : none;
}

bool App::step_history(bool back) {
    std::vector<Object> here_before = frame_objects();
    if (!(back ? session_.undo() : session_.redo())) return false;
    const History& h = session_.history();
    const Command& step = back ? h.undone().back() : h.done().back();
    step_note_ = (back ? "Undid: " : "Redid: ") + step.name;
    step_note_revision_ = session_.revision();
    if (frame_objects() != here_before) return true;
    // Nothing changed here: go where it did (the nearest such frame), as CVAT does.
    std::vector<long long> frames = frames_changed(step);
    if (frames.empty()) return true;
    long long nearest = frames[0];
    for (long long f : frames)
        if (std::llabs(f - frame_) < std::llabs(nearest - frame_)) nearest = f;
    if (set_frame(nearest)) step_note_ += " on frame " + std::to_string(nearest);
    return true;
}

bool App::set_frame(long long frame) {
    if (!task_ || frame < 0 || frame >= task_->frame_count()) return false;
    auto before = task_->locate_frame(frame_), after = task_->locate_frame(frame);
    frame_ = frame;
    if (!before || before->media_index != after->media_index) {
        fit_pending_ = true;
        // A track lives within one medium: new shapes go back to single-frame shapes outside videos.
        if (task_->media[after->media_index].type != MediaType::Video) editor_.set_draw_tracks(false);
    }
    media_.show(frame_);
    platform_.emit("frame", Json{{"frame", frame_}, {"media", task_->media[after->media_index].id}});
    return true;
}

void App::set_viewport(Rect viewport) {
    bool changed = viewport.w != viewport_.w || viewport.h != viewport_.h || viewport.x != viewport_.x || viewport.y != viewport_.y;
    if (!changed) return;
    // Keep the image point at the viewport centre where it was, so a resize never loses the place.
    Vec2 old_centre{viewport_.x + viewport_.w / 2, viewport_.y + viewport_.h / 2};
    Vec2 image_at_centre = view_.to_image(old_centre);
    viewport_ = viewport;
    if (fitted_) return fit_to_viewport();  // an image shown fitted stays fitted
    Vec2 new_centre{viewport_.x + viewport_.w / 2, viewport_.y + viewport_.h / 2};
    view_.offset = {new_centre.x - image_at_centre.x * view_.zoom, new_centre.y - image_at_centre.y * view_.zoom};
}

void App::zoom_around(Vec2 anchor, double factor) {
    view_.zoom_around(anchor, factor);
    fit_pending_ = false;
    fitted_ = false;
}

void App::pan_by(Vec2 delta) {
    view_.pan_by(delta);
    fit_pending_ = false;
    fitted_ = false;
}

void App::fit_to_viewport() {
    const FrameImage* img = current_image();
    if (!img || img->state != LoadState::Ready) {
        fit_pending_ = true;
        return;
    }
    view_ = View::fit(img->width, img->height, viewport_, 16);
    fit_pending_ = false;
    fitted_ = true;
}

void App::set_view(double zoom, Vec2 offset) {
    view_.zoom = std::clamp(zoom, View::kMinZoom, View::kMaxZoom);
    view_.offset = offset;
    fit_pending_ = false;
    fitted_ = false;
}

void App::set_image_adjust(ImageAdjust a) {
    auto finite_or = [](double v, double fallback) { return std::isfinite(v) ? v : fallback; };
    adjust_.brightness = std::clamp(finite_or(a.brightness, 0), -0.5, 0.5);
    adjust_.contrast = std::clamp(finite_or(a.contrast, 1), 0.2, 4.0);
    adjust_.gamma = std::clamp(finite_or(a.gamma, 1), 0.2, 4.0);
}

void App::set_shape_style(ShapeStyle style) {
    style_.outline_width = std::isfinite(style.outline_width) ? std::clamp(style.outline_width, ShapeStyle::kMinOutline, ShapeStyle::kMaxOutline) : style_.outline_width;
    style_.fill_opacity = std::isfinite(style.fill_opacity) ? std::clamp(style.fill_opacity, 0.0, 1.0) : style_.fill_opacity;
    style_.captions = style.captions;
}

Json App::shape_style_json() const {
    return Json{{"outlineWidth", style_.outline_width}, {"fillOpacity", style_.fill_opacity}, {"captions", style_.captions}};
}

void App::focus_on(Rect r, bool zoom) {
    if (zoom) {
        View fitted = View::fit(std::max(r.w, 1.0), std::max(r.h, 1.0), viewport_, 48);
        view_.zoom = std::min(fitted.zoom, 16.0);
    }
    view_.offset = {viewport_.x + viewport_.w / 2 - (r.x + r.w / 2) * view_.zoom, viewport_.y + viewport_.h / 2 - (r.y + r.h / 2) * view_.zoom};
    fit_pending_ = false;
    fitted_ = false;
}

void App::reveal(Rect r) {
    Vec2 a = view_.to_screen({r.x, r.y}), b = view_.to_screen({r.x + r.w, r.y + r.h});
    bool inside = a.x >= viewport_.x && a.y >= viewport_.y && b.x <= viewport_.x + viewport_.w && b.y <= viewport_.y + viewport_.h;
    if (!inside) focus_on(r, false);
}

Json App::view_json(double dpr) const {
    const FrameImage* img = current_image();
    bool ready = img && img->state == LoadState::Ready;
    return Json{{"frame", frame_},
                {"frames", frame_count()},
                {"zoom", view_.zoom},
                {"offsetX", view_.offset.x},
                {"offsetY", view_.offset.y},
                {"viewport", Json{{"x", viewport_.x}, {"y", viewport_.y}, {"width", viewport_.w}, {"height", viewport_.h}}},
                {"devicePixelRatio", dpr},
                {"imageWidth", ready ? img->width : 0},
                {"imageHeight", ready ? img->height : 0},
                {"imageLevel", ready ? img->level : 1},
                {"imageDetail", ready && img->detail.width > 0
                                    ? Json{{"x", img->detail.x}, {"y", img->detail.y}, {"width", img->detail.width}, {"height", img->detail.height}, {"level", img->detail.level}}
                                    : Json(nullptr)},
                {"frameShown", current_frame_shown()},
                {"hovered", editor_.hovered().empty() ? Json(nullptr) : Json(editor_.hovered())},
                {"adjust", Json{{"brightness", adjust_.brightness}, {"contrast", adjust_.contrast}, {"gamma", adjust_.gamma}}},
                {"shapeStyle", shape_style_json()}};
}

// [SECTION] Playback

void App::set_playing(bool on) {
    if (on && frame_ + 1 >= frame_count()) set_frame(0);  // play from the start once at the end
    playing_ = on && frame_count() > 1;
    play_clock_ = -1;
}

double App::frame_rate() const {
    if (!task_) return kSequenceFrameRate;
    auto at = task_->locate_frame(frame_);
    double fps = at ? task_->media[at->media_index].fps : 0;
    return fps > 0 && std::isfinite(fps) ? fps : kSequenceFrameRate;
}

void App::advance_playback(double now) {
    if (!playing_) return;
    if (play_clock_ < 0) play_clock_ = now;
    const FrameImage* shown = current_image();
    if (shown && (shown->state == LoadState::Loading || (shown->state == LoadState::Ready && !current_frame_shown()))) {
        play_clock_ = now;  // wait for the frame, then give it its full time
        return;
    }
    // A video frame lasts as long as its container says (variable frame rates are common on phones).
    double period = shown && shown->shown_seconds > 0 && std::isfinite(shown->shown_seconds) ? shown->shown_seconds : 1.0 / frame_rate();
    if (now - play_clock_ < period) return;
    if (frame_ + 1 >= frame_count()) {
        playing_ = false;
        return;
    }
    play_clock_ = now - period > play_clock_ + period ? now : play_clock_ + period;  // after a stall, do not race to catch up
    set_frame(frame_ + 1);
}

bool App::send_assist(Json request) {
    const Task* t = task();
    std::optional<Task::FrameRef> where = t ? t->locate_frame(frame_) : std::nullopt;
    if (!where) return false;
    const Media& m = t->media[where->media_index];
    request["media"] = Json{{"url", urls_.media(m)}, {"type", m.type == MediaType::Video ? "video" : "image"}, {"frame", where->local_frame}};
    return platform_.assist(request);
}

}  // namespace pm
