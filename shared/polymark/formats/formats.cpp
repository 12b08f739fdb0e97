#include "polymark/formats/formats.hpp"

#include "polymark/formats/format_common.hpp"
#include "polymark/formats/format_readers.hpp"
#include "polymark/track_edit.hpp"

#include <algorithm>

namespace pm {

using namespace formats;

const char* to_string(AnnotationFormat f) {
    switch (f) {
        case AnnotationFormat::Polymark: return "polymark";
        case AnnotationFormat::Coco: return "coco";
        case AnnotationFormat::CvatXml: return "cvat";
        case AnnotationFormat::Yolo: return "yolo";
        case AnnotationFormat::LabelMe: return "labelme";
        case AnnotationFormat::Voc: return "voc";
        case AnnotationFormat::Mot: return "mot";
        case AnnotationFormat::LabelStudio: return "labelstudio";
        case AnnotationFormat::Via: return "via";
    }
    return "";
}

std::vector<AnnotationFormat> all_annotation_formats() {
    return {AnnotationFormat::Polymark, AnnotationFormat::Coco, AnnotationFormat::CvatXml, AnnotationFormat::Yolo, AnnotationFormat::LabelMe, AnnotationFormat::Voc,
            AnnotationFormat::Mot, AnnotationFormat::LabelStudio, AnnotationFormat::Via};
}

std::optional<AnnotationFormat> annotation_format_from_string(std::string_view s) {
    for (AnnotationFormat f : all_annotation_formats())
        if (s == to_string(f)) return f;
    return std::nullopt;
}

namespace {

Expected<Conversion> import_polymark(const FileSet& files, const ImportOptions& options) {
    if (files.empty()) return Error{"no_input", "", "no annotation document given"};
    const FileEntry& f = files.front();
    auto doc = parse_document(f.bytes);
    if (!doc) {
        Errors errors = doc.errors();
        for (Error& e : errors) {
            e.message = f.path + "#" + e.path + ": " + e.message;
            e.path = f.path + "#" + e.path;
        }
        return errors;
    }
    Conversion out;
    out.document = std::move(doc.value());
    if (options.task) out.task = *options.task;
    return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

namespace {

// The files with the rest of each one that comes in pieces appended, for importers that read whole files.
FileSet whole_files(const FileSet& files) {
    FileSet out;
    for (const FileEntry& f : files) {
        out.emplace_back(f.path, f.bytes);
        if (!f.more) continue;
        std::string& bytes = out.back().bytes;
        for (;;) {
            size_t held = bytes.size();
            if (f.size > held) {  // the size is known: read into one allocation
                bytes.resize(f.size);
                size_t n = std::min(f.more(bytes.data() + held, f.size - held), f.size - held);
                bytes.resize(held + n);
                if (n == 0) break;
                continue;
            }
            char tail[1 << 16];
            size_t n = std::min(f.more(tail, sizeof tail), sizeof tail);
            if (n == 0) break;
            bytes.append(tail, n);
        }
    }
    return out;
}

}  // namespace

Expected<Conversion> import_annotations(AnnotationFormat format, const FileSet& given, const ImportOptions& options) {
    if (options.rle_tolerance < 0 || !(options.rle_tolerance < 1e6)) return Error{"bad_option", "rle_tolerance", "the RLE tolerance must be a number of pixels >= 0"};
    bool in_pieces = std::any_of(given.begin(), given.end(), [](const FileEntry& f) { return bool(f.more); });
    FileSet joined;
    if (in_pieces && format != AnnotationFormat::Coco) joined = whole_files(given);
    const FileSet& files = joined.empty() ? given : joined;
    try {
        switch (format) {
            case AnnotationFormat::Polymark: return import_polymark(files, options);
            case AnnotationFormat::Coco: return import_coco(files, options);
            case AnnotationFormat::CvatXml: return import_cvat(files, options);
            case AnnotationFormat::Yolo: return import_yolo(files, options);
            case AnnotationFormat::LabelMe: return import_labelme(files, options);
            case AnnotationFormat::Voc: return import_voc(files, options);
            case AnnotationFormat::Mot: return import_mot(files, options);
            case AnnotationFormat::LabelStudio: return import_label_studio(files, options);
            case AnnotationFormat::Via: return import_via(files, options);
        }
    } catch (const std::bad_alloc&) {
        return Error{"out_of_memory", "", "not enough memory to import these annotations"};
    }
    return Error{"bad_format", "", "unknown format"};
}

Document document_within_frames(const Document& doc, const Task& task, FrameRange frames) {
    Document out;
    out.meta = doc.meta;
    for (const Object& o : doc.objects)
        if (o.frame >= frames.first && o.frame <= frames.last) out.objects.push_back(o);
    for (const Track& track : doc.tracks) {
        if (track.keyframes.empty()) continue;
        size_t made = 0;
        NewId new_id = [&] { return track.id + "-cut-" + std::to_string(++made); };
        MediumSpan medium = task.medium_of(track.keyframes.front().frame);
        std::optional<Track> t = track;
        if (frames.first > t->keyframes.front().frame) {
            auto split = split_track(*t, frames.first, track.id, new_id, medium);
            t = split ? std::optional<Track>(std::move(split->after)) : std::nullopt;
        }
        if (t && frames.last + 1 < std::min(medium.end, task.frame_count()))
            if (auto ended = delete_track_from(*t, frames.last + 1, new_id, medium)) t = std::move(ended);
        if (!t) continue;
        t->keyframes.erase(std::remove_if(t->keyframes.begin(), t->keyframes.end(), [&](const Keyframe& k) { return k.frame < frames.first || k.frame > frames.last + 1; }),
                           t->keyframes.end());
        bool visible = std::any_of(t->keyframes.begin(), t->keyframes.end(), [&](const Keyframe& k) { return !k.outside && k.frame <= frames.last; });
        if (visible) out.tracks.push_back(std::move(*t));
    }
    return out;
}

Expected<Exported> export_annotations(AnnotationFormat format, const Document& whole, const Task& task, const ExportOptions& options) {
    std::optional<Document> within;
    if (options.frames) within = document_within_frames(whole, task, *options.frames);
    const Document& doc = within ? *within : whole;
    try {
        switch (format) {
            case AnnotationFormat::Polymark: {
                Exported e;
                e.files.push_back({"annotations.json", serialize_document(doc)});
                return e;
            }
            case AnnotationFormat::Coco: return export_coco(doc, task, options);
            case AnnotationFormat::CvatXml: return export_cvat(doc, task, options);
            case AnnotationFormat::Yolo: return export_yolo(doc, task, options);
            case AnnotationFormat::LabelMe: return export_labelme(doc, task, options);
            case AnnotationFormat::Voc: return export_voc(doc, task, options);
            case AnnotationFormat::Mot: return export_mot(doc, task, options);
            case AnnotationFormat::LabelStudio: return export_label_studio(doc, task, options);
            case AnnotationFormat::Via: return export_via(doc, task, options);
        }
    } catch (const std::bad_alloc&) {
        return Error{"out_of_memory", "", "not enough memory to export these annotations"};
    }
    return Error{"bad_format", "", "unknown format"};
}

std::optional<AnnotationFormat> detect_annotation_format(const FileSet& files) {
    if (files.empty()) return std::nullopt;
    bool any_txt = false, any_yaml = false, comma_lines = false;
    for (const FileEntry& f : files) {
        std::string name = lower(f.path);
        if (ends_with(name, "seqinfo.ini")) return AnnotationFormat::Mot;
        if (ends_with(name, ".txt")) {
            any_txt = true;
            std::string_view base(name);
            if (size_t slash = base.find_last_of('/'); slash != std::string_view::npos) base = base.substr(slash + 1);
            if (base == "classes.txt" || base == "labels.txt") continue;
            // MOT lines are comma-separated numbers (frame,id,x,y,w,h,...), YOLO's space-separated.
            std::string_view head(f.bytes.data(), std::min<size_t>(f.bytes.size(), 512));
            size_t b = head.find_first_not_of(" \t\r\n");
            if (b != std::string_view::npos) {
                std::string_view line = head.substr(b, head.find('\n', b) == std::string_view::npos ? std::string_view::npos : head.find('\n', b) - b);
                if (std::count(line.begin(), line.end(), ',') >= 5) comma_lines = true;
            }
        }
        if (ends_with(name, "data.yaml") || ends_with(name, "data.yml")) any_yaml = true;
    }
    if (comma_lines && !any_yaml) return AnnotationFormat::Mot;
    if (any_txt || any_yaml) return AnnotationFormat::Yolo;
    // The content of the first file that is not an image says the rest.
    const FileEntry* probe = &files.front();
    for (const FileEntry& f : files) {
        std::string name = lower(f.path);
        if (ends_with(name, ".json") || ends_with(name, ".xml")) { probe = &f; break; }
    }
    const std::string& b = probe->bytes;
    std::string_view head(b.data(), std::min<size_t>(b.size(), 4096));
    size_t start = head.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    if (start == std::string_view::npos) return std::nullopt;
    if (head[start] == '<') {
        if (head.find("<annotations") != std::string_view::npos) return AnnotationFormat::CvatXml;
        if (head.find("<annotation>") != std::string_view::npos || head.find("<annotation ") != std::string_view::npos) return AnnotationFormat::Voc;
        return std::nullopt;
    }
    std::string_view all(b);
    auto has = [&](std::string_view key) { return all.find(key) != std::string_view::npos; };
    if (head[start] == '[') {
        // A list: Label Studio's tasks, or COCO's results list.
        if (has("\"data\"") && has("\"result\"")) return AnnotationFormat::LabelStudio;
        if (has("\"image_id\"") && has("\"category_id\"")) return AnnotationFormat::Coco;
        if (has("\"data\"") && (has("\"annotations\"") || has("\"predictions\""))) return AnnotationFormat::LabelStudio;
        return std::nullopt;
    }
    if (head[start] != '{') return std::nullopt;
    if (head.find("\"polymark.annotations\"") != std::string_view::npos) return AnnotationFormat::Polymark;
    if (has("\"_via_img_metadata\"")) return AnnotationFormat::Via;
    if (head.find("\"shapes\"") != std::string_view::npos && (head.find("\"imagePath\"") != std::string_view::npos || head.find("\"shape_type\"") != std::string_view::npos))
        return AnnotationFormat::LabelMe;
    if (all.find("\"annotations\"") != std::string_view::npos && all.find("\"images\"") != std::string_view::npos) return AnnotationFormat::Coco;
    // The start of a big COCO file (one given in pieces) may hold only its list of images.
    if (has("\"images\"") && has("\"file_name\"") && !has("\"data\"")) return AnnotationFormat::Coco;
    if (has("\"data\"") && has("\"result\"") && (has("\"annotations\"") || has("\"predictions\""))) return AnnotationFormat::LabelStudio;
    if (has("\"filename\"") && (has("\"regions\"") || has("\"shape_attributes\""))) return AnnotationFormat::Via;
    if (has("\"project\"") && has("\"metadata\"") && has("\"fname\"")) return AnnotationFormat::Via;  // VIA 3
    if (all.find("\"shapes\"") != std::string_view::npos && all.find("\"imagePath\"") != std::string_view::npos) return AnnotationFormat::LabelMe;
    if (all.find("\"polymark.annotations\"") != std::string_view::npos) return AnnotationFormat::Polymark;
    return std::nullopt;
}


}  // namespace pm
