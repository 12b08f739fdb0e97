// MOT Challenge text (docs/FORMATS.md, "MOT"): one line per box and frame,
// `frame,id,x,y,w,h,conf,class,visibility` (frames 1-based), in `gt/gt.txt` (conf: 1 considered,
// 0 ignored) or a detection / tracker output (conf: a score). Identities become box tracks (every
// line a keyframe, a gap an outside keyframe), lines of id -1 single boxes. `seqinfo.ini` gives the
// sequence's name, length, size and frame rate; class names come from labels.txt (line N names
// class N), else the task's labels (class N is its N-th), else the number.
#include "polymark/formats/format_common.hpp"
#include "polymark/formats/format_readers.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace pm::formats {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

bool is_names_file(const std::string& base) { return base == "labels.txt" || base == "classes.txt" || base == "obj.names"; }

// The values of seqinfo.ini's [Sequence] section that we use.
struct SeqInfo {
    std::string name;
    long long length = 0;
    int width = 0, height = 0;
    double fps = 0;
};

std::optional<std::string> read_seqinfo(std::string_view text, SeqInfo& out) {
    std::vector<std::string_view> lines = lines_of(text);
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string_view line = trim(lines[i]);
        if (line.empty() || line[0] == ';' || line[0] == '#' || line[0] == '[') continue;
        size_t eq = line.find('=');
        if (eq == std::string_view::npos) return std::to_string(i + 1) + ":1: expected \"key=value\"";
        std::string key = lower(trim(line.substr(0, eq)));
        std::string_view value = trim(line.substr(eq + 1));
        auto integer = [&](long long most) -> std::optional<long long> {
            auto v = parse_integer(value);
            if (!v || *v < 0 || *v > most) return std::nullopt;
            return v;
        };
        std::string where = std::to_string(i + 1) + ":" + std::to_string(eq + 2) + ": ";
        if (key == "name") out.name = std::string(value);
        else if (key == "seqlength") {
            auto v = integer(100000000);
            if (!v) return where + "seqLength must be an integer 0 to 100000000";
            out.length = *v;
        } else if (key == "imwidth" || key == "imheight") {
            auto v = integer(1000000);
            if (!v) return where + std::string(key == "imwidth" ? "imWidth" : "imHeight") + " must be an integer 0 to 1000000";
            (key == "imwidth" ? out.width : out.height) = (int)*v;
        } else if (key == "framerate") {
            auto v = parse_double(value);
            if (!v || *v < 0 || *v > 1000) return where + "frameRate must be a number 0 to 1000";
            out.fps = *v;
        }
    }
    return std::nullopt;
}

// One line of the file, as read.
struct Row {
    long long frame = 0;  // 0-based
    long long id = -1;
    double box[4] = {0, 0, 0, 0};
    std::optional<double> conf;
    long long cls = -1;
    std::optional<double> visibility;
    size_t line = 0;
};

class MotReader : ImportState {
public:
    MotReader(const FileSet& files, const ImportOptions& options) : ImportState(options), files_(files) {}

    Expected<Conversion> read() {
        const FileEntry* data = nullptr;
        std::vector<const FileEntry*> candidates;
        for (const FileEntry& f : files_) {
            std::string base = lower(base_name(f.path));
            size_t bad_at = 0;
            if ((base == "seqinfo.ini" || is_names_file(base)) && !valid_utf8(f.bytes, bad_at))
                return Error{"bad_mot", f.path, f.path + ": not UTF-8 text (byte " + std::to_string(bad_at) + ")"};
            if (base == "seqinfo.ini") {
                if (auto problem = read_seqinfo(f.bytes, seq_)) return Error{"bad_mot", f.path + ":" + problem->substr(0, problem->find(": ")), f.path + ":" + *problem};
            } else if (is_names_file(base)) {
                long long n = 1;
                for (std::string_view line : lines_of(f.bytes)) {
                    if (!trim(line).empty()) names_.emplace(n, std::string(trim(line)));
                    ++n;
                }
            } else if (base == "gt.txt") {
                data = &f;
            } else if (base.size() > 4 && base.compare(base.size() - 4, 4, ".txt") == 0) {
                candidates.push_back(&f);
            }
        }
        if (!data && !candidates.empty()) {
            std::sort(candidates.begin(), candidates.end(), [](const FileEntry* a, const FileEntry* b) { return a->path < b->path; });
            if (candidates.size() > 1) notes_.add("MOT files besides the first (" + candidates.front()->path + ") left out: one sequence is read at a time", candidates.size() - 1);
            data = candidates.front();
        }
        if (!data && files_.size() == 1) data = &files_.front();
        if (!data) return Error{"no_input", "", "no MOT file (gt.txt or a .txt of lines frame,id,x,y,w,h,...) given"};
        file_ = data->path;
        ground_truth_ = lower(base_name(data->path)) == "gt.txt";
        for (const auto& [cls, name] : names_) labels_.declare(name);  // the task's labels in class order
        std::vector<Row> rows;
        if (!read_rows(data->bytes, rows)) return error_;
        if (!make_frames(rows)) return error_;
        if (!make_shapes(rows)) return error_;
        Conversion out = finish("mot");
        if (!options_.task) out.task.media = media_;
        return out;
    }

private:
    bool fail(size_t line, size_t column, const std::string& code, const std::string& message) {
        std::string where = file_ + ":" + std::to_string(line) + ":" + std::to_string(column);
        error_ = Error{code, where, where + ": " + message};
        return false;
    }

    bool read_rows(std::string_view text, std::vector<Row>& rows) {
        std::vector<std::string_view> lines = lines_of(text);
        ProgressTicker progress(options_.progress, 0, 0.8);
        for (size_t li = 0; li < lines.size(); ++li) {
            if (!progress.step(li, lines.size())) { error_ = cancelled_error(); return false; }
            std::string_view line = lines[li];
            if (trim(line).empty()) continue;
            std::vector<double> v;
            std::vector<size_t> col;
            size_t b = 0;
            while (true) {
                size_t e = line.find(',', b);
                if (e == std::string_view::npos) e = line.size();
                std::string_view token = trim(line.substr(b, e - b));
                auto d = parse_double(token);
                if (!d) return fail(li + 1, b + 1, "bad_mot", "expected a number, found \"" + std::string(token.substr(0, 20)) + "\"");
                v.push_back(*d);
                col.push_back(b + 1);
                if (e == line.size()) break;
                b = e + 1;
            }
            if (v.size() < 6 || v.size() > 10) return fail(li + 1, 1, "bad_mot", "expected 6 to 10 comma-separated numbers (frame,id,x,y,w,h,conf,class,visibility[,z]), found " + std::to_string(v.size()));
            Row r;
            r.line = li + 1;
            if (v[0] != std::floor(v[0]) || v[0] < 1 || v[0] > 100000000) return fail(li + 1, col[0], "bad_mot", "expected a frame number 1 to 100000000 (MOT frames are 1-based)");
            r.frame = (long long)v[0] - 1;
            if (v[1] != std::floor(v[1]) || v[1] < -1 || v[1] > 9007199254740991.0) return fail(li + 1, col[1], "bad_mot", "expected an identity: an integer >= 0, or -1 for none");
            r.id = (long long)v[1];
            if (v[4] < 0 || v[5] < 0) return fail(li + 1, col[v[4] < 0 ? 4 : 5], "bad_box", "a box of negative width or height");
            for (int k = 0; k < 4; ++k) r.box[k] = v[2 + (size_t)k];
            if (v.size() > 6 && v[6] != -1) r.conf = v[6];
            if (v.size() > 7) {
                if (v[7] != std::floor(v[7]) || v[7] < -1 || v[7] > 1000000) return fail(li + 1, col[7], "bad_mot", "expected a class: an integer >= 1, or -1 for none");
                r.cls = (long long)v[7];
            }
            if (v.size() > 8 && v[8] != -1) {
                if (v[8] < 0 || v[8] > 1) return fail(li + 1, col[8], "bad_mot", "expected a visibility from 0 to 1, or -1 for none");
                r.visibility = v[8];
            }
            if (v.size() == 10 && v[9] != -1) ++world_;
            rows.push_back(r);
        }
        if (world_) notes_.add("MOT world coordinates (the 10th column) left out", world_);
        return true;
    }

    // The frames of the sequence: the task's, else one video medium of seqinfo.ini's length (or
    // up to the last frame named).
    bool make_frames(const std::vector<Row>& rows) {
        long long last = 0;
        for (const Row& r : rows) last = std::max(last, r.frame + 1);
        if (options_.task) {
            frames_ = options_.task->frame_count();
            for (const Row& r : rows)
                if (r.frame >= frames_) return fail(r.line, 1, "unknown_frame", "frame " + std::to_string(r.frame + 1) + " is past the task's " + std::to_string(frames_) + " frames");
            return true;
        }
        frames_ = std::max(seq_.length, last);
        if (seq_.length && last > seq_.length) notes_.add("lines past seqinfo.ini's seqLength: the sequence made longer", 1);
        Media m;
        m.type = MediaType::Video;
        m.name = seq_.name.empty() ? std::string(stem(base_name(file_))) : seq_.name;
        m.id = sanitized_id(m.name);
        m.url = m.name;
        m.width = seq_.width;
        m.height = seq_.height;
        m.frames = std::max(1LL, frames_);
        m.fps = seq_.fps;
        media_.push_back(m);
        return true;
    }

    std::optional<std::string> label_of(const Row& r) {
        long long cls = r.cls > 0 ? r.cls : 1;  // no class (-1, 0 or absent): class 1
        std::string name;
        if (auto it = names_.find(cls); it != names_.end()) name = it->second;
        else if (options_.task && names_.empty() && cls <= (long long)options_.task->labels.size()) name = options_.task->labels[(size_t)cls - 1].id;
        else name = std::to_string(cls);
        auto label = labels_.resolve(name);
        if (!label) fail(r.line, 1, "unknown_label", "class " + std::to_string(cls) + " (\"" + name + "\") is not a label of the task");
        return label;
    }

    template <typename Shape>
    void fill(Shape& s, const Row& r) {
        s.points = {r.box[0], r.box[1], r.box[0] + r.box[2], r.box[1] + r.box[3]};
        if (r.visibility) {
            s.occluded = *r.visibility < 0.5;
            s.meta = Json{{"visibility", *r.visibility}};
        }
        if (r.conf) {
            if (!ground_truth_) set_prediction_score(s, *r.conf, notes_);
            else if (*r.conf == 0) {
                if (!s.meta.is_object()) s.meta = Json::object();
                s.meta["considered"] = false;
            }
        }
    }

    bool make_shapes(std::vector<Row>& rows) {
        std::map<long long, std::vector<const Row*>> tracks;
        for (const Row& r : rows) {
            if (r.id >= 0) { tracks[r.id].push_back(&r); continue; }
            auto label = label_of(r);
            if (!label) return false;
            Object o;
            o.type = ShapeType::Rectangle;
            o.frame = r.frame;
            o.label = *label;
            o.source = Source::Imported;
            fill(o, r);
            o.id = ids_.make("d" + std::to_string(r.line));
            doc_.objects.push_back(std::move(o));
        }
        for (auto& [id, list] : tracks) {
            std::stable_sort(list.begin(), list.end(), [](const Row* a, const Row* b) { return a->frame < b->frame; });
            Track t;
            t.id = ids_.make("t" + std::to_string(id));
            t.type = ShapeType::Rectangle;
            t.source = Source::Imported;
            auto label = label_of(*list.front());
            if (!label) return false;
            t.label = *label;
            for (size_t i = 0; i < list.size(); ++i) {
                const Row& r = *list[i];
                if (i > 0 && r.frame == list[i - 1]->frame) return fail(r.line, 1, "bad_mot", "identity " + std::to_string(id) + " has a second box on frame " + std::to_string(r.frame + 1) + " (line " + std::to_string(list[i - 1]->line) + ")");
                if ((r.cls > 0 ? r.cls : 1) != (list.front()->cls > 0 ? list.front()->cls : 1))
                    return fail(r.line, 1, "bad_mot", "identity " + std::to_string(id) + " changes class from " + std::to_string(list.front()->cls) + " (line " + std::to_string(list.front()->line) + ") to " + std::to_string(r.cls));
                Keyframe k;
                k.id = t.id + ".k" + std::to_string(r.frame);
                k.frame = r.frame;
                k.source = Source::Imported;
                fill(k, r);
                bool ends = i + 1 == list.size() ? r.frame + 1 < frames_ : list[i + 1]->frame > r.frame + 1;
                t.keyframes.push_back(std::move(k));
                if (ends) {  // no line on the next frame: the box is gone from there
                    Keyframe out;
                    out.id = t.id + ".k" + std::to_string(r.frame + 1);
                    out.frame = r.frame + 1;
                    out.points = t.keyframes.back().points;
                    out.outside = true;
                    out.source = Source::Imported;
                    t.keyframes.push_back(std::move(out));
                }
            }
            for (const Keyframe& k : t.keyframes) {
                ids_.reserve(k.id);
                if (k.source == Source::Model) t.source = Source::Model;  // a tracker's output
            }
            doc_.tracks.push_back(std::move(t));
        }
        return true;
    }

    const FileSet& files_;
    Error error_;
    std::string file_;
    bool ground_truth_ = false;
    SeqInfo seq_;
    std::map<long long, std::string> names_;
    long long frames_ = 0;
    size_t world_ = 0;
    std::vector<Media> media_;
};

}  // namespace

Expected<Conversion> import_mot(const FileSet& files, const ImportOptions& options) {
    if (files.empty()) return Error{"no_input", "", "no MOT file given"};
    return MotReader(files, options).read();
}

Expected<Exported> export_mot(const Document& doc, const Task& task, const ExportOptions& options) {
    Notes notes;
    long long frames = task.frame_count();
    // Class N is the task's N-th label; when every label is named by a number (a file read without
    // class names), that number.
    std::vector<std::string> label_ids;
    bool numbered = !task.labels.empty();
    for (const LabelSpec& l : task.labels) {
        label_ids.push_back(l.id);
        auto n = parse_integer(label_name(task, l.id));
        numbered = numbered && n && *n >= 1 && *n <= 1000000;
    }
    auto class_of = [&](const std::string& label) {
        auto it = std::find(label_ids.begin(), label_ids.end(), label);
        if (numbered && it != label_ids.end()) return *parse_integer(label_name(task, label));
        if (it != label_ids.end()) return (long long)(it - label_ids.begin()) + 1;
        label_ids.push_back(label);
        numbered = false;
        return (long long)label_ids.size();
    };
    // Identities: track "tN" keeps N; other tracks are numbered on from the largest.
    long long next_id = 1;
    for (const Track& t : doc.tracks)
        if (t.id.size() > 1 && t.id[0] == 't')
            if (auto n = parse_integer(std::string_view(t.id).substr(1)); n && *n >= 0) next_id = std::max(next_id, *n + 1);
    struct Line { long long frame, id; std::string text; };
    std::vector<Line> lines;
    auto box_of = [&](ShapeType type, const std::vector<double>& pts, double rotation) {
        std::vector<double> p = type == ShapeType::Rectangle && rotation != 0 ? rectangle_corners(pts, rotation)
                              : type == ShapeType::Ellipse && rotation != 0    ? ellipse_polygon(pts, rotation, 64)
                                                                               : pts;
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        for (size_t k = 0; k + 1 < p.size(); k += 2) { x0 = std::min(x0, p[k]); x1 = std::max(x1, p[k]); y0 = std::min(y0, p[k + 1]); y1 = std::max(y1, p[k + 1]); }
        return std::vector<double>{x0, y0, x1, y1};
    };
    auto line_of = [&](long long frame, long long id, const std::string& label, const std::vector<double>& box, std::optional<double> score,
                       const Json& meta, bool occluded) {
        std::string t = std::to_string(frame + 1) + "," + std::to_string(id);
        for (double v : {box[0], box[1], box[2] - box[0], box[3] - box[1]}) { t += ','; append_number(t, v); }
        t += ',';
        bool considered = !(meta.is_object() && meta.contains("considered") && meta["considered"] == false);
        if (score) append_number(t, *score);
        else t += considered ? "1" : "0";
        t += "," + std::to_string(class_of(label)) + ",";
        double visibility = occluded ? 0 : 1;
        if (meta.is_object())
            if (auto it = meta.find("visibility"); it != meta.end() && it->is_number() && (it->get<double>() < 0.5) == occluded) visibility = it->get<double>();
        append_number(t, visibility);
        lines.push_back({frame, id, std::move(t)});
    };
    size_t not_boxes = 0, past = 0, tags = 0;
    for (const Object& o : doc.objects) {
        if (o.type == ShapeType::Tag) { ++tags; continue; }
        if (o.frame >= frames) { ++past; continue; }
        if (o.type != ShapeType::Rectangle || o.rotation != 0) ++not_boxes;
        line_of(o.frame, -1, o.label, box_of(o.type, o.points, o.rotation), prediction_score(o), o.meta, o.occluded);
    }
    InterpolationCache cache;
    ProgressTicker progress(options.progress, 0, 1);
    for (size_t ti = 0; ti < doc.tracks.size(); ++ti) {
        const Track& t = doc.tracks[ti];
        if (!progress.at(double(ti) / double(doc.tracks.size()))) return cancelled_error();
        if (t.keyframes.empty()) continue;
        auto n = t.id.size() > 1 && t.id[0] == 't' ? parse_integer(std::string_view(t.id).substr(1)) : std::nullopt;
        long long id = n && *n >= 0 ? *n : next_id++;
        if (t.type != ShapeType::Rectangle) ++not_boxes;
        const Keyframe& last = t.keyframes.back();
        long long end = last.outside ? std::min(frames, last.frame) : frames;
        // A track lives within one medium: nothing of it past its medium's end.
        MediumSpan medium = task.medium_of(t.keyframes.front().frame);
        end = std::min(end, medium.end);
        size_t k = 0;
        for (long long f = std::max(0LL, t.keyframes.front().frame); f < end; ++f) {
            std::optional<TrackState> s = track_shape_at(t, f, {}, &cache, medium);
            if (!s) continue;
            while (k + 1 < t.keyframes.size() && t.keyframes[k + 1].frame <= f) ++k;
            const Keyframe* own = t.keyframes[k].frame == f ? &t.keyframes[k] : nullptr;
            if (t.type == ShapeType::Rectangle && s->rotation != 0) ++not_boxes;
            line_of(f, id, t.label, box_of(t.type, s->points, s->rotation), own ? prediction_score(*own) : std::nullopt, own ? own->meta : Json(), s->occluded);
        }
    }
    if (past) notes.add("objects on frames past the task's last frame left out", past);
    if (tags) notes.add("tags left out (MOT has none)", tags);
    if (not_boxes) notes.add("shapes that are not upright boxes written as their bounding boxes", not_boxes);
    std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.frame != b.frame ? a.frame < b.frame : a.id < b.id; });
    std::string gt;
    for (const Line& l : lines) gt += l.text + "\n";
    std::string names;
    if (!numbered)
        for (const std::string& l : label_ids) names += label_name(task, l) + "\n";
    const Media* video = nullptr;
    for (const Media& m : task.media)
        if (m.type == MediaType::Video) { video = &m; break; }
    const Media* first = video ? video : task.media.empty() ? nullptr : &task.media.front();
    std::string seq = "[Sequence]\nname=" + (first ? std::string(stem(media_file_name(*first))) : task.id) + "\nimDir=img1\n";
    if (first && first->fps > 0) { seq += "frameRate="; append_number(seq, first->fps); seq += "\n"; }
    seq += "seqLength=" + std::to_string(frames) + "\n";
    if (first && first->width > 0) seq += "imWidth=" + std::to_string(first->width) + "\nimHeight=" + std::to_string(first->height) + "\n";
    seq += "imExt=.jpg\n";
    Exported e;
    e.files = {{"seqinfo.ini", std::move(seq)}, {"gt/gt.txt", std::move(gt)}};
    if (!names.empty()) e.files.push_back({"gt/labels.txt", std::move(names)});
    e.notes = notes.list();
    return e;
}

}  // namespace pm::formats
