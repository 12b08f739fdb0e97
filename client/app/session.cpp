#include "app/session.hpp"

#include "polymark/prelabel.hpp"
#include "polymark/track_edit.hpp"

#include <algorithm>
#include <random>

namespace pm {

namespace {

// Ids of new objects start with a prefix random per session, so that two labelers (or two tabs)
// never create the same id: "k3x9w-1", "k3x9w-2", ...
std::string session_id_prefix() {
    std::random_device rd;
    std::string prefix;
    for (int i = 0; i < 5; ++i) prefix += "0123456789abcdefghijklmnopqrstuvwxyz"[rd() % 36];
    return prefix + "-";
}

// The operations that turn one document into another (setAnnotations), so that a replaced
// document reaches the backend like any edit: deletes first, then updates and creates.
Command replace_command(const Document& before, const Document& after) {
    Command c{"replace annotations", {}, {}};
    auto diff = [](const auto& old_list, const auto& new_list, auto& ops, auto to_json) {
        using Op = std::decay_t<decltype(ops[0])>;
        for (size_t i = old_list.size(); i-- > 0;) {
            const auto& o = old_list[i];
            bool kept = std::any_of(new_list.begin(), new_list.end(), [&](const auto& n) { return n.id == o.id; });
            if (!kept) ops.push_back(Op::remove(o, i));
        }
        for (size_t i = 0; i < new_list.size(); ++i) {
            const auto& n = new_list[i];
            auto at = std::find_if(old_list.begin(), old_list.end(), [&](const auto& o) { return o.id == n.id; });
            if (at == old_list.end()) ops.push_back(Op::create(n, i));
            else if (to_json(*at) != to_json(n)) ops.push_back(Op::update(*at, n, (size_t)(at - old_list.begin())));
        }
    };
    diff(before.objects, after.objects, c.ops, [](const Object& o) { return object_to_json(o); });
    diff(before.tracks, after.tracks, c.track_ops, [](const Track& t) { return track_to_json(t); });
    return c;
}

// A person's change to a model's prediction accepts it with the change: it becomes theirs
// (docs/QUALITY.md, "Model pre-labels"). Deletes reject it and stay deletes.
void claim_edited_predictions(Command& command) {
    for (ObjectOp& op : command.ops)
        if (op.before && op.after && is_pending_prediction(*op.before) && is_pending_prediction(*op.after)) *op.after = accepted(std::move(*op.after));
    for (TrackOp& op : command.track_ops)
        if (op.before && op.after && is_pending_prediction(*op.before) && is_pending_prediction(*op.after)) *op.after = accepted(std::move(*op.after));
}

}  // namespace

DocumentSession::DocumentSession(Notices& notices) : notices_(notices), ids_(session_id_prefix()) {}

void DocumentSession::changed(const std::string& command_name) {
    ++revision_;
    if (on_changed) on_changed(command_name);
}

bool DocumentSession::refused() {
    if (!refusal) return false;
    if (auto why = refusal()) {
        notices_.refuse(*why);
        return true;
    }
    return false;
}

bool DocumentSession::perform(Command command, bool by_person) {
    if (command.empty() || refused()) return false;
    if (by_person) claim_edited_predictions(command);
    if (by_person && guideline)
        if (auto version = guideline()) stamp_guideline(command, *version);
    std::string name = command.name;
    auto done = history_.perform(document_, std::move(command));
    if (!done) {
        notices_.report(done.first_error());
        return false;
    }
    if (on_applied) on_applied(history_.done().back());
    changed(name);
    return true;
}

bool DocumentSession::undo() {
    if (refusal && refusal()) return false;
    auto name = history_.undo(document_);
    if (!name) return false;
    if (on_applied) on_applied(history_.undone().back().inverse());  // what was applied: the inverse
    changed("undo " + *name);
    return true;
}

bool DocumentSession::redo() {
    if (refusal && refusal()) return false;
    auto name = history_.redo(document_);
    if (!name) return false;
    if (on_applied) on_applied(history_.done().back());
    changed("redo " + *name);
    return true;
}

Errors DocumentSession::replace(Document document) {
    if (refusal)
        if (auto why = refusal()) return {*why};
    Command replacing = replace_command(document_, document);
    document_ = std::move(document);
    if (!replacing.empty() && on_applied) on_applied(replacing);
    history_.clear();
    changed("");
    return {};
}

void DocumentSession::load(Document document) {
    document_ = std::move(document);
    changed("");
}

bool DocumentSession::apply_remote(const std::vector<RemoteChange>& changes) {
    bool any = false;
    for (const RemoteChange& c : changes) {
        auto applied = apply_remote_change(document_, c);
        if (!applied) notices_.report(applied.first_error());
        else any = any || applied.value();
    }
    if (any) changed("");
    return any;
}

void DocumentSession::apply_unsaved(SyncEngine& engine) {
    auto applied = engine.apply_pending(document_);
    if (!applied) notices_.report(applied.first_error());
    changed("");
}

const std::vector<Object>& DocumentSession::frame_objects(long long frame, MediumSpan medium) const {
    if (frame_objects_revision_ == revision_ && frame_objects_frame_ == frame) return frame_objects_;
    frame_objects_revision_ = revision_;
    frame_objects_frame_ = frame;
    frame_objects_.clear();
    for (FrameShape& s : shapes_on_frame(document_, frame, {}, &interpolation_, medium)) frame_objects_.push_back(std::move(s.object));
    return frame_objects_;
}

std::vector<FrameShape> DocumentSession::frame_state(long long frame, MediumSpan medium) const {
    return shapes_on_frame(document_, frame, {}, &interpolation_, medium);
}

const Track* DocumentSession::track(const std::string& id) const {
    int i = find_track(document_, id);
    return i >= 0 ? &document_.tracks[(size_t)i] : nullptr;
}

Command DocumentSession::update_shapes_command(std::string name, const std::vector<Object>& after, long long frame, const Task* task) {
    Command c{std::move(name), {}, {}};
    NewId new_id = [this] { return new_object_id(); };  // the generator never repeats an id
    for (const Object& a : after) {
        if (int i = find_object(document_, a.id); i >= 0) {
            if (!same_object(a, document_.objects[(size_t)i])) c.ops.push_back(ObjectOp::update(document_.objects[(size_t)i], a, (size_t)i));
        } else if (int t = find_track(document_, a.id); t >= 0) {
            const Track& before = document_.tracks[(size_t)t];
            const LabelSpec* spec = task ? task->find_label(a.label) : nullptr;
            Track changed = with_shape_at(before, a, frame, spec, new_id, task ? task->medium_of(frame) : MediumSpan{});
            if (!same_track(changed, before)) c.track_ops.push_back(TrackOp::update(before, std::move(changed), (size_t)t));
        }
    }
    return c;
}

Command DocumentSession::remove_shapes_command(std::string name, const std::vector<std::string>& ids) const {
    Command c{std::move(name), {}, {}};
    std::vector<std::pair<size_t, std::string>> objects, tracks;
    for (const std::string& id : ids) {
        if (int i = find_object(document_, id); i >= 0) objects.push_back({(size_t)i, id});
        else if (int t = find_track(document_, id); t >= 0) tracks.push_back({(size_t)t, id});
    }
    // Highest index first, so that every op's index is right when it is applied and undone.
    std::sort(objects.rbegin(), objects.rend());
    std::sort(tracks.rbegin(), tracks.rend());
    for (auto& [i, id] : objects) c.ops.push_back(ObjectOp::remove(document_.objects[i], i));
    for (auto& [i, id] : tracks) c.track_ops.push_back(TrackOp::remove(document_.tracks[i], i));
    return c;
}

bool DocumentSession::create_shape(std::string name, Object shape, bool as_track, const Task* task) {
    if (const LabelSpec* label = task ? task->find_label(shape.label) : nullptr;
        label && !label->allows(shape.type)) {
        notices_.refuse({"type_not_allowed", shape.id, "label \"" + label->name + "\" does not allow " + to_string(shape.type) + " shapes; " + shape.id + " was not created"});
        return false;
    }
    if (!as_track || shape.type == ShapeType::Tag)
        return perform(Command{std::move(name), {ObjectOp::create(std::move(shape), document_.objects.size())}, {}});
    const LabelSpec* spec = task ? task->find_label(shape.label) : nullptr;
    std::string keyframe_id = shape.id + ".k" + std::to_string(shape.frame);
    if (id_in_use(document_, keyframe_id)) keyframe_id = new_object_id();
    Track t = track_from_object(shape, spec, shape.id, keyframe_id);
    return perform(Command{std::move(name), {}, {TrackOp::create(std::move(t), document_.tracks.size())}});
}

const DocumentSession::ItemNumber* DocumentSession::number_of(const std::string& id) const {
    if (numbers_revision_ != revision_) {
        numbers_revision_ = revision_;
        numbers_.clear();
        std::unordered_map<std::string, int> objects, tracks;  // per label: how many so far
        for (const Object& o : document_.objects) numbers_[o.id] = ItemNumber{o.label, ++objects[o.label], false};
        for (const Track& t : document_.tracks) numbers_[t.id] = ItemNumber{t.label, ++tracks[t.label], true};
    }
    auto it = numbers_.find(id);
    return it == numbers_.end() ? nullptr : &it->second;
}

}  // namespace pm
