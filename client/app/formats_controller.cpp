#include "app/formats_controller.hpp"

#include "app/app.hpp"

#include <algorithm>

namespace pm {

namespace {

std::string string_arg(const Json& args, const char* key) {
    return args.is_object() && args.contains(key) && args[key].is_string() ? args[key].get<std::string>() : std::string();
}

}  // namespace

bool FormatsController::request_import() {
    if (auto why = app_.sync().edit_refusal()) {
        app_.refuse(*why);
        return false;
    }
    if (!app_.platform().start_format_job(Json{{"kind", "import"}})) {
        app_.refuse({"unsupported", "import", "importing files needs the browser; use the polymark command line here"});
        return false;
    }
    return true;
}

bool FormatsController::request_export(const std::string& format) {
    if (!app_.platform().start_format_job(Json{{"kind", "export"}, {"format", format}})) {
        app_.refuse({"unsupported", "export", "exporting needs the browser; use the polymark command line here"});
        return false;
    }
    return true;
}

void FormatsController::cancel() {
    app_.platform().cancel_format_job();
    progress_.reset();
    mapping_.reset();
    command_.reset();
}

void FormatsController::set_progress(const Json& p) {
    if (p.is_object() && p.contains("error") && p["error"].is_object()) {
        const Json& e = p["error"];
        app_.report({string_arg(e, "code"), string_arg(e, "where"), string_arg(e, "message")});
    }
    if (!p.is_object() || !p.contains("kind") || !p["kind"].is_string()) {
        progress_.reset();
        mapping_.reset();  // the job ended: its dialog and what was received of it with it
        command_.reset();
        return;
    }
    Progress next;
    next.kind = p["kind"].get<std::string>();
    next.name = string_arg(p, "name");
    next.stage = string_arg(p, "stage");
    next.fraction = p.contains("fraction") && p["fraction"].is_number() ? std::clamp(p["fraction"].get<double>(), 0.0, 1.0) : 0.0;
    progress_ = std::move(next);
}

Errors FormatsController::ask_mapping(const Json& args) {
    if (!args.is_object() || !args.contains("unknown") || !args["unknown"].is_array()) return {{"bad_argument", "unknown", "the mapping step needs the unknown labels"}};
    PendingMapping m{string_arg(args, "id"), string_arg(args, "name"), {}, {}};
    for (const Json& u : args["unknown"]) {
        auto count = [&](const char* key) { return u.contains(key) && u[key].is_number_integer() ? u[key].get<long long>() : 0; };
        m.unknown.push_back({string_arg(u, "id"), string_arg(u, "name"), count("objects"), count("tracks")});
    }
    m.choice.resize(m.unknown.size());
    mapping_ = std::move(m);
    app_.platform().emit("import", Json{{"id", mapping_->id}, {"state", "mapping"}, {"unknown", args["unknown"]}});
    return {};
}

void FormatsController::apply_mapping() {
    if (!mapping_) return;
    Json map = Json::object();
    for (size_t i = 0; i < mapping_->unknown.size(); ++i) {
        const auto& choice = mapping_->choice[i];
        if (!choice) return;  // the dialog offers this only once all are chosen
        map[mapping_->unknown[i].id] = choice->empty() ? Json() : Json(*choice);
    }
    app_.platform().emit("import", Json{{"id", mapping_->id}, {"state", "mapped"}, {"labelMap", map}});
    mapping_.reset();
}

void FormatsController::cancel_mapping() {
    if (!mapping_) return;
    app_.platform().emit("import", Json{{"id", mapping_->id}, {"state", "cancelled"}});
    mapping_.reset();
}

Errors FormatsController::begin(const Json& args) {
    if (!args.is_object()) return {{"bad_argument", "import", "an import begins with {id, name, counts, notes}"}};
    if (auto why = app_.sync().edit_refusal()) return {*why};
    std::string name = string_arg(args, "name");
    command_ = Command{name.empty() ? "import annotations" : "import " + name, {}, {}};
    outcome_ = args;
    outcome_["state"] = "done";
    return {};
}

Errors FormatsController::add_part(const Json& part) {
    if (!command_) return {{"bad_argument", "import", "no import has begun"}};
    auto read = command_from_json(part);
    if (!read) return read.errors();
    for (ObjectOp& op : read->ops) command_->ops.push_back(std::move(op));
    for (TrackOp& op : read->track_ops) command_->track_ops.push_back(std::move(op));
    return {};
}

Expected<Json> FormatsController::finish() {
    if (!command_) return Error{"bad_argument", "import", "no import has begun"};
    Command command = std::move(*command_);
    command_.reset();
    if (!command.empty() && !app_.perform(std::move(command), /*by_person=*/false)) {
        if (auto why = app_.sync().edit_refusal()) return *why;
        return Error{"conflict", "import", "the document changed while the file was read: import it again"};
    }
    app_.platform().emit("import", outcome_);
    return outcome_;
}

}  // namespace pm
