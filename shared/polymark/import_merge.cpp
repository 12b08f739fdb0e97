#include "polymark/import_merge.hpp"

#include "polymark/json_pointer.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <unordered_set>

namespace pm {

namespace {

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower((unsigned char)x) == std::tolower((unsigned char)y); });
}

const LabelSpec* find_spec(const std::vector<LabelSpec>& labels, const std::string& id) {
    auto l = std::find_if(labels.begin(), labels.end(), [&](const LabelSpec& s) { return s.id == id; });
    return l == labels.end() ? nullptr : &*l;
}

// The task's label an imported label is without being asked: the same id, else a label named
// like it (ignoring case).
const LabelSpec* matching_task_label(const std::string& id, const LabelSpec* imported, const Task& task) {
    if (const LabelSpec* l = task.find_label(id)) return l;
    const std::string& name = imported && !imported->name.empty() ? imported->name : id;
    for (const LabelSpec& l : task.labels)
        if (same_name(l.name, name) || same_name(l.id, name)) return &l;
    return nullptr;
}

class NoteCounter {
public:
    void add(const std::string& message, size_t count = 1) {
        auto it = std::find_if(items_.begin(), items_.end(), [&](const auto& p) { return p.first == message; });
        if (it == items_.end()) items_.emplace_back(message, count);
        else it->second += count;
    }
    std::vector<std::string> list() const {
        std::vector<std::string> out;
        for (const auto& [message, count] : items_) out.push_back(std::to_string(count) + " " + message);
        return out;
    }

private:
    std::vector<std::pair<std::string, size_t>> items_;
};

// Fits an item's attributes to the target label: an attribute is matched by id, else through the
// imported label's name for it; a value that does not fit, or one the label lacks, is dropped.
class AttributeFitter {
public:
    AttributeFitter(const LabelSpec& target, const LabelSpec* imported, NoteCounter& notes) : target_(target), imported_(imported), notes_(notes) {}

    const AttributeSpec* spec_for(const std::string& id) const {
        auto by = [&](const std::string& key) -> const AttributeSpec* {
            for (const AttributeSpec& a : target_.attributes)
                if (a.id == key || same_name(a.name, key)) return &a;
            return nullptr;
        };
        if (const AttributeSpec* a = by(id)) return a;
        if (imported_)
            for (const AttributeSpec& a : imported_->attributes)
                if (a.id == id && !a.name.empty()) return by(a.name);
        return nullptr;
    }

    // Kept attributes renamed to the target's ids; those of the wrong home are handed to `moved`.
    std::vector<Attribute> fit(std::vector<Attribute> attributes, bool mutable_home, std::vector<Attribute>* moved) {
        std::vector<Attribute> kept;
        for (Attribute& a : attributes) {
            const AttributeSpec* spec = spec_for(a.id);
            if (spec && spec->type == AttributeType::Text && !a.value.is_string()) a.value = a.value.dump();
            if (!spec || !attribute_value_fits(*spec, a.value)) {
                notes_.add("attribute values dropped: label \"" + target_.id + "\" has no attribute \"" + a.id + "\" that holds them");
                continue;
            }
            a.id = spec->id;
            if (spec->mutable_ != mutable_home && moved) moved->push_back(std::move(a));
            else if (spec->mutable_ == mutable_home || !moved) kept.push_back(std::move(a));
        }
        return kept;
    }

private:
    const LabelSpec& target_;
    const LabelSpec* imported_;
    NoteCounter& notes_;
};

void put_attribute(std::vector<Attribute>& list, Attribute a) {
    auto it = std::find_if(list.begin(), list.end(), [&](const Attribute& x) { return x.id == a.id; });
    if (it == list.end()) list.push_back(std::move(a));
}

// A track's attributes on their homes: mutable ones on keyframes, immutable ones on the track.
void fit_track_attributes(Track& t, AttributeFitter& fitter) {
    std::vector<Attribute> to_keyframes, to_track;
    t.attributes = fitter.fit(std::move(t.attributes), false, &to_keyframes);
    for (Keyframe& k : t.keyframes) {
        std::vector<Attribute> moved;
        k.attributes = fitter.fit(std::move(k.attributes), true, &moved);
        if (&k == &t.keyframes.front()) to_track = std::move(moved);  // a value that may not vary: the first one
    }
    for (Attribute& a : to_track) put_attribute(t.attributes, std::move(a));
    if (!t.keyframes.empty())
        for (Attribute& a : to_keyframes) put_attribute(t.keyframes.front().attributes, std::move(a));
}

// Ids for the imported items that no other item holds when the command applies.
class IdAssigner {
public:
    explicit IdAssigner(std::unordered_set<std::string> taken) : taken_(std::move(taken)) {}
    std::string assign(const std::string& id) {
        if (taken_.insert(id).second) return id;
        ++renamed_;
        for (size_t n = 2;; ++n)
            if (std::string candidate = id + "-" + std::to_string(n); taken_.insert(candidate).second) return candidate;
    }
    size_t renamed() const { return renamed_; }

private:
    std::unordered_set<std::string> taken_;
    size_t renamed_ = 0;
};

// The ops that take `current` to `after` for one list, deletes first (from the end), then
// updates, then creates appended in order; every op's index is where the item is when it applies.
template <class Item>
void diff_ops(const std::vector<Item>& current, const std::vector<Item>& after, std::vector<ItemOp<Item>>& ops, ImportPlan& plan, bool keep_others) {
    std::unordered_map<std::string, size_t> incoming_at;
    for (size_t i = 0; i < after.size(); ++i) incoming_at.emplace(after[i].id, i);
    std::vector<bool> matched(after.size(), false);
    std::vector<size_t> survivors;  // indices into current, in order
    for (size_t i = current.size(); i-- > 0;) {
        bool kept = keep_others || incoming_at.count(current[i].id);
        if (!kept) {
            ops.push_back(ItemOp<Item>::remove(current[i], i));
            ++plan.removed;
        }
    }
    for (size_t i = 0; i < current.size(); ++i)
        if (keep_others || incoming_at.count(current[i].id)) survivors.push_back(i);
    for (size_t s = 0; s < survivors.size(); ++s) {
        const Item& old = current[survivors[s]];
        auto it = incoming_at.find(old.id);
        if (it == incoming_at.end()) continue;
        matched[it->second] = true;
        if (old == after[it->second]) ++plan.unchanged;
        else {
            ops.push_back(ItemOp<Item>::update(old, after[it->second], s));
            ++plan.updated;
        }
    }
    size_t index = survivors.size();
    for (size_t i = 0; i < after.size(); ++i)
        if (!matched[i]) {
            ops.push_back(ItemOp<Item>::create(after[i], index++));
            ++plan.added;
        }
}

}  // namespace

std::optional<ImportMode> import_mode_from_string(std::string_view s) {
    if (s == "merge") return ImportMode::Merge;
    if (s == "replace") return ImportMode::Replace;
    return std::nullopt;
}

std::vector<UnknownLabel> unknown_import_labels(const Document& incoming, const std::vector<LabelSpec>& imported_labels, const Task& task) {
    std::vector<UnknownLabel> unknown;
    std::unordered_map<std::string, size_t> at;
    auto count = [&](const std::string& id, bool track) {
        auto it = at.find(id);
        if (it == at.end()) {
            const LabelSpec* spec = find_spec(imported_labels, id);
            if (matching_task_label(id, spec, task)) return;
            it = at.emplace(id, unknown.size()).first;
            unknown.push_back(UnknownLabel{id, spec && !spec->name.empty() ? spec->name : id, 0, 0});
        }
        ++(track ? unknown[it->second].tracks : unknown[it->second].objects);
    };
    for (const Object& o : incoming.objects) count(o.label, false);
    for (const Track& t : incoming.tracks) count(t.label, true);
    auto order = [&](const UnknownLabel& l) {
        auto it = std::find_if(imported_labels.begin(), imported_labels.end(), [&](const LabelSpec& s) { return s.id == l.id; });
        return (size_t)(it - imported_labels.begin());
    };
    std::stable_sort(unknown.begin(), unknown.end(), [&](const UnknownLabel& a, const UnknownLabel& b) { return order(a) < order(b); });
    return unknown;
}

Expected<ImportPlan> plan_import(const Document& current, Document incoming, const std::vector<LabelSpec>& imported_labels,
                                 const Task& task, ImportMode mode, const LabelMapping& mapping) {
    ImportPlan plan;
    NoteCounter notes;
    // Each imported label to the task's label, or to nothing (skipped).
    std::unordered_map<std::string, const LabelSpec*> target_of;
    auto target = [&](const std::string& id) -> Expected<const LabelSpec*> {
        if (auto it = target_of.find(id); it != target_of.end()) return it->second;
        const LabelSpec* found = nullptr;
        if (auto m = mapping.find(id); m != mapping.end()) {
            if (!m->second.empty() && !(found = task.find_label(m->second)))
                return Error{"unknown_label", json_pointer_append("/labelMap", id), "the label map sends \"" + id + "\" to \"" + m->second + "\", which is not a label of the task"};
        } else if (!(found = matching_task_label(id, find_spec(imported_labels, id), task))) {
            return Error{"unmapped_label", json_pointer_append("/labels", id), "label \"" + id + "\" of the imported file is not a label of the task: map it to one, or skip it"};
        }
        target_of.emplace(id, found);
        return found;
    };
    // Labels, types and attributes; items of skipped labels or of types the label refuses leave.
    auto place = [&](auto& item, const char* kind, auto fit) -> Expected<bool> {
        auto t = target(item.label);
        if (!t) return t.errors();
        const LabelSpec* to = t.value();
        if (!to) {
            notes.add(std::string(kind) + " of label \"" + item.label + "\" skipped, as asked");
            return false;
        }
        if (!to->allows(item.type)) {
            notes.add(std::string(kind) + " skipped: label \"" + to->id + "\" does not allow " + to_string(item.type) + " shapes");
            return false;
        }
        AttributeFitter fitter(*to, find_spec(imported_labels, item.label), notes);
        fit(item, fitter);
        item.label = to->id;
        return true;
    };
    Document placed;
    placed.meta = std::move(incoming.meta);
    for (Object& o : incoming.objects) {
        auto kept = place(o, "objects", [](Object& x, AttributeFitter& f) { x.attributes = f.fit(std::move(x.attributes), false, nullptr); });
        if (!kept) return kept.errors();
        if (kept.value()) placed.objects.push_back(std::move(o));
    }
    for (Track& tr : incoming.tracks) {
        auto kept = place(tr, "tracks", [](Track& x, AttributeFitter& f) { fit_track_attributes(x, f); });
        if (!kept) return kept.errors();
        if (kept.value()) placed.tracks.push_back(std::move(tr));
    }

    // Ids: what stays in the document, and what is gone only after an item of this one is created
    // (objects apply before tracks), must not be taken again.
    std::unordered_set<std::string> object_taken, track_taken;
    for (const Track& t : current.tracks) {
        object_taken.insert(t.id);
        for (const Keyframe& k : t.keyframes) object_taken.insert(k.id);
    }
    if (mode == ImportMode::Merge) {
        for (const Object& o : current.objects) object_taken.insert(o.id), track_taken.insert(o.id);
        track_taken.insert(object_taken.begin(), object_taken.end());
    }
    std::unordered_set<std::string> incoming_object_ids;
    IdAssigner object_ids(object_taken);
    for (Object& o : placed.objects) incoming_object_ids.insert(o.id = object_ids.assign(o.id));
    track_taken.insert(incoming_object_ids.begin(), incoming_object_ids.end());
    IdAssigner track_ids(track_taken);
    for (Track& t : placed.tracks) {
        t.id = track_ids.assign(t.id);
        for (Keyframe& k : t.keyframes) k.id = track_ids.assign(k.id);
    }
    if (size_t renamed = object_ids.renamed() + track_ids.renamed()) notes.add("ids renamed: already used in the document", renamed);

    Errors errors = check_document_against_task(placed, task);
    if (!errors.empty()) return errors;

    plan.command.name = mode == ImportMode::Merge ? "import annotations" : "import annotations (replace)";
    bool keep_others = mode == ImportMode::Merge;
    diff_ops(current.objects, placed.objects, plan.command.ops, plan, keep_others);
    diff_ops(current.tracks, placed.tracks, plan.command.track_ops, plan, keep_others);
    plan.notes = notes.list();
    return plan;
}

}  // namespace pm
