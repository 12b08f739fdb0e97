// polymark: the core on the command line. Converts between annotation formats, validates
// documents and tasks, prints a document's shapes per frame (what getFrameState returns) and
// counts. docs/FORMATS.md has the formats; `polymark help` the usage.
//
// Exit status: 0 done (for validate: every input valid), 1 the input is invalid (the messages say
// where), 2 usage error, 3 a file cannot be read or written. Messages go to stderr, one a line,
// "polymark: <file and place>: <what was expected>"; results go to stdout or the named file.
// A path of "-" is stdin or stdout.
#include "polymark/document.hpp"
#include "polymark/formats/formats.hpp"
#include "polymark/interpolate.hpp"
#include "polymark/prelabel.hpp"
#include "polymark/quality.hpp"
#include "polymark/quality_wire.hpp"
#include "polymark/throughput.hpp"
#include "polymark/task.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr int kOk = 0, kInvalid = 1, kUsage = 2, kIo = 3;

const char* kUsageText =
    "usage:\n"
    "  polymark convert [--from FORMAT] --to FORMAT [--task TASK.json] [--task-out TASK.json]\n"
    "                   [--layout images|video] [--rle-tolerance PX] [--yolo-task auto|obb|segment]\n"
    "                   [--labels NAMES.txt] IN OUT\n"
    "  polymark validate [--task TASK.json] FILE...\n"
    "  polymark frames [--from FORMAT] [--task TASK.json] [--labels NAMES.txt] [--first N] [--last N] IN\n"
    "  polymark stats [--from FORMAT] [--task TASK.json] [--labels NAMES.txt] IN\n"
    "  polymark quality golden --gt GT.json --job JOB.json [--threshold T] [--frames LIST] [--task TASK.json]\n"
    "                   [--sigma S] [--band PX] [-o REPORT.json]\n"
    "  polymark quality consensus [--quorum Q] [--threshold T] [--frames LIST] [--task TASK.json]\n"
    "                   [--merged OUT.json] [-o REPORT.json] A.json B.json [C.json...]\n"
    "  polymark quality throughput --history HISTORY.json [--decisions REVIEW.json] [--doc DOC.json] [-o REPORT.json]\n"
    "  polymark quality prelabels --history HISTORY.json --document DOC.json [--band-width W] [-o REPORT.json]\n"
    "quality: documents are polymark.annotations files; LIST is frames and ranges, \"0,5,10-20\";\n"
    "T, Q from 0 to 1 (defaults 0.5); docs/QUALITY.md has the measures and the reports.\n"
    "FORMAT: polymark, coco, cvat, yolo, labelme, voc, mot, labelstudio, via (IN's format is detected when\n"
    "--from is not given). --labels: class names, one a line, for MOT (line N names class N) and YOLO\n"
    "(line N names class N-1).\n"
    "IN and OUT are files, directories (formats of several files) or - for stdin / stdout.\n"
    "Exit status: 0 done, 1 invalid input, 2 usage error, 3 a file cannot be read or written.\n";

struct Failure {
    int code;
};

[[noreturn]] void die(int code, const std::string& message) {
    std::fprintf(stderr, "polymark: %s\n", message.c_str());
    throw Failure{code};
}

void report(const pm::Errors& errors) {
    for (const pm::Error& e : errors) std::fprintf(stderr, "polymark: %s [%s]\n", e.message.c_str(), e.code.c_str());
}

std::string read_file(const std::string& path) {
    if (path == "-") {
        std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        return data;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) die(kIo, path + ": cannot be read: " + std::strerror(errno));
    std::string data;
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    in.seekg(0);
    if (size > 0) data.resize((size_t)size);
    in.read(data.data(), size);
    if (!in) die(kIo, path + ": cannot be read");
    return data;
}

// One file: its first bytes (enough to tell the format), the rest read as the importer asks, so
// that a COCO file of any size is imported in little more memory than its annotations take.
pm::FileEntry read_in_pieces(const std::string& path) {
    constexpr size_t kHead = size_t(1) << 20;
    std::shared_ptr<std::istream> in;
    if (path == "-") {
        in = std::shared_ptr<std::istream>(&std::cin, [](std::istream*) {});
    } else {
        auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
        if (!*file) die(kIo, path + ": cannot be read: " + std::strerror(errno));
        in = file;
    }
    pm::FileEntry f;
    f.path = path == "-" ? "stdin" : path;
    std::error_code ec;
    if (path != "-") f.size = (size_t)fs::file_size(path, ec);
    f.bytes.resize(kHead);
    in->read(f.bytes.data(), (std::streamsize)kHead);
    f.bytes.resize((size_t)in->gcount());
    if (in->bad()) die(kIo, f.path + ": cannot be read");
    if (f.bytes.size() < kHead) return f;
    f.more = [in, name = f.path](char* out, size_t capacity) -> size_t {
        in->read(out, (std::streamsize)capacity);
        if (in->bad()) die(kIo, name + ": cannot be read");
        return (size_t)in->gcount();
    };
    return f;
}

// A file, or every file under a directory (paths relative to it, '/'-separated).
pm::FileSet read_input(const std::string& path) {
    pm::FileSet files;
    std::error_code ec;
    if (path != "-" && fs::is_directory(path, ec)) {
        std::vector<fs::path> found;
        for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
            if (it->is_regular_file()) found.push_back(it->path());
        if (ec) die(kIo, path + ": cannot be listed: " + ec.message());
        std::sort(found.begin(), found.end());
        for (const fs::path& p : found) files.push_back({fs::relative(p, path).generic_string(), read_file(p.string())});
        if (files.empty()) die(kIo, path + ": the directory holds no files");
        return files;
    }
    files.push_back(read_in_pieces(path));
    return files;
}

void write_file(const std::string& path, const std::string& bytes) {
    if (path == "-") {
        std::fwrite(bytes.data(), 1, bytes.size(), stdout);
        if (std::fflush(stdout) != 0) die(kIo, "stdout cannot be written");
        return;
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) die(kIo, path + ": cannot be written: " + std::strerror(errno));
    out.write(bytes.data(), (std::streamsize)bytes.size());
    out.close();
    if (!out) die(kIo, path + ": cannot be written");
}

// One file to OUT itself; several into the directory OUT (made if needed).
void write_output(const std::string& out, const pm::FileSet& files) {
    std::error_code ec;
    bool to_directory = files.size() > 1 || (out != "-" && (fs::is_directory(out, ec) || out.back() == '/'));
    if (!to_directory) {
        static const std::string nothing;
        write_file(out, files.empty() ? nothing : files.front().bytes);  // both lvalues: no copy
        return;
    }
    if (out == "-") die(kUsage, "this format writes " + std::to_string(files.size()) + " files: give a directory, not -");
    for (const pm::FileEntry& f : files) {
        fs::path p = fs::path(out) / f.path;
        fs::create_directories(p.parent_path(), ec);
        if (ec) die(kIo, p.parent_path().string() + ": cannot be made: " + ec.message());
        write_file(p.string(), f.bytes);
    }
}

struct Args {
    std::map<std::string, std::string> options;
    std::vector<std::string> positional;
    std::string get(const std::string& key, const std::string& fallback = "") const {
        auto it = options.find(key);
        return it == options.end() ? fallback : it->second;
    }
};

Args parse_args(int argc, char** argv, int from, const std::vector<std::string>& known) {
    Args a;
    for (int i = from; i < argc; ++i) {
        std::string s = argv[i];
        if (s.size() > 2 && s.compare(0, 2, "--") == 0) {
            std::string key = s.substr(2);
            if (std::find(known.begin(), known.end(), key) == known.end()) die(kUsage, "unknown option " + s + "\n" + kUsageText);
            if (i + 1 >= argc) die(kUsage, "option " + s + " needs a value");
            a.options[key] = argv[++i];
        } else {
            a.positional.push_back(s);
        }
    }
    return a;
}

std::optional<pm::Task> load_task(const Args& a) {
    std::string path = a.get("task");
    if (path.empty()) return std::nullopt;
    auto task = pm::parse_task(read_file(path));
    if (!task) {
        for (const pm::Error& e : task.errors()) std::fprintf(stderr, "polymark: %s#%s: %s [%s]\n", path.c_str(), e.path.c_str(), e.message.c_str(), e.code.c_str());
        throw Failure{kInvalid};
    }
    return task.value();
}

pm::AnnotationFormat format_option(const Args& a, const char* key, const pm::FileSet* detect_from) {
    std::string name = a.get(key);
    if (name.empty()) {
        if (!detect_from) die(kUsage, std::string("--") + key + " is needed");
        auto f = pm::detect_annotation_format(*detect_from);
        if (!f) die(kInvalid, (detect_from->empty() ? std::string("input") : detect_from->front().path) + ": the format cannot be told from the file: give --from");
        return *f;
    }
    auto f = pm::annotation_format_from_string(name);
    if (!f) die(kUsage, "unknown format \"" + name + "\"\n" + kUsageText);
    return *f;
}

pm::Conversion import_input(const Args& a, const std::string& in, const pm::Task* task) {
    pm::FileSet files = read_input(in);
    pm::AnnotationFormat from = format_option(a, "from", &files);
    if (!a.get("labels").empty()) {
        if (from != pm::AnnotationFormat::Mot && from != pm::AnnotationFormat::Yolo) die(kUsage, "--labels is for MOT and YOLO input");
        files.push_back({from == pm::AnnotationFormat::Yolo ? "classes.txt" : "labels.txt", read_file(a.get("labels"))});
    }
    pm::ImportOptions options;
    options.task = task;
    if (!a.get("rle-tolerance").empty()) {
        char* end = nullptr;
        options.rle_tolerance = std::strtod(a.get("rle-tolerance").c_str(), &end);
        if (!end || *end) die(kUsage, "--rle-tolerance needs a number of pixels");
    }
    options.yolo_task = a.get("yolo-task", "auto");
    auto result = pm::import_annotations(from, files, options);
    if (!result) {
        report(result.errors());
        throw Failure{kInvalid};
    }
    return std::move(result.value());
}

int convert(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, {"from", "to", "task", "task-out", "layout", "rle-tolerance", "yolo-task", "labels"});
    if (a.positional.size() != 2) die(kUsage, std::string("convert takes IN and OUT\n") + kUsageText);
    pm::AnnotationFormat to = format_option(a, "to", nullptr);
    std::optional<pm::Task> task = load_task(a);
    pm::Conversion c = import_input(a, a.positional[0], task ? &*task : nullptr);
    for (const std::string& n : c.notes) std::fprintf(stderr, "polymark: note: %s\n", n.c_str());
    pm::ExportOptions options;
    options.cvat_layout = a.get("layout");
    options.yolo_task = a.get("yolo-task", "auto");
    auto out = pm::export_annotations(to, c.document, c.task, options);
    if (!out) {
        report(out.errors());
        return kInvalid;
    }
    for (const std::string& n : out->notes) std::fprintf(stderr, "polymark: note: %s\n", n.c_str());
    if (!a.get("task-out").empty()) write_file(a.get("task-out"), pm::task_to_json(c.task).dump(2) + "\n");
    write_output(a.positional[1], out->files);
    return kOk;
}

int validate(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, {"task"});
    if (a.positional.empty()) die(kUsage, std::string("validate takes one or more files\n") + kUsageText);
    std::optional<pm::Task> task = load_task(a);
    bool all_valid = true;
    for (const std::string& path : a.positional) {
        std::string text = read_file(path);
        std::string name = path == "-" ? "stdin" : path;
        pm::Errors errors;
        bool is_task = text.find("\"polymark.task\"") != std::string::npos && text.find("\"polymark.annotations\"") == std::string::npos;
        if (is_task) {
            auto t = pm::parse_task(text);
            if (!t) errors = t.errors();
        } else {
            auto d = pm::parse_document(text);
            if (!d) errors = d.errors();
            else if (task) errors = pm::check_document_against_task(d.value(), *task);
        }
        for (const pm::Error& e : errors)
            std::fprintf(stdout, "%s#%s: %s: %s\n", name.c_str(), e.path.c_str(), e.code.c_str(), e.message.c_str());
        if (errors.empty()) std::fprintf(stdout, "%s: valid %s\n", name.c_str(), is_task ? "task" : "document");
        all_valid = all_valid && errors.empty();
    }
    return all_valid ? kOk : kInvalid;
}

long long last_frame_of(const pm::Document& doc, const pm::Task* task) {
    if (task && task->frame_count() > 0) return task->frame_count() - 1;
    long long last = -1;
    for (const pm::Object& o : doc.objects) last = std::max(last, o.frame);
    for (const pm::Track& t : doc.tracks)
        if (!t.keyframes.empty()) last = std::max(last, t.keyframes.back().frame);
    return last;
}

int frames(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, {"from", "task", "labels", "first", "last"});
    if (a.positional.size() != 1) die(kUsage, std::string("frames takes one input\n") + kUsageText);
    std::optional<pm::Task> task = load_task(a);
    pm::Conversion c = import_input(a, a.positional[0], task ? &*task : nullptr);
    const pm::Task* frame_task = task ? &*task : (c.task.media.empty() ? nullptr : &c.task);
    long long first = 0, last = last_frame_of(c.document, frame_task);
    try {
        if (!a.get("first").empty()) first = std::stoll(a.get("first"));
        if (!a.get("last").empty()) last = std::stoll(a.get("last"));
    } catch (...) {
        die(kUsage, "--first and --last take frame numbers");
    }
    pm::InterpolationCache cache;
    std::string out;
    for (long long f = std::max(0LL, first); f <= last; ++f) {
        pm::Json shapes = pm::Json::array();
        // A track lives within one medium: its shapes stop at the medium's end.
        pm::MediumSpan medium = frame_task ? frame_task->medium_of(f) : pm::MediumSpan{};
        for (pm::FrameShape& s : pm::shapes_on_frame(c.document, f, {}, &cache, medium)) {
            pm::Json j = pm::object_to_json(s.object);
            if (s.from_track) {
                j["track"] = true;
                j["keyframe"] = s.keyframe;
            }
            shapes.push_back(std::move(j));
        }
        out += pm::Json{{"frame", f}, {"shapes", std::move(shapes)}}.dump(-1, ' ', false, pm::Json::error_handler_t::replace);
        out += '\n';
        if (out.size() > (1 << 20)) { write_file("-", out); out.clear(); }
    }
    write_file("-", out);
    return kOk;
}

int stats(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, {"from", "task", "labels"});
    if (a.positional.size() != 1) die(kUsage, std::string("stats takes one input\n") + kUsageText);
    std::optional<pm::Task> task = load_task(a);
    pm::Conversion c = import_input(a, a.positional[0], task ? &*task : nullptr);
    const pm::Document& doc = c.document;
    const pm::Task* frame_task = task ? &*task : (c.task.media.empty() ? nullptr : &c.task);
    long long last = last_frame_of(doc, frame_task);
    std::vector<long long> per_frame((size_t)std::max(0LL, last + 1), 0);
    pm::Json per_label = pm::Json::object();
    auto label_entry = [&](const std::string& label) -> pm::Json& {
        if (!per_label.contains(label)) per_label[label] = {{"objects", 0}, {"tracks", 0}, {"keyframes", 0}};
        return per_label[label];
    };
    std::unordered_map<std::string, long long> objects_per_label;  // counted apart: a Json lookup is a linear search
    for (const pm::Object& o : doc.objects) {
        auto [count, first] = objects_per_label.try_emplace(o.label, 0);
        if (first) label_entry(o.label);
        ++count->second;
        if (o.frame <= last) ++per_frame[(size_t)o.frame];
    }
    for (const auto& [label, count] : objects_per_label) per_label[label]["objects"] = count;
    pm::Json per_track = pm::Json::array();
    size_t keyframes = 0;
    for (const pm::Track& t : doc.tracks) {
        pm::Json& l = label_entry(t.label);
        l["tracks"] = l["tracks"].get<long long>() + 1;
        l["keyframes"] = l["keyframes"].get<long long>() + (long long)t.keyframes.size();
        keyframes += t.keyframes.size();
        // Visible frames: from each visible keyframe to the next keyframe (or the end).
        long long visible = 0;
        for (size_t k = 0; k < t.keyframes.size(); ++k) {
            if (t.keyframes[k].outside) continue;
            long long from = t.keyframes[k].frame;
            long long to = k + 1 < t.keyframes.size() ? t.keyframes[k + 1].frame - 1 : last;
            for (long long f = from; f <= to && f <= last; ++f) ++per_frame[(size_t)f];
            visible += std::max(0LL, std::min(to, last) - from + 1);
        }
        per_track.push_back({{"id", t.id}, {"label", t.label}, {"keyframes", t.keyframes.size()},
                             {"first_frame", t.keyframes.empty() ? -1 : t.keyframes.front().frame},
                             {"last_keyframe", t.keyframes.empty() ? -1 : t.keyframes.back().frame}, {"visible_frames", visible}});
    }
    pm::Json frames_json = pm::Json::array();
    for (size_t f = 0; f < per_frame.size(); ++f) frames_json.push_back(per_frame[f]);
    pm::Json out = {{"objects", doc.objects.size()}, {"tracks", doc.tracks.size()}, {"keyframes", keyframes},
                    {"frames", per_frame.size()}, {"per_label", per_label}, {"shapes_per_frame", frames_json}, {"per_track", per_track}};
    write_file("-", out.dump(2, ' ', false, pm::Json::error_handler_t::replace) + "\n");
    return kOk;
}


// [SECTION] quality

double number_option(const Args& a, const char* key, double fallback, double lo, double hi) {
    std::string text = a.get(key);
    if (text.empty()) return fallback;
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (!end || *end || !std::isfinite(v) || v < lo || v > hi)
        die(kUsage, "--" + std::string(key) + " needs a number from " + pm::Json(lo).dump() + " to " + pm::Json(hi).dump() + ", not \"" + text + "\"");
    return v;
}

std::vector<long long> frames_option(const Args& a) {
    std::vector<long long> out;
    std::string text = a.get("frames");
    if (text.empty()) return out;
    std::stringstream ss(text);
    std::string part;
    auto bad = [&] { die(kUsage, "--frames takes frame numbers and ranges, as \"0,5,10-20\", not \"" + text + "\""); };
    auto num = [&](const std::string& s) -> long long {
        if (s.empty() || s.size() > 15 || s.find_first_not_of("0123456789") != std::string::npos) bad();
        return std::stoll(s);
    };
    while (std::getline(ss, part, ',')) {
        size_t dash = part.find('-');
        if (dash == std::string::npos) {
            out.push_back(num(part));
            continue;
        }
        long long from = num(part.substr(0, dash)), to = num(part.substr(dash + 1));
        if (to < from || to - from > 10000000) bad();
        for (long long f = from; f <= to; ++f) out.push_back(f);
    }
    if (out.empty()) bad();
    return out;
}

pm::Document load_document(const std::string& path) {
    auto d = pm::parse_document(read_file(path));
    if (!d) {
        std::string name = path == "-" ? "stdin" : path;
        for (const pm::Error& e : d.errors()) std::fprintf(stderr, "polymark: %s#%s: %s [%s]\n", name.c_str(), e.path.c_str(), e.message.c_str(), e.code.c_str());
        throw Failure{kInvalid};
    }
    return std::move(d.value());
}

pm::Json load_json(const std::string& path) {
    std::string text = read_file(path);
    pm::Json j = pm::Json::parse(text, nullptr, false);
    if (j.is_discarded()) die(kInvalid, path + ": not JSON");
    return j;
}

void write_json(const Args& a, const pm::Json& j) {
    write_file(a.get("out", "-"), j.dump(2, ' ', false, pm::Json::error_handler_t::replace) + "\n");
}

int fail_with(const pm::Errors& errors, const std::string& where) {
    for (const pm::Error& e : errors)
        std::fprintf(stderr, "polymark: %s%s%s: %s [%s]\n", where.c_str(), e.path.empty() ? "" : "#", e.path.c_str(), e.message.c_str(), e.code.c_str());
    return kInvalid;
}

int quality(int argc, char** argv) {
    std::string what = argc > 2 ? argv[2] : "";
    std::vector<char*> args(argv, argv + argc);
    for (char*& s : args)
        if (std::string(s) == "-o") s = const_cast<char*>("--out");
    if (what == "golden") {
        Args a = parse_args(argc, args.data(), 3, {"gt", "job", "threshold", "frames", "task", "sigma", "band", "out"});
        if (a.get("gt").empty() || a.get("job").empty() || !a.positional.empty())
            die(kUsage, std::string("quality golden takes --gt GT.json and --job JOB.json\n") + kUsageText);
        pm::QualityOptions o;
        o.threshold = number_option(a, "threshold", 0.5, 0, 1);
        o.similarity.oks_sigma = number_option(a, "sigma", 0.09, 1e-6, 100);
        o.similarity.line_band = number_option(a, "band", 5, 0, 1e9);
        o.frames = frames_option(a);
        std::optional<pm::Task> task = load_task(a);
        o.task = task ? &*task : nullptr;
        pm::Document gt = load_document(a.get("gt")), job = load_document(a.get("job"));
        auto r = pm::quality_report(gt, job, o);
        if (!r) return fail_with(r.errors(), "");
        write_json(a, pm::quality_report_to_json(r.value()));
        return kOk;
    }
    if (what == "consensus") {
        Args a = parse_args(argc, args.data(), 3, {"quorum", "threshold", "frames", "task", "merged", "out", "sigma", "band"});
        if (a.positional.size() < 2) die(kUsage, std::string("quality consensus takes two or more documents\n") + kUsageText);
        pm::ConsensusOptions o;
        o.quorum = number_option(a, "quorum", 0.5, 1e-9, 1);
        o.threshold = number_option(a, "threshold", 0.5, 0, 1);
        o.similarity.oks_sigma = number_option(a, "sigma", 0.09, 1e-6, 100);
        o.similarity.line_band = number_option(a, "band", 5, 0, 1e9);
        o.frames = frames_option(a);
        std::optional<pm::Task> task = load_task(a);
        o.task = task ? &*task : nullptr;
        std::vector<pm::Document> sets;
        for (const std::string& p : a.positional) sets.push_back(load_document(p));
        auto r = pm::consensus(sets, o);
        if (!r) return fail_with(r.errors(), "");
        if (!a.get("merged").empty()) write_file(a.get("merged"), pm::document_to_json(r->merged).dump(2) + "\n");
        write_json(a, pm::consensus_report_to_json(r.value(), a.positional));
        return kOk;
    }
    if (what == "throughput") {
        Args a = parse_args(argc, args.data(), 3, {"history", "decisions", "doc", "out"});
        if (a.get("history").empty() || !a.positional.empty())
            die(kUsage, std::string("quality throughput takes --history HISTORY.json\n") + kUsageText);
        auto entries = pm::history_entries_from_json(load_json(a.get("history")));
        if (!entries) return fail_with(entries.errors(), a.get("history"));
        std::vector<pm::Decision> decisions;
        if (!a.get("decisions").empty()) {
            auto d = pm::decisions_from_json(load_json(a.get("decisions")));
            if (!d) return fail_with(d.errors(), a.get("decisions"));
            decisions = std::move(d.value());
        }
        std::optional<pm::Document> doc;
        if (!a.get("doc").empty()) doc = load_document(a.get("doc"));
        pm::ThroughputReport r = pm::throughput_report(entries.value(), decisions, doc ? &*doc : nullptr);
        write_json(a, pm::throughput_report_to_json(r));
        return kOk;
    }
    if (what == "prelabels") {
        // What became of the model's predictions: HISTORY is a history reply with the values of
        // its entries, DOC the task's document now (docs/QUALITY.md, "Model pre-labels").
        Args a = parse_args(argc, args.data(), 3, {"history", "document", "doc", "band-width", "out"});
        std::string doc_path = a.get("document", a.get("doc"));
        if (a.get("history").empty() || doc_path.empty() || !a.positional.empty())
            die(kUsage, std::string("quality prelabels takes --history HISTORY.json and --document DOC.json\n") + kUsageText);
        pm::PrelabelOptions o;
        o.band_width = number_option(a, "band-width", 0.1, 0.001, 1);
        auto entries = pm::history_value_entries_from_json(load_json(a.get("history")));
        if (!entries) return fail_with(entries.errors(), a.get("history"));
        pm::Document doc = load_document(doc_path);
        auto r = pm::prelabel_report(entries.value(), doc, o);
        if (!r) return fail_with(r.errors(), a.get("history"));
        write_json(a, pm::prelabel_report_to_json(r.value()));
        return kOk;
    }
    die(kUsage, std::string("quality takes golden, consensus, throughput or prelabels\n") + kUsageText);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        std::string command = argc > 1 ? argv[1] : "";
        if (command == "convert") return convert(argc, argv);
        if (command == "validate") return validate(argc, argv);
        if (command == "frames") return frames(argc, argv);
        if (command == "stats") return stats(argc, argv);
        if (command == "quality") return quality(argc, argv);
        if (command == "help" || command == "--help" || command == "-h") {
            std::fputs(kUsageText, stdout);
            return kOk;
        }
        std::fputs(kUsageText, stderr);
        return kUsage;
    } catch (const Failure& f) {
        return f.code;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "polymark: %s\n", e.what());
        return kIo;
    }
}
