// Backend profiles: how Polymark's item operations map onto another backend's routes and
// payloads, as data (a JSON profile), never code. docs/PROFILES.md is the contract: the profile
// format, the transforms, the guarantees each profile states.
// A profile maps one of our items (an Object or a Track, docs/SCHEMA.md sections 5-6) to one
// backend payload through JSON Pointer templates, fixed constants and a small set of invertible
// transforms; the inverse direction reads payloads back. Every mapping to a backend is checked by
// mapping it back: what the backend cannot hold is a `not_expressible` error, never silent loss
// (except the keys a profile lists under `drops`, which it states it loses).
// Depends on the document model and the sync wire types only: no I/O; requests are values the
// platform performs. Units: our coordinates are image pixels; percent is of the frame's media
// size (the context supplies it); frames are our 0-based task frames.
#pragma once
#include "polymark/document.hpp"
#include "polymark/error.hpp"
#include "polymark/review.hpp"
#include "polymark/sync.hpp"
#include "polymark/task.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pm {

inline constexpr const char* kProfileFormat = "polymark.backend-profile";
inline constexpr int kProfileVersion = 1;

// [SECTION] The parsed profile

struct Guarantee {
    bool kept = false;
    std::string why;  // one sentence for people (the UI shows it)
};

struct Route {
    std::string method;   // GET, POST, PUT, PATCH, DELETE
    std::string path;     // template: {task}, {job}, {id}, {collection}, ... (context vars)
    Json body;            // template; null: no body
    std::string item_at;  // pointer template into body where the item payload goes ("-" appends)
    Json item;            // delete: the item payload template ({"id": "{id}"}); null: none
    std::string id_at;    // create: pointer template into the reply where the backend's new id is
    bool present = false;
};

// Where a load reply holds items: a pointer to an array, and the collection name it is.
struct LoadSource {
    std::string at;
    std::string collection;
};

struct LoadRoute {
    Route route;
    std::string document_at;           // the whole Polymark document here (identity profiles)
    std::vector<LoadSource> items;     // or arrays of backend items
};

// One invertible value transform (docs/PROFILES.md, "Transforms").
struct Transform {
    enum class Kind { Offset, Divide, Lookup, Map, Not, Wrap, Attributes } kind = Kind::Offset;
    Json arg;              // offset/divide amount (number or "{var}"), map table
    std::string table;     // lookup / attributes: the context table
    bool keep_missing = false;  // lookup: pass values the table lacks through unchanged
    std::string id_key, value_key;  // attributes: list entry keys
    bool strings = false;  // attributes: the backend holds values as strings
};

struct FieldMap {
    std::string ours;     // pointer into our item's JSON (object_to_json / track_to_json)
    std::string theirs;   // pointer into the backend payload; empty with `fixed`
    std::vector<Transform> transforms;  // applied in order to the backend, reversed from it
    Json absent;          // the backend's value for "none" (written when ours is absent)
    Json fixed;           // no backend field: ours always reads as this value
    bool write_only = false;  // derived on the backend (LS `time`): written, not read
    bool read_only = false;   // set by the backend (CVAT's owner, its ids): read, never written
};

// Region: an issue's point [x, y] or box [x1, y1, x2, y2] as a flat list; read back, a list of
// more points (a polygon drawn in the backend) becomes its bounding box.
enum class GeometryForm { None, Flat, Pairs, Xywh, CentreRadii, CentreRim, Region };
enum class Units { Pixels, Percent };

struct GeometryMap {
    GeometryForm form = GeometryForm::None;
    Units units = Units::Pixels;
    std::string points;    // Flat, Pairs, CentreRim: the array's pointer
    std::string box;       // Xywh, CentreRadii: the object whose members are written
    std::string rotation;  // empty: the backend has no rotation
    bool rotation_about_corner = false;  // Label Studio: about the top-left corner
};

struct PartMap {  // the geometry and fields of an item, or of one keyframe
    GeometryMap geometry;
    std::vector<FieldMap> fields;
    std::vector<std::pair<std::string, Json>> constants;  // pointer, value template
};

struct ItemMap {
    SyncKind kind = SyncKind::Object;
    ShapeType type = ShapeType::Rectangle;
    std::string collection;  // names the item's place in routes and load replies
    bool identity = false;   // the payload IS our item JSON (polymark, rest)
    bool any_type = false;   // "type": "any" (identity mappings)
    PartMap item;
    std::string keyframes_at;       // tracks: the keyframe array's pointer
    PartMap keyframe;
    std::string keyframe_id_template;  // backends without keyframe ids: e.g. "{track}.k{frame}"
    std::vector<std::string> drops;    // our pointers ("*" = any index) the backend does not keep
    std::string path;  // "/items/3": where it was in the profile, for errors
};

enum class SaveMode { Operations, Items, Document };

// [SECTION] The review section (docs/PROFILES.md, section 7): jobs and their stages, issues and
// comments on the backend's own review routes. Decisions have no route: a profile says why.

// A list route: its reply holds the items at `items_at` and, paginated, the next page's URL at
// `next_at` (null or absent on the last page).
struct ListRoute {
    Route route;
    std::string items_at, next_at;
};

struct ReviewItemMap {
    ReviewKind kind = ReviewKind::Issue;
    ListRoute list;              // issues: {job}; comments: {issue} (the issue's backend id) too
    Route create, update, remove;  // {id}: the backend id; create's id_at names it in the reply
    std::string first_comment_at;  // issues: where the create body carries the first comment's text
    std::string id_table;          // the context table of (our id, backend id) for this kind
    std::string learn_id;          // our id for an item no one here made: a template of {id}
    PartMap part;                  // constants, geometry (issues: region) and fields
    std::vector<std::string> drops;       // our pointers the backend does not keep
    std::vector<std::string> write_once;  // our pointers an update cannot change (refused)
    std::string path;                     // "/review/issues", for errors
    bool present = false;
};

struct StageMap {
    JobStage ours = JobStage::Annotation;
    std::string theirs;          // the backend's stage
    std::string state;           // the state sent on entering it
    std::string returned_state;  // the state sent on entering it from review (a job sent back)
};

struct ReviewProfile {
    bool present = false;
    Guarantee decisions;    // kept: false says why decisions stay in this browser
    Guarantee stage_check;  // whether a move checks the stage the client saw
    Route job_read, job_move;
    std::string stage_at, state_at;  // pointers into the job payload and the move body
    std::vector<StageMap> stages;
    PartMap job;  // fields of the job payload: ours are serve.py's job members (id, start_frame, ...)
    ReviewItemMap issues, comments;
};

struct BackendProfile {
    std::string name, description;
    Guarantee conflicts, deltas, history, revisions;
    std::vector<std::pair<std::string, std::string>> headers;  // value templates ({token})
    LoadRoute load;
    Route catchup;
    SaveMode save_mode = SaveMode::Items;
    Route create, update, remove;  // Items mode
    Route save;                    // Operations and Document modes: the one request
    std::vector<ItemMap> items;
    ReviewProfile review;  // present: the backend has review routes

    // A backend that cannot detect conflicts: the last save wins, and the UI says so.
    bool last_writer_wins() const { return !conflicts.kept; }
};

Expected<BackendProfile> profile_from_json(const Json& json);
Expected<BackendProfile> parse_profile(std::string_view text);

// [SECTION] What a mapping needs from the task and the backend

struct MediaSize {
    long long frames = 1;
    int width = 0, height = 0;
};

struct ProfileContext {
    std::map<std::string, Json> vars;  // path and body template variables: task, job, revision, ...
    std::string token;                 // substituted into headers only, never logged
    std::vector<MediaSize> media;      // in task order: the percent transform's sizes per frame
    // Lookup tables, ours -> theirs ("labels": label id -> backend id or name, "attributes":
    // attribute id -> spec id, "ids": item id -> backend id, "groups").
    std::map<std::string, std::vector<std::pair<Json, Json>>> tables;
    // Attribute id -> "string" | "number" | "boolean": how to read a string-valued backend.
    std::map<std::string, std::string> attribute_types;
};
// Media sizes, the label table (label id -> label name) and attribute types from a task.
ProfileContext context_from_task(const Task& task);
std::optional<MediaSize> media_size_at(const ProfileContext& context, long long frame);

// [SECTION] Mapping

struct BackendRequest {
    std::string method;
    std::string path;
    Json body;  // null: none
    std::vector<std::pair<std::string, std::string>> headers;
    // The headers with secrets masked, for logs and error messages.
    std::vector<std::pair<std::string, std::string>> redacted_headers() const;
};

struct BackendItem {
    SyncKind kind = SyncKind::Object;
    std::optional<Object> object;
    std::optional<Track> track;
};

// One item, both directions. item_to_backend checks the round trip (not_expressible).
Expected<Json> item_to_backend(const BackendProfile& profile, const ProfileContext& context, SyncKind kind, const Json& value);
Expected<BackendItem> item_from_backend(const BackendProfile& profile, const ProfileContext& context,
                                        const Json& payload, const std::string& collection = "");

// One wire op as one request (Operations and Items modes). A delete carries no value: pass the
// item's last value as `previous` so that the right collection is chosen (CVAT tags vs shapes).
Expected<BackendRequest> to_backend(const BackendProfile& profile, const ProfileContext& context,
                                    const WireOp& op, const Json* previous = nullptr);
// The whole document as one request (Document mode: Label Studio's `result` array).
Expected<BackendRequest> document_to_backend(const BackendProfile& profile, const ProfileContext& context, const Document& doc);
// The load request, and the document read from its reply.
BackendRequest load_request(const BackendProfile& profile, const ProfileContext& context);
Expected<Document> from_backend(const BackendProfile& profile, const ProfileContext& context, const Json& load_reply);

// [SECTION] Backend ids

// The ids a create reply reports at the create route's `id_at`: (our id, backend id) pairs for the
// item and, for a track, its keyframes by position. Empty without `id_at` or when the reply lacks it.
std::vector<std::pair<Json, Json>> ids_from_create_reply(const BackendProfile& profile, const ProfileContext& context,
                                                         const WireOp& create, const Json& reply);
// Backend ids in a load reply that the `ids` table lacks (items other clients created) are added
// as (their text, themselves): such an item reads with its backend id as our id, and maps back.
void learn_backend_ids(const BackendProfile& profile, ProfileContext& context, const Json& load_reply);

// [SECTION] Review items and jobs (docs/PROFILES.md, section 7)

// Sets a value through a JSON Pointer, making missing objects on the way (false: no place there);
// erases one ("*" = every array element).
bool set_at_pointer(Json& root, const std::string& pointer, Json value);
void erase_at_pointer(Json& root, const std::string& pointer);

// One review item (issue or comment JSON, docs/SCHEMA.md section 13) as the backend's payload, and
// back. The round trip is checked: what the backend cannot hold is not_expressible, except `drops`
// and the fields the backend sets itself (read_only: ids, the author). Decisions have no mapping.
Expected<Json> review_item_to_backend(const BackendProfile& profile, const ProfileContext& context, ReviewKind kind, const Json& value);
Expected<Json> review_item_from_backend(const BackendProfile& profile, const ProfileContext& context, ReviewKind kind, const Json& payload);
const ReviewItemMap* review_map(const BackendProfile& profile, ReviewKind kind);
// The request of a route of the review section with extra variables ({id}, {issue}); a body
// template and the payload are merged (payload members win).
Expected<BackendRequest> review_request(const BackendProfile& profile, const ProfileContext& context, const Route& route,
                                        const std::map<std::string, Json>& extra, const Json* payload);
// Our id of a backend item id: the kind's table, else learnt (added to the table) from `learn_id`.
std::string review_our_id(const BackendProfile& profile, ProfileContext& context, ReviewKind kind, const Json& backend_id);
// The job as serve.py's job JSON ({"id", "start_frame", "stop_frame", "stage", "assignee", ...})
// from the backend's job payload, and the move of a job as the backend's request.
Expected<Json> job_from_backend(const BackendProfile& profile, const ProfileContext& context, const Json& payload);
Expected<BackendRequest> job_move_to_backend(const BackendProfile& profile, const ProfileContext& context, JobStage from, JobStage to);
// The path of a list's next page from the URL a paginated reply gives ("http://host/api/x?page=2"
// -> "/api/x?page=2"); none on the last page.
std::optional<std::string> next_page_path(const Json& reply, const ListRoute& list);

}  // namespace pm
