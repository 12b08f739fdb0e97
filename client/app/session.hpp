// The document session: the annotation document and the only code that writes it. Edits
// (perform, undo, redo) go through the History; a loaded, replaced or remotely changed document
// comes in here too. Every change bumps the revision and is announced once (on_changed); every
// command applied is handed on for sync (on_applied). The current frame's shapes, tracks included,
// are derived here. Units: shapes in image pixels; frames are task frame indices.
#pragma once
#include "app/notices.hpp"
#include "polymark/document.hpp"
#include "polymark/edit.hpp"
#include "polymark/interpolate.hpp"
#include "polymark/sync.hpp"
#include "polymark/task.hpp"

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pm {

class DocumentSession {
public:
    explicit DocumentSession(Notices& notices);

    // Set by the app: why edits are refused right now (read-only), or nothing.
    std::function<std::optional<Error>()> refusal;
    // The guideline version in force (docs/SCHEMA.md section 14), stamped on what a person's edit
    // creates or updates; none while no version is known (nothing is stamped).
    std::function<std::optional<long long>()> guideline;
    // A command was applied to the document (performed, undone, redone, a replacement): for sync.
    std::function<void(const Command& applied)> on_applied;
    // The document changed; command_name is empty for changes that are not the labeler's edits.
    std::function<void(const std::string& command_name)> on_changed;

    const Document& document() const { return document_; }
    const History& history() const { return history_; }
    uint64_t revision() const { return revision_; }  // changes with every change of the document
    std::string new_object_id() { return ids_.next(document_); }

    // [SECTION] Edits: applied, recorded for undo and announced; a refused command changes nothing.
    // `by_person`: a person's edit, stamped with the guideline version (not a tracker's or an import's).
    bool perform(Command command, bool by_person = true);
    bool undo();
    bool redo();
    // setAnnotations: the document replaced whole (validated by the caller); nothing to undo into.
    Errors replace(Document document);
    // The document as the backend gave it: no command, no history.
    void load(Document document);
    // Other devices' changes, outside the undo history; true when the document changed.
    bool apply_remote(const std::vector<RemoteChange>& changes);
    // Edits the backend has not acknowledged yet, from the journal, applied over the loaded document.
    void apply_unsaved(SyncEngine& engine);

    // [SECTION] Shapes of a frame: the document's objects there, then every track's shape there as
    // an Object whose id is the track's, from its keyframes in `medium` (the frames of the video or
    // image holding `frame`: Task::medium_of). Cached for one frame and revision.
    const std::vector<Object>& frame_objects(long long frame, MediumSpan medium) const;
    std::vector<FrameShape> frame_state(long long frame, MediumSpan medium) const;
    bool is_track(const std::string& id) const { return find_track(document_, id) >= 0; }
    const Track* track(const std::string& id) const;
    // Commands for edits of frame shapes: an object is updated or deleted; a track gets (or
    // updates) a keyframe on `frame`, and deleting its shape deletes the track.
    Command update_shapes_command(std::string name, const std::vector<Object>& after, long long frame, const Task* task);
    Command remove_shapes_command(std::string name, const std::vector<std::string>& ids) const;
    // Creates a shape drawn on its frame, as a track when `as_track`.
    bool create_shape(std::string name, Object shape, bool as_track, const Task* task);

    // [SECTION] Numbers for names ("Person 3"): an object's place among its label's objects, a
    // track's among its label's tracks, in document order (creation order: new items are
    // appended). Computed, not stored; cached for one revision. Null for an id not in the document.
    struct ItemNumber { std::string label; int number = 0; bool track = false; };
    const ItemNumber* number_of(const std::string& id) const;

private:
    Notices& notices_;
    Document document_;
    History history_;
    uint64_t revision_ = 0;
    IdGenerator ids_;
    mutable InterpolationCache interpolation_;
    mutable std::vector<Object> frame_objects_;
    mutable uint64_t frame_objects_revision_ = ~0ull;
    mutable long long frame_objects_frame_ = -1;
    mutable std::unordered_map<std::string, ItemNumber> numbers_;
    mutable uint64_t numbers_revision_ = ~0ull;

    void changed(const std::string& command_name);
    bool refused();
};

}  // namespace pm
