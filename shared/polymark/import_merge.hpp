// An imported document joining the task's document as one command (importAnnotations and the
// browser's Import: one undo step, one sync save). Labels the task lacks are mapped onto its labels
// or skipped, attributes the target label cannot hold are dropped, ids already used are renamed.
// "merge" adds to what is there; "replace" leaves only what was imported (items equal to what is
// there are kept untouched, so importing the same file again changes nothing).
#pragma once
#include "polymark/edit.hpp"
#include "polymark/task.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pm {

enum class ImportMode { Merge, Replace };
std::optional<ImportMode> import_mode_from_string(std::string_view s);  // "merge", "replace"

// A label the imported document uses that the task does not have (by id, nor by name ignoring
// case), with how many objects and tracks use it.
struct UnknownLabel {
    std::string id, name;
    size_t objects = 0, tracks = 0;
};
// `imported_labels`: the labels the import returned (their names), in the order listed there.
std::vector<UnknownLabel> unknown_import_labels(const Document& incoming, const std::vector<LabelSpec>& imported_labels, const Task& task);

// Imported label id -> task label id; an empty target skips the items of that label.
using LabelMapping = std::map<std::string, std::string>;

struct ImportPlan {
    Command command;
    size_t added = 0, updated = 0, removed = 0, unchanged = 0;  // objects and tracks
    std::vector<std::string> notes;  // what was skipped, dropped or renamed, with counts
};

// Errors: a label neither in the task nor mapped (unmapped_label, path /labels/<id>), a mapping onto
// a label the task lacks (unknown_label), a frame past the task's end (out_of_range).
Expected<ImportPlan> plan_import(const Document& current, Document incoming, const std::vector<LabelSpec>& imported_labels,
                                 const Task& task, ImportMode mode, const LabelMapping& mapping);

}  // namespace pm
