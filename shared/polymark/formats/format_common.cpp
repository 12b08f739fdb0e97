#include "polymark/formats/format_common.hpp"
#include "polymark/json_reader.hpp"
#include "polymark/json_stream.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace pm::formats {

std::string number_text(double v) {
    std::string s;
    append_number(s, v);
    return s;
}

void append_number(std::string& out, double v) {
    if (v == 0 || !std::isfinite(v)) v = 0;  // no "-0"; documents hold finite numbers only
    // nlohmann's shortest round-trip printer (the one the document writer uses): std::to_chars of
    // a double is missing from the web build's libc++. It writes integers as "12.0": cut the ".0".
    char buf[64];
    char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, v);
    if (end - buf > 2 && end[-1] == '0' && end[-2] == '.') end -= 2;
    out.append(buf, end);
}

std::optional<double> parse_double(std::string_view s) {
    // Digits, one sign, a point and an exponent only (strtod alone would take "inf", "0x1p3" and
    // leading spaces); std::from_chars of a double is missing from the web build's libc++.
    if (s.empty() || s.size() > 400) return std::nullopt;
    size_t i = 0;
    if (s[i] == '+' || s[i] == '-') ++i;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    }
    if (digits == 0) return std::nullopt;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        size_t exp_digits = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp_digits;
        if (exp_digits == 0) return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    double quick;
    bool integer;
    if (s[0] != '+' && json_number_prefix(s, quick, integer) == s.size()) return s[0] == '-' && quick == 0 ? -0.0 : quick;
    char buf[416];
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = 0;
    char* end = nullptr;
    double v = std::strtod(buf, &end);
    if (end != buf + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::optional<long long> parse_integer(std::string_view s) {
    if (s.empty()) return std::nullopt;
    const char* b = s.data();
    const char* e = s.data() + s.size();
    if (*b == '+') ++b;
    long long v = 0;
    auto r = std::from_chars(b, e, v);
    if (r.ec != std::errc() || r.ptr != e || v > kMaxExactInteger || v < -kMaxExactInteger) return std::nullopt;
    return v;
}

bool valid_utf8(std::string_view s, size_t& bad_at) {
    size_t i = 0;
    while (i < s.size()) {
        // 32 then 8 ASCII bytes at a time: most of an annotation file is ASCII.
        const char* d = s.data();
        while (i + 32 <= s.size()) {
            uint64_t w[4];
            std::memcpy(w, d + i, 32);
            if (((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ULL) != 0) break;
            i += 32;
        }
        uint64_t eight;
        while (i + 8 <= s.size() && (std::memcpy(&eight, d + i, 8), (eight & 0x8080808080808080ULL) == 0)) i += 8;
        if (i >= s.size()) break;
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) { ++i; continue; }
        size_t n = c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 0;
        if (n == 0 || i + n >= s.size()) { bad_at = i; return false; }  // a bad lead byte, or cut short
        unsigned char c1 = (unsigned char)s[i + 1];
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) { bad_at = i; return false; }
        for (size_t k = 1; k <= n; ++k)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80) { bad_at = i; return false; }
        i += n + 1;
    }
    return true;
}

std::string_view base_name(std::string_view path) {
    size_t slash = path.find_last_of("/\\");
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view stem(std::string_view path) {
    std::string_view b = base_name(path);
    size_t dot = b.rfind('.');
    return dot == std::string_view::npos || dot == 0 ? b : b.substr(0, dot);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return out;
}

std::string text_position(std::string_view text, size_t offset) {
    offset = std::min(offset, text.size());
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < offset; ++i)
        if (text[i] == '\n') { ++line; line_start = i + 1; }
    return std::to_string(line) + ":" + std::to_string(offset - line_start + 1);
}

Error cancelled_error() { return Error{"cancelled", "", "the conversion was cancelled"}; }

Expected<Json> parse_file_json(const FileEntry& f) {
    auto json = parse_json_text(f.bytes, f.path);
    if (json) return json;
    Error e = json.first_error();
    e.message = f.path + ": " + e.message;
    e.path = f.path + "#" + e.path;
    return e;
}

std::string sanitized_id(std::string_view hint) {
    std::string id;
    for (char c : hint) {
        if (id.size() >= 56) break;  // room for a ".N" suffix within 64
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-';
        id += ok ? c : '_';
    }
    if (id.empty()) id = "_";
    return id;
}

std::string IdMaker::make(std::string_view hint) {
    std::string base = sanitized_id(hint);
    if (insert(base)) return base;
    for (size_t n = 2;; ++n) {
        std::string id = base + "." + std::to_string(n);
        if (insert(id)) return id;
    }
}

size_t IdMaker::slot_of(std::string_view id) const {
    size_t mask = slots_.size() - 1;
    for (size_t i = std::hash<std::string_view>{}(id) & mask;; i = (i + 1) & mask) {
        uint32_t at = slots_[i];
        if (at == 0) return i;
        size_t offset = size_t(at - 1);
        if (arena_.compare(offset, id.size(), id) == 0 && arena_[offset + id.size()] == '\0') return i;
    }
}

bool IdMaker::taken(std::string_view id) const { return !slots_.empty() && slots_[slot_of(id)] != 0; }

bool IdMaker::insert(std::string_view id) {
    if ((count_ + 1) * 2 > slots_.size()) {
        std::vector<uint32_t> old = std::move(slots_);
        slots_.assign(std::max<size_t>(64, old.size() * 2), 0);
        for (uint32_t at : old)
            if (at) slots_[slot_of(std::string_view(arena_.c_str() + at - 1))] = at;
    }
    size_t i = slot_of(id);
    if (slots_[i]) return false;
    if (arena_.size() + id.size() + 1 >= UINT32_MAX) throw std::bad_alloc();  // 4 GB of ids: import_annotations says out of memory
    slots_[i] = uint32_t(arena_.size() + 1);
    arena_.append(id);
    arena_ += '\0';
    ++count_;
    return true;
}

std::optional<std::string> LabelMap::resolve(const std::string& name) {
    if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
    std::string id;
    if (given_) {
        const LabelSpec* found = given_->find_label(name);
        if (!found)
            for (const LabelSpec& l : given_->labels)
                if (l.name == name) { found = &l; break; }
        if (found) id = found->id;
        else if (!add_unknown_) return std::nullopt;
    }
    if (id.empty()) {
        id = sanitized_id(name);
        auto taken = [&](const std::string& candidate) { return used_ids_.count(candidate) || (given_ && given_->find_label(candidate)); };
        if (taken(id))
            for (size_t n = 2;; ++n)
                if (!taken(id + "." + std::to_string(n))) { id += "." + std::to_string(n); break; }
        used_ids_.insert(id);
        LabelSpec& l = made_.emplace_back();
        l.id = id;
        l.name = name.empty() ? id : name;
    }
    by_name_.emplace(name, id);
    return id;
}

LabelSpec* LabelMap::made_spec(const std::string& label_id) {
    auto label = std::find_if(made_.begin(), made_.end(), [&](const LabelSpec& l) { return l.id == label_id; });
    return label == made_.end() ? nullptr : &*label;
}

const LabelSpec* LabelMap::made_spec(const std::string& label_id) const { return const_cast<LabelMap*>(this)->made_spec(label_id); }

std::string LabelMap::attribute_id(const std::string& label_id, const std::string& name, const Json& value, bool is_mutable) {
    if (given_)
        if (const LabelSpec* l = given_->find_label(label_id)) {
            for (const AttributeSpec& a : l->attributes)
                if (a.id == name || a.name == name) return a.id;
            return name;
        }
    LabelSpec* label = made_spec(label_id);
    if (!label) return name;
    auto a = std::find_if(label->attributes.begin(), label->attributes.end(), [&](const AttributeSpec& s) { return s.name == name; });
    if (a == label->attributes.end()) {
        AttributeSpec s;
        s.id = sanitized_id(name);
        for (size_t n = 2; std::any_of(label->attributes.begin(), label->attributes.end(), [&](const AttributeSpec& o) { return o.id == s.id; }); ++n)
            s.id = sanitized_id(name) + "." + std::to_string(n);
        s.name = name;
        s.mutable_ = is_mutable;
        if (value.is_boolean()) { s.type = AttributeType::Checkbox; s.default_value = false; }
        else if (value.is_number()) { s.type = AttributeType::Number; s.min = s.max = value.get<double>(); s.default_value = s.min; }
        else { s.type = AttributeType::Text; s.default_value = ""; }
        label->attributes.push_back(std::move(s));
        return label->attributes.back().id;
    }
    a->mutable_ = a->mutable_ || is_mutable;
    bool fits = (a->type == AttributeType::Checkbox && value.is_boolean()) || (a->type == AttributeType::Number && value.is_number()) ||
                (a->type == AttributeType::Text && value.is_string()) ||
                ((a->type == AttributeType::Select || a->type == AttributeType::Radio) && value.is_string() &&
                 std::find(a->values.begin(), a->values.end(), value.get<std::string>()) != a->values.end());
    if (!fits && a->type != AttributeType::Select && a->type != AttributeType::Radio && !(a->type == AttributeType::Number && value.is_number())) {
        a->type = AttributeType::Text;  // mixed kinds of value: only text holds them all
        a->default_value = "";
    } else if (!fits && value.is_string()) {
        a->values.push_back(value.get<std::string>());
    }
    if (a->type == AttributeType::Number && value.is_number()) {
        a->min = std::min(a->min, value.get<double>());
        a->max = std::max(a->max, value.get<double>());
        if (!attribute_value_fits(*a, a->default_value)) a->default_value = a->min;
    }
    return a->id;
}

void LabelMap::define_attribute(const std::string& label_id, AttributeSpec spec) {
    LabelSpec* label = made_spec(label_id);
    if (!label) return;
    for (const AttributeSpec& a : label->attributes)
        if (a.name == spec.name) return;
    spec.id = sanitized_id(spec.name);
    label->attributes.push_back(std::move(spec));
}

std::vector<LabelSpec> LabelMap::labels() const {
    if (!given_) return made_;
    std::vector<LabelSpec> all = given_->labels;
    all.insert(all.end(), made_.begin(), made_.end());
    return all;
}

const LabelSpec* LabelMap::spec(const std::string& label_id) const {
    if (given_)
        if (const LabelSpec* l = given_->find_label(label_id)) return l;
    return made_spec(label_id);
}

std::string label_name(const Task& task, const std::string& label_id) {
    const LabelSpec* l = task.find_label(label_id);
    return l && !l->name.empty() ? l->name : label_id;
}

const AttributeSpec* attribute_spec(const Task& task, const std::string& label_id, const std::string& attribute_id) {
    const LabelSpec* l = task.find_label(label_id);
    if (!l) return nullptr;
    for (const AttributeSpec& a : l->attributes)
        if (a.id == attribute_id) return &a;
    return nullptr;
}

std::string attribute_name(const Task& task, const std::string& label_id, const std::string& attribute_id) {
    const AttributeSpec* a = attribute_spec(task, label_id, attribute_id);
    return a && !a->name.empty() ? a->name : attribute_id;
}

std::string media_file_name(const Media& m) {
    if (!m.name.empty()) return m.name;
    return std::string(base_name(m.url));
}

std::vector<FrameImage> frame_images(const Task& task) {
    std::vector<FrameImage> out;
    for (size_t i = 0; i < task.media.size(); ++i) {
        const Media& m = task.media[i];
        std::string name = media_file_name(m);
        long long frames = m.type == MediaType::Image ? 1 : m.frames;
        for (long long f = 0; f < frames; ++f)
            out.push_back({m.type == MediaType::Image ? name : name + "#" + std::to_string(f), m.width, m.height, i, f});
    }
    return out;
}

ImageFrames::ImageFrames(const Task* given) : given_(given) {
    if (!given_) return;
    given_frames_ = frame_images(*given_);
    // Exact names first, then base names, then stems (YOLO's "img1.txt" names "img1.jpg").
    for (size_t f = 0; f < given_frames_.size(); ++f) by_name_.emplace(given_frames_[f].name, (long long)f);
    for (size_t f = 0; f < given_frames_.size(); ++f) by_name_.emplace(std::string(base_name(given_frames_[f].name)), (long long)f);
    for (size_t f = 0; f < given_frames_.size(); ++f) {
        const Media& m = given_->media[given_frames_[f].media_index];
        if (!m.url.empty()) by_name_.emplace(m.url, (long long)f), by_name_.emplace(std::string(base_name(m.url)), (long long)f);
    }
    for (size_t f = 0; f < given_frames_.size(); ++f) by_name_.emplace("\x01stem:" + std::string(stem(given_frames_[f].name)), (long long)f);
}

std::optional<long long> ImageFrames::frame_of(const std::string& name, int width, int height, bool by_stem) {
    if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
    if (given_) {
        if (auto it = by_name_.find(std::string(base_name(name))); it != by_name_.end()) return it->second;
        if (auto it = by_name_.find("\x01stem:" + std::string(stem(name))); it != by_name_.end()) return it->second;
        return std::nullopt;
    }
    if (by_stem)
        if (auto it = by_name_.find("\x01stem:" + std::string(stem(name))); it != by_name_.end()) return it->second;
    Media m;
    m.id = media_ids_.make(stem(name));
    m.type = MediaType::Image;
    m.url = name;
    m.name = name;
    m.width = width > 0 && width <= 1000000 ? width : 0;
    m.height = height > 0 && height <= 1000000 ? height : 0;
    long long frame = (long long)made_.size();
    made_.push_back(std::move(m));
    by_name_.emplace(name, frame);
    by_name_.emplace("\x01stem:" + std::string(stem(name)), frame);
    return frame;
}

std::pair<int, int> ImageFrames::size_of(long long frame) const {
    if (frame < 0) return {0, 0};
    if (given_) {
        if ((size_t)frame >= given_frames_.size()) return {0, 0};
        return {given_frames_[frame].width, given_frames_[frame].height};
    }
    if ((size_t)frame >= made_.size()) return {0, 0};
    return {made_[frame].width, made_[frame].height};
}

Task made_task(const Task* given, ImageFrames& images, const LabelMap& labels, const std::string& id) {
    if (given) {
        Task t = *given;
        t.labels = labels.labels();
        return t;
    }
    Task t;
    t.id = id;
    t.name = id;
    t.media = images.take_media();
    t.labels = labels.labels();
    return t;
}

void Notes::add(const std::string& message, size_t count) {
    for (auto& item : items_)
        if (item.first == message) { item.second += count; return; }
    items_.emplace_back(message, count);
}

std::vector<std::string> Notes::list() const {
    std::vector<std::string> out;
    for (const auto& item : items_) out.push_back(std::to_string(item.second) + " " + item.first);
    return out;
}

std::string attribute_text(const Json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
    if (value.is_number_integer()) return std::to_string(value.get<long long>());
    if (value.is_number_unsigned()) return std::to_string(value.get<unsigned long long>());
    if (value.is_number()) return number_text(value.get<double>());
    return "";
}

Json attribute_from_text(const std::string& text, const AttributeSpec* spec) {
    if (!spec) return text;
    if (spec->type == AttributeType::Checkbox) {
        std::string t = lower(text);
        if (t == "true" || t == "1") return true;
        if (t == "false" || t == "0" || t.empty()) return false;
        return text;
    }
    if (spec->type == AttributeType::Number) {
        if (auto i = parse_integer(text)) return *i;
        if (auto d = parse_double(text)) return *d;
        return text;
    }
    return text;
}

double normalized_degrees(double d) {
    if (!std::isfinite(d)) return 0;
    d = std::fmod(d, 360.0);
    if (d < 0) d += 360.0;
    if (d >= 360.0) d -= 360.0;
    return d;
}

std::vector<double> rectangle_corners(const std::vector<double>& box, double rotation_degrees) {
    double cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
    double corners[8] = {box[0], box[1], box[2], box[1], box[2], box[3], box[0], box[3]};
    std::vector<double> out(8);
    if (rotation_degrees == 0) { std::copy(corners, corners + 8, out.begin()); return out; }
    double a = rotation_degrees * kPi / 180.0, c = std::cos(a), s = std::sin(a);
    for (int i = 0; i < 4; ++i) {
        double dx = corners[2 * i] - cx, dy = corners[2 * i + 1] - cy;
        out[2 * i] = cx + c * dx - s * dy;
        out[2 * i + 1] = cy + s * dx + c * dy;
    }
    return out;
}

std::vector<double> ellipse_polygon(const std::vector<double>& box, double rotation_degrees, int n) {
    double cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2, rx = (box[2] - box[0]) / 2, ry = (box[3] - box[1]) / 2;
    double a = rotation_degrees * kPi / 180.0, c = std::cos(a), s = std::sin(a);
    std::vector<double> out;
    for (int i = 0; i < n; ++i) {
        double t = 2 * kPi * i / n, dx = rx * std::cos(t), dy = ry * std::sin(t);
        out.push_back(cx + c * dx - s * dy);
        out.push_back(cy + s * dx + c * dy);
    }
    return out;
}

FrameShapes shapes_per_frame(const Document& doc, const Task& task, long long frames, size_t& past_task) {
    FrameShapes out;
    out.frames.resize((size_t)std::max(0LL, frames));
    past_task = 0;
    for (const Object& o : doc.objects) {
        if (o.frame >= 0 && o.frame < frames) out.frames[(size_t)o.frame].push_back(std::cref(o));
        else ++past_task;
    }
    InterpolationCache cache;
    for (const Track& t : doc.tracks) {
        if (t.type == ShapeType::Tag) continue;
        // Keyframe by keyframe: the span after an outside one is skipped whole, so a track that is
        // away for a million frames costs nothing there.
        for (size_t i = 0; i < t.keyframes.size(); ++i) {
            if (t.keyframes[i].outside) continue;
            // A track lives within one medium: a keyframe's span ends with its medium.
            MediumSpan medium = task.medium_of(t.keyframes[i].frame);
            long long until = std::min(frames, medium.end);
            if (i + 1 < t.keyframes.size()) until = std::min(until, t.keyframes[i + 1].frame);
            for (long long f = std::max(0LL, t.keyframes[i].frame); f < until; ++f) {
                std::optional<TrackState> s = track_shape_at(t, f, {}, &cache, medium);
                if (!s) continue;
                out.made.push_back(track_object_at(t, f, std::move(*s)));
                out.frames[(size_t)f].push_back(std::cref(out.made.back()));
            }
        }
    }
    return out;
}

void adopt_added_labels(Conversion& out, const LabelMap& labels) {
    for (const LabelSpec& l : labels.made()) out.added_labels.push_back(l.id);
    if (!out.added_labels.empty()) settle_made_attributes(out.document, out.task, &out.added_labels);
}

void settle_made_attributes(Document& doc, Task& task, const std::vector<std::string>* made) {
    auto spec_of = [](LabelSpec* label, const std::string& id) -> AttributeSpec* {
        if (!label) return nullptr;
        auto spec = std::find_if(label->attributes.begin(), label->attributes.end(), [&](const AttributeSpec& s) { return s.id == id; });
        return spec == label->attributes.end() ? nullptr : &*spec;
    };
    // A value typed before a later one widened its attribute to text, or a new choice.
    auto settle = [&](LabelSpec* label, std::vector<Attribute>& attributes) {
        for (Attribute& a : attributes) {
            AttributeSpec* spec = spec_of(label, a.id);
            if (!spec || attribute_value_fits(*spec, a.value)) continue;
            std::string text = a.value.is_string() ? a.value.get<std::string>() : a.value.dump();
            if (spec->type == AttributeType::Text) a.value = text;
            if (spec->type == AttributeType::Select || spec->type == AttributeType::Radio) {
                a.value = text;
                if (std::find(spec->values.begin(), spec->values.end(), text) == spec->values.end()) spec->values.push_back(text);
            }
        }
    };
    auto label_of = [&](const std::string& id) -> LabelSpec* {
        if (made && std::find(made->begin(), made->end(), id) == made->end()) return nullptr;
        auto l = std::find_if(task.labels.begin(), task.labels.end(), [&](const LabelSpec& x) { return x.id == id; });
        return l == task.labels.end() ? nullptr : &*l;
    };
    for (Object& o : doc.objects) settle(label_of(o.label), o.attributes);
    for (Track& t : doc.tracks) {
        LabelSpec* label = label_of(t.label);
        if (label && !t.keyframes.empty())
            for (auto a = t.attributes.begin(); a != t.attributes.end();) {
                const AttributeSpec* spec = spec_of(label, a->id);
                if (!spec || !spec->mutable_) {
                    ++a;
                    continue;
                }
                std::vector<Attribute>& first = t.keyframes.front().attributes;
                if (std::none_of(first.begin(), first.end(), [&](const Attribute& k) { return k.id == a->id; })) first.push_back(*a);
                a = t.attributes.erase(a);
            }
        settle(label, t.attributes);
        for (Keyframe& k : t.keyframes) settle(label, k.attributes);
    }
}

Conversion ImportState::finish(const std::string& format_id) {
    std::stable_sort(doc_.objects.begin(), doc_.objects.end(), [](const Object& a, const Object& b) { return a.frame < b.frame; });
    Conversion out;
    out.document = std::move(doc_);
    out.task = made_task(options_.task, images_, labels_, format_id);
    if (!options_.task) settle_made_attributes(out.document, out.task);
    else adopt_added_labels(out, labels_);
    out.notes = notes_.list();
    return out;
}

std::vector<const FileEntry*> files_ending_with(const FileSet& files, std::string_view extension) {
    std::vector<const FileEntry*> found;
    for (const FileEntry& f : files) {
        const std::string name = lower(f.path);
        if (name.size() >= extension.size() && name.compare(name.size() - extension.size(), extension.size(), extension) == 0)
            found.push_back(&f);
    }
    if (found.empty() && !files.empty()) found.push_back(&files.front());
    std::sort(found.begin(), found.end(), [](const FileEntry* a, const FileEntry* b) { return a->path < b->path; });
    return found;
}

std::optional<Error> JsonFilesImport::read_json_files(const FileSet& files) {
    const std::vector<const FileEntry*> jsons = files_ending_with(files, ".json");
    for (size_t i = 0; i < jsons.size(); ++i) {
        if (options_.progress && !options_.progress(double(i) / double(jsons.size()))) return cancelled_error();
        const FileEntry& f = *jsons[i];
        file_ = f.path;
        auto json = parse_file_json(f);
        if (!json) return json.first_error();
        if (!read_json(json.value(), f)) return error_;
    }
    return std::nullopt;
}

bool JsonFilesImport::fail(const std::string& code, const std::string& pointer, const std::string& message) {
    error_ = Error{code, file_ + "#" + pointer, file_ + "#" + pointer + ": " + message};
    return false;
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    size_t b = 0;
    while (b <= text.size()) {
        size_t nl = text.find('\n', b);
        if (nl == std::string_view::npos) nl = text.size();
        out.push_back(text.substr(b, nl - b));
        b = nl + 1;
    }
    return out;
}

}  // namespace pm::formats
