#include "polymark/task.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace pm {

long long Task::frame_count() const {
    long long n = 0;
    for (const Media& m : media) n += m.frames;
    return n;
}

std::optional<Task::FrameRef> Task::locate_frame(long long frame) const {
    if (frame < 0) return std::nullopt;
    for (size_t i = 0; i < media.size(); ++i) {
        if (frame < media[i].frames) return FrameRef{i, frame};
        frame -= media[i].frames;
    }
    return std::nullopt;
}

MediumSpan Task::medium_of(long long frame) const {
    auto ref = locate_frame(frame);
    if (!ref) return {};
    return {frame - ref->local_frame, frame - ref->local_frame + media[ref->media_index].frames};
}

const LabelSpec* Task::find_label(std::string_view id) const {
    for (const LabelSpec& l : labels)
        if (l.id == id) return &l;
    return nullptr;
}

namespace {

bool is_hex_colour(const std::string& s) {
    if (s.size() != 7 || s[0] != '#') return false;
    for (size_t i = 1; i < 7; ++i)
        if (!std::isxdigit((unsigned char)s[i])) return false;
    return true;
}

class TaskReader {
public:
    explicit TaskReader(Errors& errors) : r_(errors) {}

    void read(const Json& j, Task& task) {
        if (!r_.expect_root_object(j, "the task")) return;
        auto format = r_.string_member(j, "", "format", true);
        if (format && *format != kTaskFormat) {
            r_.fail("wrong_format", "/format", "\"format\" must be \"" + std::string(kTaskFormat) + "\", not \"" + *format + "\": this is not a Polymark task");
            return;
        }
        auto version = r_.integer_member(j, "", "version", true);
        if (version && *version != kTaskVersion) {
            r_.fail("unsupported_version", "/version", "task version " + std::to_string(*version) + " is not supported (this Polymark reads version " + std::to_string(kTaskVersion) + ")");
            return;
        }
        if (!format || !version) return;
        r_.reject_unknown_keys(j, "", {"format", "version", "id", "name", "media", "labels", "settings", "meta"});
        if (auto id = r_.string_member(j, "", "id", true)) {
            if (is_valid_id(*id)) task.id = *id;
            else r_.fail("bad_id", "/id", "task id \"" + *id + "\" must be 1 to 64 characters from A-Z a-z 0-9 _ . : -");
        }
        task.name = r_.string_member(j, "", "name", false).value_or(task.id);
        if (const Json* media = r_.member(j, "", "media", true); media && r_.expect_array(*media, "/media")) {
            if (media->empty()) r_.fail("out_of_range", "/media", "a task needs at least one image or video in \"media\"");
            for (size_t i = 0; i < media->size(); ++i) read_media((*media)[i], json_pointer_append("/media", i), task.media.emplace_back());
        }
        if (const Json* labels = r_.member(j, "", "labels", false)) read_labels(*labels, task.labels);
        if (const Json* s = r_.member(j, "", "settings", false); s && r_.expect_object(*s, "/settings")) {
            r_.reject_unknown_keys(*s, "/settings", {"clamp"});
            if (auto c = r_.string_member(*s, "/settings", "clamp", false)) {
                if (*c == "clip") task.clamp = ClampMode::Clip;
                else if (*c == "clamp") task.clamp = ClampMode::Clamp;
                else if (*c == "none") task.clamp = ClampMode::None;
                else r_.fail("bad_enum", "/settings/clamp", "settings.clamp \"" + *c + "\" must be clip, clamp or none");
            }
        }
        if (const Json* m = r_.member(j, "", "meta", false)) r_.expect_object(*m, "/meta");
    }

    void read_labels(const Json& labels, std::vector<LabelSpec>& out) {
        if (!r_.expect_array(labels, "/labels")) return;
        std::set<std::string> ids;
        for (size_t i = 0; i < labels.size(); ++i) {
            std::string p = json_pointer_append("/labels", i);
            LabelSpec& l = out.emplace_back();
            read_label(labels[i], p, l);
            if (!l.id.empty() && !ids.insert(l.id).second) r_.fail("duplicate_id", json_pointer_append(p, "id"), "label id \"" + l.id + "\" at " + p + "/id is used twice");
        }
    }

private:
    JsonReader r_;
    std::set<std::string> media_ids_;

    void read_media(const Json& j, const std::string& path, Media& m) {
        if (!r_.expect_object(j, path)) return;
        r_.reject_unknown_keys(j, path, {"id", "type", "url", "file", "name", "width", "height", "frames", "fps"});
        if (auto id = r_.string_member(j, path, "id", true)) {
            if (!is_valid_id(*id)) r_.fail("bad_id", json_pointer_append(path, "id"), "media id \"" + *id + "\" at " + path + "/id must be 1 to 64 characters from A-Z a-z 0-9 _ . : -");
            else if (!media_ids_.insert(*id).second) r_.fail("duplicate_id", json_pointer_append(path, "id"), "media id \"" + *id + "\" at " + path + "/id is used twice");
            else m.id = *id;
        }
        if (auto t = r_.string_member(j, path, "type", true)) {
            if (*t == "image") m.type = MediaType::Image;
            else if (*t == "video") m.type = MediaType::Video;
            else r_.fail("bad_enum", json_pointer_append(path, "type"), "media type \"" + *t + "\" at " + path + "/type must be image or video");
        }
        bool has_url = j.contains("url"), has_file = j.contains("file");
        if (has_url && has_file) r_.fail("unknown_key", json_pointer_append(path, "file"), "media at " + path + " has both \"url\" and \"file\": give exactly one");
        else if (!has_url && !has_file) r_.fail("missing_key", json_pointer_append(path, "url"), "media at " + path + " needs \"url\" (or \"file\", a path inside the server's media folder)");
        else {
            const char* key = has_url ? "url" : "file";
            if (auto u = r_.string_member(j, path, key, true)) {
                if (u->empty()) r_.fail("expected_string", path + "/" + key, std::string(key) + " at " + path + "/" + key + " must not be empty");
                else m.url = *u;
            }
        }
        m.name = r_.string_member(j, path, "name", false).value_or(m.url);
        for (const char* key : {"width", "height"}) {
            if (auto v = r_.integer_member(j, path, key, false)) {
                if (*v <= 0 || *v > 1000000) r_.fail("out_of_range", path + "/" + key, std::string(key) + " at " + path + " must be between 1 and 1000000");
                else (key[0] == 'w' ? m.width : m.height) = (int)*v;
            }
        }
        m.frames = 1;
        if (auto f = r_.integer_member(j, path, "frames", false)) {
            if (*f < 1) r_.fail("out_of_range", json_pointer_append(path, "frames"), "frames at " + path + "/frames must be 1 or more");
            else if (m.type == MediaType::Image && *f != 1) r_.fail("out_of_range", json_pointer_append(path, "frames"), "an image has exactly 1 frame (" + path + "/frames)");
            else m.frames = *f;
        }
        if (auto fps = r_.number_member(j, path, "fps", false)) {
            if (*fps <= 0) r_.fail("out_of_range", json_pointer_append(path, "fps"), "fps at " + path + "/fps must be positive");
            else m.fps = *fps;
        }
    }

    void read_label(const Json& j, const std::string& path, LabelSpec& l) {
        if (!r_.expect_object(j, path)) return;
        r_.reject_unknown_keys(j, path, {"id", "name", "color", "types", "attributes"});
        if (auto id = r_.string_member(j, path, "id", true)) {
            if (is_valid_id(*id)) l.id = *id;
            else r_.fail("bad_id", json_pointer_append(path, "id"), "label id \"" + *id + "\" at " + path + "/id must be 1 to 64 characters from A-Z a-z 0-9 _ . : -");
        }
        l.name = r_.string_member(j, path, "name", false).value_or(l.id);
        if (auto c = r_.string_member(j, path, "color", false)) {
            if (is_hex_colour(*c)) l.color = *c;
            else r_.fail("bad_color", json_pointer_append(path, "color"), "color \"" + *c + "\" at " + path + "/color must look like #rrggbb");
        }
        if (const Json* types = r_.member(j, path, "types", false); types && r_.expect_array(*types, json_pointer_append(path, "types"))) {
            for (size_t i = 0; i < types->size(); ++i) {
                std::string p = json_pointer_append(json_pointer_append(path, "types"), i);
                if (auto s = r_.as_string((*types)[i], p)) {
                    if (auto t = shape_type_from_string(*s)) l.types.push_back(*t);
                    else r_.fail("bad_enum", p, "shape type \"" + *s + "\" at " + p + " must be one of rectangle, polygon, polyline, points, ellipse, tag");
                }
            }
        }
        if (const Json* attrs = r_.member(j, path, "attributes", false); attrs && r_.expect_array(*attrs, json_pointer_append(path, "attributes"))) {
            std::set<std::string> ids;
            for (size_t i = 0; i < attrs->size(); ++i) {
                std::string p = json_pointer_append(json_pointer_append(path, "attributes"), i);
                AttributeSpec& a = l.attributes.emplace_back();
                read_attribute((*attrs)[i], p, a);
                if (!a.id.empty() && !ids.insert(a.id).second) r_.fail("duplicate_id", json_pointer_append(p, "id"), "attribute id \"" + a.id + "\" at " + p + "/id is used twice on this label");
            }
        }
    }

    void read_attribute(const Json& j, const std::string& path, AttributeSpec& a) {
        if (!r_.expect_object(j, path)) return;
        if (auto id = r_.string_member(j, path, "id", true)) {
            if (is_valid_id(*id)) a.id = *id;
            else r_.fail("bad_id", json_pointer_append(path, "id"), "attribute id \"" + *id + "\" at " + path + "/id must be 1 to 64 characters from A-Z a-z 0-9 _ . : -");
        }
        a.name = r_.string_member(j, path, "name", false).value_or(a.id);
        auto type = r_.string_member(j, path, "type", true);
        if (type) {
            if (*type == "select") a.type = AttributeType::Select;
            else if (*type == "radio") a.type = AttributeType::Radio;
            else if (*type == "checkbox") a.type = AttributeType::Checkbox;
            else if (*type == "number") a.type = AttributeType::Number;
            else if (*type == "text") a.type = AttributeType::Text;
            else { r_.fail("bad_enum", json_pointer_append(path, "type"), "attribute type \"" + *type + "\" at " + path + "/type must be select, radio, checkbox, number or text"); type.reset(); }
        }
        bool choice = type && (a.type == AttributeType::Select || a.type == AttributeType::Radio);
        // Keys that do not belong to the attribute's type are refused: a number with "values" is a mistake.
        if (!type) r_.reject_unknown_keys(j, path, {"id", "name", "type", "values", "min", "max", "step", "default", "mutable"});
        else if (choice) r_.reject_unknown_keys(j, path, {"id", "name", "type", "values", "default", "mutable"});
        else if (a.type == AttributeType::Number) r_.reject_unknown_keys(j, path, {"id", "name", "type", "min", "max", "step", "default", "mutable"});
        else r_.reject_unknown_keys(j, path, {"id", "name", "type", "default", "mutable"});
        if (const Json* values = choice ? r_.member(j, path, "values", true) : nullptr; values && r_.expect_array(*values, json_pointer_append(path, "values"))) {
            for (size_t i = 0; i < values->size(); ++i)
                if (auto s = r_.as_string((*values)[i], json_pointer_append(json_pointer_append(path, "values"), i))) a.values.push_back(*s);
            if (choice && a.values.empty()) r_.fail("out_of_range", json_pointer_append(path, "values"), "a " + *type + " attribute at " + path + " needs at least one value");
        }
        if (type && a.type == AttributeType::Number) {
            a.min = r_.number_member(j, path, "min", true).value_or(0);
            a.max = r_.number_member(j, path, "max", true).value_or(0);
            a.step = r_.number_member(j, path, "step", false).value_or(1);
            if (a.min > a.max) r_.fail("out_of_range", json_pointer_append(path, "max"), "max at " + path + " must not be below min");
            if (a.step <= 0) r_.fail("out_of_range", json_pointer_append(path, "step"), "step at " + path + " must be positive");
        }
        a.mutable_ = r_.bool_member(j, path, "mutable", false).value_or(false);
        if (const Json* d = r_.member(j, path, "default", false)) {
            a.default_value = *d;
            if (type && !attribute_value_fits(a, *d)) r_.fail("bad_attribute", json_pointer_append(path, "default"), "default at " + path + "/default does not fit the attribute's type");
        } else if (type) {
            a.default_value = default_for(a);
        }
    }

    static Json default_for(const AttributeSpec& a) {
        switch (a.type) {
            case AttributeType::Select:
            case AttributeType::Radio: return a.values.empty() ? Json("") : Json(a.values.front());
            case AttributeType::Checkbox: return false;
            case AttributeType::Number: return a.min;
            case AttributeType::Text: return "";
        }
        return Json();
    }
};

}  // namespace

bool attribute_value_fits(const AttributeSpec& a, const Json& v) {
    switch (a.type) {
        case AttributeType::Select:
        case AttributeType::Radio:
            if (!v.is_string()) return false;
            for (const std::string& s : a.values)
                if (s == v.get_ref<const std::string&>()) return true;
            return false;
        case AttributeType::Checkbox: return v.is_boolean();
        case AttributeType::Number: {
            if (!v.is_number()) return false;
            double d = v.get<double>();
            return std::isfinite(d) && d >= a.min && d <= a.max;
        }
        case AttributeType::Text: return v.is_string();
    }
    return false;
}

Expected<Task> task_from_json(const Json& json) {
    Errors errors;
    Task task;
    TaskReader(errors).read(json, task);
    if (!errors.empty()) return errors;
    return task;
}

Json task_to_json(const Task& task) {
    Json j = {{"format", kTaskFormat}, {"version", kTaskVersion}, {"id", task.id}};
    if (!task.name.empty() && task.name != task.id) j["name"] = task.name;
    Json media = Json::array();
    for (const Media& m : task.media) {
        Json mj = {{"id", m.id}, {"type", m.type == MediaType::Image ? "image" : "video"}, {"url", m.url.empty() ? m.name : m.url}};
        if (!m.name.empty() && m.name != m.url) mj["name"] = m.name;
        if (m.width > 0) mj["width"] = m.width;
        if (m.height > 0) mj["height"] = m.height;
        if (m.type == MediaType::Video && m.frames > 0) mj["frames"] = m.frames;
        if (m.fps > 0) mj["fps"] = m.fps;
        media.push_back(std::move(mj));
    }
    j["media"] = std::move(media);
    Json labels = Json::array();
    for (const LabelSpec& l : task.labels) {
        Json lj = {{"id", l.id}};
        if (!l.name.empty() && l.name != l.id) lj["name"] = l.name;
        if (!l.color.empty()) lj["color"] = l.color;
        if (!l.types.empty()) {
            Json types = Json::array();
            for (ShapeType t : l.types) types.push_back(to_string(t));
            lj["types"] = std::move(types);
        }
        if (!l.attributes.empty()) {
            Json attrs = Json::array();
            for (const AttributeSpec& a : l.attributes) {
                static const char* kTypes[] = {"select", "radio", "checkbox", "number", "text"};
                Json aj = {{"id", a.id}};
                if (!a.name.empty() && a.name != a.id) aj["name"] = a.name;
                aj["type"] = kTypes[(int)a.type];
                if (a.type == AttributeType::Select || a.type == AttributeType::Radio) aj["values"] = a.values;
                if (a.type == AttributeType::Number) {
                    aj["min"] = a.min;
                    aj["max"] = a.max;
                    if (a.step != 1) aj["step"] = a.step;
                }
                if (a.mutable_) aj["mutable"] = true;
                if (!a.default_value.is_null()) aj["default"] = a.default_value;
                attrs.push_back(std::move(aj));
            }
            lj["attributes"] = std::move(attrs);
        }
        labels.push_back(std::move(lj));
    }
    j["labels"] = std::move(labels);
    if (task.clamp != ClampMode::Clip) j["settings"] = {{"clamp", task.clamp == ClampMode::Clamp ? "clamp" : "none"}};
    return j;
}

Expected<Task> parse_task(std::string_view text) {
    auto json = parse_json_text(text, "the task");
    if (!json) return json.errors();
    return task_from_json(json.value());
}

namespace {

const AttributeSpec* find_attribute(const LabelSpec& label, const std::string& id) {
    for (const AttributeSpec& s : label.attributes)
        if (s.id == id) return &s;
    return nullptr;
}

enum class AttributeHome { Object, Track, Keyframe };

void check_attributes(const LabelSpec& label, const std::vector<Attribute>& attributes, const std::string& path, AttributeHome home, Errors& errors) {
    for (const Attribute& a : attributes) {
        std::string p = json_pointer_append(json_pointer_append(path, "attributes"), a.id);
        const AttributeSpec* spec = find_attribute(label, a.id);
        if (!spec) {
            errors.push_back({"unknown_attribute", p, "label \"" + label.id + "\" has no attribute \"" + a.id + "\" (" + p + ")"});
            continue;
        }
        if (home == AttributeHome::Track && spec->mutable_)
            errors.push_back({"attribute_mutability", p, "attribute \"" + a.id + "\" is mutable: it belongs on keyframes (" + p + ")"});
        else if (home == AttributeHome::Keyframe && !spec->mutable_)
            errors.push_back({"attribute_mutability", p, "attribute \"" + a.id + "\" is immutable: it belongs on the track (" + p + ")"});
        else if (!attribute_value_fits(*spec, a.value))
            errors.push_back({"bad_attribute", p, "value of attribute \"" + a.id + "\" at " + p + " does not fit its type"});
    }
}

}  // namespace

Errors check_document_against_task(const Document& doc, const Task& task) {
    Errors errors;
    long long frames = task.frame_count();
    auto check_label = [&](const std::string& path, ShapeType type, const std::string& label) -> const LabelSpec* {
        const LabelSpec* spec = task.find_label(label);
        if (!spec) {
            errors.push_back({"unknown_label", json_pointer_append(path, "label"), "label \"" + label + "\" at " + path + "/label is not one of the task's labels"});
            return nullptr;
        }
        if (!spec->allows(type))
            errors.push_back({"type_not_allowed", json_pointer_append(path, "type"), std::string("label \"") + label + "\" does not allow " + to_string(type) + " shapes (" + path + ")"});
        return spec;
    };
    auto check_frame = [&](const std::string& path, long long frame) {
        if (frame >= frames) errors.push_back({"out_of_range", json_pointer_append(path, "frame"), "frame " + std::to_string(frame) + " at " + path + "/frame is past the task's last frame " + std::to_string(frames - 1)});
    };
    for (size_t i = 0; i < doc.objects.size(); ++i) {
        const Object& o = doc.objects[i];
        std::string p = json_pointer_append("/objects", i);
        if (const LabelSpec* spec = check_label(p, o.type, o.label)) check_attributes(*spec, o.attributes, p, AttributeHome::Object, errors);
        check_frame(p, o.frame);
    }
    for (size_t i = 0; i < doc.tracks.size(); ++i) {
        const Track& t = doc.tracks[i];
        std::string p = json_pointer_append("/tracks", i);
        const LabelSpec* spec = check_label(p, t.type, t.label);
        if (spec) check_attributes(*spec, t.attributes, p, AttributeHome::Track, errors);
        std::optional<size_t> medium;  // of the first keyframe
        for (size_t k = 0; k < t.keyframes.size(); ++k) {
            std::string kp = json_pointer_append(json_pointer_append(p, "keyframes"), k);
            check_frame(kp, t.keyframes[k].frame);
            if (spec) check_attributes(*spec, t.keyframes[k].attributes, kp, AttributeHome::Keyframe, errors);
            auto ref = task.locate_frame(t.keyframes[k].frame);
            if (!ref) continue;
            if (!medium) medium = ref->media_index;
            else if (*medium != ref->media_index)
                errors.push_back({"track_crosses_media", json_pointer_append(kp, "frame"),
                                  "track \"" + t.id + "\" has keyframes in two media (frame " + std::to_string(t.keyframes[k].frame) + " at " + kp +
                                      "/frame is not in the medium of its first keyframe): a track lives within one video or one image"});
        }
    }
    return errors;
}

}  // namespace pm
