#include "app/api.hpp"

#include "polymark/json_reader.hpp"
#include "polymark/prelabel.hpp"

#include <algorithm>
#include <cmath>

namespace pm {

namespace {

Json selection_json(App& app) {
    Json ids = Json::array();
    for (const std::string& id : app.editor().selection()) ids.push_back(id);
    return ids;
}

Json tool_json(App& app) {
    return Json{{"tool", to_string(app.editor().tool())}, {"label", app.editor().label()}, {"track", app.editor().draw_tracks()}};
}

Expected<Json> set_tool(App& app, const Json& args) {
    const Json* tool = args.is_object() && args.contains("tool") ? &args["tool"] : &args;
    auto t = tool->is_string() ? tool_from_string(tool->get<std::string>()) : std::nullopt;
    if (!t) return Error{"bad_argument", "tool", "setTool needs one of select, rectangle, polygon, polyline, points, ellipse"};
    if (args.is_object() && args.contains("label") && !args["label"].is_null()) {
        const Task* task = app.task();
        if (!args["label"].is_string() || !task || !task->find_label(args["label"].get<std::string>()))
            return Error{"unknown_label", "label", "the task has no label " + args["label"].dump()};
        std::string label = args["label"].get<std::string>();
        // The label picker offers only the labels the tool allows; so does the API.
        if (!app.editor().label_allows(label, *t))
            return Error{"type_not_allowed", "label", "label \"" + label + "\" does not allow " + to_string(*t) + " shapes"};
        app.editor().set_label(label);
    }
    if (*t != Tool::Select && app.editor().label().empty()) return Error{"no_label", "label", "choose a label before drawing: setTool(tool, label)"};
    if (args.is_object() && args.contains("track") && !args["track"].is_null()) {
        if (!args["track"].is_boolean()) return Error{"bad_argument", "track", "track must be true (draw tracks) or false (draw single-frame shapes)"};
        app.editor().set_draw_tracks(args["track"].get<bool>());
    }
    app.editor().set_tool(*t);
    return tool_json(app);
}

Json frame_state_json(const App& app, long long frame) {
    Json shapes = Json::array();
    for (const FrameShape& s : app.session().frame_state(frame, app.medium_of(frame))) {
        Json j = object_to_json(s.object);
        j["name"] = app.display_name(s.object.id);
        if (s.from_track) {
            j["track"] = true;
            j["keyframe"] = s.keyframe;
        }
        shapes.push_back(std::move(j));
    }
    return Json{{"frame", frame}, {"shapes", shapes}};
}

Expected<Json> select(App& app, const Json& args) {
    if (!args.is_array()) return Error{"bad_argument", "ids", "select needs an array of object ids"};
    std::vector<std::string> ids;
    for (const Json& id : args) {
        if (!id.is_string() || (app.editor().find_shape(id.get<std::string>()) < 0 && !app.editor().is_outside_here(id.get<std::string>())))
            return Error{"not_found", "ids", "no object or track with id " + id.dump() + " on the current frame"};
        ids.push_back(id.get<std::string>());
    }
    app.editor().select(std::move(ids));
    return selection_json(app);
}

// trackForward({ids, frames}): ids default to the selected tracks; frames 0 or absent: until lost.
Expected<Json> track_forward(App& app, const Json& args) {
    if (!args.is_null() && !args.is_object()) return Error{"bad_argument", "options", "trackForward needs {ids, frames} or nothing"};
    std::vector<std::string> ids;
    if (args.is_object() && args.contains("ids")) {
        if (!args["ids"].is_array()) return Error{"bad_argument", "ids", "ids must be an array of track ids"};
        for (const Json& id : args["ids"]) {
            if (!id.is_string()) return Error{"bad_argument", "ids", "ids must be an array of track ids"};
            ids.push_back(id.get<std::string>());
        }
    } else {
        for (const std::string& id : app.editor().selection())
            if (app.is_track(id)) ids.push_back(id);
    }
    if (ids.empty()) return Error{"nothing_to_track", "ids", "select one or more tracks (or pass ids) to track forward"};
    long long frames = 0;
    if (args.is_object() && args.contains("frames") && !args["frames"].is_null()) {
        if (!args["frames"].is_number_integer() || args["frames"].get<long long>() < 0)
            return Error{"bad_argument", "frames", "frames must be a whole number of frames (0: until lost)"};
        frames = args["frames"].get<long long>();
    }
    Errors errors = app.start_tracking(ids, frames);
    if (!errors.empty()) return errors;
    return app.tracking().status_json();
}

Json conflicts_json(const App& app) {
    Json list = Json::array();
    for (const SyncConflict& c : app.sync().conflicts())
        list.push_back(Json{{"kind", to_string(c.kind)}, {"id", c.id}, {"mine", c.mine ? *c.mine : Json()}, {"theirs", c.theirs ? *c.theirs : Json()},
                            {"revision", c.revision}, {"user", c.user}, {"device", c.device}});
    return list;
}

// Sync: the host's methods. What the platform delivers (replies, the journal) is not an API method:
// it arrives in the app's inbox.
std::optional<Expected<Json>> call_sync_api(App& app, std::string_view method, const Json& args) {
    auto str = [&](const char* k) { return args.is_object() && args.contains(k) && args[k].is_string() ? args[k].get<std::string>() : std::string(); };
    auto flag = [&](const char* k) { return args.is_object() && args.contains(k) && args[k].is_boolean() && args[k].get<bool>(); };
    if (method == "getSyncStatus") {
        Json j = app.sync().status_json();
        j["conflictList"] = conflicts_json(app);
        return Expected<Json>(j);
    }
    if (method == "flush") { app.sync().flush(); return Expected<Json>(app.sync().status_json()); }
    if (method == "setToken") {
        if (!args.is_string()) return Expected<Json>(Error{"bad_argument", "token", "setToken needs a string"});
        app.sync().set_token(args.get<std::string>());
        return Expected<Json>(Json());
    }
    if (method == "resolveConflict") {
        std::string id = str("id"), choice = str("choice");
        if (choice != "mine" && choice != "theirs") return Expected<Json>(Error{"bad_argument", "choice", "resolveConflict needs 'mine' or 'theirs'"});
        if (id.empty() && !(flag("all"))) return Expected<Json>(Error{"bad_argument", "id", "resolveConflict needs an object or track id"});
        Errors errors = app.sync().resolve_conflict(id, choice == "mine" ? Resolution::Mine : Resolution::Theirs);
        if (!errors.empty()) return Expected<Json>(errors);
        return Expected<Json>(app.sync().status_json());
    }
    if (method == "retrySetAside" || method == "discardSetAside") {
        // {ids: [..]} or no ids: every item set aside.
        std::vector<std::string> ids;
        if (args.is_object() && args.contains("ids") && !args["ids"].is_null()) {
            if (!args["ids"].is_array()) return Expected<Json>(Error{"bad_argument", "ids", std::string(method) + " needs an array of object or track ids"});
            for (const Json& id : args["ids"]) {
                if (!id.is_string()) return Expected<Json>(Error{"bad_argument", "ids", std::string(method) + " needs an array of object or track ids"});
                ids.push_back(id.get<std::string>());
            }
        }
        Errors errors = method == "retrySetAside" ? app.sync().retry_set_aside(ids) : app.sync().discard_set_aside(ids);
        if (!errors.empty()) return Expected<Json>(errors);
        return Expected<Json>(app.sync().status_json());
    }
    return std::nullopt;
}

// Review (docs/API.md, "Review"): issues pinned to regions, their threads, decisions, job stages.
std::optional<Expected<Json>> call_review_api(App& app, std::string_view method, const Json& args) {
    ReviewLink& review = app.sync().review();
    auto str = [&](const char* k) { return args.is_object() && args.contains(k) && args[k].is_string() ? args[k].get<std::string>() : std::string(); };
    auto id_or = [](Expected<std::string> id) { return id ? Expected<Json>(Json(id.value())) : Expected<Json>(id.errors()); };
    if (method == "getReview") return Expected<Json>(review.to_json());
    if (method == "openIssue") {
        if (!args.is_object() || !args.contains("points") || !args["points"].is_array())
            return Expected<Json>(Error{"bad_argument", "points", "openIssue needs {points: [x, y] or [x1, y1, x2, y2], text, frame?, item?}"});
        std::vector<double> points;
        for (const Json& v : args["points"]) {
            if (!v.is_number() || !std::isfinite(v.get<double>())) return Expected<Json>(Error{"bad_argument", "points", "points must be finite numbers"});
            points.push_back(v.get<double>());
        }
        long long frame = args.contains("frame") && args["frame"].is_number_integer() ? args["frame"].get<long long>() : app.frame();
        if (frame < 0 || frame >= app.frame_count()) return Expected<Json>(Error{"out_of_range", "frame", "frame " + std::to_string(frame) + " is not in the task"});
        return id_or(review.open_issue(frame, std::move(points), str("item"), str("text")));
    }
    if (method == "replyToIssue") return id_or(review.reply(str("issue"), str("text")));
    if (method == "setIssueStatus") {
        std::string status = str("status");
        if (status != "open" && status != "resolved") return Expected<Json>(Error{"bad_argument", "status", "setIssueStatus needs status 'open' or 'resolved'"});
        Errors e = review.set_issue_status(str("issue"), status == "open" ? IssueStatus::Open : IssueStatus::Resolved);
        return e.empty() ? Expected<Json>(Json()) : Expected<Json>(e);
    }
    if (method == "decide") {
        std::string item = str("item"), verdict = str("verdict");
        if (verdict != "accepted" && verdict != "rejected") return Expected<Json>(Error{"bad_argument", "verdict", "decide needs verdict 'accepted' or 'rejected'"});
        long long frame = args.contains("frame") && args["frame"].is_number_integer() ? args["frame"].get<long long>() : app.frame();
        return id_or(review.decide(item, frame, verdict == "accepted" ? Verdict::Accepted : Verdict::Rejected, str("reason"), 0));
    }
    if (method == "setJobStage") {
        auto stage = job_stage_from_string(str("stage"));
        if (!stage || !args.contains("job") || !args["job"].is_number_integer())
            return Expected<Json>(Error{"bad_argument", "stage", "setJobStage needs {job: id, stage: 'annotation', 'review' or 'accepted'}"});
        Errors e = review.move_job(args["job"].get<int64_t>(), *stage);
        return e.empty() ? Expected<Json>(Json()) : Expected<Json>(e);
    }
    return std::nullopt;
}

// Imports and exports (shell/src/formats.js drives them; docs/API.md, "Import and export").
std::optional<Expected<Json>> call_formats_api(App& app, std::string_view method, const Json& args) {
    FormatsController& formats = app.formats();
    auto done = [](Errors errors) { return errors.empty() ? Expected<Json>(Json()) : Expected<Json>(std::move(errors)); };
    if (method == "importBegin") return done(formats.begin(args));
    if (method == "importPart") return done(formats.add_part(args));
    if (method == "importEnd") return formats.finish();
    if (method == "importMapping") return done(formats.ask_mapping(args));
    if (method == "formatProgress") { formats.set_progress(args); return Expected<Json>(Json()); }
    if (method == "getMediaSizes") {
        // What the task left out and the app learnt from the pictures it decoded: exports need it.
        Json sizes = Json::array();
        if (const Task* task = app.task())
            for (const Media& m : task->media) sizes.push_back(Json::array({m.width, m.height}));
        return Expected<Json>(std::move(sizes));
    }
    return std::nullopt;
}

// A model's predictions (docs/API.md, "Predictions").
std::optional<Expected<Json>> call_predictions_api(App& app, std::string_view method, const Json& args) {
    if (method == "getPredictionQueue") {
        Json frames = Json::array();
        long long pending = 0;
        for (const PredictionFrame& f : prediction_queue(app.document())) {
            frames.push_back(Json{{"frame", f.frame}, {"lowestScore", f.lowest_score ? Json(*f.lowest_score) : Json()}, {"count", f.count}, {"ids", f.ids}});
            pending += f.count;
        }
        return Expected<Json>(Json{{"pending", pending}, {"frames", std::move(frames)}});
    }
    if (method == "acceptPredictions") {
        std::vector<std::string> ids = app.editor().selection();
        if (args.is_object() && args.contains("ids") && !args["ids"].is_null()) {
            if (!args["ids"].is_array()) return Expected<Json>(Error{"bad_argument", "ids", "acceptPredictions needs ids as a list of strings"});
            ids.clear();
            for (const Json& id : args["ids"]) {
                if (!id.is_string()) return Expected<Json>(Error{"bad_argument", "ids", "acceptPredictions needs ids as a list of strings"});
                ids.push_back(id.get<std::string>());
            }
        }
        return Expected<Json>(Json((long long)app.editor().accept_predictions(ids)));
    }
    if (method == "nextPrediction") {
        auto id = app.editor().next_prediction(true);
        return Expected<Json>(id ? Json{{"id", *id}, {"frame", app.frame()}} : Json());
    }
    return std::nullopt;
}

}  // namespace

Expected<Json> call_api(App& app, std::string_view method, std::string_view args_text, double dpr) {
    Json args = args_text.empty() ? Json() : parse_json_or_discarded(args_text);
    if (args.is_discarded()) return Error{"bad_argument", std::string(method), "the arguments of " + std::string(method) + " are not JSON"};
    if (method == "getAnnotations") return document_to_json(app.document());
    if (method == "setAnnotations") {
        Errors errors = app.set_annotations_json(args_text);
        if (!errors.empty()) return errors;
        return Json();
    }
    if (method == "getView") return app.view_json(dpr);
    if (method == "getLayout") {
        Json controls = Json::array();
        for (const UiControl& c : app.ui_layout())
            controls.push_back(Json{{"id", c.id}, {"place", c.place}, {"x", c.rect.x}, {"y", c.rect.y}, {"width", c.rect.w}, {"height", c.rect.h}});
        return Json{{"controls", std::move(controls)}};
    }
    if (method == "setFrame") {
        if (!args.is_number_integer()) return Error{"bad_argument", "frame", "setFrame needs an integer frame index"};
        long long n = args.get<long long>();
        if (!app.set_frame(n)) return Error{"out_of_range", "frame", "frame " + std::to_string(n) + " is outside 0.." + std::to_string(app.frame_count() - 1)};
        return Json(n);
    }
    if (method == "setView") {
        auto num = [&](const char* k) { return args.is_object() && args.contains(k) && args[k].is_number() ? std::optional<double>(args[k].get<double>()) : std::nullopt; };
        auto zoom = num("zoom"), x = num("offsetX"), y = num("offsetY");
        if (!zoom || !x || !y || !std::isfinite(*zoom) || !std::isfinite(*x) || !std::isfinite(*y) || *zoom <= 0)
            return Error{"bad_argument", "view", "setView needs finite numbers zoom (> 0), offsetX and offsetY"};
        app.set_view(*zoom, {*x, *y});
        return app.view_json(dpr);
    }
    if (method == "setImageAdjust") {
        if (!args.is_object()) return Error{"bad_argument", "adjust", "setImageAdjust needs {brightness, contrast, gamma}"};
        ImageAdjust a = app.image_adjust();
        for (auto [key, field] : {std::pair<const char*, double*>{"brightness", &a.brightness}, {"contrast", &a.contrast}, {"gamma", &a.gamma}}) {
            if (!args.contains(key)) continue;
            if (!args[key].is_number() || !std::isfinite(args[key].get<double>())) return Error{"bad_argument", key, std::string(key) + " must be a finite number"};
            *field = args[key].get<double>();
        }
        app.set_image_adjust(a);
        return app.view_json(dpr)["adjust"];
    }
    if (method == "setShapeStyle") {
        if (!args.is_object()) return Error{"bad_argument", "style", "setShapeStyle needs {outlineWidth, fillOpacity, captions}"};
        ShapeStyle style = app.shape_style();
        for (auto [key, field] : {std::pair<const char*, double*>{"outlineWidth", &style.outline_width}, {"fillOpacity", &style.fill_opacity}}) {
            if (!args.contains(key)) continue;
            if (!args[key].is_number() || !std::isfinite(args[key].get<double>())) return Error{"bad_argument", key, std::string(key) + " must be a finite number"};
            *field = args[key].get<double>();
        }
        if (args.contains("captions")) {
            if (!args["captions"].is_boolean()) return Error{"bad_argument", "captions", "captions must be true or false"};
            style.captions = args["captions"].get<bool>();
        }
        app.set_shape_style(style);
        return app.shape_style_json();
    }
    if (method == "fit") {
        app.fit_to_viewport();
        return Json();
    }
    if (method == "getTask") return app.task() ? Json{{"id", app.task()->id}, {"name", app.task()->name}, {"frames", app.frame_count()}} : Json();
    if (method == "undo") return Json(app.undo());
    if (method == "redo") return Json(app.redo());
    if (method == "getHistory") {
        Json done = Json::array(), undone = Json::array();
        for (const Command& c : app.session().history().done()) done.push_back(c.name);
        for (size_t i = app.session().history().undone().size(); i-- > 0;) undone.push_back(app.session().history().undone()[i].name);
        return Json{{"done", done}, {"undone", undone}, {"revision", app.revision()}};
    }
    if (method == "setTool") return set_tool(app, args);
    if (method == "getTool") {  // and whether a shape is being drawn (queue mode submits none half-drawn)
        Json tool = tool_json(app);
        tool["drawing"] = app.editor().drawing();
        return tool;
    }
    if (method == "getFrameState") {
        if (!args.is_number_integer()) return Error{"bad_argument", "frame", "getFrameState needs an integer frame index"};
        long long n = args.get<long long>();
        if (n < 0 || n >= app.frame_count()) return Error{"out_of_range", "frame", "frame " + std::to_string(n) + " is outside 0.." + std::to_string(app.frame_count() - 1)};
        return frame_state_json(app, n);
    }
    if (method == "trackForward") return track_forward(app, args);
    if (method == "cancelTracking") {
        app.tracking().cancel();
        return app.tracking().status_json();
    }
    if (method == "getTracking") return app.tracking().status_json();
    if (auto sync = call_sync_api(app, method, args)) return std::move(*sync);
    if (auto formats = call_formats_api(app, method, args)) return std::move(*formats);
    if (auto review = call_review_api(app, method, args)) return std::move(*review);
    if (method == "getSelection") return selection_json(app);
    if (method == "select") return select(app, args);
    if (auto predictions = call_predictions_api(app, method, args)) return std::move(*predictions);
    return Error{"unknown_method", std::string(method), "no API method named " + std::string(method)};
}

}  // namespace pm
