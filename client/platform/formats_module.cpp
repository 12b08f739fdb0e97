// The formats module: the core's import and export of other tools' formats (shared/polymark/formats)
// in a wasm of its own (polymark_formats.js + .wasm) that shell/workers/format_worker.js runs in a
// Web Worker, so that a 100 MB import takes no time from the page's thread and the app downloads
// none of it until the labeler imports or exports. polymark_formats and polymark_core only.
//
// Files come in one by one as bytes written straight into the module's memory (pm_fmt_new_file);
// an import is planned here as a command on the app's document (pm_fmt_plan: import_merge.hpp),
// which goes out in parts (pm_fmt_plan_part) that the page feeds to the app between frames; the
// rest is JSON. One call at a time; a string handed out stays valid until the next
// call. Cancelling is answering false to the progress callback (or terminating the worker).
#include "polymark/formats/formats.hpp"
#include "polymark/import_merge.hpp"

#include <emscripten.h>

#include <algorithm>
#include <string>

namespace {

constexpr size_t kPartItems = 100;  // ops per part: ~25 KB of JSON, ~4 ms to read in the app (a frame stays short)

pm::FileSet g_files;  // the import's input, or the last export's output
std::optional<pm::Conversion> g_imported;
std::optional<pm::Command> g_plan;  // the imported document as a command on the app's document
std::string g_text;

const char* hand_out(const pm::Json& j) {
    g_text = j.dump(-1, ' ', false, pm::Json::error_handler_t::replace);
    return g_text.c_str();
}

const char* hand_out_errors(const pm::Errors& errors) {
    pm::Json list = pm::Json::array();
    for (const pm::Error& e : errors) list.push_back(pm::Json{{"code", e.code}, {"path", e.path}, {"message", e.message}});
    return hand_out(pm::Json{{"ok", false}, {"errors", list}});
}

std::string string_option(const pm::Json& options, const char* key, std::string fallback) {
    return options.contains(key) && options[key].is_string() ? options[key].get<std::string>() : fallback;
}

std::string format_names() {
    std::string names;
    for (pm::AnnotationFormat f : pm::all_annotation_formats()) names += (names.empty() ? "" : ", ") + std::string(pm::to_string(f));
    return names;
}

pm::Expected<pm::AnnotationFormat> format_option(const pm::Json& options, bool detect) {
    std::string name = string_option(options, "format", "");
    if (detect && (name.empty() || name == "auto")) {
        if (auto detected = pm::detect_annotation_format(g_files)) return *detected;
        std::string files = g_files.empty() ? "no file" : g_files.front().path + (g_files.size() > 1 ? " and " + std::to_string(g_files.size() - 1) + " more" : "");
        return pm::Error{"unknown_format", files, "the format of " + files + " could not be recognised: name it (" + format_names() + ")"};
    }
    if (auto f = pm::annotation_format_from_string(name)) return *f;
    return pm::Error{"unknown_format", "format", "\"" + name + "\" is not a format Polymark reads or writes (" + format_names() + ")"};
}

pm::Expected<pm::Json> options_from(const char* text) {
    pm::Json options = pm::Json::parse(text ? text : "", nullptr, false);
    if (!options.is_object()) return pm::Error{"bad_argument", "options", "the options are not a JSON object"};
    return options;
}

// Progress to the worker script, which passes it on at most every 100 ms; false cancels.
EM_JS(int, pm_fmt_progress, (double fraction), { return Module['onProgress'] ? (Module['onProgress'](fraction) ? 1 : 0) : 1; });

pm::ProgressFn progress() {
    return [](double fraction) { return pm_fmt_progress(fraction) != 0; };
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE void pm_fmt_clear() {
    g_files.clear();
    g_imported.reset();
    g_plan.reset();
}

// Room for a file's bytes, which the caller writes at the pointer returned.
EMSCRIPTEN_KEEPALIVE char* pm_fmt_new_file(const char* path, int size) {
    g_files.push_back({path ? path : "", std::string((size_t)std::max(size, 0), '\0')});
    return g_files.back().bytes.data();
}

// options: {"format": a format id or "auto", "task": task v1 JSON (its labels extended by those
// the file adds), "rleTolerance", "yoloTask"}. Answers {"ok": true, "format", "notes", "objects",
// "tracks"} or {"ok": false, "errors"}; pm_fmt_plan then makes it a command.
EMSCRIPTEN_KEEPALIVE const char* pm_fmt_import(const char* options_text) {
    g_imported.reset();
    auto read = options_from(options_text);
    if (!read) return hand_out_errors(read.errors());
    const pm::Json& options = read.value();
    auto format = format_option(options, true);
    if (!format) return hand_out_errors(format.errors());
    std::optional<pm::Task> task;
    if (options.contains("task") && !options["task"].is_null()) {
        auto given = pm::task_from_json(options["task"]);
        if (!given) return hand_out_errors(given.errors());
        task = std::move(given.value());
    }
    pm::ImportOptions import;
    import.task = task ? &*task : nullptr;
    import.add_unknown_labels = true;
    if (options.contains("rleTolerance") && options["rleTolerance"].is_number()) import.rle_tolerance = options["rleTolerance"].get<double>();
    import.yolo_task = string_option(options, "yoloTask", "auto");
    import.progress = progress();
    auto converted = pm::import_annotations(format.value(), g_files, import);
    g_files.clear();
    if (!converted) return hand_out_errors(converted.errors());
    g_imported = std::move(converted.value());
    return hand_out(pm::Json{{"ok", true}, {"format", pm::to_string(format.value())}, {"notes", g_imported->notes},
                             {"objects", g_imported->document.objects.size()}, {"tracks", g_imported->document.tracks.size()}});
}

// The import as a command on the app's document. options: {"document": the app's document,
// "task": the app's task, "mode": "merge" | "replace", "labelMap": {imported label id or name:
// task label id | null}, "unknownLabels": "ask" | "skip" | "fail"}. Answers {"ok": true, "state":
// "mapping", "unknown": [{id, name, objects, tracks}]} when labels are left to map (ask), else
// {"ok": true, "state": "planned", "added", "updated", "removed", "unchanged", "notes", "parts"}.
EMSCRIPTEN_KEEPALIVE const char* pm_fmt_plan(const char* options_text) {
    g_plan.reset();
    if (!g_imported) return hand_out_errors({{"bad_argument", "import", "nothing was imported to plan"}});
    auto read = options_from(options_text);
    if (!read) return hand_out_errors(read.errors());
    const pm::Json& options = read.value();
    auto task = pm::task_from_json(options.contains("task") ? options["task"] : pm::Json());
    if (!task) return hand_out_errors(task.errors());
    auto current = pm::document_from_json(options.contains("document") ? options["document"] : pm::Json());
    if (!current) return hand_out_errors(current.errors());
    auto mode = pm::import_mode_from_string(string_option(options, "mode", "merge"));
    if (!mode) return hand_out_errors({{"bad_argument", "mode", "mode must be \"merge\" or \"replace\""}});
    std::string unknown_labels = string_option(options, "unknownLabels", "ask");
    const std::vector<pm::LabelSpec>& labels = g_imported->task.labels;
    // The host's map names the file's labels by id or by name; null (or "") skips one.
    pm::LabelMapping mapping;
    if (options.contains("labelMap") && options["labelMap"].is_object())
        for (auto it = options["labelMap"].begin(); it != options["labelMap"].end(); ++it) {
            std::string target = it.value().is_string() ? it.value().get<std::string>() : std::string();
            mapping[it.key()] = target;
            for (const pm::LabelSpec& l : labels)
                if (l.name == it.key() && !mapping.count(l.id)) mapping[l.id] = target;
        }
    std::vector<pm::UnknownLabel> unknown = pm::unknown_import_labels(g_imported->document, labels, task.value());
    unknown.erase(std::remove_if(unknown.begin(), unknown.end(), [&](const pm::UnknownLabel& l) { return mapping.count(l.id) > 0; }), unknown.end());
    if (!unknown.empty()) {
        if (unknown_labels == "fail")
            return hand_out_errors({{"unmapped_label", "/labels/" + unknown.front().id,
                                     std::to_string(unknown.size()) + " label(s) of the file are not labels of the task, the first \"" + unknown.front().name +
                                         "\": pass a labelMap, or unknownLabels \"ask\" or \"skip\""}});
        if (unknown_labels == "skip") {
            for (const pm::UnknownLabel& l : unknown) mapping[l.id] = "";
        } else {
            pm::Json list = pm::Json::array();
            for (const pm::UnknownLabel& l : unknown) list.push_back(pm::Json{{"id", l.id}, {"name", l.name}, {"objects", l.objects}, {"tracks", l.tracks}});
            return hand_out(pm::Json{{"ok", true}, {"state", "mapping"}, {"unknown", list}});
        }
    }
    auto plan = pm::plan_import(current.value(), g_imported->document, labels, task.value(), *mode, mapping);
    if (!plan) return hand_out_errors(plan.errors());
    std::vector<std::string> notes = g_imported->notes;
    notes.insert(notes.end(), plan->notes.begin(), plan->notes.end());
    size_t parts = (plan->command.ops.size() + kPartItems - 1) / kPartItems + (plan->command.track_ops.size() + kPartItems - 1) / kPartItems;
    g_plan = std::move(plan->command);
    return hand_out(pm::Json{{"ok", true}, {"state", "planned"}, {"added", plan->added}, {"updated", plan->updated}, {"removed", plan->removed},
                             {"unchanged", plan->unchanged}, {"notes", notes}, {"parts", parts}});
}

// Part i of the planned command, as a command of its own: the object ops' parts first, in order.
EMSCRIPTEN_KEEPALIVE const char* pm_fmt_plan_part(int i) {
    if (!g_plan || i < 0) return hand_out(pm::Json::object());
    const size_t object_parts = (g_plan->ops.size() + kPartItems - 1) / kPartItems;
    pm::Command part{"", {}, {}};
    auto slice = [&](const auto& ops, size_t k, auto& out) {
        for (size_t n = k * kPartItems; n < std::min(ops.size(), (k + 1) * kPartItems); ++n) out.push_back(ops[n]);
    };
    if ((size_t)i < object_parts) slice(g_plan->ops, (size_t)i, part.ops);
    else slice(g_plan->track_ops, (size_t)i - object_parts, part.track_ops);
    return hand_out(pm::command_to_json(part));
}

// options: {"format", "document": annotations v1 JSON, "task": task v1 JSON, "frames": [first,
// last], "cvatLayout", "yoloTask"}. Answers {"ok": true, "files": [path...], "notes"}; each
// file's bytes are then read with pm_fmt_file_data and pm_fmt_file_size, by index.
EMSCRIPTEN_KEEPALIVE const char* pm_fmt_export(const char* options_text) {
    g_files.clear();
    auto read = options_from(options_text);
    if (!read) return hand_out_errors(read.errors());
    const pm::Json& options = read.value();
    auto format = format_option(options, false);
    if (!format) return hand_out_errors(format.errors());
    auto task = pm::task_from_json(options.contains("task") ? options["task"] : pm::Json());
    if (!task) return hand_out_errors(task.errors());
    auto doc = pm::document_from_json(options.contains("document") ? options["document"] : pm::Json());
    if (!doc) return hand_out_errors(doc.errors());
    pm::ExportOptions out;
    const pm::Json frames = options.contains("frames") ? options["frames"] : pm::Json();
    if (!frames.is_null()) {
        if (!frames.is_array() || frames.size() != 2 || !frames[0].is_number_integer() || !frames[1].is_number_integer() || frames[0].get<long long>() > frames[1].get<long long>())
            return hand_out_errors({{"bad_argument", "frames", "frames must be [first, last], whole frame numbers with first <= last"}});
        out.frames = pm::FrameRange{frames[0].get<long long>(), frames[1].get<long long>()};
    }
    out.cvat_layout = string_option(options, "cvatLayout", "");
    out.yolo_task = string_option(options, "yoloTask", "auto");
    out.progress = progress();
    auto exported = pm::export_annotations(format.value(), doc.value(), task.value(), out);
    if (!exported) return hand_out_errors(exported.errors());
    g_files = std::move(exported->files);
    pm::Json paths = pm::Json::array();
    for (const pm::FileEntry& f : g_files) paths.push_back(f.path);
    return hand_out(pm::Json{{"ok", true}, {"files", paths}, {"notes", exported->notes}});
}

EMSCRIPTEN_KEEPALIVE const char* pm_fmt_file_data(int i) { return i >= 0 && (size_t)i < g_files.size() ? g_files[(size_t)i].bytes.data() : nullptr; }
EMSCRIPTEN_KEEPALIVE int pm_fmt_file_size(int i) { return i >= 0 && (size_t)i < g_files.size() ? (int)g_files[(size_t)i].bytes.size() : 0; }

}  // extern "C"
