// Every change to the annotation document is a Command: a named list of plain operations on
// objects and tracks by id (create, update, delete), each carrying the item before and after so
// that it inverts without looking at the document. Commands serialise to JSON, so the same operations can
// be journaled and sent to a backend. History is the unbounded undo/redo stack; one user gesture
// (a whole drag) is one Command.
#pragma once
#include "polymark/document.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pm {

// One operation on an Object (of Document::objects) or a Track (of Document::tracks).
template <class Item>
struct ItemOp {
    std::string id;
    std::optional<Item> before;  // none: the op creates the item
    std::optional<Item> after;   // none: the op deletes the item
    size_t index = 0;            // position in its list (where it is, or goes)

    static ItemOp create(Item item, size_t index) { std::string id = item.id; return {std::move(id), std::nullopt, std::move(item), index}; }
    static ItemOp update(Item before, Item after, size_t index) { std::string id = after.id; return {std::move(id), std::move(before), std::move(after), index}; }
    static ItemOp remove(Item item, size_t index) { std::string id = item.id; return {std::move(id), std::move(item), std::nullopt, index}; }
    ItemOp inverse() const { return {id, after, before, index}; }
};
using ObjectOp = ItemOp<Object>;
using TrackOp = ItemOp<Track>;

struct Command {
    std::string name;  // what the labeler did, for the history panel: "draw polygon", "move 3 shapes"
    std::vector<ObjectOp> ops;        // applied first, in order
    std::vector<TrackOp> track_ops;   // then these, in order
    Command inverse() const;
    bool empty() const { return ops.empty() && track_ops.empty(); }
};

// A person's edit records the guideline version in force (docs/SCHEMA.md section 14): every
// object and track the command creates or updates gets `guideline` = version. Inside the command,
// so that undo restores the previous stamp and sync sends the new one.
void stamp_guideline(Command& command, long long version);

// The frames whose stored shapes the command changes, ascending: the frames of the objects it
// creates, updates or deletes (before and after), and of the track keyframes that differ.
std::vector<long long> frames_changed(const Command& command);

// Applies ops in order (object ops, then track ops). Each op's precondition is checked first (create: id unused; update and
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
int find_track(const Document& doc, const std::string& id);   // index, or -1
// Whether any object, track or keyframe of the document has this id (one namespace).
bool id_in_use(const Document& doc, const std::string& id);

}  // namespace pm
