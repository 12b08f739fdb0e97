// CVAT for images / CVAT for video, XML 1.1 (docs/FORMATS.md, "CVAT XML 1.1"): <image> blocks of
// shapes, and <track>s that list every frame (ours keep the keyframe="1" ones).
#include "polymark/formats/format_common.hpp"
#include "polymark/formats/format_readers.hpp"
#include "polymark/formats/xml.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace pm::formats {

namespace {

std::optional<ShapeType> shape_element(std::string_view name) {
    if (equals(name, "box")) return ShapeType::Rectangle;
    if (equals(name, "polygon")) return ShapeType::Polygon;
    if (equals(name, "polyline")) return ShapeType::Polyline;
    if (equals(name, "points")) return ShapeType::Points;
    if (equals(name, "ellipse")) return ShapeType::Ellipse;
    return std::nullopt;
}

const char* element_of(ShapeType t) {
    switch (t) {
        case ShapeType::Rectangle: return "box";
        case ShapeType::Polygon: return "polygon";
        case ShapeType::Polyline: return "polyline";
        case ShapeType::Points: return "points";
        case ShapeType::Ellipse: return "ellipse";
        case ShapeType::Tag: return "tag";
    }
    return "";
}

const char* cvat_source(Source s) {
    switch (s) {
        case Source::Manual: return "manual";
        case Source::Auto: return "auto";
        case Source::Model: return "auto";  // CVAT's "auto" is a model's; it has no score
        case Source::Imported: return "file";
    }
    return "manual";
}

// One shape element as read, before it becomes an object or a keyframe.
struct ShapeRead {
    ShapeType type = ShapeType::Rectangle;
    long long frame = 0;
    std::vector<double> points;
    double rotation = 0;
    bool outside = false, occluded = false, keyframe = true;
    long long z = 0;
    std::vector<std::pair<std::string, std::string>> attributes;  // name, text
    std::string label, group;
    Source source = Source::Manual;
    Json meta;
};

class CvatReader : ImportState {
public:
    CvatReader(const FileEntry& file, const ImportOptions& options)
        : ImportState(options), r_(file.bytes, file.path), total_(file.bytes.size()), bytes_(file.bytes) {}

    Expected<Conversion> read() {
        auto e = r_.next();
        if (e == XmlReader::Event::Failed) return r_.error();
        if (e != XmlReader::Event::StartElement || r_.name() != "annotations") return r_.error_here("bad_cvat", "expected the root element <annotations>");
        ProgressTicker progress(options_.progress, 0, 1);
        size_t elements = 0;
        while (true) {
            e = r_.next();
            if (e == XmlReader::Event::Failed) return r_.error();
            if (e == XmlReader::Event::EndElement) break;
            if (e == XmlReader::Event::Text) return r_.error_here("bad_cvat", "unexpected text inside <annotations>");
            if (e != XmlReader::Event::StartElement) return r_.error_here("bad_cvat", "unexpected end of file");
            if ((++elements & 255) == 0 && !progress.at(double(r_.offset()) / double(std::max<size_t>(1, total_)))) return cancelled_error();
            std::string_view name = r_.name();
            bool ok = true;
            if (name == "version") {
                std::string v;
                ok = r_.read_text_content(v);
                if (ok && v != "1.1") notes_.add("files of CVAT XML version " + v + " read as 1.1");
            } else if (name == "meta") ok = read_meta();
            else if (name == "image") ok = read_image();
            else if (name == "track") ok = read_track();
            else if (name == "tag") ok = read_video_tag();
            else {
                notes_.add("<" + std::string(name) + "> elements left out");
                ok = r_.skip_element();
            }
            if (!ok) return failure();
        }
        if (r_.next() != XmlReader::Event::End) return r_.error();
        return finish();
    }

private:
    Error failure() { return has_error_ ? error_ : r_.error(); }
    bool fail(const std::string& code, const std::string& message) {
        if (!has_error_) { error_ = r_.error_here(code, message); has_error_ = true; }
        return false;
    }

    // [SECTION] meta: labels with attribute specs, the frame range and step, the video's size
    bool read_meta() {
        size_t depth = r_.depth();
        while (true) {
            auto e = r_.next();
            if (e == XmlReader::Event::Failed || e == XmlReader::Event::End) return false;
            if (e == XmlReader::Event::EndElement && r_.depth() < depth) return true;
            if (e != XmlReader::Event::StartElement) continue;
            std::string_view name = r_.name();
            std::string text;
            if (name == "label") {
                if (!read_label()) return false;
            } else if (name == "start_frame" || name == "stop_frame" || name == "frame_filter" || name == "size" || name == "source" ||
                       name == "mode" || name == "width" || name == "height") {
                std::string key(name);
                if (!r_.read_text_content(text)) return false;
                if (!meta_values_.count(key)) meta_values_[key] = text;
            }
        }
    }

    bool read_label() {
        std::string name;
        std::string color;
        std::vector<AttributeSpec> specs;
        size_t depth = r_.depth();
        while (true) {
            auto e = r_.next();
            if (e == XmlReader::Event::Failed || e == XmlReader::Event::End) return false;
            if (e == XmlReader::Event::EndElement && r_.depth() < depth) break;
            if (e != XmlReader::Event::StartElement) continue;
            if (r_.name() == "name" && r_.depth() == depth + 1) { if (!r_.read_text_content(name)) return false; }
            else if (r_.name() == "color" && r_.depth() == depth + 1) { if (!r_.read_text_content(color)) return false; }
            else if (r_.name() == "attributes") continue;
            else if (r_.name() == "attribute") {
                AttributeSpec spec;
                std::string input_type, values, default_value, is_mutable;
                size_t adepth = r_.depth();
                while (true) {
                    auto ae = r_.next();
                    if (ae == XmlReader::Event::Failed || ae == XmlReader::Event::End) return false;
                    if (ae == XmlReader::Event::EndElement && r_.depth() < adepth) break;
                    if (ae != XmlReader::Event::StartElement) continue;
                    std::string_view n = r_.name();
                    std::string* into = n == "name" ? &spec.name : n == "input_type" ? &input_type : n == "values" ? &values : n == "default_value" ? &default_value : n == "mutable" ? &is_mutable : nullptr;
                    if (into) { if (!r_.read_text_content(*into)) return false; }
                    else if (!r_.skip_element()) return false;
                }
                std::vector<std::string> list;
                for (size_t b = 0; b <= values.size();) {
                    size_t nl = values.find('\n', b);
                    if (nl == std::string::npos) nl = values.size();
                    std::string v = values.substr(b, nl - b);
                    if (!v.empty() && v.back() == '\r') v.pop_back();
                    if (!v.empty()) list.push_back(v);
                    b = nl + 1;
                }
                spec.mutable_ = is_mutable == "True" || is_mutable == "true" || is_mutable == "1";
                if (input_type == "select" || input_type == "radio") {
                    spec.type = input_type == "select" ? AttributeType::Select : AttributeType::Radio;
                    spec.values = list;
                    if (spec.values.empty()) spec.values.push_back(default_value);
                    spec.default_value = std::find(list.begin(), list.end(), default_value) != list.end() ? default_value : spec.values.front();
                } else if (input_type == "checkbox") {
                    spec.type = AttributeType::Checkbox;
                    spec.default_value = lower(default_value) == "true";
                } else if (input_type == "number" && list.size() >= 2 && parse_double(list[0]) && parse_double(list[1]) && *parse_double(list[0]) <= *parse_double(list[1])) {
                    spec.type = AttributeType::Number;
                    spec.min = *parse_double(list[0]);
                    spec.max = *parse_double(list[1]);
                    if (list.size() >= 3 && parse_double(list[2]) && *parse_double(list[2]) > 0) spec.step = *parse_double(list[2]);
                    auto d = parse_double(default_value);
                    spec.default_value = d && *d >= spec.min && *d <= spec.max ? *d : spec.min;
                } else {
                    spec.type = AttributeType::Text;
                    spec.default_value = default_value;
                }
                if (!spec.name.empty()) specs.push_back(std::move(spec));
            } else if (!r_.skip_element()) return false;
        }
        if (name.empty()) return true;
        auto id = labels_.resolve(name);
        if (!id) return true;  // a label of the file the task lacks: an error only if a shape uses it
        for (AttributeSpec& s : specs) {
            declared_[*id][s.name] = s;
            labels_.define_attribute(*id, s);
        }
        if (!options_.task && color.size() == 7 && color[0] == '#') colors_[*id] = color;
        return true;
    }

    bool frames_ready() {
        if (frames_set_) return true;
        frames_set_ = true;
        auto integer = [&](const char* key, long long fallback) -> std::optional<long long> {
            auto it = meta_values_.find(key);
            if (it == meta_values_.end() || it->second.empty()) return fallback;
            return parse_integer(it->second);
        };
        auto start = integer("start_frame", 0);
        auto stop = integer("stop_frame", -1);
        if (!start || !stop || *start < 0) return fail("bad_cvat", "meta: start_frame and stop_frame must be integers >= 0");
        start_ = *start;
        stop_ = *stop;
        if (auto it = meta_values_.find("frame_filter"); it != meta_values_.end() && !it->second.empty()) {
            const std::string& f = it->second;
            auto s = f.rfind("step=", 0) == 0 ? parse_integer(std::string_view(f).substr(5)) : std::nullopt;
            if (!s || *s < 1) return fail("bad_cvat", "meta: frame_filter \"" + f + "\" is not step=N");
            step_ = *s;
        }
        return true;
    }

    std::optional<long long> our_frame(long long cvat_frame) {
        if (!frames_ready()) return std::nullopt;
        if (cvat_frame < start_ || (cvat_frame - start_) % step_ != 0) {
            fail("bad_frame", "frame " + std::to_string(cvat_frame) + " is not on the task's frames (start_frame " + std::to_string(start_) + ", step " + std::to_string(step_) + ")");
            return std::nullopt;
        }
        return (cvat_frame - start_) / step_;
    }

    // [SECTION] shapes
    std::optional<double> number_attr(std::string_view key, bool required = true, double fallback = 0) {
        const std::string_view* v = r_.attribute(key);
        if (!v) {
            if (required) fail("bad_cvat", "expected the attribute " + std::string(key));
            if (required) return std::nullopt;
            return fallback;
        }
        auto d = parse_double(*v);
        if (!d) fail("bad_cvat", "expected a number for " + std::string(key) + ", found \"" + std::string(*v) + "\"");
        return d;
    }
    std::optional<long long> integer_attr(std::string_view key, bool required, long long fallback) {
        const std::string_view* v = r_.attribute(key);
        if (!v) {
            if (required) { fail("bad_cvat", "expected the attribute " + std::string(key)); return std::nullopt; }
            return fallback;
        }
        auto i = parse_integer(*v);
        if (!i) fail("bad_cvat", "expected an integer for " + std::string(key) + ", found \"" + std::string(*v) + "\"");
        return i;
    }
    std::optional<bool> flag_attr(std::string_view key) {
        const std::string_view* v = r_.attribute(key);
        if (!v) return false;
        const std::string_view t = *v;
        if (equals(t, "0") || equals(t, "false") || equals(t, "False")) return false;
        if (equals(t, "1") || equals(t, "true") || equals(t, "True")) return true;
        fail("bad_cvat", "expected 0 or 1 for " + std::string(key) + ", found \"" + std::string(*v) + "\"");
        return std::nullopt;
    }

    bool parse_points(std::string_view text, std::vector<double>& out) {
        out.clear();
        std::string_view s(text);
        size_t b = 0;
        while (b < s.size()) {
            size_t semi = s.find(';', b);
            if (semi == std::string_view::npos) semi = s.size();
            std::string_view pair = s.substr(b, semi - b);
            size_t comma = pair.find(',');
            auto x = comma == std::string_view::npos ? std::nullopt : parse_double(pair.substr(0, comma));
            auto y = comma == std::string_view::npos ? std::nullopt : parse_double(pair.substr(comma + 1));
            if (!x || !y) return fail("bad_cvat", "expected points as \"x,y;x,y;...\", found \"" + std::string(pair.substr(0, 40)) + "\"");
            out.push_back(*x);
            out.push_back(*y);
            b = semi + 1;
        }
        return true;
    }

    // Reads the current shape element (its attributes and <attribute> children) into `s`.
    bool read_shape(ShapeType type, ShapeRead& s, bool in_track) {
        s = ShapeRead();
        s.type = type;
        if (!in_track || r_.attribute("label")) {
            const std::string_view* label = r_.attribute("label");
            if (!label) return fail("bad_cvat", "expected the attribute label");
            s.label = *label;
        }
        if (const std::string_view* src = r_.attribute("source"))
            s.source = equals(*src, "manual") ? Source::Manual : equals(*src, "file") ? Source::Imported : Source::Auto;
        auto occluded = flag_attr("occluded");
        auto outside = flag_attr("outside");
        auto keyframe = r_.attribute("keyframe") ? flag_attr("keyframe") : std::optional<bool>(true);
        auto z = integer_attr("z_order", false, 0);
        auto group = integer_attr("group_id", false, 0);
        if (!occluded || !outside || !keyframe || !z || !group) return false;
        s.occluded = *occluded;
        s.outside = *outside;
        s.keyframe = *keyframe;
        s.z = *z;
        if (*group > 0) s.group = "g" + std::to_string(*group);
        if (in_track) {
            auto frame = integer_attr("frame", true, 0);
            if (!frame) return false;
            auto f = our_frame(*frame);
            if (!f) return false;
            s.frame = *f;
        }
        if (type == ShapeType::Rectangle) {
            auto x1 = number_attr("xtl"), y1 = number_attr("ytl"), x2 = number_attr("xbr"), y2 = number_attr("ybr");
            if (!x1 || !y1 || !x2 || !y2) return false;
            if (*x1 > *x2 || *y1 > *y2) return fail("bad_box", "a box with xtl > xbr or ytl > ybr");
            s.points = {*x1, *y1, *x2, *y2};
        } else if (type == ShapeType::Ellipse) {
            auto cx = number_attr("cx"), cy = number_attr("cy"), rx = number_attr("rx"), ry = number_attr("ry");
            if (!cx || !cy || !rx || !ry) return false;
            if (*rx < 0 || *ry < 0) return fail("bad_box", "an ellipse with a negative radius");
            s.points = {*cx - *rx, *cy - *ry, *cx + *rx, *cy + *ry};
        } else if (type != ShapeType::Tag) {
            const std::string_view* pts = r_.attribute("points");
            if (!pts) return fail("bad_cvat", "expected the attribute points");
            if (!parse_points(*pts, s.points)) return false;
            size_t need = type == ShapeType::Polygon ? 3 : type == ShapeType::Polyline ? 2 : 1;
            if (s.points.size() / 2 < need) return fail("bad_points", std::string("a ") + element_of(type) + " needs at least " + std::to_string(need) + " points");
        }
        if (type == ShapeType::Rectangle || type == ShapeType::Ellipse) {
            auto rot = number_attr("rotation", false, 0);
            if (!rot) return false;
            s.rotation = normalized_degrees(*rot);
        }
        // <attribute name="...">value</attribute> children.
        size_t depth = r_.depth();
        while (true) {
            auto e = r_.next();
            if (e == XmlReader::Event::Failed || e == XmlReader::Event::End) return false;
            if (e == XmlReader::Event::EndElement && r_.depth() < depth) return true;
            if (e == XmlReader::Event::Text) return fail("bad_cvat", "unexpected text inside a shape");
            if (e != XmlReader::Event::StartElement) continue;
            if (!equals(r_.name(), "attribute")) {
                notes_.add("<" + std::string(r_.name()) + "> inside shapes left out");
                if (!r_.skip_element()) return false;
                continue;
            }
            const std::string_view* name = r_.attribute("name");
            if (!name) return fail("bad_cvat", "expected the attribute name on <attribute>");
            std::string key(*name), value;
            if (!r_.read_text_content(value)) return false;
            s.attributes.emplace_back(std::move(key), std::move(value));
        }
    }

    const AttributeSpec* spec_for(const std::string& label_id, const std::string& name) {
        if (const LabelSpec* l = options_.task ? options_.task->find_label(label_id) : nullptr) {
            for (const AttributeSpec& a : l->attributes)
                if (a.id == name || a.name == name) return &a;
            return nullptr;
        }
        auto l = declared_.find(label_id);
        if (l == declared_.end()) return nullptr;
        auto a = l->second.find(name);
        return a == l->second.end() ? nullptr : &a->second;
    }

    std::optional<std::string> label_id(const std::string& name) {
        auto id = labels_.resolve(name);
        if (!id) fail("unknown_label", "label \"" + name + "\" is not a label of the task");
        return id;
    }

    // is_mutable: for a label the file does not declare, whether the attribute varies along a
    // track (then it lives on keyframes, and the label made for it says so).
    Attribute typed_attribute(const std::string& label, const std::string& name, const std::string& text, bool is_mutable = false) {
        const AttributeSpec* spec = spec_for(label, name);
        Json value = attribute_from_text(text, spec);
        return {labels_.attribute_id(label, name, value, spec ? spec->mutable_ : is_mutable), value};
    }

    Object object_from(const ShapeRead& s, const std::string& label, long long frame) {
        Object o;
        o.id = ids_.make("s" + std::to_string(++shape_count_));
        o.type = s.type;
        o.frame = frame;
        o.label = label;
        o.points = s.points;
        o.rotation = s.rotation;
        o.source = s.source;
        o.group = s.group;
        if (s.type != ShapeType::Tag) { o.z = s.z; o.occluded = s.occluded; }
        for (const auto& [name, text] : s.attributes) o.attributes.push_back(typed_attribute(label, name, text));
        return o;
    }

    bool read_image() {
        auto id = integer_attr("id", false, (long long)images_seen_);
        const std::string_view* name = r_.attribute("name");
        auto w = integer_attr("width", false, 0), h = integer_attr("height", false, 0);
        if (!id || !w || !h) return false;
        if (!name) return fail("bad_cvat", "expected the attribute name on <image>");
        ++images_seen_;
        auto frame = images_.frame_of(std::string(*name), (int)*w, (int)*h);
        if (!frame) return fail("unknown_image", "image \"" + std::string(*name) + "\" is not in the task");
        size_t depth = r_.depth();
        ShapeRead s;
        while (true) {
            auto e = r_.next();
            if (e == XmlReader::Event::Failed || e == XmlReader::Event::End) return false;
            if (e == XmlReader::Event::EndElement && r_.depth() < depth) return true;
            if (e == XmlReader::Event::Text) return fail("bad_cvat", "unexpected text inside <image>");
            if (e != XmlReader::Event::StartElement) continue;
            std::optional<ShapeType> type = equals(r_.name(), "tag") ? std::optional<ShapeType>(ShapeType::Tag) : shape_element(r_.name());
            if (!type) {
                notes_.add("<" + std::string(r_.name()) + "> shapes left out (not in the document model)");
                if (!r_.skip_element()) return false;
                continue;
            }
            if (!read_shape(*type, s, false)) return false;
            auto label = label_id(s.label);
            if (!label) return false;
            doc_.objects.push_back(object_from(s, *label, *frame));
        }
    }

    bool read_video_tag() {
        ShapeRead s;
        auto frame = integer_attr("frame", true, 0);
        if (!frame) return false;
        auto f = our_frame(*frame);
        if (!f) return false;
        if (!read_shape(ShapeType::Tag, s, false)) return false;
        auto label = label_id(s.label);
        if (!label) return false;
        tags_.push_back(object_from(s, *label, *f));
        return true;
    }

    bool read_track() {
        const std::string_view* label_name = r_.attribute("label");
        if (!label_name) return fail("bad_cvat", "expected the attribute label on <track>");
        auto label = label_id(std::string(*label_name));
        if (!label) return false;
        auto cvat_id = integer_attr("id", false, (long long)tracks_seen_);
        auto group = integer_attr("group_id", false, 0);
        if (!cvat_id || !group) return false;
        ++tracks_seen_;
        Track track;
        track.id = ids_.make("t" + std::to_string(*cvat_id));
        track.label = *label;
        track.source = Source::Manual;
        if (const std::string_view* src = r_.attribute("source")) track.source = equals(*src, "manual") ? Source::Manual : equals(*src, "file") ? Source::Imported : Source::Auto;
        if (*group > 0) track.group = "g" + std::to_string(*group);
        std::vector<ShapeRead> shapes;
        size_t depth = r_.depth();
        bool type_known = false;
        while (true) {
            auto e = r_.next();
            if (e == XmlReader::Event::Failed || e == XmlReader::Event::End) return false;
            if (e == XmlReader::Event::EndElement && r_.depth() < depth) break;
            if (e == XmlReader::Event::Text) return fail("bad_cvat", "unexpected text inside <track>");
            if (e != XmlReader::Event::StartElement) continue;
            auto type = shape_element(r_.name());
            if (!type) {
                notes_.add("tracks of <" + std::string(r_.name()) + "> left out (not in the document model)");
                if (!r_.skip_element()) return false;
                type_known = false;
                shapes.clear();
                while (true) {  // the rest of this track
                    auto e2 = r_.next();
                    if (e2 == XmlReader::Event::Failed || e2 == XmlReader::Event::End) return false;
                    if (e2 == XmlReader::Event::EndElement && r_.depth() < depth) return true;
                    if (e2 == XmlReader::Event::StartElement && !r_.skip_element()) return false;
                }
            }
            if (type_known && *type != track.type) return fail("bad_cvat", "a track mixes <" + std::string(element_of(track.type)) + "> and <" + std::string(r_.name()) + ">");
            track.type = *type;
            type_known = true;
            ShapeRead& s = shapes.emplace_back();
            if (!read_shape(*type, s, true)) return false;
            if (shapes.size() > 1 && s.frame <= shapes[shapes.size() - 2].frame) return fail("keyframe_order", "track frames must increase");
        }
        if (shapes.empty()) { notes_.add("empty tracks left out"); return true; }
        // Keyframes: the shapes CVAT marks keyframe="1". Immutable attributes go to the track
        // (from its first shape); a mutable one is kept on a keyframe where its value changes.
        std::map<std::string, Json> current;
        bool first = true;
        for (const ShapeRead& s : shapes) {
            if (!s.keyframe) continue;
            Keyframe& k = track.keyframes.emplace_back();
            k.id = ids_.make(track.id + ".k" + std::to_string(s.frame));
            k.frame = s.frame;
            k.points = s.points;
            k.rotation = s.rotation;
            k.outside = s.outside;
            k.occluded = s.occluded;
            k.z = s.z;
            k.source = Source::Manual;
            for (const auto& [name, text] : s.attributes) {
                const AttributeSpec* spec = spec_for(*label, name);
                bool is_mutable = spec ? spec->mutable_ : varies(shapes, name);
                Attribute a = typed_attribute(*label, name, text, is_mutable);
                if (!is_mutable) {
                    if (first) track.attributes.push_back(a);
                    continue;
                }
                auto it = current.find(a.id);
                if (it == current.end() || it->second != a.value) {
                    current[a.id] = a.value;
                    k.attributes.push_back(a);
                }
            }
            first = false;
        }
        if (track.keyframes.empty()) { notes_.add("tracks without a keyframe left out"); return true; }
        // The in-between frames the file lists are CVAT's: interpolate polygons and polylines as it does.
        track.interpolation = Interpolation::Cvat;
        doc_.tracks.push_back(std::move(track));
        return true;
    }

    static bool varies(const std::vector<ShapeRead>& shapes, const std::string& name) {
        const std::string* seen = nullptr;
        for (const ShapeRead& s : shapes)
            for (const auto& a : s.attributes)
                if (a.first == name) {
                    if (seen && *seen != a.second) return true;
                    seen = &a.second;
                }
        return false;
    }

    Expected<Conversion> finish() {
        if (!frames_ready()) return failure();
        for (Object& t : tags_) doc_.objects.push_back(std::move(t));
        Conversion out;
        Json cvat = Json::object();
        if (start_ != 0) cvat["start_frame"] = start_;
        if (!cvat.empty() && stop_ >= 0 && meta_values_.count("stop_frame")) cvat["stop_frame"] = stop_;
        if (step_ != 1) cvat["frame_filter"] = "step=" + std::to_string(step_);
        if (!cvat.empty()) doc_.meta = Json{{"cvat", cvat}};
        out.document = std::move(doc_);
        if (options_.task) {
            out.task = made_task(options_.task, images_, labels_, "cvat");
            adopt_added_labels(out, labels_);
        } else {
            out.task = made_task(nullptr, images_, labels_, "cvat");
            settle_made_attributes(out.document, out.task);
            for (LabelSpec& l : out.task.labels)
                if (auto c = colors_.find(l.id); c != colors_.end()) {
                    bool hex = std::all_of(c->second.begin() + 1, c->second.end(), [](char ch) { return std::isxdigit((unsigned char)ch); });
                    if (hex) l.color = lower(c->second);
                }
            if (out.task.media.empty()) {
                // Video layout: one video of the range's frames (size, or stop_frame), or as many as used.
                long long frames = 0;
                if (auto it = meta_values_.find("size"); it != meta_values_.end())
                    if (auto n = parse_integer(it->second); n && *n > 0) frames = *n;
                if (frames == 0 && stop_ >= start_) frames = (stop_ - start_) / step_ + 1;
                for (const Track& t : out.document.tracks) frames = std::max(frames, t.keyframes.back().frame + 1);
                for (const Object& o : out.document.objects) frames = std::max(frames, o.frame + 1);
                Media m;
                m.id = "video";
                m.type = MediaType::Video;
                auto src = meta_values_.find("source");
                m.name = m.url = src != meta_values_.end() && !src->second.empty() ? src->second : "video";
                m.frames = std::max(1LL, frames);
                auto dim = [&](const char* key) { auto it = meta_values_.find(key); auto v = it == meta_values_.end() ? std::nullopt : parse_integer(it->second); return v && *v > 0 && *v <= 1000000 ? (int)*v : 0; };
                m.width = dim("width");
                m.height = dim("height");
                out.task.media.push_back(std::move(m));
            }
        }
        out.notes = notes_.list();
        return out;
    }

    XmlReader r_;
    std::vector<Object> tags_;
    Error error_;
    bool has_error_ = false;
    size_t total_;
    std::string_view bytes_;
    std::map<std::string, std::string> meta_values_;
    std::map<std::string, std::map<std::string, AttributeSpec>> declared_;
    std::map<std::string, std::string> colors_;
    bool frames_set_ = false;
    long long start_ = 0, stop_ = -1, step_ = 1;
    size_t images_seen_ = 0, tracks_seen_ = 0, shape_count_ = 0;
};

// [SECTION] Export

class CvatWriter {
public:
    CvatWriter(const Document& doc, const Task& task, const ExportOptions& options) : doc_(doc), task_(task), options_(options) {
        if (doc.meta.is_object())
            if (auto it = doc.meta.find("cvat"); it != doc.meta.end() && it->is_object()) {
                if (auto s = it->find("start_frame"); s != it->end() && s->is_number_integer() && s->get<long long>() >= 0) start_ = s->get<long long>();
                if (auto s = it->find("frame_filter"); s != it->end() && s->is_string()) {
                    const std::string& filter = s->get_ref<const std::string&>();
                    if (filter.rfind("step=", 0) == 0)
                        if (auto n = parse_integer(std::string_view(filter).substr(5)); n && *n >= 1) step_ = *n;
                }
            }
    }

    Expected<Exported> write() {
        bool video = options_.cvat_layout == "video" ||
                     (options_.cvat_layout.empty() && (!doc_.tracks.empty() || std::any_of(task_.media.begin(), task_.media.end(), [](const Media& m) { return m.type == MediaType::Video; })));
        if (!options_.cvat_layout.empty() && options_.cvat_layout != "video" && options_.cvat_layout != "images")
            return Error{"bad_option", "layout", "the CVAT layout must be \"images\" or \"video\""};
        frames_ = task_.frame_count();
        for (const Object& o : doc_.objects) frames_ = std::max(frames_, o.frame + 1);
        for (const Track& t : doc_.tracks)
            if (!t.keyframes.empty()) frames_ = std::max(frames_, t.keyframes.back().frame + 1);
        out_.reserve(1 << 20);
        out_ += "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations>\n  <version>1.1</version>\n";
        write_meta(video);
        if (video) {
            if (!write_video()) return cancelled_error();
        } else if (!write_images()) {
            return cancelled_error();
        }
        out_ += "</annotations>\n";
        Exported e;
        e.files.push_back({"annotations.xml", std::move(out_)});
        e.notes = notes_.list();
        return e;
    }

private:
    long long cvat_frame(long long f) const { return start_ + f * step_; }

    void text_element(const char* indent, const char* name, const std::string& text) {
        out_ += indent;
        out_ += '<';
        out_ += name;
        out_ += '>';
        append_xml_escaped(out_, text);
        out_ += "</";
        out_ += name;
        out_ += ">\n";
    }

    std::vector<std::string> used_labels() const {
        std::vector<std::string> ids;
        for (const LabelSpec& l : task_.labels) ids.push_back(l.id);
        auto add = [&](const std::string& id) { if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id); };
        for (const Object& o : doc_.objects) add(o.label);
        for (const Track& t : doc_.tracks) add(t.label);
        return ids;
    }

    void write_meta(bool video) {
        out_ += "  <meta>\n    <task>\n";
        text_element("      ", "name", task_.name.empty() ? task_.id : task_.name);
        text_element("      ", "size", std::to_string(frames_));
        text_element("      ", "mode", video ? "interpolation" : "annotation");
        text_element("      ", "start_frame", std::to_string(start_));
        text_element("      ", "stop_frame", std::to_string(cvat_frame(std::max(0LL, frames_ - 1))));
        text_element("      ", "frame_filter", step_ == 1 ? "" : "step=" + std::to_string(step_));
        out_ += "      <labels>\n";
        for (const std::string& id : used_labels()) {
            const LabelSpec* l = task_.find_label(id);
            out_ += "        <label>\n";
            text_element("          ", "name", label_name(task_, id));
            if (l && !l->color.empty()) text_element("          ", "color", l->color);
            out_ += "          <attributes>\n";
            if (l)
                for (const AttributeSpec& a : l->attributes) {
                    static const char* kTypes[] = {"select", "radio", "checkbox", "number", "text"};
                    out_ += "            <attribute>\n";
                    text_element("              ", "name", a.name.empty() ? a.id : a.name);
                    text_element("              ", "mutable", a.mutable_ ? "True" : "False");
                    text_element("              ", "input_type", kTypes[(int)a.type]);
                    text_element("              ", "default_value", attribute_text(a.default_value));
                    std::string values;
                    if (a.type == AttributeType::Number) values = number_text(a.min) + "\n" + number_text(a.max) + "\n" + number_text(a.step);
                    else if (a.type == AttributeType::Checkbox) values = "false\ntrue";
                    else
                        for (size_t i = 0; i < a.values.size(); ++i) values += (i ? "\n" : "") + a.values[i];
                    text_element("              ", "values", values);
                    out_ += "            </attribute>\n";
                }
            out_ += "          </attributes>\n        </label>\n";
        }
        out_ += "      </labels>\n";
        for (const Media& m : task_.media)
            if (m.type == MediaType::Video) {
                text_element("      ", "source", media_file_name(m));
                if (m.width > 0 && m.height > 0) {
                    out_ += "      <original_size>\n";
                    text_element("        ", "width", std::to_string(m.width));
                    text_element("        ", "height", std::to_string(m.height));
                    out_ += "      </original_size>\n";
                }
                break;
            }
        out_ += "    </task>\n  </meta>\n";
    }

    int group_number(const std::string& group) {
        if (group.empty()) return 0;
        auto it = groups_.find(group);
        if (it != groups_.end()) return it->second;
        int n = 0;
        if (group.size() > 1 && group[0] == 'g') {
            auto v = parse_integer(std::string_view(group).substr(1));
            if (v && *v > 0 && *v < 1000000000 && !group_numbers_used_.count((int)*v)) n = (int)*v;
        }
        if (!n) {
            n = next_group_;
            while (group_numbers_used_.count(n)) ++n;
        }
        group_numbers_used_.insert(n);
        next_group_ = std::max(next_group_, n + 1);
        groups_[group] = n;
        return n;
    }

    void attr(const char* name, const std::string& value) {
        out_ += ' ';
        out_ += name;
        out_ += "=\"";
        append_xml_escaped(out_, value);
        out_ += '"';
    }
    void num_attr(const char* name, double v) {
        out_ += ' ';
        out_ += name;
        out_ += "=\"";
        append_number(out_, v);
        out_ += '"';
    }

    // One shape element: geometry, flags and attributes. `track_frame` < 0: a shape of an <image>.
    void shape(const char* indent, ShapeType type, const std::string& label, const std::vector<double>& points, double rotation,
               bool occluded, long long z, const std::string& group, Source source, const std::vector<Attribute>& attributes,
               long long track_frame, bool outside, bool keyframe) {
        out_ += indent;
        out_ += '<';
        out_ += element_of(type);
        if (track_frame < 0) attr("label", label_name(task_, label));
        if (track_frame >= 0) {
            out_ += " frame=\"" + std::to_string(cvat_frame(track_frame)) + "\"";
            out_ += outside ? " outside=\"1\"" : " outside=\"0\"";
        }
        if (type != ShapeType::Tag) {
            out_ += occluded ? " occluded=\"1\"" : " occluded=\"0\"";
            if (track_frame >= 0) out_ += keyframe ? " keyframe=\"1\"" : " keyframe=\"0\"";
        }
        if (track_frame < 0) attr("source", cvat_source(source));
        if (type == ShapeType::Rectangle) {
            num_attr("xtl", points[0]); num_attr("ytl", points[1]); num_attr("xbr", points[2]); num_attr("ybr", points[3]);
        } else if (type == ShapeType::Ellipse) {
            double cx = (points[0] + points[2]) / 2, cy = (points[1] + points[3]) / 2;
            num_attr("cx", cx); num_attr("cy", cy); num_attr("rx", (points[2] - points[0]) / 2); num_attr("ry", (points[3] - points[1]) / 2);
        } else if (type != ShapeType::Tag) {
            out_ += " points=\"";
            for (size_t i = 0; i + 1 < points.size(); i += 2) {
                if (i) out_ += ';';
                append_number(out_, points[i]);
                out_ += ',';
                append_number(out_, points[i + 1]);
            }
            out_ += '"';
        }
        if ((type == ShapeType::Rectangle || type == ShapeType::Ellipse) && rotation != 0) num_attr("rotation", normalized_degrees(rotation));
        if (type != ShapeType::Tag) out_ += " z_order=\"" + std::to_string(z) + "\"";
        if (track_frame < 0 && !group.empty()) out_ += " group_id=\"" + std::to_string(group_number(group)) + "\"";
        if (attributes.empty()) {
            out_ += "/>\n";
            return;
        }
        out_ += ">\n";
        for (const Attribute& a : attributes) {
            out_ += indent;
            out_ += "  <attribute";
            attr("name", attribute_name(task_, label, a.id));
            out_ += '>';
            append_xml_escaped(out_, attribute_text(a.value));
            out_ += "</attribute>\n";
        }
        out_ += indent;
        out_ += "</";
        out_ += element_of(type);
        out_ += ">\n";
    }

    bool write_images() {
        std::vector<FrameImage> images = frame_images(task_);
        size_t past = 0;
        FrameShapes frames = shapes_per_frame(doc_, task_, (long long)images.size(), past);
        if (past) notes_.add("objects on frames past the task's last frame left out", past);
        ProgressTicker progress(options_.progress, 0, 1);
        for (size_t f = 0; f < images.size(); ++f) {
            if (!progress.step(f, images.size())) return false;
            out_ += "  <image id=\"" + std::to_string(f) + "\"";
            attr("name", images[f].name);
            if (images[f].width > 0) out_ += " width=\"" + std::to_string(images[f].width) + "\"";
            if (images[f].height > 0) out_ += " height=\"" + std::to_string(images[f].height) + "\"";
            if (frames[f].empty()) { out_ += "/>\n"; continue; }
            out_ += ">\n";
            for (const Object& o : frames[f])
                shape("    ", o.type, o.label, o.points, o.rotation, o.occluded, o.z, o.group, o.source, o.attributes, -1, false, false);
            out_ += "  </image>\n";
        }
        if (!doc_.tracks.empty()) notes_.add("tracks written frame by frame as shapes (the images layout has no tracks)", doc_.tracks.size());
        return true;
    }

    void open_track(size_t id, const std::string& label, Source source, const std::string& group) {
        out_ += "  <track id=\"" + std::to_string(id) + "\"";
        attr("label", label_name(task_, label));
        attr("source", cvat_source(source));
        if (!group.empty()) out_ += " group_id=\"" + std::to_string(group_number(group)) + "\"";
        out_ += ">\n";
    }

    bool write_video() {
        // Track ids: "t<N>" keeps N; the others count on.
        std::set<long long> used;
        std::vector<long long> ids(doc_.tracks.size(), -1);
        for (size_t i = 0; i < doc_.tracks.size(); ++i) {
            const std::string& id = doc_.tracks[i].id;
            if (id.size() > 1 && id[0] == 't')
                if (auto n = parse_integer(std::string_view(id).substr(1)); n && *n >= 0 && used.insert(*n).second) ids[i] = *n;
        }
        long long next = 0;
        auto fresh = [&] { while (used.count(next)) ++next; used.insert(next); return next; };
        InterpolationCache cache;
        ProgressTicker progress(options_.progress, 0, 1);
        for (size_t i = 0; i < doc_.tracks.size(); ++i) {
            if (!progress.step(i, doc_.tracks.size())) return false;
            const Track& t = doc_.tracks[i];
            if (t.keyframes.empty()) continue;
            open_track((size_t)(ids[i] >= 0 ? ids[i] : fresh()), t.label, t.source, t.group);
            const Keyframe& last = t.keyframes.back();
            long long end = last.outside ? last.frame + 1 : std::max(frames_, last.frame + 1);
            // A track lives within one medium: its frames stop at the medium's end (a CVAT task
            // holds one video; one of ours of several is written as one, each track in its own).
            MediumSpan medium = task_.medium_of(t.keyframes.front().frame);
            end = std::min(end, medium.end);
            size_t k = 0;
            for (long long f = t.keyframes.front().frame; f < end; ++f) {
                while (k < t.keyframes.size() && t.keyframes[k].frame < f) ++k;
                bool is_key = k < t.keyframes.size() && t.keyframes[k].frame == f;
                if (!is_key && k > 0 && t.keyframes[k - 1].outside) {  // outside until the next keyframe
                    if (k >= t.keyframes.size()) break;
                    f = t.keyframes[k].frame - 1;
                    continue;
                }
                std::optional<TrackState> s = track_state_at(t, f, {}, &cache, medium);
                if (!s) continue;
                shape("    ", t.type, t.label, s->points, s->rotation, s->occluded, s->z, "", t.source, s->attributes, f, s->outside, is_key);
            }
            out_ += "  </track>\n";
        }
        // Objects become one-frame tracks: a keyframe on their frame, an outside one on the next.
        size_t as_tracks = 0;
        for (const Object& o : doc_.objects) {
            if (o.type == ShapeType::Tag) continue;
            open_track((size_t)fresh(), o.label, o.source, o.group);
            shape("    ", o.type, o.label, o.points, o.rotation, o.occluded, o.z, "", o.source, o.attributes, o.frame, false, true);
            if (o.frame + 1 < frames_)
                shape("    ", o.type, o.label, o.points, o.rotation, o.occluded, o.z, "", o.source, o.attributes, o.frame + 1, true, true);
            out_ += "  </track>\n";
            ++as_tracks;
        }
        if (as_tracks) notes_.add("objects written as one-frame tracks (the video layout holds only tracks and tags)", as_tracks);
        for (const Object& o : doc_.objects) {
            if (o.type != ShapeType::Tag) continue;
            out_ += "  <tag frame=\"" + std::to_string(cvat_frame(o.frame)) + "\"";
            attr("label", label_name(task_, o.label));
            attr("source", cvat_source(o.source));
            if (o.attributes.empty()) { out_ += "/>\n"; continue; }
            out_ += ">\n";
            for (const Attribute& a : o.attributes) {
                out_ += "    <attribute";
                attr("name", attribute_name(task_, o.label, a.id));
                out_ += '>';
                append_xml_escaped(out_, attribute_text(a.value));
                out_ += "</attribute>\n";
            }
            out_ += "  </tag>\n";
        }
        return true;
    }

    const Document& doc_;
    const Task& task_;
    const ExportOptions& options_;
    Notes notes_;
    std::string out_;
    long long frames_ = 0, start_ = 0, step_ = 1;
    std::map<std::string, int> groups_;
    std::set<int> group_numbers_used_;
    int next_group_ = 1;
};

}  // namespace

Expected<Conversion> import_cvat(const FileSet& files, const ImportOptions& options) {
    if (files.empty()) return Error{"no_input", "", "no CVAT XML file given"};
    return CvatReader(files.front(), options).read();
}

Expected<Exported> export_cvat(const Document& doc, const Task& task, const ExportOptions& options) {
    return CvatWriter(doc, task, options).write();
}

}  // namespace pm::formats
