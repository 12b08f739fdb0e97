// Every change to the annotation document is a Command: a named list of plain operations on
// objects by id (create, update, delete), each carrying the object before and after so that it
// inverts without looking at the document. Commands serialise to JSON, so the same operations can
// be journaled and sent to a backend. History is the unbounded undo/redo stack; one user gesture
// (a whole drag) is one Command.
#pragma once
#include "polymark/document.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pm {

struct ObjectOp {
    std::string id;
    std::optional<Object> before;  // none: the op creates the object
    std::optional<Object> after;   // none: the op deletes the object
    size_t index = 0;              // position in Document::objects (where it is, or goes)

    static ObjectOp create(Object o, size_t index);
    static ObjectOp update(Object before, Object after, size_t index);
    static ObjectOp remove(Object o, size_t index);
    ObjectOp inverse() const;
};

struct Command {
    std::string name;  // what the labeler did, for the history panel: "draw polygon", "move 3 shapes"
    std::vector<ObjectOp> ops;
    Command inverse() const;
    bool empty() const { return ops.empty(); }
};

// Applies ops in order. Each op's precondition is checked first (create: id unused; update and
// delete: the object is there and equals `before`); on a mismatch nothing is changed and the
// error names the op and the id.
Expected<bool> apply_command(Document& doc, const Command& command);

Json command_to_json(const Command& command);
Expected<Command> command_from_json(const Json& json);

class History {
public:
    // Applies the command and records it; a failed or empty command records nothing.
    Expected<bool> perform(Document& doc, Command command);
    // Undo/redo return the name of the step they moved over, or nothing at the end of the stack.
    std::optional<std::string> undo(Document& doc);
    std::optional<std::string> redo(Document& doc);
    bool can_undo() const { return !done_.empty(); }
    bool can_redo() const { return !undone_.empty(); }
    const std::vector<Command>& done() const { return done_; }
    const std::vector<Command>& undone() const { return undone_; }
    void clear() { done_.clear(); undone_.clear(); }
    uint64_t revision() const { return revision_; }  // changes with every perform, undo and redo

private:
    std::vector<Command> done_, undone_;
    uint64_t revision_ = 0;
};

// Object ids the client generates: a per-session prefix and a counter ("o-k3x9-17").
class IdGenerator {
public:
    explicit IdGenerator(std::string prefix) : prefix_(std::move(prefix)) {}
    std::string next(const Document& doc);  // skips ids already in doc
private:
    std::string prefix_;
    uint64_t counter_ = 0;
};

int find_object(const Document& doc, const std::string& id);  // index, or -1

}  // namespace pm
