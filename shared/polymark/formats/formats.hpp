// Import and export of other tools' annotation formats (COCO, CVAT XML 1.1, YOLO, ...): bytes in,
// a document and a task out, and back. docs/FORMATS.md says what maps to what and what is lost.
// No I/O: a format that spans several files (a YOLO folder, one VOC XML per image) is a FileSet of
// {relative path, bytes}; the caller maps it to a directory, a zip or a browser's file list. So
// this can run in a worker of its own (progress and cancellation through ImportOptions::progress).
// Units: as the document (image pixels, top-left corner origin, degrees clockwise, 0-based frames).
#pragma once
#include "polymark/document.hpp"
#include "polymark/error.hpp"
#include "polymark/task.hpp"

#include <functional>
#include <utility>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pm {

struct FileEntry {
    FileEntry() = default;
    FileEntry(std::string path_, std::string bytes_) : path(std::move(path_)), bytes(std::move(bytes_)) {}

    std::string path;  // relative, '/'-separated ("labels/img1.txt"); a single file may have any name
    std::string bytes;
    // A big file may come in pieces: `bytes` is its start and `more` fills a buffer with what
    // follows (0 at the end), called in order, once through. The COCO importer reads as it goes
    // and so holds little of the file; the others have the rest appended before they start.
    std::function<size_t(char* out, size_t capacity)> more;
    size_t size = 0;  // the whole file's size, when known (for progress)
};
using FileSet = std::vector<FileEntry>;

enum class AnnotationFormat { Polymark, Coco, CvatXml, Yolo, LabelMe, Voc, Mot, LabelStudio, Via };

// "polymark", "coco", "cvat", "yolo", "labelme", "voc", "mot", "labelstudio", "via"
const char* to_string(AnnotationFormat f);
std::optional<AnnotationFormat> annotation_format_from_string(std::string_view s);
std::vector<AnnotationFormat> all_annotation_formats();

// Called now and then with the fraction done (0..1); returning false cancels: the call then
// returns the error `cancelled` and nothing.
using ProgressFn = std::function<bool(double fraction)>;

struct ImportOptions {
    // The task the annotations belong to, if known: images are matched to its media by file name,
    // class names to its labels (by id or name), and its media sizes resolve normalised and
    // percent coordinates. Without it a task is made from what the file says.
    const Task* task = nullptr;
    // COCO RLE masks become polygons traced along pixel edges, then simplified so that no removed
    // vertex lies farther than this many pixels from the result (0 keeps every corner: exact).
    double rle_tolerance = 0.5;
    // YOLO lines of 9 numbers are polygons of 4 vertices or oriented boxes: "auto" reads them as
    // boxes only when data.yaml says `task: obb`; "obb" or "segment" decide.
    std::string yolo_task = "auto";
    // With a task: a class name it has no label for becomes a new label of the returned task
    // (listed in Conversion::added_labels) instead of an error, for the caller to map onto the
    // task's labels (import_merge.hpp). Images the task does not have stay errors.
    bool add_unknown_labels = false;
    ProgressFn progress;
};

struct Conversion {
    Document document;
    Task task;                       // the given task, or one made from the file (media, labels)
    std::vector<std::string> notes;  // every lossy step taken, with counts ("3 RLE masks traced ...")
    std::vector<std::string> added_labels;  // ids of labels the given task lacked (add_unknown_labels)
};

// Errors: `path` names the file and the place ("annotations.xml:12:5", "coco.json#/annotations/3/bbox"),
// the message says what was expected there. Nothing is half-imported: an error means no document.
Expected<Conversion> import_annotations(AnnotationFormat format, const FileSet& files, const ImportOptions& options = {});

struct FrameRange {
    long long first = 0, last = 0;  // inclusive
};

struct ExportOptions {
    // Only the shapes of these frames: objects on them, tracks cut to them (a keyframe where the
    // range starts with the state the track had there, and an outside one after its end).
    // Formats of one file per image still list every image of the task.
    std::optional<FrameRange> frames;
    std::string cvat_layout;  // "images", "video" or "" (video when the task has a video or the document tracks)
    std::string yolo_task = "auto";  // "obb" writes rectangles as 4 corners
    ProgressFn progress;
};

struct Exported {
    FileSet files;
    std::vector<std::string> notes;  // what the format could not hold, with counts
};

// `task` supplies image names and sizes (needed by COCO, YOLO, LabelMe) and label names.
Expected<Exported> export_annotations(AnnotationFormat format, const Document& doc, const Task& task,
                                      const ExportOptions& options = {});

// The document's shapes within `frames` (ExportOptions::frames).
Document document_within_frames(const Document& doc, const Task& task, FrameRange frames);

// The format a file set is in, from its names and first bytes; nullopt when none fits.
std::optional<AnnotationFormat> detect_annotation_format(const FileSet& files);


}  // namespace pm
