// The sidebar: labels legend (pick the next shape's label, counts), the objects of the frame
// (filter, search, select and centre, hide and lock), the attributes of the selection, and the
// history of commands. Panels read the App and act only through its operations and commands.
#pragma once
#include "app/app.hpp"
#include "ui/review_panel.hpp"

#include <map>
#include <string>

namespace pm {

class Panels {
public:
    void draw(App& app, Rect area, std::vector<UiControl>& layout);
    ReviewPanel& review() { return review_; }

private:
    ReviewPanel review_;
    char search_[64] = "";
    std::string label_filter_;
    std::string text_editing_id_;  // the attribute whose text is being typed ("object/attribute")
    char text_buffer_[256] = "";
    std::map<std::string, int> label_counts_;  // shapes per label on the current frame
    uint64_t counts_revision_ = ~0ull;
    long long counts_frame_ = -1;

    void draw_labels(App& app);
    void draw_objects(App& app);
    void draw_track_controls(App& app, const Track& track);
    void draw_tracking(App& app);
    void draw_track_forward(App& app);
    void draw_attributes(App& app);
    void draw_attribute_fields(App& app, const Object& o, const LabelSpec* spec);
    void draw_history(App& app);
    void draw_image_adjust(App& app);
    void draw_shape_style(App& app);
};

}  // namespace pm
