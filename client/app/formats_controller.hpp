// Imports and exports in other tools' formats, from the app's side. The conversion and the plan of
// an import (plan_import: labels mapped, attributes fitted, ids renamed) run in the platform (the
// formats module in a Web Worker on the web: PlatformPort::start_format_job), off the UI thread;
// what comes here is the plan's command, in parts between frames, performed as one command (one
// undo step, one save). Labels the task lacks stop an import at a mapping step: the UI's dialog
// (its choices go back to the page as an `import` event) unless the host gave a labelMap.
// The page reports a job's progress here, so that the status bar shows it with a Cancel button.
#pragma once
#include "polymark/edit.hpp"
#include "polymark/json_reader.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pm {

class App;

class FormatsController {
public:
    explicit FormatsController(App& app) : app_(app) {}

    // [SECTION] From the UI: the platform opens a file picker, or converts and downloads. False
    // (and a refusal said) when this platform cannot.
    bool request_import();
    bool request_export(const std::string& format);
    void cancel();

    // [SECTION] From the page (api.cpp)
    // begin: {id, name, added, updated, removed, unchanged, notes}: the plan's counts, for the answer.
    Errors begin(const Json& args);
    Errors add_part(const Json& part);  // a command's JSON: {"name", "ops": [...], "track_ops": [...]}
    Expected<Json> finish();            // performs it: {id, state: "done", ...counts, notes}
    // The mapping step: {id, name, unknown: [{id, name, objects, tracks}]}, announced as an `import`
    // event {id, state: "mapping", unknown}; the dialog's outcome is another, {id, state: "mapped",
    // labelMap} or {id, state: "cancelled"}.
    Errors ask_mapping(const Json& args);
    // A job's progress as the page sees it: {kind: "import" | "export", name, fraction, stage};
    // without a `kind` it ended, with {error: {code, message, where}} when it failed (a notice).
    void set_progress(const Json& progress);

    // [SECTION] The mapping step, for the UI
    struct UnknownLabel {
        std::string id, name;
        long long objects = 0, tracks = 0;
    };
    struct PendingMapping {
        std::string id, name;  // the import's, and its file's name
        std::vector<UnknownLabel> unknown;
        std::vector<std::optional<std::string>> choice;  // per unknown label: a task label id, "" to skip, or unchosen
    };
    PendingMapping* pending_mapping() { return mapping_ ? &*mapping_ : nullptr; }
    void apply_mapping();  // once every label is chosen
    void cancel_mapping();

    struct Progress {
        std::string kind, name, stage;
        double fraction = 0;
    };
    const std::optional<Progress>& progress() const { return progress_; }

private:
    App& app_;
    std::optional<Command> command_;  // the import being received
    Json outcome_;                    // its counts and notes, for the answer
    std::optional<PendingMapping> mapping_;
    std::optional<Progress> progress_;
};

}  // namespace pm
