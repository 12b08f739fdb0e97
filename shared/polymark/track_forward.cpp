#include "polymark/track_forward.hpp"

#include "polymark/geometry.hpp"

#include <algorithm>
#include <cmath>

namespace pm {

const char* to_string(TrackForwardState s) {
    switch (s) {
        case TrackForwardState::Tracking: return "tracking";
        case TrackForwardState::Lost: return "lost";
        case TrackForwardState::Done: return "done";
        case TrackForwardState::Failed: return "failed";
    }
    return "?";
}

namespace {

constexpr double kPi = 3.14159265358979323846;

bool is_box_type(ShapeType t) { return t == ShapeType::Rectangle || t == ShapeType::Ellipse; }

// Shapes without an area (points, polylines) are followed through the image around them: at
// least this many pixels a side, centred on them.
constexpr double kLineContext = 32;

// What the tracker follows: the unrotated box of a rectangle or ellipse, the bounds of the others
// (for points and polylines widened to kLineContext).
Rect shape_bounds(ShapeType type, const Points& points) {
    if (points.size() < 2) return {};
    double x0 = points[0], y0 = points[1], x1 = x0, y1 = y0;
    for (size_t i = 0; i + 1 < points.size(); i += 2) {
        x0 = std::min(x0, points[i]);
        x1 = std::max(x1, points[i]);
        y0 = std::min(y0, points[i + 1]);
        y1 = std::max(y1, points[i + 1]);
    }
    if (type == ShapeType::Points || type == ShapeType::Polyline) {
        double grow_x = std::max(0.0, kLineContext - (x1 - x0)) / 2, grow_y = std::max(0.0, kLineContext - (y1 - y0)) / 2;
        x0 -= grow_x, x1 += grow_x, y0 -= grow_y, y1 += grow_y;
    }
    return {x0, y0, x1 - x0, y1 - y0};
}

// The part of `box` inside a width x height frame.
Rect clamp_to_frame(Rect box, int width, int height) {
    double x0 = std::max(0.0, box.x), y0 = std::max(0.0, box.y);
    double x1 = std::min((double)width, box.x + box.w), y1 = std::min((double)height, box.y + box.h);
    return {x0, y0, std::max(0.0, x1 - x0), std::max(0.0, y1 - y0)};
}

// Messages are for people, who count frames from 1 (the timeline does).
std::string frame_words(long long frame) { return "frame " + std::to_string(frame + 1); }

}  // namespace

Expected<TrackForwardJob> TrackForwardJob::start(const Document& doc, const std::vector<std::string>& track_ids, long long start_frame,
                                                 long long frame_count, TrackForwardOptions options) {
    if (start_frame < 0 || start_frame >= frame_count)
        return Error{"out_of_range", "", "cannot track from " + frame_words(start_frame) + ": the task has frames 1 to " + std::to_string(frame_count)};
    if (start_frame + 1 >= frame_count) return Error{"no_frames", "", frame_words(start_frame) + " is the last frame: there is nothing to track forward"};
    TrackForwardJob job;
    job.start_ = start_frame;
    long long span = options.frames > 0 ? std::min(options.frames, frame_count) : frame_count;  // no overflow below
    job.last_ = std::min(frame_count - 1, start_frame + span);
    for (const std::string& id : track_ids) {
        int index = find_track(doc, id);
        if (index < 0) continue;
        const Track& track = doc.tracks[(size_t)index];
        TrackForwardObject status;
        status.track_id = id;
        status.frame = start_frame;
        std::optional<TrackState> state = track_shape_at(track, start_frame);
        if (track.type == ShapeType::Tag) {
            status.state = TrackForwardState::Failed;
            status.message = "track " + id + ": a tag has no shape to track";
        } else if (!state) {
            status.state = TrackForwardState::Failed;
            status.message = "track " + id + " is not visible on " + frame_words(start_frame) + ": nothing to track from";
        }
        Item item;
        item.original = track;
        if (state) item.start_state = *state;
        job.items_.push_back(std::move(item));
        job.status_.push_back(std::move(status));
    }
    if (job.items_.empty()) return Error{"no_tracks", "", "none of the selected shapes is a track: tracking needs tracks"};
    job.next_frame_ = start_frame;
    if (std::none_of(job.status_.begin(), job.status_.end(), [](const TrackForwardObject& s) { return s.state == TrackForwardState::Tracking; }))
        job.next_frame_.reset();
    return job;
}

Expected<TrackForwardJob> TrackForwardJob::from_spec(const Json& spec) {
    auto number = [&](const char* k) { return spec.is_object() && spec.contains(k) && spec[k].is_number() ? spec[k].get<long long>() : -1; };
    if (!spec.is_object() || !spec.contains("tracks") || !spec.contains("ids") || !spec["ids"].is_array())
        return Error{"bad_spec", "", "the tracking job needs tracks and ids"};
    Json doc_json{{"format", "polymark.annotations"}, {"version", 1}, {"objects", Json::array()}, {"tracks", spec["tracks"]}};
    auto doc = document_from_json(doc_json);
    if (!doc) return doc.errors();
    std::vector<std::string> ids;
    for (const Json& id : spec["ids"])
        if (id.is_string()) ids.push_back(id.get<std::string>());
    return start(doc.value(), ids, number("start"), number("frameCount"), TrackForwardOptions{std::max(0LL, number("frames"))});
}

std::optional<long long> TrackForwardJob::next_frame() const { return next_frame_; }

double TrackForwardJob::progress() const {
    if (!next_frame_) return 1.0;
    double total = double(last_ - start_ + 1);
    return std::clamp(double(*next_frame_ - start_) / total, 0.0, 1.0);
}

void TrackForwardJob::stop_all(TrackForwardState state, long long frame, const std::string& why) {
    for (TrackForwardObject& s : status_) {
        if (s.state != TrackForwardState::Tracking) continue;
        s.state = state;
        s.frame = frame;
        s.message = why.empty() ? std::string() : "track " + s.track_id + ": " + why;
    }
    next_frame_.reset();
}

void TrackForwardJob::advance() {
    bool any = std::any_of(status_.begin(), status_.end(), [](const TrackForwardObject& s) { return s.state == TrackForwardState::Tracking; });
    if (!any || !next_frame_ || *next_frame_ >= last_) {
        for (TrackForwardObject& s : status_)
            if (s.state == TrackForwardState::Tracking) s.state = TrackForwardState::Done;
        next_frame_.reset();
        return;
    }
    ++*next_frame_;
}

void TrackForwardJob::frame_failed(long long frame, const std::string& reason) {
    if (!next_frame_ || frame != *next_frame_) return;
    stop_all(TrackForwardState::Failed, frame, frame_words(frame) + " could not be read (" + reason + "): stopped before it, nothing written for it");
}

void TrackForwardJob::cancel() {
    if (!next_frame_) return;
    cancelled_ = true;
    for (TrackForwardObject& s : status_)
        if (s.state == TrackForwardState::Tracking) s.state = TrackForwardState::Done;
    next_frame_.reset();
}

void TrackForwardJob::feed(long long frame, const FrameView& pixels, const NewId& new_id) {
    if (!next_frame_ || frame != *next_frame_) return;
    if (!pixels.pixels || pixels.width <= 0 || pixels.height <= 0) {
        frame_failed(frame, "no pixels");
        return;
    }
    for (size_t i = 0; i < items_.size(); ++i) {
        Item& item = items_[i];
        TrackForwardObject& status = status_[i];
        if (status.state != TrackForwardState::Tracking) continue;
        const ShapeType type = item.original.type;
        // (Re)start on the first frame and on every keyframe a person made: their shape is the truth.
        const Keyframe* own = frame == start_ ? nullptr : keyframe_at(item.original, frame);
        bool manual = own && own->source == Source::Manual;
        if (frame == start_ || manual) {
            if (manual && own->outside) {
                status.state = TrackForwardState::Done;
                status.frame = frame;
                continue;
            }
            if (manual) item.start_state = *track_state_at(item.original, frame);
            Rect bounds = shape_bounds(type, item.start_state.points);
            item.start_box = clamp_to_frame(bounds, pixels.width, pixels.height);
            if (bounds.w > 0 && bounds.h > 0 && (item.start_box.w <= 0 || item.start_box.h <= 0)) {
                status.state = TrackForwardState::Failed;
                status.frame = frame;
                status.message = "track " + status.track_id + " on " + frame_words(frame) + ": its shape lies outside the " +
                                 std::to_string(pixels.width) + "x" + std::to_string(pixels.height) + " image, nothing to track";
                continue;
            }
            auto started = item.tracker.init(pixels, item.start_box);
            if (!started) {
                status.state = TrackForwardState::Failed;
                status.frame = frame;
                status.message = "track " + status.track_id + " on " + frame_words(frame) + ": " + started.first_error().message;
            }
            continue;
        }
        auto result = item.tracker.update(pixels);
        if (!result) {
            status.state = TrackForwardState::Failed;
            status.frame = frame;
            status.message = "track " + status.track_id + " on " + frame_words(frame) + ": " + result.first_error().message;
            continue;
        }
        const TrackResult& r = result.value();
        status.confidence = r.confidence;
        if (r.lost) {
            status.state = TrackForwardState::Lost;
            status.frame = frame;
            char confidence[32];
            std::snprintf(confidence, sizeof confidence, "%.2f", r.confidence);
            status.message = "track " + status.track_id + " lost on " + frame_words(frame) + " (confidence " + confidence + "): stopped there";
            continue;
        }
        Keyframe k;
        k.id = new_id();
        k.frame = frame;
        k.occluded = item.start_state.occluded;
        k.z = item.start_state.z;
        k.source = Source::Auto;
        const Similarity& m = r.since_start;
        if (is_box_type(type) && item.start_state.points.size() == 4) {
            const Points& p = item.start_state.points;
            double scale = std::hypot(m.a, m.b);
            Vec2 c = m.apply({(p[0] + p[2]) / 2, (p[1] + p[3]) / 2});
            double hw = (p[2] - p[0]) / 2 * scale, hh = (p[3] - p[1]) / 2 * scale;
            k.points = {c.x - hw, c.y - hh, c.x + hw, c.y + hh};
            double degrees = item.start_state.rotation + std::atan2(m.b, m.a) * 180.0 / kPi;
            k.rotation = std::fmod(std::fmod(degrees, 360.0) + 360.0, 360.0);
        } else {
            k.points = move_polygon(item.start_state.points, m);
        }
        if (std::any_of(k.points.begin(), k.points.end(), [](double v) { return !std::isfinite(v); })) {
            status.state = TrackForwardState::Failed;
            status.frame = frame;
            status.message = "track " + status.track_id + " on " + frame_words(frame) + ": the tracker gave no finite shape";
            continue;
        }
        item.written.push_back(std::move(k));
        status.frame = frame;
        ++status.keyframes;
    }
    advance();
}

Command track_forward_command(const Document& doc, const std::vector<TrackWritten>& written) {
    Command command;
    size_t frames = 0;
    for (const TrackWritten& w : written) {
        if (w.keyframes.empty()) continue;
        int index = find_track(doc, w.track_id);
        if (index < 0) continue;
        const Track& now = doc.tracks[(size_t)index];
        Track after = now;
        for (const Keyframe& k : w.keyframes) {
            auto at = std::lower_bound(after.keyframes.begin(), after.keyframes.end(), k.frame, [](const Keyframe& x, long long f) { return x.frame < f; });
            if (at != after.keyframes.end() && at->frame == k.frame) {
                if (at->source == Source::Manual) continue;  // a person's keyframe is never replaced
                *at = k;
            } else {
                after.keyframes.insert(at, k);
            }
        }
        frames = std::max(frames, w.keyframes.size());
        if (!(after.keyframes.size() == now.keyframes.size() && same_track(after, now)))
            command.track_ops.push_back(TrackOp::update(now, std::move(after), (size_t)index));
    }
    if (!command.empty()) command.name = "track forward " + std::to_string(frames) + (frames == 1 ? " frame" : " frames");
    return command;
}

// As tracks (the keyframes under a track's id), so that the document's own reader checks them.
Json track_written_to_json(const std::vector<TrackWritten>& written) {
    Json list = Json::array();
    for (const TrackWritten& w : written) {
        if (w.keyframes.empty()) continue;
        Track t;
        t.id = w.track_id;
        t.type = w.type;
        t.label = "written";
        t.keyframes = w.keyframes;
        Json j = track_to_json(t);
        list.push_back(Json{{"id", w.track_id}, {"type", j["type"]}, {"keyframes", j["keyframes"]}});
    }
    return list;
}

Expected<std::vector<TrackWritten>> track_written_from_json(const Json& json) {
    if (!json.is_array()) return Error{"expected_array", "", "the written keyframes must be an array"};
    std::vector<TrackWritten> out;
    for (size_t i = 0; i < json.size(); ++i) {
        const Json& w = json[i];
        std::string path = json_pointer_append("", i);
        if (!w.is_object() || !w.contains("id") || !w["id"].is_string() || !w.contains("type") || !w.contains("keyframes"))
            return Error{"missing_key", path, "each entry needs an id, a type and keyframes"};
        // Read as a track, so that the document's own reader checks every keyframe.
        Json track{{"id", w["id"]}, {"type", w["type"]}, {"label", "written"}, {"keyframes", w["keyframes"]}};
        auto t = track_from_json(track, path);
        if (!t) return t.errors();
        out.push_back(TrackWritten{t->id, t->type, std::move(t->keyframes)});
    }
    return out;
}

std::vector<TrackWritten> TrackForwardJob::written() const {
    std::vector<TrackWritten> out;
    for (const Item& item : items_) out.push_back(TrackWritten{item.original.id, item.original.type, item.written});
    return out;
}

Command TrackForwardJob::command(const Document& doc) const { return track_forward_command(doc, written()); }

Json TrackForwardJob::status_json(const char* state, long long frames_fed) const {
    Json objects = Json::array();
    for (const TrackForwardObject& o : status_)
        objects.push_back(Json{{"id", o.track_id}, {"state", to_string(o.state)}, {"frame", o.frame}, {"keyframes", o.keyframes},
                               {"confidence", o.confidence}, {"message", o.message}});
    return Json{{"state", state}, {"startFrame", start_}, {"lastFrame", last_}, {"progress", progress()},
                {"framesTracked", std::max(0LL, frames_fed - 1)}, {"objects", objects}};
}

}  // namespace pm
