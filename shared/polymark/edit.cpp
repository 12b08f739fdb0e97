#include "polymark/edit.hpp"

#include <algorithm>
#include <unordered_set>

namespace pm {

Command Command::inverse() const {
    Command inv{name, {}, {}};
    for (size_t i = ops.size(); i-- > 0;) inv.ops.push_back(ops[i].inverse());
    for (size_t i = track_ops.size(); i-- > 0;) inv.track_ops.push_back(track_ops[i].inverse());
    return inv;
}

void stamp_guideline(Command& command, long long version) {
    for (ObjectOp& op : command.ops)
        if (op.after) op.after->guideline = version;
    for (TrackOp& op : command.track_ops)
        if (op.after) op.after->guideline = version;
}

std::vector<long long> frames_changed(const Command& command) {
    std::vector<long long> frames;
    for (const ObjectOp& op : command.ops) {
        if (op.before) frames.push_back(op.before->frame);
        if (op.after) frames.push_back(op.after->frame);
    }
    static const std::vector<Keyframe> none;
    for (const TrackOp& op : command.track_ops) {
        const std::vector<Keyframe>& before = op.before ? op.before->keyframes : none;
        const std::vector<Keyframe>& after = op.after ? op.after->keyframes : none;
        // A change of the track itself (its label, attributes) shows on every keyframe.
        bool whole = op.before && op.after && (op.before->label != op.after->label || op.before->attributes != op.after->attributes);
        auto at = [](const std::vector<Keyframe>& list, long long frame) -> const Keyframe* {
            for (const Keyframe& k : list)
                if (k.frame == frame) return &k;
            return nullptr;
        };
        for (const Keyframe& k : before)
            if (whole || !at(after, k.frame) || *at(after, k.frame) != k) frames.push_back(k.frame);
        for (const Keyframe& k : after)
            if (!at(before, k.frame)) frames.push_back(k.frame);
    }
    std::sort(frames.begin(), frames.end());
    frames.erase(std::unique(frames.begin(), frames.end()), frames.end());
    return frames;
}

int find_object(const Document& doc, const std::string& id) {
    for (size_t i = 0; i < doc.objects.size(); ++i)
        if (doc.objects[i].id == id) return (int)i;
    return -1;
}

int find_track(const Document& doc, const std::string& id) {
    for (size_t i = 0; i < doc.tracks.size(); ++i)
        if (doc.tracks[i].id == id) return (int)i;
    return -1;
}

bool id_in_use(const Document& doc, const std::string& id) {
    if (find_object(doc, id) >= 0) return true;
    for (const Track& t : doc.tracks) {
        if (t.id == id) return true;
        for (const Keyframe& k : t.keyframes)
            if (k.id == id) return true;
    }
    return false;
}

namespace {

std::vector<Object>& items(Document& doc, const Object*) { return doc.objects; }
std::vector<Track>& items(Document& doc, const Track*) { return doc.tracks; }
int find_item(const Document& doc, const std::string& id, const Object*) { return find_object(doc, id); }
int find_item(const Document& doc, const std::string& id, const Track*) { return find_track(doc, id); }
bool same_item(const Object& a, const Object& b) { return same_object(a, b); }
bool same_item(const Track& a, const Track& b) { return same_track(a, b); }
const char* item_name(const Object*) { return "object"; }
const char* item_name(const Track*) { return "track"; }

// The ids in use (objects, tracks, keyframes), kept by a command of many ops so that each create
// checks its id in constant time (id_in_use walks the document).
using IdSet = std::unordered_set<std::string>;
IdSet ids_in_use(const Document& doc) {
    IdSet ids;
    for (const Object& o : doc.objects) ids.insert(o.id);
    for (const Track& t : doc.tracks) {
        ids.insert(t.id);
        for (const Keyframe& k : t.keyframes) ids.insert(k.id);
    }
    return ids;
}
void note_ids(IdSet& ids, const Object& o, bool in_use) { in_use ? (void)ids.insert(o.id) : (void)ids.erase(o.id); }
void note_ids(IdSet& ids, const Track& t, bool in_use) {
    in_use ? (void)ids.insert(t.id) : (void)ids.erase(t.id);
    for (const Keyframe& k : t.keyframes) in_use ? (void)ids.insert(k.id) : (void)ids.erase(k.id);
}

// Where the op's item is: at its recorded index when it is still there (an undo, a big import:
// constant time), else found by id.
template <class Item>
int locate(const Document& doc, const std::vector<Item>& list, const ItemOp<Item>& op) {
    if (op.index < list.size() && list[op.index].id == op.id) return (int)op.index;
    return find_item(doc, op.id, (const Item*)nullptr);
}

template <class Item>
std::optional<Error> apply_op(Document& doc, const ItemOp<Item>& op, const std::string& where, IdSet* ids) {
    const Item* kind = nullptr;
    std::vector<Item>& list = items(doc, kind);
    auto what = [&] { return std::string(item_name(kind)) + " \"" + op.id + "\""; };
    if (!op.before) {
        if (!op.after) return Error{"bad_op", where, "the operation on " + what() + " neither creates, updates nor deletes"};
        if (ids ? ids->count(op.id) > 0 : id_in_use(doc, op.id)) return Error{"duplicate_id", where, "cannot create " + what() + ": the id is already used"};
        size_t index = std::min(op.index, list.size());
        list.insert(list.begin() + (long)index, *op.after);
        if (ids) note_ids(*ids, *op.after, true);
        return std::nullopt;
    }
    int at = locate(doc, list, op);
    if (at < 0) return Error{"not_found", where, what() + " is not in the document (it was deleted or never existed)"};
    if (!same_item(list[at], *op.before)) return Error{"conflict", where, what() + " changed since this operation was made"};
    if (ids) note_ids(*ids, list[at], false);
    if (op.after) list[at] = *op.after;
    else list.erase(list.begin() + at);
    if (ids && op.after) note_ids(*ids, *op.after, true);
    return std::nullopt;
}

template <class Item>
std::optional<Error> apply_ops(Document& doc, const std::vector<ItemOp<Item>>& ops, const char* list_name) {
    std::optional<IdSet> ids;
    if (ops.size() > 32) ids = ids_in_use(doc);
    IdSet* kept = ids ? &*ids : nullptr;
    for (size_t i = 0; i < ops.size(); ++i) {
        if (auto e = apply_op(doc, ops[i], json_pointer_append(json_pointer_append("", list_name), i), kept)) {
            for (size_t k = i; k-- > 0;) apply_op(doc, ops[k].inverse(), "", kept);
            return e;
        }
    }
    return std::nullopt;
}

}  // namespace

Expected<bool> apply_command(Document& doc, const Command& command) {
    // A command applies whole or not at all: on a failed op, the ops already applied are undone.
    std::optional<Error> e = apply_ops(doc, command.ops, "ops");
    if (!e) {
        e = apply_ops(doc, command.track_ops, "track_ops");
        if (e) apply_ops(doc, command.inverse().ops, "ops");
    }
    if (!e) return true;
    e->message = "\"" + command.name + "\": " + e->message;
    return *e;
}

namespace {

Json item_to_json(const Object& o) { return object_to_json(o); }
Json item_to_json(const Track& t) { return track_to_json(t); }
Expected<Object> item_from_json(const Json& j, const std::string& path, const Object*) { return object_from_json(j, path); }
Expected<Track> item_from_json(const Json& j, const std::string& path, const Track*) { return track_from_json(j, path); }

template <class Item>
Json ops_to_json(const std::vector<ItemOp<Item>>& ops) {
    Json out = Json::array();
    for (const ItemOp<Item>& op : ops) {
        Json j = Json::object();
        j["op"] = !op.before ? "create" : !op.after ? "delete" : "update";
        j["id"] = op.id;
        j["index"] = op.index;
        if (op.before) j["before"] = item_to_json(*op.before);
        if (op.after) j["after"] = item_to_json(*op.after);
        out.push_back(std::move(j));
    }
    return out;
}

template <class Item>
void ops_from_json(JsonReader& r, Errors& errors, const Json& ops, const std::string& path, std::vector<ItemOp<Item>>& out) {
    if (!r.expect_array(ops, path)) return;
    for (size_t i = 0; i < ops.size(); ++i) {
        std::string p = json_pointer_append(path, i);
        const Json& j = ops[i];
        if (!r.expect_object(j, p)) continue;
        ItemOp<Item> op;
        op.id = r.string_member(j, p, "id", true).value_or("");
        op.index = (size_t)std::max(0LL, r.integer_member(j, p, "index", true).value_or(0));
        auto kind = r.string_member(j, p, "op", true);
        for (const char* side : {"before", "after"}) {
            const Json* o = r.member(j, p, side, false);
            if (!o) continue;
            auto item = item_from_json(*o, json_pointer_append(p, side), (const Item*)nullptr);
            if (!item) { errors.insert(errors.end(), item.errors().begin(), item.errors().end()); continue; }
            (side[0] == 'b' ? op.before : op.after) = std::move(item.value());
        }
        bool shape_ok = kind && ((*kind == "create" && !op.before && op.after) || (*kind == "update" && op.before && op.after) ||
                                 (*kind == "delete" && op.before && !op.after));
        if (kind && !shape_ok) r.fail("bad_op", p, "operation \"" + *kind + "\" at " + p + " needs " +
                                     (*kind == "create" ? "\"after\" only" : *kind == "delete" ? "\"before\" only" : *kind == "update" ? "both \"before\" and \"after\"" : "op create, update or delete"));
        out.push_back(std::move(op));
    }
}

}  // namespace

Json command_to_json(const Command& command) {
    Json j{{"name", command.name}, {"ops", ops_to_json(command.ops)}};
    if (!command.track_ops.empty()) j["track_ops"] = ops_to_json(command.track_ops);
    return j;
}

Expected<Command> command_from_json(const Json& json) {
    Errors errors;
    JsonReader r(errors);
    Command command;
    if (!r.expect_object(json, "")) return errors;
    command.name = r.string_member(json, "", "name", true).value_or("");
    if (const Json* ops = r.member(json, "", "ops", true)) ops_from_json(r, errors, *ops, "/ops", command.ops);
    if (const Json* ops = r.member(json, "", "track_ops", false)) ops_from_json(r, errors, *ops, "/track_ops", command.track_ops);
    if (!errors.empty()) return errors;
    return command;
}

Expected<bool> History::perform(Document& doc, Command command) {
    if (command.empty()) return false;
    auto applied = apply_command(doc, command);
    if (!applied) return applied;
    done_.push_back(std::move(command));
    undone_.clear();
    ++revision_;
    return true;
}

std::optional<std::string> History::undo(Document& doc) {
    if (done_.empty()) return std::nullopt;
    if (!apply_command(doc, done_.back().inverse())) return std::nullopt;
    undone_.push_back(std::move(done_.back()));
    done_.pop_back();
    ++revision_;
    return undone_.back().name;
}

std::optional<std::string> History::redo(Document& doc) {
    if (undone_.empty()) return std::nullopt;
    if (!apply_command(doc, undone_.back())) return std::nullopt;
    done_.push_back(std::move(undone_.back()));
    undone_.pop_back();
    ++revision_;
    return done_.back().name;
}

std::string IdGenerator::next(const Document& doc) {
    for (;;) {
        std::string id = prefix_ + std::to_string(++counter_);
        if (!id_in_use(doc, id)) return id;
    }
}

}  // namespace pm
