// How alike two shapes are, as a number in [0, 1]: the similarity the quality measures match
// shapes by (docs/QUALITY.md, "Similarity"). Regions (rectangle with rotation, ellipse, polygon)
// by exact IoU of their areas, points by OKS, polylines by a distance band, tags by label.
// Units: image pixels; rotation in degrees. Depends on the document and geometry only; never
// throws: a non-finite coordinate or option is an error value.
#pragma once
#include "polymark/document.hpp"
#include "polymark/error.hpp"
#include "polymark/geometry.hpp"

namespace pm {

struct SimilarityOptions {
    // OKS: sigma of every point (CVAT's default 0.09) and the smallest area scale (px^2) so that a
    // lone point or a set of points on a line still has a scale.
    double oks_sigma = 0.09;
    double min_point_area = 1024;  // 32 x 32 pixels
    // Polylines: a point of one line counts as covered when within this many pixels of the other.
    double line_band = 5;
    // Ellipses become polygons of this many vertices (area error 0.16 % at 64, see QUALITY.md).
    int ellipse_segments = 64;
};

// Area of a region shape (rectangle, ellipse, polygon); 0 for others.
double region_area(const Object& o, const SimilarityOptions& options = {});
// Area of the intersection of two polygons (flat x,y lists, any orientation, concave or
// self-touching), exact up to rounding: clipping when one is convex, else the fan of A clipping B.
double polygon_intersection_area(const Points& a, const Points& b);
// IoU of two polygons: intersection / union, 0 when the union has no area.
double polygon_iou(const Points& a, const Points& b);
// Object keypoint similarity of two point sets, paired one-to-one by least total squared distance
// (order-free), over max(|a|, |b|): (1/max) sum exp(-d^2 / (2 A (2 sigma)^2)).
double points_oks(const Points& a, const Points& b, const SimilarityOptions& options = {});
// Share of both lines' length within options.line_band pixels of the other line.
double polyline_band_similarity(const Points& a, const Points& b, const SimilarityOptions& options = {});

// The similarity of two shapes of the document. Regions are comparable with each other (a box
// with a polygon); points with points, polylines with polylines, tags with tags (1 when the labels
// are equal); any other pair is 0. Labels matter only for tags. An error (`bad_number`) names a
// non-finite coordinate or rotation of either shape; `path` is the shape's id.
Expected<double> shape_similarity(const Object& a, const Object& b, const SimilarityOptions& options = {});
// Checks a shape once so that the unchecked variant below may be used in loops.
std::optional<Error> check_shape_numbers(const Object& o);
double shape_similarity_unchecked(const Object& a, const Object& b, const SimilarityOptions& options);

}  // namespace pm
