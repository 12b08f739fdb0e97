// Editor: confirming a model's predictions (docs/API.md, "Predictions"). Enter accepts the selected
// predictions as they are and moves on to the next one to confirm; Delete rejects (deletes) them
// and moves on; a person's edit of a prediction accepts it with changes (DocumentSession). The
// order is the queue of shared/polymark/prelabel.hpp: on this frame the lowest score first, then
// the frame whose pending predictions score lowest.
#include "app/editor.hpp"

#include "polymark/geometry.hpp"
#include "polymark/prelabel.hpp"

#include "app/app.hpp"

#include <algorithm>

namespace pm {

bool Editor::selection_has_predictions() const {
    const Document& doc = app_.document();
    return std::any_of(selection_.begin(), selection_.end(), [&](const std::string& id) {
        if (int i = find_object(doc, id); i >= 0) return is_pending_prediction(doc.objects[(size_t)i]);
        if (int t = find_track(doc, id); t >= 0) return is_pending_prediction(doc.tracks[(size_t)t]);
        return false;
    });
}

size_t Editor::accept_predictions(const std::vector<std::string>& ids) {
    const Document& doc = app_.document();
    Command c{"", {}, {}};
    for (const std::string& id : ids) {
        if (is_locked(id)) {
            app_.refuse({"locked", id, app_.display_name(id) + " is locked: L unlocks it"});
            continue;
        }
        if (int i = find_object(doc, id); i >= 0 && is_pending_prediction(doc.objects[(size_t)i]))
            c.ops.push_back(ObjectOp::update(doc.objects[(size_t)i], accepted(doc.objects[(size_t)i]), (size_t)i));
        else if (int t = find_track(doc, id); t >= 0 && is_pending_prediction(doc.tracks[(size_t)t]))
            c.track_ops.push_back(TrackOp::update(doc.tracks[(size_t)t], accepted(doc.tracks[(size_t)t]), (size_t)t));
    }
    size_t n = c.ops.size() + c.track_ops.size();
    if (n == 0) return 0;
    c.name = n == 1 ? "accept prediction" : "accept " + std::to_string(n) + " predictions";
    return app_.perform(std::move(c)) ? n : 0;
}

void Editor::confirm_predictions() {
    if (selection_has_predictions()) {
        if (accept_predictions(selection_) == 0) return;
    } else if (prediction_queue(app_.document()).empty()) {
        return;  // Enter outside drawing, with no predictions in the task: nothing to do
    }
    next_prediction(false);
}

std::optional<std::string> Editor::next_prediction(bool quiet) {
    std::vector<PredictionFrame> queue = prediction_queue(app_.document());
    if (queue.empty()) {
        if (!quiet) app_.refuse({"no_predictions", "predictions", "every model prediction is confirmed"});
        selection_.clear();
        return std::nullopt;
    }
    auto here = std::find_if(queue.begin(), queue.end(), [&](const PredictionFrame& f) { return f.frame == app_.frame(); });
    const PredictionFrame& next = here != queue.end() ? *here : queue.front();
    if (next.frame != app_.frame() && !app_.set_frame(next.frame)) return std::nullopt;
    const std::string& id = next.ids.front();
    select({id});
    if (int i = find_shape(id); i >= 0 && shapes()[(size_t)i].type != ShapeType::Tag) app_.reveal(shape_bounds(shapes()[(size_t)i]));
    return id;
}

}  // namespace pm
