// Label Studio JSON export (docs/FORMATS.md, "Label Studio"): a list of tasks, each with `data`
// (the image or video URL), `annotations[].result[]` and `predictions[].result[]`. Results:
// rectanglelabels (x, y, width, height in percent of original_width/height, rotation in degrees
// about the top-left corner), polygonlabels (points in percent; `closed: false` a polyline),
// keypointlabels, ellipselabels (centre, radiusX, radiusY, rotation about the centre), choices
// (tags) and videorectangle (keyframes in `sequence`, frames 1-based, `enabled: false` ends a span).
#include "polymark/formats/format_common.hpp"
#include "polymark/formats/format_readers.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace pm::formats {

namespace {

constexpr const char* kDefaultFrom[] = {"rectangle", "polygon", "keypoint", "ellipse", "choice", "box"};

// A member's string value ("" when absent or not a string): nothing here throws.
std::string text_member(const Json& o, const char* key) {
    if (!o.is_object()) return "";
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

// Whether any result of the task's annotations or predictions is a videorectangle.
bool has_video_results(const Json& task) {
    for (const char* list : {"annotations", "predictions"}) {
        auto l = task.find(list);
        if (l == task.end() || !l->is_array()) continue;
        for (const Json& a : *l) {
            if (!a.is_object()) continue;
            auto r = a.find("result");
            if (r == a.end() || !r->is_array()) continue;
            for (const Json& item : *r)
                if (text_member(item, "type") == "videorectangle") return true;
        }
    }
    return false;
}

// The file name a task's data URL names: "/data/upload/3/a1b2-img.jpg" -> "a1b2-img.jpg",
// "/data/local-files/?d=dir/img.jpg" -> "img.jpg".
std::string name_of_url(std::string url) {
    if (size_t d = url.find("?d="); d != std::string::npos) url = url.substr(d + 3);
    else if (size_t q = url.find('?'); q != std::string::npos) url = url.substr(0, q);
    return std::string(base_name(url));
}

// Our box and rotation (about the centre) from Label Studio's, in pixels (rotation about the
// top-left corner (x, y)): centre c = (x, y) + R(θ)·(w/2, h/2).
std::vector<double> box_from_corner(double x, double y, double w, double h, double degrees) {
    double a = degrees * kPi / 180.0, c = std::cos(a), s = std::sin(a);
    double cx = x + c * w / 2 - s * h / 2, cy = y + s * w / 2 + c * h / 2;
    if (degrees == 0) { cx = x + w / 2; cy = y + h / 2; }
    return {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
}

// The inverse: the top-left corner (x, y) = c − R(θ)·(w/2, h/2), w and h.
std::vector<double> corner_from_box(const std::vector<double>& b, double degrees) {
    double w = b[2] - b[0], h = b[3] - b[1];
    if (degrees == 0) return {b[0], b[1], w, h};
    double cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
    double a = degrees * kPi / 180.0, c = std::cos(a), s = std::sin(a);
    return {cx - (c * w / 2 - s * h / 2), cy - (s * w / 2 + c * h / 2), w, h};
}

class LabelStudioReader : JsonFilesImport {
public:
    explicit LabelStudioReader(const ImportOptions& options) : JsonFilesImport(options, "bad_labelstudio") {
        if (!options.task) return;
        long long frame = 0;
        for (const Media& m : options.task->media) {
            long long frames = m.type == MediaType::Image ? 1 : m.frames;
            for (const std::string& n : {media_file_name(m), std::string(base_name(m.url)), m.url, m.id})
                if (!n.empty()) given_.emplace(n, std::make_pair(frame, &m));
            frame += frames;
        }
    }

    Expected<Conversion> read(const FileSet& files) {
        if (auto error = read_json_files(files)) return *error;
        Conversion out = finish("labelstudio");
        if (!options_.task) out.task.media = media_;
        return out;
    }

private:
    bool read_json(const Json& root, const FileEntry& /*file*/) override {
        if (root.is_object()) return read_task(root, "");
        if (!root.is_array()) return bad("", "a list of Label Studio tasks");
        for (size_t i = 0; i < root.size(); ++i)
            if (!read_task(root[i], "/" + std::to_string(i))) return false;
        return true;
    }

    // A medium's first frame, frame count and size: the task's, else one made from the URL.
    struct Place { long long first = 0, frames = 1; int width = 0, height = 0; size_t made = SIZE_MAX; };

    bool place_of(const std::string& url, bool video, const std::string& p, Place& out) {
        std::string name = name_of_url(url);
        if (options_.task) {
            auto it = given_.find(url);
            if (it == given_.end()) it = given_.find(name);
            if (it == given_.end()) return fail("unknown_image", p, "\"" + name + "\" is not a medium of the task");
            out.first = it->second.first;
            out.frames = it->second.second->type == MediaType::Image ? 1 : it->second.second->frames;
            out.width = it->second.second->width;
            out.height = it->second.second->height;
            return true;
        }
        if (auto it = made_.find(url); it != made_.end()) {
            out = it->second;
            return true;
        }
        Media m;
        m.id = media_ids_.make(stem(name));
        m.type = video ? MediaType::Video : MediaType::Image;
        m.url = url;
        m.name = name;
        out.first = next_frame_;
        out.frames = 1;
        out.made = media_.size();
        media_.push_back(m);
        next_frame_ += 1;
        made_[url] = out;
        return true;
    }

    // A made video grows to hold the frames its sequences name.
    void extend(Place& place, const std::string& url, long long frames) {
        if (place.made == SIZE_MAX || frames <= place.frames) return;
        long long more = frames - place.frames;
        media_[place.made].frames = frames;
        if (place.first + place.frames < next_frame_) {  // media made after it move along
            for (auto& [u, pl] : made_)
                if (pl.first > place.first) pl.first += more;
            for (Object& o : doc_.objects)
                if (o.frame >= place.first + place.frames) o.frame += more;
            for (Track& t : doc_.tracks)
                for (Keyframe& k : t.keyframes)
                    if (k.frame >= place.first + place.frames) k.frame += more;
        }
        next_frame_ += more;
        place.frames = frames;
        made_[url] = place;
    }

    void size_seen(Place& place, const std::string& url, int w, int h) {
        if (place.made == SIZE_MAX || w <= 0 || h <= 0) return;
        Media& m = media_[place.made];
        if (m.width == 0 && w <= 1000000 && h <= 1000000) { m.width = w; m.height = h; }
        place.width = m.width;
        place.height = m.height;
        made_[url] = place;
    }

    bool read_task(const Json& task, const std::string& p) {
        if (!task.is_object()) return bad(p, "a task object with \"data\"");
        auto data = task.find("data");
        if (data == task.end() || !data->is_object()) return bad(p + "/data", "an object naming the image or video (\"data\": {\"image\": url})");
        std::string key, url;
        for (const char* k : {"image", "video", "img"})
            if (auto it = data->find(k); it != data->end() && it->is_string()) { key = k; url = it->get<std::string>(); break; }
        if (url.empty())
            for (auto it = data->begin(); it != data->end(); ++it)
                if (it.value().is_string()) { key = it.key(); url = it.value().get<std::string>(); break; }
        if (url.empty()) return bad(p + "/data", "a string value: the URL of the image or video");
        bool video = key == "video" || has_video_results(task);
        Place place;
        if (!place_of(url, video, p + "/data/" + json_pointer_escape(key), place)) return false;
        size_t used = 0;
        if (auto anns = task.find("annotations"); anns != task.end() && !anns->is_null()) {
            if (!anns->is_array()) return bad(p + "/annotations", "an array of annotations");
            for (size_t i = 0; i < anns->size(); ++i) {
                std::string ap = p + "/annotations/" + std::to_string(i);
                const Json& a = (*anns)[i];
                if (!a.is_object()) return bad(ap, "an annotation object with \"result\"");
                if (auto c = a.find("was_cancelled"); c != a.end() && c->is_boolean() && c->get<bool>()) { notes_.add("cancelled annotations left out"); continue; }
                if (used++ > 0) { notes_.add("annotations besides a task's first left out"); continue; }
                if (!read_results(a, ap, place, url, false, std::nullopt)) return false;
            }
        }
        if (auto preds = task.find("predictions"); preds != task.end() && !preds->is_null()) {
            if (!preds->is_array()) return bad(p + "/predictions", "an array of predictions");
            for (size_t i = 0; i < preds->size(); ++i) {
                std::string pp = p + "/predictions/" + std::to_string(i);
                const Json& a = (*preds)[i];
                if (!a.is_object()) return bad(pp, "a prediction object with \"result\"");
                std::optional<double> score;
                if (auto s = a.find("score"); s != a.end() && !s->is_null()) {
                    if (!s->is_number()) return bad(pp + "/score", "a number");
                    score = s->get<double>();
                }
                if (!read_results(a, pp, place, url, true, score)) return false;
            }
        }
        return true;
    }

    bool read_results(const Json& a, const std::string& p, Place& place, const std::string& url, bool prediction, std::optional<double> score) {
        auto res = a.find("result");
        if (res == a.end() || !res->is_array()) return bad(p + "/result", "an array of results");
        for (size_t i = 0; i < res->size(); ++i)
            if (!read_result((*res)[i], p + "/result/" + std::to_string(i), place, url, prediction, score)) return false;
        return true;
    }

    std::optional<double> number(const Json& v, const std::string& p, const char* key, bool required, double fallback = 0) {
        auto it = v.find(key);
        if (it == v.end() || it->is_null()) {
            if (required) { bad(p + "/" + key, "a number"); return std::nullopt; }
            return fallback;
        }
        if (!it->is_number()) { bad(p + "/" + key, "a number"); return std::nullopt; }
        return it->get<double>();
    }

    bool read_result(const Json& r, const std::string& p, Place& place, const std::string& url, bool prediction, std::optional<double> score) {
        if (!r.is_object()) return bad(p, "a result object");
        auto type_it = r.find("type");
        if (type_it == r.end() || !type_it->is_string()) return bad(p + "/type", "the result's type (rectanglelabels, polygonlabels, ...)");
        std::string type = type_it->get<std::string>();
        auto value_it = r.find("value");
        if (value_it == r.end() || !value_it->is_object()) return bad(p + "/value", "an object");
        const Json& v = *value_it;
        std::string vp = p + "/value";
        static const char* kTypes[] = {"rectanglelabels", "polygonlabels", "keypointlabels", "ellipselabels", "choices", "videorectangle"};
        int kind = -1;
        for (int k = 0; k < 6; ++k)
            if (type == kTypes[k]) kind = k;
        if (kind < 0) {
            notes_.add("Label Studio results of other types (" + type.substr(0, 40) + ") left out");
            return true;
        }
        // Sizes: the result's original_width/height (the percent is of them), else the medium's.
        int w = place.width, h = place.height;
        if (kind != 4) {
            auto ow = r.find("original_width"), oh = r.find("original_height");
            if (ow != r.end() && !ow->is_null()) {
                if (!ow->is_number_integer() || ow->get<long long>() <= 0 || ow->get<long long>() > 1000000) return bad(p + "/original_width", "an integer 1 to 1000000");
                w = (int)ow->get<long long>();
            }
            if (oh != r.end() && !oh->is_null()) {
                if (!oh->is_number_integer() || oh->get<long long>() <= 0 || oh->get<long long>() > 1000000) return bad(p + "/original_height", "an integer 1 to 1000000");
                h = (int)oh->get<long long>();
            }
            if (w <= 0 || h <= 0) return fail("unknown_size", p, "the size of \"" + name_of_url(url) + "\" is not known: percent coordinates need original_width/height or a task with media sizes");
            size_seen(place, url, w, h);
            if (auto rot = r.find("image_rotation"); rot != r.end() && rot->is_number() && rot->get<double>() != 0) notes_.add("image_rotation of Label Studio results ignored");
        }
        // The labels: the value's list named by the type ("rectanglelabels"), else "labels".
        const char* list_key = kind == 4 ? "choices" : kind == 5 ? "labels" : kTypes[kind];
        auto labels_it = v.find(list_key);
        if (labels_it == v.end() && kind != 4) labels_it = v.find("labels");
        if (labels_it == v.end() || !labels_it->is_array() || labels_it->empty()) return bad(vp + "/" + list_key, "a non-empty array of label names");
        std::vector<std::string> label_ids;
        for (size_t i = 0; i < labels_it->size(); ++i) {
            const Json& n = (*labels_it)[i];
            if (!n.is_string()) return bad(vp + "/" + list_key + "/" + std::to_string(i), "a label name");
            auto label = labels_.resolve(n.get<std::string>());
            if (!label) return fail("unknown_label", vp + "/" + list_key + "/" + std::to_string(i), "label \"" + n.get<std::string>() + "\" is not a label of the task");
            label_ids.push_back(*label);
            if (kind != 4) break;
        }
        if (kind != 4 && labels_it->size() > 1) notes_.add("Label Studio regions of several labels read with their first");
        std::string id_hint = "r";
        if (auto id = r.find("id"); id != r.end() && id->is_string() && !id->get<std::string>().empty()) id_hint = id->get<std::string>();
        std::optional<double> own_score = score;
        if (auto s = r.find("score"); s != r.end() && !s->is_null()) {
            if (!s->is_number()) return bad(p + "/score", "a number");
            own_score = s->get<double>();
        }
        bool model = prediction || text_member(r, "origin") == "prediction";
        Json meta;
        std::string from = text_member(r, "from_name"), to = text_member(r, "to_name");
        std::string default_to = kind == 5 ? "video" : "image";
        if ((!from.empty() && from != kDefaultFrom[kind]) || (!to.empty() && to != default_to)) meta = Json{{"labelstudio", {{"from_name", from}, {"to_name", to}}}};
        double W = w, H = h;

        if (kind == 5) return read_video(v, vp, place, url, label_ids[0], id_hint, model, own_score, meta, W, H);

        Object o;
        o.frame = place.first;
        o.label = label_ids[0];
        o.source = model ? Source::Model : Source::Imported;
        o.meta = meta;
        if (model && own_score) set_prediction_score(o, *own_score, notes_);
        if (kind == 0) {
            auto x = number(v, vp, "x", true), y = number(v, vp, "y", true), bw = number(v, vp, "width", true), bh = number(v, vp, "height", true);
            if (!x || !y || !bw || !bh) return false;
            auto rot = number(v, vp, "rotation", false);
            if (!rot) return false;
            if (*bw < 0 || *bh < 0) return fail("bad_box", vp, "a rectangle of negative width or height");
            o.type = ShapeType::Rectangle;
            o.rotation = normalized_degrees(*rot);
            o.points = box_from_corner(*x / 100 * W, *y / 100 * H, *bw / 100 * W, *bh / 100 * H, o.rotation);
        } else if (kind == 1) {
            auto pts = v.find("points");
            if (pts == v.end() || !pts->is_array()) return bad(vp + "/points", "an array of [x, y] points in percent");
            for (size_t k = 0; k < pts->size(); ++k) {
                const Json& pt = (*pts)[k];
                if (!pt.is_array() || pt.size() != 2 || !pt[0].is_number() || !pt[1].is_number()) return bad(vp + "/points/" + std::to_string(k), "[x, y]");
                o.points.push_back(pt[0].get<double>() / 100 * W);
                o.points.push_back(pt[1].get<double>() / 100 * H);
            }
            bool closed = true;
            if (auto c = v.find("closed"); c != v.end() && c->is_boolean()) closed = c->get<bool>();
            o.type = closed ? ShapeType::Polygon : ShapeType::Polyline;
            size_t least = closed ? 3 : 2;
            if (o.points.size() / 2 < least) return fail("bad_points", vp + "/points", std::string("a ") + (closed ? "polygon" : "polyline") + " needs " + std::to_string(least) + " or more points, not " + std::to_string(o.points.size() / 2));
        } else if (kind == 2) {
            auto x = number(v, vp, "x", true), y = number(v, vp, "y", true);
            if (!x || !y) return false;
            o.type = ShapeType::Points;
            o.points = {*x / 100 * W, *y / 100 * H};
        } else if (kind == 3) {
            auto x = number(v, vp, "x", true), y = number(v, vp, "y", true), rx = number(v, vp, "radiusX", true), ry = number(v, vp, "radiusY", true);
            if (!x || !y || !rx || !ry) return false;
            auto rot = number(v, vp, "rotation", false);
            if (!rot) return false;
            if (*rx < 0 || *ry < 0) return fail("bad_box", vp, "an ellipse of negative radius");
            double cx = *x / 100 * W, cy = *y / 100 * H, a = *rx / 100 * W, b = *ry / 100 * H;
            o.type = ShapeType::Ellipse;
            o.points = {cx - a, cy - b, cx + a, cy + b};
            o.rotation = normalized_degrees(*rot);
        } else {
            o.type = ShapeType::Tag;
            for (size_t i = 0; i < label_ids.size(); ++i) {
                Object t = o;
                t.label = label_ids[i];
                t.id = ids_.make(label_ids.size() > 1 ? id_hint + "." + std::to_string(i + 1) : id_hint);
                doc_.objects.push_back(std::move(t));
            }
            return true;
        }
        o.id = ids_.make(id_hint);
        doc_.objects.push_back(std::move(o));
        return true;
    }

    // A videorectangle: its sequence's items are keyframes (frame 1-based); an item with
    // `enabled: false` is the last frame of a span: an outside keyframe follows it.
    bool read_video(const Json& v, const std::string& vp, Place& place, const std::string& url, const std::string& label, const std::string& id_hint,
                    bool model, std::optional<double> score, const Json& meta, double W, double H) {
        auto seq = v.find("sequence");
        if (seq == v.end() || !seq->is_array() || seq->empty()) return bad(vp + "/sequence", "a non-empty array of keyframes");
        if (auto fc = v.find("framesCount"); fc != v.end() && fc->is_number_integer() && fc->get<long long>() > 0 && fc->get<long long>() <= 100000000)
            extend(place, url, fc->get<long long>());
        Track t;
        t.id = ids_.make(id_hint);
        t.type = ShapeType::Rectangle;
        t.label = label;
        t.source = model ? Source::Model : Source::Imported;
        t.meta = meta;
        struct Item { long long frame; bool enabled; std::vector<double> box; double rotation; size_t index; };
        std::vector<Item> items;
        for (size_t i = 0; i < seq->size(); ++i) {
            std::string ip = vp + "/sequence/" + std::to_string(i);
            const Json& it = (*seq)[i];
            if (!it.is_object()) return bad(ip, "a keyframe object");
            auto fr = it.find("frame");
            if (fr == it.end() || !fr->is_number_integer() || fr->get<long long>() < 1 || fr->get<long long>() > 100000000) return bad(ip + "/frame", "a frame number 1 to 100000000 (1-based)");
            auto x = number(it, ip, "x", true), y = number(it, ip, "y", true), bw = number(it, ip, "width", true), bh = number(it, ip, "height", true);
            if (!x || !y || !bw || !bh) return false;
            auto rot = number(it, ip, "rotation", false);
            if (!rot) return false;
            if (*bw < 0 || *bh < 0) return fail("bad_box", ip, "a rectangle of negative width or height");
            bool enabled = true;
            if (auto e = it.find("enabled"); e != it.end() && !e->is_null()) {
                if (!e->is_boolean()) return bad(ip + "/enabled", "true or false");
                enabled = e->get<bool>();
            }
            double r = normalized_degrees(*rot);
            items.push_back({fr->get<long long>() - 1, enabled, box_from_corner(*x / 100 * W, *y / 100 * H, *bw / 100 * W, *bh / 100 * H, r), r, i});
        }
        std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.frame < b.frame; });
        extend(place, url, items.back().frame + 1);
        for (size_t i = 0; i < items.size(); ++i) {
            const Item& it = items[i];
            if (i > 0 && it.frame == items[i - 1].frame) return fail("bad_labelstudio", vp + "/sequence/" + std::to_string(it.index) + "/frame", "a second keyframe on frame " + std::to_string(it.frame + 1));
            if (it.frame >= place.frames) return fail("unknown_frame", vp + "/sequence/" + std::to_string(it.index) + "/frame", "frame " + std::to_string(it.frame + 1) + " is past the video's " + std::to_string(place.frames) + " frames");
            Keyframe k;
            k.frame = place.first + it.frame;
            k.id = ids_.make(t.id + ".k" + std::to_string(it.frame));
            k.points = it.box;
            k.rotation = it.rotation;
            k.source = t.source;
            if (model && score) set_prediction_score(k, *score, notes_);
            t.keyframes.push_back(k);
            bool next_adjacent = i + 1 < items.size() && items[i + 1].frame == it.frame + 1;
            if (!it.enabled && !next_adjacent && it.frame + 1 < place.frames) {
                Keyframe out = k;
                out.frame = k.frame + 1;
                out.id = ids_.make(t.id + ".k" + std::to_string(it.frame + 1));
                out.outside = true;
                out.score.reset();
                if (out.meta.is_object()) out.meta.erase("score");
                if (out.meta.is_object() && out.meta.empty()) out.meta = Json();
                t.keyframes.push_back(out);
            }
        }
        doc_.tracks.push_back(std::move(t));
        return true;
    }

    std::map<std::string, std::pair<long long, const Media*>> given_;
    std::map<std::string, Place> made_;
    std::vector<Media> media_;
    IdMaker media_ids_;
    long long next_frame_ = 0;
};

// A percent value without the last bits of noise of x/100·W/W·100: the nearest multiple of 1e-10
// when it lies within 1e-13 (relative) of the value, else the value as it is.
double tidy(double v) {
    if (v == 0 || !std::isfinite(v)) return v;
    double r = std::round(v * 1e10) / 1e10;
    return std::abs(r - v) <= 1e-13 * std::max(1.0, std::abs(v)) ? r : v;
}

}  // namespace

Expected<Conversion> import_label_studio(const FileSet& files, const ImportOptions& options) {
    if (files.empty()) return Error{"no_input", "", "no Label Studio file given"};
    return LabelStudioReader(options).read(files);
}

Expected<Exported> export_label_studio(const Document& doc, const Task& task, const ExportOptions& options) {
    Notes notes;
    Json tasks = Json::array();
    // Each medium a task; a frame's shapes go to the task of its medium.
    std::vector<std::vector<Object>> per_frame;
    size_t past = 0;
    long long frames = task.frame_count();
    std::vector<Object> objects;
    for (const Object& o : doc.objects) {
        if (o.frame >= frames) { ++past; continue; }
        objects.push_back(o);
    }
    if (past) notes.add("objects on frames past the task's last frame left out", past);
    long long first = 0;
    long long next_id = 1;
    for (size_t mi = 0; mi < task.media.size(); ++mi) {
        if (options.progress && !options.progress(double(mi) / double(task.media.size()))) return cancelled_error();
        const Media& m = task.media[mi];
        bool video = m.type == MediaType::Video;
        long long count = video ? m.frames : 1;
        double W = m.width, H = m.height;
        Json annotation = Json::array(), prediction = Json::array();
        std::vector<double> scores;
        auto unknown_size = [&]() -> Error {
            return Error{"unknown_size", media_file_name(m), "the size of " + media_file_name(m) + " is not known: Label Studio coordinates are percent of it (give media sizes in the task)"};
        };
        auto put = [&](Json r, const std::string& kind, Source source, std::optional<double> score, const Json& meta) {
            r["from_name"] = kind;
            r["to_name"] = video ? "video" : "image";
            if (meta.is_object())
                if (auto ls = meta.find("labelstudio"); ls != meta.end() && ls->is_object()) {
                    if (auto f = ls->find("from_name"); f != ls->end() && f->is_string() && !f->get<std::string>().empty()) r["from_name"] = *f;
                    if (auto t = ls->find("to_name"); t != ls->end() && t->is_string() && !t->get<std::string>().empty()) r["to_name"] = *t;
                }
            if (source == Source::Model) {
                r["origin"] = "prediction";
                if (score) { r["score"] = *score; scores.push_back(*score); }
                prediction.push_back(std::move(r));
            } else {
                r["origin"] = "manual";
                if (score) r["score"] = *score;
                annotation.push_back(std::move(r));
            }
        };
        auto rectangle_value = [&](const std::vector<double>& box, double rotation) {
            std::vector<double> c = corner_from_box(box, rotation);
            return Json{{"x", tidy(c[0] / W * 100)}, {"y", tidy(c[1] / H * 100)}, {"width", tidy(c[2] / W * 100)}, {"height", tidy(c[3] / H * 100)}, {"rotation", rotation}};
        };
        for (const Object& o : objects) {
            if (o.frame < first || o.frame >= first + count) continue;
            if (video && o.type != ShapeType::Tag) { notes.add("shapes on video frames that are not tracks left out (Label Studio's video has only videorectangle)"); continue; }
            if (o.type != ShapeType::Tag && (W <= 0 || H <= 0)) return unknown_size();
            std::string name = label_name(task, o.label);
            Json r = {{"id", o.id}};
            if (o.type != ShapeType::Tag) { r["original_width"] = m.width; r["original_height"] = m.height; r["image_rotation"] = 0; }
            std::string kind;
            switch (o.type) {
                case ShapeType::Rectangle: {
                    Json v = rectangle_value(o.points, o.rotation);
                    v["rectanglelabels"] = {name};
                    r["type"] = "rectanglelabels"; r["value"] = std::move(v); kind = kDefaultFrom[0];
                    break;
                }
                case ShapeType::Polygon:
                case ShapeType::Polyline: {
                    Json pts = Json::array();
                    for (size_t k = 0; k + 1 < o.points.size(); k += 2) pts.push_back({tidy(o.points[k] / W * 100), tidy(o.points[k + 1] / H * 100)});
                    r["type"] = "polygonlabels";
                    r["value"] = {{"points", std::move(pts)}, {"closed", o.type == ShapeType::Polygon}, {"polygonlabels", {name}}};
                    kind = kDefaultFrom[1];
                    break;
                }
                case ShapeType::Points: {
                    if (o.points.size() > 2) notes.add("points objects of several points written as one keypoint each");
                    for (size_t k = 0; k + 1 < o.points.size(); k += 2) {
                        Json kr = r;
                        if (k) kr["id"] = o.id + "." + std::to_string(k / 2 + 1);
                        kr["type"] = "keypointlabels";
                        kr["value"] = {{"x", tidy(o.points[k] / W * 100)}, {"y", tidy(o.points[k + 1] / H * 100)}, {"keypointlabels", {name}}};
                        put(std::move(kr), kDefaultFrom[2], o.source, prediction_score(o), o.meta);
                    }
                    continue;
                }
                case ShapeType::Ellipse: {
                    double cx = (o.points[0] + o.points[2]) / 2, cy = (o.points[1] + o.points[3]) / 2;
                    r["type"] = "ellipselabels";
                    r["value"] = {{"x", tidy(cx / W * 100)}, {"y", tidy(cy / H * 100)}, {"radiusX", tidy((o.points[2] - o.points[0]) / 2 / W * 100)},
                                  {"radiusY", tidy((o.points[3] - o.points[1]) / 2 / H * 100)}, {"rotation", o.rotation}, {"ellipselabels", {name}}};
                    kind = kDefaultFrom[3];
                    break;
                }
                case ShapeType::Tag:
                    r["type"] = "choices";
                    r["value"] = {{"choices", {name}}};
                    kind = kDefaultFrom[4];
                    break;
            }
            if (o.type == ShapeType::Polyline) notes.add("polylines written as polygonlabels with closed: false");
            put(std::move(r), kind, o.source, prediction_score(o), o.meta);
        }
        for (const Track& t : doc.tracks) {
            if (t.keyframes.empty() || t.keyframes.front().frame < first || t.keyframes.front().frame >= first + count) continue;
            if (t.type != ShapeType::Rectangle || !video) { notes.add("tracks that are not rectangles on a video left out (Label Studio's video has only videorectangle)"); continue; }
            if (W <= 0 || H <= 0) return unknown_size();
            Json seq = Json::array();
            std::optional<double> score;
            auto item = [&](long long frame, const std::vector<double>& box, double rotation, bool enabled) {
                Json v = rectangle_value(box, rotation);
                v["frame"] = frame - first + 1;
                v["enabled"] = enabled;
                if (m.fps > 0) v["time"] = tidy(double(frame - first + 1) / m.fps);
                seq.push_back(std::move(v));
            };
            for (size_t k = 0; k < t.keyframes.size(); ++k) {
                const Keyframe& kf = t.keyframes[k];
                if (kf.outside) continue;
                if (!score) score = prediction_score(kf);
                const Keyframe* next = k + 1 < t.keyframes.size() ? &t.keyframes[k + 1] : nullptr;
                long long end = first + count;
                if (!next || !next->outside || next->frame == kf.frame + 1) {
                    item(kf.frame, kf.points, kf.rotation, !(next && next->outside) && !(kf.frame + 1 >= end && !next));
                    continue;
                }
                // A span that ends before the outside keyframe: its last frame closes it.
                item(kf.frame, kf.points, kf.rotation, true);
                std::optional<TrackState> s = track_shape_at(t, next->frame - 1, {}, nullptr, MediumSpan{first, first + count});
                if (s) {
                    item(next->frame - 1, s->points, s->rotation, false);
                    notes.add("keyframes added on the last frame of spans that end between keyframes (Label Studio's enabled: false)");
                }
            }
            if (seq.empty()) continue;
            Json v = {{"sequence", std::move(seq)}, {"labels", {label_name(task, t.label)}}, {"framesCount", count}};
            if (m.fps > 0) v["duration"] = tidy(double(count) / m.fps);
            Json r = {{"id", t.id}, {"type", "videorectangle"}, {"original_width", m.width}, {"original_height", m.height}, {"value", std::move(v)}};
            put(std::move(r), kDefaultFrom[5], t.source, score, t.meta);
        }
        Json entry = {{"id", (long long)mi + 1}, {"data", {{video ? "video" : "image", m.url.empty() ? m.name : m.url}}}};
        entry["annotations"] = Json::array({Json{{"id", next_id++}, {"result", std::move(annotation)}}});
        if (!prediction.empty()) {
            Json pr = {{"model_version", "polymark"}, {"result", std::move(prediction)}};
            if (!scores.empty()) {
                double sum = 0;
                for (double s : scores) sum += s;
                pr["score"] = sum / double(scores.size());
            }
            entry["predictions"] = Json::array({std::move(pr)});
        }
        tasks.push_back(std::move(entry));
        first += count;
    }
    Exported e;
    e.files.push_back({"labelstudio.json", tasks.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"});
    e.notes = notes.list();
    return e;
}

}  // namespace pm::formats
