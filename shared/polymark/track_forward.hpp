// "Track forward": the visual tracker (tracker.hpp) run over the frames after the current one for
// the tracks a labeler selected. A job the app drives one frame at a time: it asks which frame's
// pixels it needs, the app fetches them (a decoded image, a video frame copied out of the
// browser), the job tracks every object on them. So the work can be sliced across UI frames or
// run in a worker, and a frame that fails to decode only stops the job there.
//
// What it writes: a keyframe per tracked frame, marked `source: auto`. A keyframe a person made
// is never replaced: when an object reaches one, its tracker starts again from that shape (a
// correction earlier in the video carries forward). An object whose tracker loses it stops there
// and the job says where; nothing is written for that frame or later. Everything the job wrote is
// one Command (one undo step), built against the document as it is when the job ends.
#pragma once
#include "polymark/document.hpp"
#include "polymark/edit.hpp"
#include "polymark/track_edit.hpp"
#include "polymark/tracker.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pm {

struct TrackForwardOptions {
    long long frames = 0;  // frames to track after the start one; 0: until every object is lost or the task ends
};

enum class TrackForwardState { Tracking, Lost, Done, Failed };
const char* to_string(TrackForwardState s);

// What a job wrote for one track, apart from the job: a job run elsewhere (a Web Worker) hands
// these back, and track_forward_command() merges them like TrackForwardJob::command().
struct TrackWritten {
    std::string track_id;
    ShapeType type = ShapeType::Rectangle;  // the track's, so that the keyframes read back checked
    std::vector<Keyframe> keyframes;
};
Command track_forward_command(const Document& doc, const std::vector<TrackWritten>& written);
Json track_written_to_json(const std::vector<TrackWritten>& written);
Expected<std::vector<TrackWritten>> track_written_from_json(const Json& json);

struct TrackForwardObject {
    std::string track_id;
    TrackForwardState state = TrackForwardState::Tracking;
    long long frame = 0;        // the last frame tracked; Lost / Failed: where it happened
    size_t keyframes = 0;       // automatic keyframes written
    double confidence = 0;      // of the last frame tracked
    std::string message;        // Lost / Failed: what happened, naming the track and the frame
};

class TrackForwardJob {
public:
    // Tracks `track_ids` of `doc` from `start_frame` (where each must be visible) over the
    // following frames of a task of `frame_count` frames. Fails when no id names a track, the
    // start frame is out of range, or there is no frame after it; objects that cannot be tracked
    // (tags, not visible on the start frame) are listed as Failed, the others go on.
    static Expected<TrackForwardJob> start(const Document& doc, const std::vector<std::string>& track_ids, long long start_frame,
                                           long long frame_count, TrackForwardOptions options = {});
    // The same from a job as a tracking worker receives it (PlatformPort::start_tracking_worker):
    // {"tracks": [track JSON], "ids": [...], "start", "frameCount", "frames"}.
    static Expected<TrackForwardJob> from_spec(const Json& spec);

    // The frame whose pixels the job needs next (the start frame first); nullopt once finished.
    std::optional<long long> next_frame() const;
    // The pixels of next_frame(). A bad view fails that frame like frame_failed.
    void feed(long long frame, const FrameView& pixels, const NewId& new_id);
    // The frame could not be decoded: every object still tracking stops before it, with the reason.
    void frame_failed(long long frame, const std::string& reason);
    void cancel();  // stops; what was written so far stays in command()

    bool finished() const { return !next_frame_; }
    bool cancelled() const { return cancelled_; }
    double progress() const;  // 0..1 of the frames to visit
    long long start_frame() const { return start_; }
    long long last_frame() const { return last_; }
    const std::vector<TrackForwardObject>& objects() const { return status_; }

    // The keyframes written so far, merged into the tracks of `doc` as they are now: automatic
    // keyframes on those frames are replaced, manual ones kept. Empty when nothing was written
    // (or every track was deleted meanwhile).
    Command command(const Document& doc) const;
    std::vector<TrackWritten> written() const;
    // {state, startFrame, lastFrame, progress, framesTracked, objects: [{id, state, frame,
    // keyframes, confidence, message}]}: the embedding API's `tracking` event (docs/API.md).
    Json status_json(const char* state, long long frames_fed) const;

private:
    struct Item {
        Track original;       // as it was when the job started
        Tracker tracker;
        Rect start_box;       // the box given to the tracker at its (re)start
        TrackState start_state;
        std::vector<Keyframe> written;
    };
    std::vector<Item> items_;
    std::vector<TrackForwardObject> status_;
    long long start_ = 0, last_ = 0;
    std::optional<long long> next_frame_;
    bool cancelled_ = false;

    void stop_all(TrackForwardState state, long long frame, const std::string& why);
    void advance();
};

}  // namespace pm
