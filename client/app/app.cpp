#include "app/app.hpp"

#include "polymark/track_edit.hpp"

#include <random>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace pm {

static constexpr size_t kMaxNotices = 8;
// Decoded images kept for going back, besides the one on screen (reduced levels are never kept).
static constexpr size_t kImageCacheBytes = 256u << 20;
// A huge PNG is decoded in slices of this many inflated bytes, as many a frame as fit its time
// share: a fixed amount a frame is 10 ms on one machine and 100 ms on another, and no frame of
// the UI may pass 50 ms while work runs.
static constexpr size_t kDecodeSliceBytes = 1u << 20;
static constexpr int64_t kLevelDecodeMsPerFrame = 20;
// A detail region is decoded while the labeler looks and works: a smaller share of each frame.
static constexpr int64_t kDetailDecodeMsPerFrame = 12;
// A detail region is decoded once the view has not changed for this long: not on every wheel step.
static constexpr int64_t kDetailSettleMs = 150;

static int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Steps the decoder slice by slice until it is done (false) or the frame's share is used (true).
static bool decode_for(PngLevelDecoder& decoder, int64_t budget_ms) {
    int64_t began = steady_ms();
    while (decoder.step(kDecodeSliceBytes))
        if (steady_ms() - began >= budget_ms) return true;
    return false;
}

// Ids of new objects start with a prefix random per session, so that two labelers (or two tabs)
// never create the same id: "k3x9w-1", "k3x9w-2", ...
static std::string session_id_prefix() {
    std::random_device rd;
    std::string prefix;
    for (int i = 0; i < 5; ++i) prefix += "0123456789abcdefghijklmnopqrstuvwxyz"[rd() % 36];
    return prefix + "-";
}

App::App(PlatformPort& platform, AppOptions options) : platform_(platform), options_(std::move(options)), ids_(session_id_prefix()) {
    frame_ = std::max(0LL, options_.initial_frame);
}

// [SECTION] Start-up: task, then annotations and the first frame's media in parallel

void App::start() {
    if (!options_.task_json.empty()) {
        auto task = parse_task(options_.task_json);
        if (!task) return fail_startup(task.first_error());
        accept_task(std::move(task.value()));
        return;
    }
    if (options_.task_id.empty()) return fail_startup({"bad_options", "options.task", "no task given: pass a task id (options.task) or a task object"});
    if (!is_valid_id(options_.task_id)) return fail_startup({"bad_options", "options.task", "task id \"" + options_.task_id + "\" must be 1 to 64 characters from A-Z a-z 0-9 _ . : -"});
    request(Request::Task, api_url("/api/tasks/" + options_.task_id));
    // The annotations do not depend on the task's content: fetch both at once (one round trip less).
    // Through a profile they are loaded once the task is known (its sizes and labels map them).
    if (options_.annotations_json.empty() && !options_.profile) request(Request::Annotations, api_url("/api/tasks/" + options_.task_id + "/annotations"));
}

std::string App::api_url(const std::string& path) const {
    std::string base = options_.backend;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + path;
}

std::string App::media_url(const Media& m) const {
    bool absolute = m.url.find("://") != std::string::npos || m.url.rfind("data:", 0) == 0 || m.url.rfind("blob:", 0) == 0;
    if (absolute || m.url.empty() || m.url[0] != '/') return absolute ? m.url : api_url("/" + m.url);
    return api_url(m.url);
}

void App::request(Request kind, const std::string& url, size_t media_index) {
    uint64_t id = next_request_id_++;
    in_flight_[id] = Pending{kind, media_index, url};
    platform_.fetch(id, url);
}

void App::post_fetch_result(FetchResult result) { inbox_.push_back(std::move(result)); }

void App::apply_pending() {
    std::vector<FetchResult> results;
    results.swap(inbox_);
    for (FetchResult& r : results) {
        auto it = in_flight_.find(r.request_id);
        if (it == in_flight_.end()) continue;
        Pending p = it->second;
        in_flight_.erase(it);
        switch (p.kind) {
            case Request::Task: on_task(r, p.url); break;
            case Request::Annotations: on_annotations(r, p.url); break;
            case Request::Media: on_media(r, p.media_index, p.url); break;
            case Request::Decode: on_platform_decoded(r, p.media_index, p.url); break;
            case Request::VideoFrame: on_video_frame(r, p.media_index, p.url); break;
            case Request::TrackPixels:
            case Request::TrackDecode: on_tracking_pixels(r, p); break;
            case Request::Detail: on_detail_decoded(r); break;
        }
    }
    advance_level_decode();
    advance_detail();
    const FrameImage* img = current_image();
    if (fit_pending_ && img && img->state == LoadState::Ready) fit_to_viewport();
}

std::optional<Error> App::http_error(const FetchResult& r, const std::string& url, const char* what) const {
    if (r.status == 0)
        return Error{"network", url, std::string("could not fetch the ") + what + " from " + url + (r.error.empty() ? "" : ": " + r.error)};
    if (r.status == 404) return Error{"not_found", url, std::string("the ") + what + " was not found at " + url + " (HTTP 404)"};
    if (r.status < 200 || r.status >= 300)
        return Error{"http_" + std::to_string(r.status), url, std::string("the server answered HTTP ") + std::to_string(r.status) + " for the " + what + " at " + url};
    return std::nullopt;
}

void App::on_task(const FetchResult& r, const std::string& url) {
    if (auto e = http_error(r, url, "task")) return fail_startup(*e);
    auto json = parse_json_text(std::string_view((const char*)r.body.data(), r.body.size()), "the task from " + url);
    if (!json) return fail_startup(json.first_error());
    auto task = task_from_json(json.value());
    if (!task) {
        Error e = task.first_error();
        e.message = "the task from " + url + " is invalid: " + e.message;
        return fail_startup(e);
    }
    accept_task(std::move(task.value()));
}

void App::accept_task(Task task) {
    task_ = std::move(task);
    if (!task_->labels.empty()) editor_.set_label(task_->labels.front().id);
    if (frame_ >= task_->frame_count()) frame_ = 0;
    if (!options_.annotations_json.empty()) {
        Errors errors = set_annotations_json(options_.annotations_json);
        if (!errors.empty()) return fail_startup(errors.front());
        annotations_ready_ = true;
    } else if (options_.profile) {
        start_profile_load();
    } else if (!options_.task_json.empty()) {
        annotations_ready_ = true;  // a task object given by the host has no backend to ask
    }
    load_current_media();
    // A video whose frame count the task leaves out is probed now: later frame indices need it.
    for (size_t i = 0; i < task_->media.size(); ++i)
        if (task_->media[i].type == MediaType::Video && task_->media[i].frames == 0 && images_[i].wanted_frame < 0) {
            images_[i].wanted_frame = 0;
            images_[i].state = LoadState::Loading;
            request_video_frame(i);
        }
}

void App::on_annotations(const FetchResult& r, const std::string& url) {
    if (auto e = http_error(r, url, "annotations")) return fail_startup(*e);
    // Tolerant: a document an older server stored with one unreadable object still opens, less that object.
    auto json = parse_json_text_tolerant(std::string_view((const char*)r.body.data(), r.body.size()), "the annotations from " + url);
    if (!json) return fail_startup(json.first_error());
    const Json& reply = json->value;
    if (!reply.is_object() || !reply.contains("document"))
        return fail_startup({"bad_reply", url, "the annotations reply from " + url + " has no \"document\""});
    Errors problems;
    for (const Error& p : json->problems) {
        if (p.path.compare(0, 10, "/document/") != 0) return fail_startup(p);
        problems.push_back(Error{p.code, p.path.substr(9), p.message});
    }
    auto doc = document_from_json_skipping_invalid(reply["document"], problems);
    if (!doc) {
        Error e = doc.first_error();
        e.message = "the annotations from " + url + " are invalid at /document" + e.path + ": " + e.message;
        return fail_startup(e);
    }
    document_ = std::move(doc->document);
    for (const SkippedItem& item : doc->skipped) report_skipped(item);
    if (reply.contains("revision") && reply["revision"].is_number_integer()) loaded_revision_ = reply["revision"].get<int64_t>();
    ++revision_;
    annotations_ready_ = true;
    if (sync_journal_) begin_sync();
}

void App::fail_startup(Error error) {
    if (fatal_) return;
    fatal_ = error;
    platform_.emit("error", Json{{"code", error.code}, {"message", error.message}, {"where", error.path}, {"fatal", true}});
}

void App::report_skipped(const SkippedItem& item) {
    const Error& e = item.error;
    platform_.emit("error", Json{{"code", e.code}, {"message", e.message}, {"where", e.path}, {"fatal", false},
                                 {"skipped", Json{{"kind", item.kind}, {"id", item.id}, {"path", item.path}}}});
    notices_.push_back(Notice{e, 0});
    while (notices_.size() > kMaxNotices) notices_.pop_front();
}

void App::report(Error error) {
    platform_.emit("error", Json{{"code", error.code}, {"message", error.message}, {"where", error.path}, {"fatal", false}});
    notices_.push_back(Notice{std::move(error), 0});
    while (notices_.size() > kMaxNotices) notices_.pop_front();
}

void App::dismiss_notice(size_t index) {
    if (index < notices_.size()) notices_.erase(notices_.begin() + (std::ptrdiff_t)index);
}

// [SECTION] Media of the current frame

FrameImage* App::current_image() {
    if (!task_) return nullptr;
    auto ref = task_->locate_frame(frame_);
    if (!ref) return nullptr;
    return &images_[ref->media_index];
}

const FrameImage* App::current_image() const { return const_cast<App*>(this)->current_image(); }

const std::string& App::current_media_name() const {
    static const std::string none;
    if (!task_) return none;
    auto ref = task_->locate_frame(frame_);
    return ref ? task_->media[ref->media_index].name : none;
}

void App::load_current_media() {
    auto ref = task_->locate_frame(frame_);
    if (!ref) return;
    const Media& m = task_->media[ref->media_index];
    FrameImage& img = images_[ref->media_index];
    if (img.last_shown != show_clock_ || show_clock_ == 0) {
        img.last_shown = ++show_clock_;
        release_left_images(ref->media_index);
    }
    if (m.type == MediaType::Video) {
        img.wanted_frame = ref->local_frame;
        if (img.state == LoadState::Idle || (img.state == LoadState::Failed && img.shown_frame != img.wanted_frame)) img.state = LoadState::Loading;
        return request_video_frame(ref->media_index);
    }
    if (img.state != LoadState::Idle) return;
    img.state = LoadState::Loading;
    request(Request::Media, media_url(m), ref->media_index);
}

void App::on_media(const FetchResult& r, size_t media_index, const std::string& url) {
    FrameImage& img = images_[media_index];
    auto fail = [&](Error e) {
        img.state = LoadState::Failed;
        img.error = e;
        report(std::move(e));
    };
    if (auto e = http_error(r, url, "image")) return fail(*e);
    // The header first: a bomb is refused by its declared size, and a huge image is decoded only at
    // a reduced level, so its full-size pixels never exist (the wasm heap never shrinks).
    if (auto header = read_image_header(r.body.data(), r.body.size())) {
        if (auto refused = check_image_size(*header, task_->media[media_index].name, url)) return fail(*refused);
        int factor = reduction_factor(header->width, header->height);
        if (factor > 1) {
            // A PNG is inflated and reduced here, a slice a frame (advance_level_decode); other
            // formats by the platform's decoder when it can shrink while decoding.
            uint64_t id = next_request_id_++;
            bool started = false;
            if (std::string(header->format) == "PNG") {
                auto layout = read_png_layout(r.body.data(), r.body.size(), url);
                if (!layout) return fail(layout.first_error());
                if (png_reducible(layout.value())) {
                    drop_level_decode();
                    auto shared = std::make_shared<const PngLayout>(std::move(layout.value()));
                    level_job_ = LevelJob{id, media_index, std::make_unique<PngLevelDecoder>(shared, factor, PixelWindow{})};
                    huge_source_ = HugeSource{media_index, shared, {}};
                    started = true;
                }
            }
            if (!started && platform_.decode_image_level(id, r.body, factor)) {
                started = true;
                huge_source_ = HugeSource{media_index, nullptr, r.body};
            }
            if (started) {
                img.width = header->width;
                img.height = header->height;
                img.level = factor;
                in_flight_[id] = Pending{Request::Decode, media_index, url};
                return;
            }
        }
    }
    auto decoded = decode_image(r.body.data(), r.body.size(), url);
    if (!decoded) {
        // Formats stb_image does not read are handed to the platform's decoder when it has one.
        if (needs_platform_decoder(r.body.data(), r.body.size())) {
            uint64_t id = next_request_id_++;
            if (platform_.decode_image(id, r.body)) {
                in_flight_[id] = Pending{Request::Decode, media_index, url};
                return;
            }
        }
        return fail(decoded.first_error());
    }
    img.state = LoadState::Ready;
    img.width = decoded->width;
    img.height = decoded->height;
    img.pixels = std::move(decoded->pixels);
    img.generation++;
}

// One request per video at a time: while the labeler scrubs, only the latest wanted frame is asked
// for next, so the decoder never falls behind a queue of frames nobody looks at any more.
void App::request_video_frame(size_t media_index) {
    FrameImage& img = images_[media_index];
    if (img.video_request_out || img.wanted_frame < 0 || img.wanted_frame == img.shown_frame) return;
    // A frame that just failed is asked for again only when the labeler comes back to it.
    if (img.state == LoadState::Failed && img.wanted_frame == img.failed_frame) return;
    const Media& m = task_->media[media_index];
    uint64_t id = next_request_id_++;
    if (!platform_.show_video_frame(id, media_url(m), img.wanted_frame)) {
        img.state = LoadState::Failed;
        img.error = {"video_not_supported", m.url, "frames of the video " + m.name + " cannot be shown: this platform has no video decoder"};
        return;
    }
    img.video_request_out = true;
    in_flight_[id] = Pending{Request::VideoFrame, media_index, media_url(m)};
}

void App::on_video_frame(const FetchResult& r, size_t media_index, const std::string& url) {
    FrameImage& img = images_[media_index];
    img.video_request_out = false;
    Media& m = task_->media[media_index];
    if (r.video_frames > 0 && m.frames != r.video_frames) {
        if (m.frames == 0) m.frames = r.video_frames;  // the task left it to the probe
        else if (!video_count_reported_.count(media_index)) {
            video_count_reported_.insert(media_index);
            report({"frame_count_mismatch", url, "the task gives " + m.name + " " + std::to_string(m.frames) + " frames but the video has " +
                                                     std::to_string(r.video_frames) + "; frames past the shorter count cannot be shown"});
        }
    }
    if (r.width <= 0 || r.height <= 0 || !r.texture) {
        if (r.frame == img.wanted_frame) {
            img.state = LoadState::Failed;
            img.shown_frame = -1;
            img.error = {"video_frame_failed", url, "frame " + std::to_string(r.frame + 1) + " of " + m.name + " could not be shown" +
                                                        (r.error.empty() ? std::string() : ": " + r.error)};
            img.failed_frame = r.frame;
            if (r.error.empty() || r.error != img.reported_failure) report(img.error);
            img.reported_failure = r.error;
        }
    } else {
        img.state = LoadState::Ready;
        img.width = r.width;
        img.height = r.height;
        img.platform_texture = r.texture;
        img.shown_frame = r.frame;
        img.shown_seconds = r.frame_seconds;
        img.generation++;
    }
    request_video_frame(media_index);  // the labeler may have moved on meanwhile
}

bool App::current_frame_shown() const {
    if (!task_) return false;
    auto ref = task_->locate_frame(frame_);
    const FrameImage* img = current_image();
    if (!ref || !img || img->state != LoadState::Ready) return false;
    return task_->media[ref->media_index].type != MediaType::Video || img->shown_frame == ref->local_frame;
}

void App::on_platform_decoded(FetchResult& r, size_t media_index, const std::string& url) {
    FrameImage& img = images_[media_index];
    if (r.width <= 0 || r.height <= 0 || r.body.size() != (size_t)r.width * r.height * 4) {
        img.state = LoadState::Failed;
        img.level = 1;
        img.error = {"decode_failed", url, url + " could not be decoded" + (r.error.empty() ? std::string() : ": " + r.error)};
        report(img.error);
        return;
    }
    if (img.level > 1) {
        auto ref = task_->locate_frame(frame_);
        if (!ref || ref->media_index != media_index) {  // left while decoding: not kept (release_left_images)
            img.state = LoadState::Idle;
            img.level = 1;
            return;
        }
        img.level_width = r.width;
        img.level_height = r.height;
    } else {
        img.width = r.width;
        img.height = r.height;
    }
    img.state = LoadState::Ready;
    img.pixels = std::move(r.body);
    img.generation++;
}

void App::drop_level_decode() {
    if (!level_job_) return;
    in_flight_.erase(level_job_->request_id);
    FrameImage& img = images_[level_job_->media_index];
    img.state = LoadState::Idle;
    img.level = 1;
    level_job_.reset();
}

void App::advance_level_decode() {
    if (!level_job_ || !task_) return;
    auto ref = task_->locate_frame(frame_);
    if (!ref || ref->media_index != level_job_->media_index) return drop_level_decode();  // left: decoded again if shown again
    if (decode_for(*level_job_->decoder, kLevelDecodeMsPerFrame)) return;
    auto pending = in_flight_.find(level_job_->request_id);
    std::string url = pending != in_flight_.end() ? pending->second.url : task_->media[level_job_->media_index].url;
    auto level = level_job_->decoder->finish(url);
    size_t media_index = level_job_->media_index;
    in_flight_.erase(level_job_->request_id);
    level_job_.reset();
    FrameImage& img = images_[media_index];
    if (!level) {
        img.state = LoadState::Failed;
        img.level = 1;
        img.error = level.first_error();
        report(img.error);
        return;
    }
    FetchResult r;
    r.status = 200;
    r.width = level->width;
    r.height = level->height;
    r.body = std::move(level->pixels);
    on_platform_decoded(r, media_index, url);
}

void App::release_left_images(size_t current_media) {
    auto decoded_bytes = [](const FrameImage& i) { return i.level > 1 ? (size_t)i.level_width * i.level_height * 4 : (size_t)i.width * i.height * 4; };
    auto release = [](FrameImage& i) {
        i.state = LoadState::Idle;
        i.pixels = {};
        i.level = 1;
        i.detail = FrameImage::Detail{{}, {}, {}, {}, 1, 0, 0, {}, i.detail.generation + 1};
        i.generation++;  // the renderer deletes the textures of a generation it no longer sees
    };
    std::vector<std::pair<uint64_t, size_t>> kept;  // (last shown, media index)
    size_t total = 0;
    for (auto& [index, img] : images_) {
        if (index == current_media || img.state != LoadState::Ready || task_->media[index].type == MediaType::Video) continue;
        if (img.level > 1) {
            release(img);
            continue;
        }
        total += decoded_bytes(img);
        kept.emplace_back(img.last_shown, index);
    }
    std::sort(kept.begin(), kept.end());
    for (auto& [shown, index] : kept) {
        if (total <= kImageCacheBytes) break;
        total -= decoded_bytes(images_[index]);
        release(images_[index]);
    }
}

void App::frame_presented() {
    const FrameImage* img = current_image();
    if (!img || ready_sent_ || fatal_ || !annotations_ready_) return;
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

// [SECTION] Operations

Errors App::set_annotations_json(std::string_view text) {
    auto doc = parse_document(text);
    if (!doc) return doc.errors();
    if (task_) {
        Errors errors = check_document_against_task(doc.value(), *task_);
        if (!errors.empty()) return errors;
    }
    if (sync_enabled() && !sync_) return {{"read_only", "annotations", "the annotations cannot be replaced yet: " + std::string(sync_journal_ ? "they are still loading" : "this task is open in another tab")}};
    Command replace = replace_command(document_, doc.value());
    document_ = std::move(doc.value());
    if (!replace.empty()) record_for_sync(replace);
    history_.clear();  // a new document is a new starting point: nothing to undo into
    editor_.forget_view_state();
    document_changed("");
    return {};
}

// [SECTION] Edits

void App::document_changed(const std::string& command_name) {
    ++revision_;
    editor_.document_replaced();
    if (!command_name.empty()) platform_.emit("change", Json{{"revision", revision_}, {"command", command_name}});
}

bool App::perform(Command command) {
    if (command.empty()) return false;
    if (sync_enabled() && !sync_) {
        report({"read_only", "", sync_journal_ ? "the annotations are still loading: the edit was not made"
                                                : "this task is open in another tab: edit it there, or close that tab to edit here"});
        return false;
    }
    std::string name = command.name;
    auto done = history_.perform(document_, std::move(command));
    if (!done) {
        report(done.first_error());
        return false;
    }
    record_for_sync(history_.done().back());
    document_changed(name);
    return true;
}

static constexpr double kSequenceFrameRate = 10;

const std::vector<Object>& App::frame_objects() const {
    if (frame_objects_revision_ == revision_ && frame_objects_frame_ == frame_) return frame_objects_;
    frame_objects_revision_ = revision_;
    frame_objects_frame_ = frame_;
    frame_objects_.clear();
    for (FrameShape& s : shapes_on_frame(document_, frame_, {}, &interpolation_)) frame_objects_.push_back(std::move(s.object));
    return frame_objects_;
}

std::vector<FrameShape> App::frame_state(long long frame) const { return shapes_on_frame(document_, frame, {}, &interpolation_); }

const Track* App::track(const std::string& id) const {
    int i = find_track(document_, id);
    return i >= 0 ? &document_.tracks[(size_t)i] : nullptr;
}

Command App::update_shapes_command(std::string name, const std::vector<Object>& after) {
    Command c{std::move(name), {}, {}};
    NewId new_id = [this] { return new_object_id(); };  // the generator never repeats an id
    for (const Object& a : after) {
        if (int i = find_object(document_, a.id); i >= 0) {
            if (!same_object(a, document_.objects[(size_t)i])) c.ops.push_back(ObjectOp::update(document_.objects[(size_t)i], a, (size_t)i));
        } else if (int t = find_track(document_, a.id); t >= 0) {
            const Track& before = document_.tracks[(size_t)t];
            const LabelSpec* spec = task_ ? task_->find_label(a.label) : nullptr;
            Track changed = with_shape_at(before, a, frame_, spec, new_id);
            if (!same_track(changed, before)) c.track_ops.push_back(TrackOp::update(before, std::move(changed), (size_t)t));
        }
    }
    return c;
}

Command App::remove_shapes_command(std::string name, const std::vector<std::string>& ids) {
    Command c{std::move(name), {}, {}};
    std::vector<std::pair<size_t, std::string>> objects, tracks;
    for (const std::string& id : ids) {
        if (int i = find_object(document_, id); i >= 0) objects.push_back({(size_t)i, id});
        else if (int t = find_track(document_, id); t >= 0) tracks.push_back({(size_t)t, id});
    }
    // Highest index first, so that every op's index is right when it is applied and undone.
    std::sort(objects.rbegin(), objects.rend());
    std::sort(tracks.rbegin(), tracks.rend());
    for (auto& [i, id] : objects) c.ops.push_back(ObjectOp::remove(document_.objects[i], i));
    for (auto& [i, id] : tracks) c.track_ops.push_back(TrackOp::remove(document_.tracks[i], i));
    return c;
}

bool App::create_shape(std::string name, Object shape, bool as_track) {
    if (!as_track || shape.type == ShapeType::Tag)
        return perform(Command{std::move(name), {ObjectOp::create(std::move(shape), document_.objects.size())}, {}});
    const LabelSpec* spec = task_ ? task_->find_label(shape.label) : nullptr;
    std::string keyframe_id = shape.id + ".k" + std::to_string(shape.frame);
    if (id_in_use(document_, keyframe_id)) keyframe_id = new_object_id();
    Track t = track_from_object(shape, spec, shape.id, keyframe_id);
    return perform(Command{std::move(name), {}, {TrackOp::create(std::move(t), document_.tracks.size())}});
}

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

bool App::undo() {
    if (sync_enabled() && !sync_) return false;
    auto name = history_.undo(document_);
    if (!name) return false;
    record_for_sync(history_.undone().back().inverse());  // what was applied: the inverse
    document_changed("undo " + *name);
    return true;
}

bool App::redo() {
    if (sync_enabled() && !sync_) return false;
    auto name = history_.redo(document_);
    if (!name) return false;
    record_for_sync(history_.done().back());
    document_changed("redo " + *name);
    return true;
}

// [SECTION] Sync

// The operations that turn one document into another (setAnnotations), so that a replaced
// document reaches the backend like any edit: deletes first, then updates and creates.
Command App::replace_command(const Document& before, const Document& after) {
    Command c{"replace annotations", {}, {}};
    auto diff = [](const auto& old_list, const auto& new_list, auto& ops, auto to_json) {
        using Op = std::decay_t<decltype(ops[0])>;
        for (size_t i = old_list.size(); i-- > 0;) {
            const auto& o = old_list[i];
            bool kept = std::any_of(new_list.begin(), new_list.end(), [&](const auto& n) { return n.id == o.id; });
            if (!kept) ops.push_back(Op::remove(o, i));
        }
        for (size_t i = 0; i < new_list.size(); ++i) {
            const auto& n = new_list[i];
            auto at = std::find_if(old_list.begin(), old_list.end(), [&](const auto& o) { return o.id == n.id; });
            if (at == old_list.end()) ops.push_back(Op::create(n, i));
            else if (to_json(*at) != to_json(n)) ops.push_back(Op::update(*at, n, (size_t)(at - old_list.begin())));
        }
    };
    diff(before.objects, after.objects, c.ops, [](const Object& o) { return object_to_json(o); });
    diff(before.tracks, after.tracks, c.track_ops, [](const Track& t) { return track_to_json(t); });
    return c;
}

void App::start_sync(std::vector<std::string> journal_records, std::string device_id) {
    if (!options_.sync || sync_ || sync_journal_) return;
    if (!device_id.empty()) options_.sync->device_id = std::move(device_id);
    sync_journal_ = std::move(journal_records);
    if (annotations_ready_ && task_) begin_sync();
    else emit_sync_status();
}

void App::begin_sync() {
    SyncConfig config = *options_.sync;
    config.task_id = options_.task_id.empty() && task_ ? task_->id : options_.task_id;
    auto engine = SyncEngine::create(config);
    std::vector<std::string> records = std::move(*sync_journal_);
    sync_journal_.reset();
    if (!engine) {
        options_.sync.reset();  // edits stay local; say why
        report(engine.first_error());
        return;
    }
    sync_ = std::move(engine.value());
    if (!pending_token_.empty()) sync_->set_token(std::move(pending_token_));
    pending_token_.clear();
    SyncOutput out = sync_->restore(records, loaded_revision_);
    if (link_) link_->restore_pending(sync_->pending_ops());
    // Edits the backend has not acknowledged yet (made offline, or before a reload or a crash).
    if (!sync_->pending_ops().empty()) {
        auto applied = sync_->apply_pending(document_);
        if (!applied) report(applied.first_error());
        document_changed("");
        platform_.emit("change", Json{{"revision", revision_}, {"command", "restore unsaved edits"}, {"remote", false}});
    }
    handle_sync_output(std::move(out));
    poll_sync();
}

// [SECTION] Sync through a backend profile: the load, then the engine's requests translated

void App::start_profile_load() {
    ProfileContext context = context_from_task(*task_);
    const Json& given = options_.profile_context;
    if (given.is_object() && given.contains("vars") && given["vars"].is_object())
        for (const auto& [name, value] : given["vars"].items()) context.vars[name] = value;
    if (given.is_object() && given.contains("tables") && given["tables"].is_object())
        for (const auto& [name, pairs] : given["tables"].items()) {
            if (!pairs.is_array()) continue;
            auto& table = context.tables[name];
            table.clear();
            for (const Json& pair : pairs)
                if (pair.is_array() && pair.size() == 2) table.emplace_back(pair[0], pair[1]);
        }
    if (options_.sync) {
        context.vars["user"] = options_.sync->user_id;
        context.vars["device"] = options_.sync->device_id;
    }
    auto link = ProfileSync::create(*options_.profile, std::move(context));
    if (!link) {
        Error e = link.first_error();
        e.message = "the backend profile \"" + options_.profile->name + "\" cannot be used: " + e.message;
        return fail_startup(e);
    }
    link_ = std::move(link.value());
    if (!pending_token_.empty()) link_->set_token(pending_token_);
    SyncRequest load = link_->load_request();
    if (options_.sync) load.timeout_ms = options_.sync->timeout_ms;
    link_load_seq_ = load.seq;
    link_load_url_ = api_url(load.path);
    if (!platform_.sync_request(load, link_load_url_))
        fail_startup({"network", api_url(load.path), "this platform cannot reach the backend of profile \"" + options_.profile->name + "\""});
}

void App::on_profile_load(int http_status, const std::string& body) {
    link_load_seq_ = 0;
    const std::string& where = link_load_url_;
    auto loaded = link_->on_load_reply(http_status, body);
    if (!loaded) {
        Error e = loaded.first_error();
        e.message = "the annotations could not be loaded through the profile \"" + options_.profile->name + "\" from " + where + ": " + e.message;
        return fail_startup(e);
    }
    document_ = std::move(loaded->document);
    loaded_revision_ = loaded->revision;
    ++revision_;
    annotations_ready_ = true;
    document_changed("");
    if (sync_journal_) begin_sync();
}

void App::handle_link_step(ProfileStep step) {
    if (step.request && !platform_.sync_request(*step.request, api_url(step.request->path)))
        step = link_->on_backend_failure(step.request->seq, SyncFailure::Network);
    if (step.reply && sync_) {
        handle_sync_output(sync_->on_reply(step.reply->seq, step.reply->status, step.reply->body, steady_ms()));
        poll_sync();
    }
}

void App::record_for_sync(const Command& applied) {
    if (!sync_) return;
    handle_sync_output(sync_->record(applied, steady_ms()));
}

void App::handle_sync_output(SyncOutput out) {
    if ((!out.journal_put.empty() || !out.journal_delete.empty()) && platform_.sync_journal(out.journal_put, out.journal_delete)) ++journal_writes_;
    bool changed = false;
    for (const RemoteChange& c : out.remote) {
        auto applied = apply_remote_change(document_, c);
        if (!applied) report(applied.first_error());
        else changed = changed || applied.value();
    }
    if (changed) {
        document_changed("");
        platform_.emit("change", Json{{"revision", revision_}, {"command", "changes from the server"}, {"remote", true}});
    }
    for (Error& e : out.errors) report(std::move(e));
    emit_sync_status();
}

void App::poll_sync() {
    if (!sync_) return;
    if (auto request = sync_->poll(steady_ms())) {
        if (link_ && !link_->passthrough()) {
            handle_link_step(link_->begin(*request));
        } else if (!platform_.sync_request(*request, api_url(request->path))) {
            handle_sync_output(sync_->on_failure(request->seq, SyncFailure::Network, steady_ms()));
        }
    }
    emit_sync_status();
}

void App::sync_tick() {
    if (!held_replies_.empty() && !editor_.busy()) {
        std::vector<HeldReply> held;
        held.swap(held_replies_);
        for (HeldReply& r : held) sync_reply(r.seq, r.status, r.body);
    }
    poll_sync();
}

void App::sync_reply(uint64_t seq, int http_status, const std::string& body) {
    if (link_ && link_load_seq_ && seq == link_load_seq_) return on_profile_load(http_status, body);
    if (!sync_) return;
    // A reply that may change the document waits while the labeler is mid-gesture: applied now,
    // it would cancel the drag; applied after the gesture's command without the engine knowing,
    // that command would silently overwrite the other device's change. Held, the engine sees the
    // change after the local edit and holds a conflict if they touch the same item.
    if (editor_.busy()) {
        held_replies_.push_back(HeldReply{seq, http_status, body});
        return;
    }
    if (link_ && !link_->passthrough()) return handle_link_step(link_->on_backend_reply(seq, http_status, body));
    handle_sync_output(sync_->on_reply(seq, http_status, body, steady_ms()));
    poll_sync();  // the next batch, or the catch-up a save asks for, goes at once
}

void App::sync_failure(uint64_t seq, bool timeout) {
    if (link_ && link_load_seq_ && seq == link_load_seq_) {
        link_load_seq_ = 0;
        const std::string& where = link_load_url_;
        return fail_startup({timeout ? "timeout" : "network", where, "could not load the annotations from " + where + " (profile \"" +
                                                                          options_.profile->name + "\"): the backend did not answer"});
    }
    if (!sync_) return;
    if (link_ && !link_->passthrough()) return handle_link_step(link_->on_backend_failure(seq, timeout ? SyncFailure::Timeout : SyncFailure::Network));
    handle_sync_output(sync_->on_failure(seq, timeout ? SyncFailure::Timeout : SyncFailure::Network, steady_ms()));
}

void App::sync_journal_written(bool ok, const std::string& message) {
    if (journal_writes_ > 0) --journal_writes_;
    if (!ok) {
        journal_error_ = message;
        report({"journal_failed", "journal", "edits could not be stored in this browser (" + message + "); they are kept in memory and sent when the server answers"});
    } else if (journal_writes_ == 0) {
        journal_error_.clear();
    }
    emit_sync_status();
}

void App::sync_flush() {
    if (!sync_) return;
    int64_t now = steady_ms();
    if (sync_->status().state == SyncState::Error) sync_->retry(now);
    else sync_->flush(now);
    poll_sync();
}

void App::sync_catchup() {
    if (!sync_) return;
    sync_->request_catchup();
    poll_sync();
}

void App::set_sync_token(std::string token) {
    if (link_) link_->set_token(token);
    if (!sync_) {
        pending_token_ = std::move(token);
        return;
    }
    sync_->set_token(std::move(token));
    poll_sync();
}

Errors App::resolve_conflict(const std::string& id, Resolution choice) {
    if (!sync_) return {{"not_found", id, "no conflict is held: sync is not running"}};
    SyncOutput out = id.empty() ? sync_->resolve_all(choice, steady_ms()) : sync_->resolve(id, choice, steady_ms());
    Errors errors = out.errors;
    out.errors.clear();
    // Mine: the local value is already the document's. Theirs: the server's value replaces it.
    handle_sync_output(std::move(out));
    poll_sync();
    return errors;
}

Errors App::retry_set_aside(const std::vector<std::string>& ids) {
    if (!sync_) return {{"not_found", "", "nothing is set aside: sync is not running"}};
    SyncOutput out = sync_->retry_set_aside(ids, steady_ms());
    Errors errors = std::move(out.errors);
    out.errors.clear();
    handle_sync_output(std::move(out));
    poll_sync();
    return errors;
}

Errors App::discard_set_aside(const std::vector<std::string>& ids) {
    if (!sync_) return {{"not_found", "", "nothing is set aside: sync is not running"}};
    SyncOutput out = sync_->discard_set_aside(ids);
    Errors errors = std::move(out.errors);
    out.errors.clear();
    handle_sync_output(std::move(out));  // the server's values, as remote changes
    poll_sync();
    return errors;
}

Json App::sync_status_json() const {
    Json j;
    if (!options_.sync) j = Json{{"state", "off"}, {"pending", 0}, {"conflicts", 0}, {"set_aside", 0}, {"setAsideList", Json::array()}};
    else if (!sync_) {
        j = Json{{"state", sync_journal_ ? "loading" : "read-only"}, {"pending", 0}, {"conflicts", 0}, {"set_aside", 0}, {"setAsideList", Json::array()}};
        if (!sync_journal_) j["message"] = "open in another tab";
    } else {
        j = sync_status_to_json(sync_->status());
        if (j.contains("next_retry_ms")) j.erase("next_retry_ms");  // a clock of this page's own: meaningless outside
        Json list = Json::array();
        for (const SetAsideItem& item : sync_->set_aside())
            list.push_back(Json{{"kind", to_string(item.kind)}, {"id", item.id}, {"label", item.label}, {"op_id", item.op_id},
                                {"code", item.code}, {"message", item.message}, {"path", item.path}});
        j["setAsideList"] = std::move(list);
    }
    j["localWrites"] = journal_writes_;
    if (!journal_error_.empty()) j["journalError"] = journal_error_;
    if (options_.profile) {
        j["profile"] = options_.profile->name;
        // A backend that cannot detect conflicts: the last save wins, and the labeler is told.
        if (options_.profile->last_writer_wins()) j["lastWriterWins"] = options_.profile->conflicts.why;
    }
    return j;
}

void App::emit_sync_status() {
    if (!options_.sync) return;
    Json j = sync_status_json();
    std::string text = j.dump();
    if (text == last_sync_status_) return;
    last_sync_status_ = text;
    platform_.emit("sync", j);
}

bool App::set_frame(long long frame) {
    if (!task_ || frame < 0 || frame >= task_->frame_count()) return false;
    auto before = task_->locate_frame(frame_), after = task_->locate_frame(frame);
    frame_ = frame;
    if (!before || before->media_index != after->media_index) fit_pending_ = true;
    load_current_media();
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
    Vec2 new_centre{viewport_.x + viewport_.w / 2, viewport_.y + viewport_.h / 2};
    view_.offset = {new_centre.x - image_at_centre.x * view_.zoom, new_centre.y - image_at_centre.y * view_.zoom};
}

void App::zoom_around(Vec2 anchor, double factor) {
    view_.zoom_around(anchor, factor);
    fit_pending_ = false;
}

void App::pan_by(Vec2 delta) {
    view_.pan_by(delta);
    fit_pending_ = false;
}

void App::fit_to_viewport() {
    const FrameImage* img = current_image();
    if (!img || img->state != LoadState::Ready) {
        fit_pending_ = true;
        return;
    }
    view_ = View::fit(img->width, img->height, viewport_, 16);
    fit_pending_ = false;
}

void App::set_view(double zoom, Vec2 offset) {
    view_.zoom = std::clamp(zoom, View::kMinZoom, View::kMaxZoom);
    view_.offset = offset;
    fit_pending_ = false;
}

void App::set_image_adjust(ImageAdjust a) {
    auto finite_or = [](double v, double fallback) { return std::isfinite(v) ? v : fallback; };
    adjust_.brightness = std::clamp(finite_or(a.brightness, 0), -0.5, 0.5);
    adjust_.contrast = std::clamp(finite_or(a.contrast, 1), 0.2, 4.0);
    adjust_.gamma = std::clamp(finite_or(a.gamma, 1), 0.2, 4.0);
}

void App::focus_on(Rect r, bool zoom) {
    if (zoom) {
        View fitted = View::fit(std::max(r.w, 1.0), std::max(r.h, 1.0), viewport_, 48);
        view_.zoom = std::min(fitted.zoom, 16.0);
    }
    view_.offset = {viewport_.x + viewport_.w / 2 - (r.x + r.w / 2) * view_.zoom, viewport_.y + viewport_.h / 2 - (r.y + r.h / 2) * view_.zoom};
    fit_pending_ = false;
}

Json App::view_json(double dpr) const {
    const FrameImage* img = current_image();
    return Json{{"frame", frame_},
                {"frames", frame_count()},
                {"zoom", view_.zoom},
                {"offsetX", view_.offset.x},
                {"offsetY", view_.offset.y},
                {"viewport", Json{{"x", viewport_.x}, {"y", viewport_.y}, {"width", viewport_.w}, {"height", viewport_.h}}},
                {"devicePixelRatio", dpr},
                {"imageWidth", img && img->state == LoadState::Ready ? img->width : 0},
                {"imageHeight", img && img->state == LoadState::Ready ? img->height : 0},
                {"imageLevel", img && img->state == LoadState::Ready ? img->level : 1},
                {"imageDetail", img && img->state == LoadState::Ready && img->detail.width > 0
                                    ? Json{{"x", img->detail.x}, {"y", img->detail.y}, {"width", img->detail.width}, {"height", img->detail.height}, {"level", img->detail.level}}
                                    : Json(nullptr)},
                {"frameShown", current_frame_shown()},
                {"adjust", Json{{"brightness", adjust_.brightness}, {"contrast", adjust_.contrast}, {"gamma", adjust_.gamma}}}};
}

// [SECTION] Detail regions of huge images
// Zoomed in past a reduced level (a screen pixel covering less than a level pixel), the visible
// region plus a margin is decoded at the coarsest power-of-two level that still gives a screen
// pixel at least one image sample (1: full resolution), coarser only when the region would pass
// kLevelMaxPixels, and drawn over the level. One region at a time: memory is the level plus at
// most one region and the one being decoded.

void App::drop_detail_job() {
    if (!detail_job_) return;
    in_flight_.erase(detail_job_->request_id);
    detail_job_.reset();
}

static void clear_detail(FrameImage& img) {
    if (img.detail.width == 0 && img.detail.pixels.empty()) return;
    img.detail = FrameImage::Detail{{}, {}, {}, {}, 1, 0, 0, {}, img.detail.generation + 1};
}

void App::advance_detail() {
    if (!task_) return;
    auto ref = task_->locate_frame(frame_);
    if (huge_source_ && (!ref || ref->media_index != huge_source_->media_index)) huge_source_.reset();  // left
    if (detail_job_ && (!ref || ref->media_index != detail_job_->media_index)) drop_detail_job();
    if (!ref) return;
    auto found = images_.find(ref->media_index);
    if (found == images_.end()) return;
    FrameImage& img = found->second;
    if (img.state != LoadState::Ready || img.level <= 1 || !huge_source_) {
        drop_detail_job();
        clear_detail(img);
        return;
    }
    const int64_t now = steady_ms();
    if (view_.zoom != detail_seen_view_.zoom || view_.offset.x != detail_seen_view_.offset.x || view_.offset.y != detail_seen_view_.offset.y ||
        viewport_.x != detail_seen_viewport_.x || viewport_.y != detail_seen_viewport_.y || viewport_.w != detail_seen_viewport_.w ||
        viewport_.h != detail_seen_viewport_.h) {
        detail_seen_view_ = view_;
        detail_seen_viewport_ = viewport_;
        view_changed_ms_ = now;
    }
    // Zoomed out to where the level has a pixel for every screen pixel: it is all that is needed.
    if (view_.zoom * img.level <= 1.0 + 1e-9) {
        drop_detail_job();
        clear_detail(img);
        return;
    }
    // The visible image pixels.
    Vec2 a = view_.to_image({viewport_.x, viewport_.y}), b = view_.to_image({viewport_.x + viewport_.w, viewport_.y + viewport_.h});
    const int vx0 = std::clamp((int)std::floor(a.x), 0, img.width), vy0 = std::clamp((int)std::floor(a.y), 0, img.height);
    const int vx1 = std::clamp((int)std::ceil(b.x), 0, img.width), vy1 = std::clamp((int)std::ceil(b.y), 0, img.height);
    auto covers = [&](int x, int y, int w, int h) { return x <= vx0 && y <= vy0 && x + w >= vx1 && y + h >= vy1; };
    if (vx1 <= vx0 || vy1 <= vy0) {  // the image is off screen
        drop_detail_job();
        clear_detail(img);
        return;
    }
    // The level wanted: a screen pixel gets at least one sample; finer than the reduced level.
    int want = 1;
    while (want * 2 < img.level && want * 2 <= 1.0 / view_.zoom) want *= 2;
    FrameImage::Detail& d = img.detail;
    const bool shown_covers = d.width > 0 && covers(d.x, d.y, d.width, d.height);
    if (d.width > 0 && (d.x >= vx1 || d.y >= vy1 || d.x + d.width <= vx0 || d.y + d.height <= vy0)) clear_detail(img);  // moved away
    if (shown_covers && d.level <= want) {
        drop_detail_job();
        return;
    }
    if (detail_job_) {
        const PixelWindow& r = detail_job_->region;
        if (!covers(r.x, r.y, r.width, r.height) || detail_job_->level > want) drop_detail_job();  // moved on: again once settled
    }
    if (!detail_job_) {
        if (now - view_changed_ms_ < kDetailSettleMs) return;
        // A margin of an eighth of the view each side, so that a small pan needs no new region.
        const int mx = (vx1 - vx0) / 8 + 16, my = (vy1 - vy0) / 8 + 16;
        int level = want;
        PixelWindow region;
        for (;; level *= 2) {
            if (level >= img.level) return;  // no finer level fits: the reduced level is shown
            // On the level's grid, so that its pixels are the means of aligned boxes.
            int x0 = std::max(0, vx0 - mx) / level * level, y0 = std::max(0, vy0 - my) / level * level;
            int x1 = std::min(img.width, (std::min(img.width, vx1 + mx) + level - 1) / level * level);
            int y1 = std::min(img.height, (std::min(img.height, vy1 + my) + level - 1) / level * level);
            region = PixelWindow{x0, y0, x1 - x0, y1 - y0};
            long long w = (region.width + level - 1) / level, h = (region.height + level - 1) / level;
            if (w * h <= kLevelMaxPixels && w <= kLevelMaxSide && h <= kLevelMaxSide) break;
        }
        uint64_t id = next_request_id_++;
        std::unique_ptr<PngLevelDecoder> decoder;
        if (huge_source_->png) decoder = std::make_unique<PngLevelDecoder>(huge_source_->png, level, region);
        else if (!platform_.decode_image_region(id, huge_source_->bytes, region, level)) return;
        detail_job_ = DetailJob{id, ref->media_index, region, level, std::move(decoder)};
        in_flight_[id] = Pending{Request::Detail, ref->media_index, task_->media[ref->media_index].url};
    }
    if (!detail_job_->decoder || decode_for(*detail_job_->decoder, kDetailDecodeMsPerFrame)) return;
    FetchResult r;
    r.request_id = detail_job_->request_id;
    auto part = detail_job_->decoder->finish(task_->media[ref->media_index].url);
    if (part) {
        r.width = part->width;
        r.height = part->height;
        r.body = std::move(part->pixels);
    } else {
        r.error = part.first_error().message;
    }
    on_detail_decoded(r);
}

void App::on_detail_decoded(FetchResult& r) {
    if (!detail_job_ || detail_job_->request_id != r.request_id) return;  // dropped meanwhile
    DetailJob job = std::move(*detail_job_);
    drop_detail_job();
    auto found = images_.find(job.media_index);
    if (found == images_.end()) return;
    FrameImage& img = found->second;
    const int w = (job.region.width + job.level - 1) / job.level, h = (job.region.height + job.level - 1) / job.level;
    if (r.width != w || r.height != h || r.body.size() != (size_t)w * h * 4) {
        // The reduced level stays shown; the labeler learns the file is damaged where it is.
        if (!r.error.empty()) report({"decode_failed", task_->media[job.media_index].url, r.error});
        huge_source_.reset();  // no retry on every settle
        return;
    }
    img.detail = FrameImage::Detail{job.region.x, job.region.y, job.region.width, job.region.height, job.level, w, h, std::move(r.body), img.detail.generation + 1};
    redraw_wanted_ = true;
}

}  // namespace pm
