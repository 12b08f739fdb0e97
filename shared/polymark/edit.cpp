#include "polymark/edit.hpp"

namespace pm {

ObjectOp ObjectOp::create(Object o, size_t index) {
    std::string id = o.id;
    return ObjectOp{std::move(id), std::nullopt, std::move(o), index};
}

ObjectOp ObjectOp::update(Object before, Object after, size_t index) {
    std::string id = after.id;
    return ObjectOp{std::move(id), std::move(before), std::move(after), index};
}

ObjectOp ObjectOp::remove(Object o, size_t index) {
    std::string id = o.id;
    return ObjectOp{std::move(id), std::move(o), std::nullopt, index};
}

ObjectOp ObjectOp::inverse() const { return ObjectOp{id, after, before, index}; }

Command Command::inverse() const {
    Command inv{name, {}};
    for (size_t i = ops.size(); i-- > 0;) inv.ops.push_back(ops[i].inverse());
    return inv;
}

int find_object(const Document& doc, const std::string& id) {
    for (size_t i = 0; i < doc.objects.size(); ++i)
        if (doc.objects[i].id == id) return (int)i;
    return -1;
}

namespace {

std::optional<Error> apply_op(Document& doc, const ObjectOp& op, size_t n) {
    std::string where = "/ops/" + std::to_string(n);
    int at = find_object(doc, op.id);
    if (!op.before) {
        if (!op.after) return Error{"bad_op", where, "operation " + std::to_string(n) + " on \"" + op.id + "\" neither creates, updates nor deletes"};
        if (at >= 0) return Error{"duplicate_id", where, "cannot create object \"" + op.id + "\": the id is already used"};
        size_t index = std::min(op.index, doc.objects.size());
        doc.objects.insert(doc.objects.begin() + (long)index, *op.after);
        return std::nullopt;
    }
    if (at < 0) return Error{"not_found", where, "object \"" + op.id + "\" is not in the document (it was deleted or never existed)"};
    if (!same_object(doc.objects[at], *op.before))
        return Error{"conflict", where, "object \"" + op.id + "\" changed since this operation was made"};
    if (op.after) doc.objects[at] = *op.after;
    else doc.objects.erase(doc.objects.begin() + at);
    return std::nullopt;
}

}  // namespace

Expected<bool> apply_command(Document& doc, const Command& command) {
    // A command applies whole or not at all: on a failed op, the ops already applied are undone.
    for (size_t i = 0; i < command.ops.size(); ++i) {
        if (auto e = apply_op(doc, command.ops[i], i)) {
            for (size_t k = i; k-- > 0;) apply_op(doc, command.ops[k].inverse(), k);
            e->message = "\"" + command.name + "\": " + e->message;
            return *e;
        }
    }
    return true;
}

Json command_to_json(const Command& command) {
    Json ops = Json::array();
    for (const ObjectOp& op : command.ops) {
        Json j = Json::object();
        j["op"] = !op.before ? "create" : !op.after ? "delete" : "update";
        j["id"] = op.id;
        j["index"] = op.index;
        if (op.before) j["before"] = object_to_json(*op.before);
        if (op.after) j["after"] = object_to_json(*op.after);
        ops.push_back(std::move(j));
    }
    return Json{{"name", command.name}, {"ops", std::move(ops)}};
}

Expected<Command> command_from_json(const Json& json) {
    Errors errors;
    JsonReader r(errors);
    Command command;
    if (!r.expect_object(json, "")) return errors;
    command.name = r.string_member(json, "", "name", true).value_or("");
    const Json* ops = r.member(json, "", "ops", true);
    if (!ops || !r.expect_array(*ops, "/ops")) return errors;
    for (size_t i = 0; i < ops->size(); ++i) {
        std::string p = json_pointer_append("/ops", i);
        const Json& j = (*ops)[i];
        if (!r.expect_object(j, p)) continue;
        ObjectOp op;
        op.id = r.string_member(j, p, "id", true).value_or("");
        op.index = (size_t)std::max(0LL, r.integer_member(j, p, "index", true).value_or(0));
        auto kind = r.string_member(j, p, "op", true);
        for (const char* side : {"before", "after"}) {
            const Json* o = r.member(j, p, side, false);
            if (!o) continue;
            auto obj = object_from_json(*o, p + "/" + side);
            if (!obj) { errors.insert(errors.end(), obj.errors().begin(), obj.errors().end()); continue; }
            (side[0] == 'b' ? op.before : op.after) = std::move(obj.value());
        }
        bool shape_ok = kind && ((*kind == "create" && !op.before && op.after) || (*kind == "update" && op.before && op.after) ||
                                 (*kind == "delete" && op.before && !op.after));
        if (kind && !shape_ok) r.fail("bad_op", p, "operation \"" + *kind + "\" at " + p + " needs " +
                                     (*kind == "create" ? "\"after\" only" : *kind == "delete" ? "\"before\" only" : *kind == "update" ? "both \"before\" and \"after\"" : "op create, update or delete"));
        command.ops.push_back(std::move(op));
    }
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
        if (find_object(doc, id) < 0) return id;
    }
}

}  // namespace pm
