#include "polymark/document.hpp"

#include <limits>
#include <map>
#include <set>

namespace pm {

// [SECTION] Names

const char* to_string(ShapeType t) {
    switch (t) {
        case ShapeType::Rectangle: return "rectangle";
        case ShapeType::Polygon: return "polygon";
        case ShapeType::Polyline: return "polyline";
        case ShapeType::Points: return "points";
        case ShapeType::Ellipse: return "ellipse";
        case ShapeType::Tag: return "tag";
    }
    return "?";
}

const char* to_string(Source s) {
    switch (s) {
        case Source::Manual: return "manual";
        case Source::Auto: return "auto";
        case Source::Imported: return "imported";
        case Source::Model: return "model";
    }
    return "?";
}

const char* to_string(Interpolation i) { return i == Interpolation::Cvat ? "cvat" : "improved"; }

std::optional<ShapeType> shape_type_from_string(std::string_view s) {
    for (ShapeType t : {ShapeType::Rectangle, ShapeType::Polygon, ShapeType::Polyline, ShapeType::Points, ShapeType::Ellipse, ShapeType::Tag})
        if (s == to_string(t)) return t;
    return std::nullopt;
}

std::optional<Source> source_from_string(std::string_view s) {
    for (Source v : {Source::Manual, Source::Auto, Source::Imported, Source::Model})
        if (s == to_string(v)) return v;
    return std::nullopt;
}

bool is_valid_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// [SECTION] Reading

namespace {

class DocumentReader {
public:
    explicit DocumentReader(Errors& errors, size_t max_errors = 100) : r_(errors, max_errors) {}

    void read(const Json& j, Document& doc) {
        if (!r_.expect_root_object(j, "the annotation document")) return;
        auto format = r_.string_member(j, "", "format", true);
        if (format && *format != kDocumentFormat) {
            r_.fail("wrong_format", "/format", "\"format\" must be \"" + std::string(kDocumentFormat) + "\", not \"" + *format + "\": this is not a Polymark annotation document");
            return;
        }
        auto version = r_.integer_member(j, "", "version", true);
        if (version && *version != kDocumentVersion) {
            r_.fail("unsupported_version", "/version", "annotation document version " + std::to_string(*version) + " is not supported (this Polymark reads version " + std::to_string(kDocumentVersion) + ")");
            return;
        }
        if (!format || !version) return;
        r_.reject_unknown_keys(j, "", {"format", "version", "objects", "tracks", "meta"});
        if (const Json* objects = r_.member(j, "", "objects", false); objects && r_.expect_array(*objects, "/objects")) {
            for (size_t i = 0; i < objects->size() && !r_.full(); ++i)
                read_object((*objects)[i], json_pointer_append("/objects", i), doc.objects.emplace_back());
        }
        if (const Json* tracks = r_.member(j, "", "tracks", false); tracks && r_.expect_array(*tracks, "/tracks")) {
            for (size_t i = 0; i < tracks->size() && !r_.full(); ++i)
                read_track((*tracks)[i], json_pointer_append("/tracks", i), doc.tracks.emplace_back());
        }
        doc.meta = read_meta(j, "");
    }

    void read_single_object(const Json& j, const std::string& path, Object& obj) { read_object(j, path, obj); }
    void read_single_track(const Json& j, const std::string& path, Track& track) { read_track(j, path, track); }

private:
    JsonReader r_;
    std::set<std::string> ids_;

    void read_id(const Json& o, const std::string& path, std::string& out) {
        auto id = r_.string_member(o, path, "id", true);
        if (!id) return;
        std::string p = json_pointer_append(path, "id");
        if (!is_valid_id(*id)) {
            r_.fail("bad_id", p, "id \"" + *id + "\" at " + p + " must be 1 to 64 characters from A-Z a-z 0-9 _ . : -");
            return;
        }
        if (!ids_.insert(*id).second) {
            r_.fail("duplicate_id", p, "id \"" + *id + "\" at " + p + " is already used by another object, track or keyframe");
            return;
        }
        out = *id;
    }

    std::optional<ShapeType> read_type(const Json& o, const std::string& path, bool allow_tag) {
        auto s = r_.string_member(o, path, "type", true);
        if (!s) return std::nullopt;
        auto t = shape_type_from_string(*s);
        if (!t || (!allow_tag && *t == ShapeType::Tag)) {
            r_.fail("bad_enum", json_pointer_append(path, "type"), "type \"" + *s + "\" at " + path + "/type must be one of rectangle, polygon, polyline, points, ellipse" + (allow_tag ? ", tag" : " (a tag cannot be a track)"));
            return std::nullopt;
        }
        return t;
    }

    void read_frame(const Json& o, const std::string& path, long long& out) {
        auto f = r_.integer_member(o, path, "frame", true);
        if (!f) return;
        if (*f < 0) {
            r_.fail("out_of_range", json_pointer_append(path, "frame"), "frame " + std::to_string(*f) + " at " + path + "/frame must be 0 or more (frames are 0-based)");
            return;
        }
        out = *f;
    }

    void read_label(const Json& o, const std::string& path, std::string& out) {
        auto s = r_.string_member(o, path, "label", true);
        if (!s) return;
        if (s->empty()) {
            r_.fail("expected_string", json_pointer_append(path, "label"), "label at " + path + "/label must not be empty");
            return;
        }
        out = *s;
    }

    void read_points(const Json& o, const std::string& path, ShapeType type, std::vector<double>& out) {
        const Json* pts = r_.member(o, path, "points", true);
        std::string p = json_pointer_append(path, "points");
        if (!pts || !r_.expect_array(*pts, p)) return;
        out.reserve(pts->size());
        size_t before = r_.error_count();
        for (size_t i = 0; i < pts->size(); ++i) {
            auto v = r_.as_number((*pts)[i], json_pointer_append(p, i));
            out.push_back(v.value_or(0));
        }
        if (r_.error_count() != before) return;
        size_t n = out.size();
        auto bad = [&](const std::string& what) {
            r_.fail("bad_points", p, std::string("a ") + to_string(type) + " at " + path + " needs " + what + ", got " + std::to_string(n) + " numbers");
        };
        if (n % 2 != 0) return bad("an even count of numbers (x,y pairs)");
        switch (type) {
            case ShapeType::Rectangle:
            case ShapeType::Ellipse:
                if (n != 4) return bad("exactly 4 numbers [x1,y1,x2,y2]");
                if (out[0] > out[2] || out[1] > out[3])
                    r_.fail("bad_box", p, std::string("the box of the ") + to_string(type) + " at " + path + " must have x1 <= x2 and y1 <= y2");
                break;
            case ShapeType::Polygon:
                if (n < 6) return bad("at least 3 vertices (6 numbers)");
                break;
            case ShapeType::Polyline:
                if (n < 4) return bad("at least 2 vertices (4 numbers)");
                break;
            case ShapeType::Points:
                if (n < 2) return bad("at least 1 vertex (2 numbers)");
                break;
            case ShapeType::Tag: break;
        }
    }

    void read_attributes(const Json& o, const std::string& path, std::vector<Attribute>& out) {
        const Json* a = r_.member(o, path, "attributes", false);
        std::string p = json_pointer_append(path, "attributes");
        if (!a || !r_.expect_object(*a, p)) return;
        for (auto it = a->begin(); it != a->end(); ++it) {
            const Json& v = it.value();
            if (v.is_string() || v.is_boolean() || (v.is_number() && r_.as_number(v, json_pointer_append(p, it.key()))))
                out.push_back(Attribute{it.key(), v});
            else if (!v.is_number())
                r_.fail("bad_attribute", json_pointer_append(p, it.key()), "attribute \"" + it.key() + "\" at " + p + " must be a string, a number or a boolean");
        }
    }

    void read_source(const Json& o, const std::string& path, Source& out) {
        auto s = r_.string_member(o, path, "source", false);
        if (!s) return;
        if (auto v = source_from_string(*s)) out = *v;
        else r_.fail("bad_enum", json_pointer_append(path, "source"), "source \"" + *s + "\" at " + path + "/source must be manual, auto, imported or model");
    }

    // A prediction's confidence: a number from 0 to 1.
    std::optional<double> read_score(const Json& o, const std::string& path) {
        auto s = r_.number_member(o, path, "score", false);
        if (!s) return std::nullopt;
        if (!(*s >= 0 && *s <= 1)) {
            r_.fail("out_of_range", json_pointer_append(path, "score"), "score at " + path + "/score must be a number from 0 to 1");
            return std::nullopt;
        }
        return s;
    }

    // The guideline version an item was made under: an integer from 1.
    std::optional<long long> read_guideline(const Json& o, const std::string& path) {
        auto g = r_.integer_member(o, path, "guideline", false);
        if (!g) return std::nullopt;
        if (*g < 1) {
            r_.fail("out_of_range", json_pointer_append(path, "guideline"), "guideline at " + path + "/guideline must be a guideline version, an integer from 1");
            return std::nullopt;
        }
        return g;
    }

    void read_group(const Json& o, const std::string& path, std::string& out) {
        auto g = r_.string_member(o, path, "group", false);
        if (!g) return;
        if (!is_valid_id(*g)) r_.fail("bad_id", json_pointer_append(path, "group"), "group \"" + *g + "\" at " + path + "/group must be 1 to 64 characters from A-Z a-z 0-9 _ . : -");
        else out = *g;
    }

    double read_rotation(const Json& o, const std::string& path, ShapeType type) {
        if (type == ShapeType::Rectangle || type == ShapeType::Ellipse) return r_.number_member(o, path, "rotation", false).value_or(0);
        if (o.contains("rotation")) r_.fail("unknown_key", json_pointer_append(path, "rotation"), std::string("a ") + to_string(type) + " has no rotation (" + path + "/rotation)");
        return 0;
    }

    Json read_meta(const Json& o, const std::string& path) {
        const Json* m = r_.member(o, path, "meta", false);
        if (!m || !r_.expect_object(*m, json_pointer_append(path, "meta"))) return Json();
        if (!within_meta_depth(*m, json_pointer_append(path, "meta"), 1)) return Json();
        return *m;
    }

    // The first container nested past kMaxMetaDepth (meta itself is level 1), in document order.
    bool within_meta_depth(const Json& v, const std::string& path, size_t level) {
        if (!v.is_structured()) return true;
        if (level > kMaxMetaDepth) {
            r_.fail("too_deep", path, "the value at " + path + " is nested more than " + std::to_string(kMaxMetaDepth) + " levels deep in meta");
            return false;
        }
        if (v.is_object()) {
            for (auto it = v.begin(); it != v.end(); ++it)
                if (!within_meta_depth(it.value(), json_pointer_append(path, it.key()), level + 1)) return false;
        } else {
            for (size_t i = 0; i < v.size(); ++i)
                if (!within_meta_depth(v[i], json_pointer_append(path, i), level + 1)) return false;
        }
        return true;
    }

    void read_object(const Json& j, const std::string& path, Object& obj) {
        if (!r_.expect_object(j, path)) return;
        read_id(j, path, obj.id);
        auto type = read_type(j, path, true);
        if (type) obj.type = *type;
        read_frame(j, path, obj.frame);
        read_label(j, path, obj.label);
        bool tag = type == ShapeType::Tag;
        if (tag) r_.reject_unknown_keys(j, path, {"id", "type", "frame", "label", "attributes", "source", "score", "group", "guideline", "meta"});
        else r_.reject_unknown_keys(j, path, {"id", "type", "frame", "label", "points", "rotation", "attributes", "source", "score", "z", "group", "occluded", "guideline", "meta"});
        if (type && !tag) {
            read_points(j, path, *type, obj.points);
            obj.rotation = read_rotation(j, path, *type);
        }
        read_attributes(j, path, obj.attributes);
        read_source(j, path, obj.source);
        obj.score = read_score(j, path);
        if (!tag) obj.z = r_.integer_member(j, path, "z", false).value_or(0);
        read_group(j, path, obj.group);
        if (!tag) obj.occluded = r_.bool_member(j, path, "occluded", false).value_or(false);
        obj.guideline = read_guideline(j, path);
        obj.meta = read_meta(j, path);
    }

    void read_keyframe(const Json& j, const std::string& path, ShapeType type, Keyframe& kf) {
        if (!r_.expect_object(j, path)) return;
        read_id(j, path, kf.id);
        read_frame(j, path, kf.frame);
        r_.reject_unknown_keys(j, path, {"id", "frame", "points", "rotation", "outside", "occluded", "z", "attributes", "source", "score", "meta"});
        read_points(j, path, type, kf.points);
        kf.rotation = read_rotation(j, path, type);
        kf.outside = r_.bool_member(j, path, "outside", false).value_or(false);
        kf.occluded = r_.bool_member(j, path, "occluded", false).value_or(false);
        kf.z = r_.integer_member(j, path, "z", false).value_or(0);
        read_attributes(j, path, kf.attributes);
        read_source(j, path, kf.source);
        kf.score = read_score(j, path);
        kf.meta = read_meta(j, path);
    }

    void read_track(const Json& j, const std::string& path, Track& track) {
        if (!r_.expect_object(j, path)) return;
        read_id(j, path, track.id);
        auto type = read_type(j, path, false);
        if (type) track.type = *type;
        read_label(j, path, track.label);
        r_.reject_unknown_keys(j, path, {"id", "type", "label", "keyframes", "attributes", "source", "group", "interpolation", "guideline", "meta"});
        const Json* kfs = r_.member(j, path, "keyframes", true);
        std::string kp = json_pointer_append(path, "keyframes");
        if (kfs && r_.expect_array(*kfs, kp)) {
            if (kfs->empty()) r_.fail("out_of_range", kp, "the track at " + path + " needs at least one keyframe");
            for (size_t i = 0; i < kfs->size() && !r_.full(); ++i) {
                std::string p = json_pointer_append(kp, i);
                Keyframe& kf = track.keyframes.emplace_back();
                kf.frame = -1;
                if (type) read_keyframe((*kfs)[i], p, *type, kf);
                if (i > 0 && kf.frame >= 0 && track.keyframes[i - 1].frame >= 0 && kf.frame <= track.keyframes[i - 1].frame)
                    r_.fail("keyframe_order", json_pointer_append(p, "frame"), "keyframe frames must strictly increase: frame " + std::to_string(kf.frame) + " at " + p + "/frame follows frame " + std::to_string(track.keyframes[i - 1].frame));
            }
        }
        read_attributes(j, path, track.attributes);
        read_source(j, path, track.source);
        read_group(j, path, track.group);
        if (auto s = r_.string_member(j, path, "interpolation", false)) {
            if (*s == "improved") track.interpolation = Interpolation::Improved;
            else if (*s == "cvat") track.interpolation = Interpolation::Cvat;
            else r_.fail("bad_enum", json_pointer_append(path, "interpolation"), "interpolation \"" + *s + "\" at " + path + "/interpolation must be improved or cvat");
        }
        track.guideline = read_guideline(j, path);
        track.meta = read_meta(j, path);
    }
};

}  // namespace

Expected<Document> document_from_json(const Json& json) {
    Errors errors;
    Document doc;
    DocumentReader(errors).read(json, doc);
    if (!errors.empty()) return errors;
    return doc;
}

// The index of the object or track `path` lies in ("/objects/3/points/0" -> objects, 3).
static std::optional<std::pair<int, size_t>> item_of(const std::string& path) {
    for (bool object : {true, false}) {
        std::string prefix = object ? "/objects/" : "/tracks/";
        if (path.compare(0, prefix.size(), prefix) != 0) continue;
        size_t end = path.find('/', prefix.size());
        std::string digits = path.substr(prefix.size(), end == std::string::npos ? std::string::npos : end - prefix.size());
        if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
        return std::make_pair(object ? 0 : 1, (size_t)std::stoul(digits));  // objects sort first
    }
    return std::nullopt;
}

Expected<LenientDocument> document_from_json_skipping_invalid(const Json& json, const Errors& problems) {
    Errors errors;
    Document doc;
    DocumentReader(errors, std::numeric_limits<size_t>::max()).read(json, doc);
    Errors all = problems;  // a problem of the text comes before what the reader made of its null
    all.insert(all.end(), errors.begin(), errors.end());
    std::map<std::pair<int, size_t>, const Error*> first_error;
    for (const Error& e : all) {
        auto item = item_of(e.path);
        if (!item) return all;  // outside any object or track: the document itself is broken
        first_error.emplace(*item, &e);
    }
    LenientDocument out;
    for (const auto& [item, error] : first_error) {
        auto [kind, index] = item;
        bool object = kind == 0;
        std::string id;
        auto list = json.is_object() ? json.find(object ? "objects" : "tracks") : json.end();
        if (list != json.end() && list->is_array() && index < list->size()) {
            const Json& raw = (*list)[index];
            auto found = raw.is_object() ? raw.find("id") : raw.end();
            if (found != raw.end() && found->is_string()) id = found->get<std::string>();
        }
        std::string at = json_pointer_append(object ? "/objects" : "/tracks", index);
        std::string what = std::string(object ? "object" : "track") + (id.empty() ? "" : " \"" + id + "\"") + " at " + at;
        out.skipped.push_back(SkippedItem{object ? "object" : "track", id, at,
                                          Error{error->code, error->path, what + " is left out (it cannot be read; it stays as it is on the server): " + error->message}});
    }
    for (size_t i = 0; i < doc.objects.size(); ++i)
        if (!first_error.count({0, i})) out.document.objects.push_back(std::move(doc.objects[i]));
    for (size_t i = 0; i < doc.tracks.size(); ++i)
        if (!first_error.count({1, i})) out.document.tracks.push_back(std::move(doc.tracks[i]));
    out.document.meta = std::move(doc.meta);
    return out;
}

Expected<Object> object_from_json(const Json& json, const std::string& path) {
    Errors errors;
    Object obj;
    DocumentReader(errors).read_single_object(json, path, obj);
    if (!errors.empty()) return errors;
    return obj;
}

Expected<Track> track_from_json(const Json& json, const std::string& path) {
    Errors errors;
    Track track;
    DocumentReader(errors).read_single_track(json, path, track);
    if (!errors.empty()) return errors;
    return track;
}

Expected<Document> parse_document(std::string_view text) {
    auto json = parse_json_text(text, "the annotation document");
    if (!json) return json.errors();
    return document_from_json(json.value());
}

// [SECTION] Writing: defaults are omitted so that documents stay small and diffs stay quiet.

static Json points_json(const std::vector<double>& points) {
    Json a = Json::array();
    for (double v : points) a.push_back(v);
    return a;
}

static void put_attributes(Json& j, const std::vector<Attribute>& attributes) {
    if (attributes.empty()) return;
    Json a = Json::object();
    for (const Attribute& at : attributes) a[at.id] = at.value;
    j["attributes"] = std::move(a);
}

static void put_common(Json& j, Source source, const std::optional<double>& score, const std::string& group, const Json& meta,
                       const std::optional<long long>& guideline = std::nullopt) {
    if (source != Source::Manual) j["source"] = to_string(source);
    if (score) j["score"] = *score;
    if (!group.empty()) j["group"] = group;
    if (guideline) j["guideline"] = *guideline;
    if (!meta.is_null()) j["meta"] = meta;
}

static bool has_rotation(ShapeType t) { return t == ShapeType::Rectangle || t == ShapeType::Ellipse; }

Json object_to_json(const Object& o) {
    Json j = Json::object();
    j["id"] = o.id;
    j["type"] = to_string(o.type);
    j["frame"] = o.frame;
    j["label"] = o.label;
    if (o.type != ShapeType::Tag) {
        j["points"] = points_json(o.points);
        if (has_rotation(o.type) && o.rotation != 0) j["rotation"] = o.rotation;
        if (o.z != 0) j["z"] = o.z;
        if (o.occluded) j["occluded"] = true;
    }
    put_attributes(j, o.attributes);
    put_common(j, o.source, o.score, o.group, o.meta, o.guideline);
    return j;
}

bool Object::operator==(const Object& o) const {
    return id == o.id && type == o.type && frame == o.frame && label == o.label && points == o.points &&
           rotation == o.rotation && attributes == o.attributes && source == o.source && score == o.score && z == o.z &&
           group == o.group && occluded == o.occluded && meta == o.meta && guideline == o.guideline;
}

Json track_to_json(const Track& t) {
    Json j = Json::object();
    j["id"] = t.id;
    j["type"] = to_string(t.type);
    j["label"] = t.label;
    Json kfs = Json::array();
    for (const Keyframe& k : t.keyframes) {
        Json kj = Json::object();
        kj["id"] = k.id;
        kj["frame"] = k.frame;
        kj["points"] = points_json(k.points);
        if (has_rotation(t.type) && k.rotation != 0) kj["rotation"] = k.rotation;
        if (k.outside) kj["outside"] = true;
        if (k.occluded) kj["occluded"] = true;
        if (k.z != 0) kj["z"] = k.z;
        put_attributes(kj, k.attributes);
        put_common(kj, k.source, k.score, "", k.meta);
        kfs.push_back(std::move(kj));
    }
    j["keyframes"] = std::move(kfs);
    put_attributes(j, t.attributes);
    if (t.interpolation != Interpolation::Improved) j["interpolation"] = to_string(t.interpolation);
    put_common(j, t.source, std::nullopt, t.group, t.meta, t.guideline);
    return j;
}

bool Keyframe::operator==(const Keyframe& o) const {
    return id == o.id && frame == o.frame && points == o.points && rotation == o.rotation && outside == o.outside &&
           occluded == o.occluded && z == o.z && attributes == o.attributes && source == o.source && score == o.score && meta == o.meta;
}

bool Track::operator==(const Track& o) const {
    return id == o.id && type == o.type && label == o.label && keyframes == o.keyframes &&
           attributes == o.attributes && source == o.source && group == o.group &&
           interpolation == o.interpolation && meta == o.meta && guideline == o.guideline;
}

Json document_to_json(const Document& doc) {
    Json out = Json::object();
    out["format"] = kDocumentFormat;
    out["version"] = kDocumentVersion;
    Json objects = Json::array();
    for (const Object& o : doc.objects) objects.push_back(object_to_json(o));
    out["objects"] = std::move(objects);
    Json tracks = Json::array();
    for (const Track& t : doc.tracks) tracks.push_back(track_to_json(t));
    out["tracks"] = std::move(tracks);
    if (!doc.meta.is_null()) out["meta"] = doc.meta;
    return out;
}

std::string serialize_document(const Document& doc) { return document_to_json(doc).dump(); }

}  // namespace pm
