#include "polymark/geometry.hpp"
#include "polymark/spatial_index.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace pm;
using Catch::Detail::Approx;

static Object shape(ShapeType type, Points points, double rotation = 0, std::string id = "s") {
    Object o;
    o.id = std::move(id);
    o.type = type;
    o.label = "l";
    o.points = std::move(points);
    o.rotation = rotation;
    return o;
}

TEST_CASE("point in polygon follows the even-odd rule on a concave polygon") {
    Points u = {0, 0, 30, 0, 30, 30, 20, 30, 20, 10, 10, 10, 10, 30, 0, 30};  // a U
    CHECK(point_in_polygon(u, {5, 20}));
    CHECK(point_in_polygon(u, {25, 20}));
    CHECK_FALSE(point_in_polygon(u, {15, 20}));  // inside the notch
    CHECK(point_in_polygon(u, {15, 5}));
    CHECK(point_in_polygon(u, {0, 15}));  // on an edge
    CHECK_FALSE(point_in_polygon(u, {31, 5}));
}

TEST_CASE("a rotated rectangle is hit inside its rotated outline only") {
    Object r = shape(ShapeType::Rectangle, {0, 40, 100, 60}, 90);  // centre (50,50), now 20 wide and 100 tall
    CHECK(hit_shape(r, {50, 5}, 0));
    CHECK(hit_shape(r, {55, 95}, 0));
    CHECK_FALSE(hit_shape(r, {5, 50}, 0));
    CHECK_FALSE(hit_shape(r, {65, 50}, 0));
    CHECK(hit_shape(r, {62, 50}, 3));  // within tolerance of the edge
    Rect b = shape_bounds(r);
    CHECK(b.x == Approx(40));
    CHECK(b.w == Approx(20));
    CHECK(b.h == Approx(100));
}

TEST_CASE("ellipses, polylines and points are hit by their own rules") {
    Object e = shape(ShapeType::Ellipse, {0, 0, 100, 50});
    CHECK(hit_shape(e, {50, 25}, 0));
    CHECK(hit_shape(e, {99, 25}, 0));
    CHECK_FALSE(hit_shape(e, {95, 5}, 0));  // inside the box, outside the ellipse
    Object line = shape(ShapeType::Polyline, {0, 0, 100, 0, 100, 100});
    CHECK(hit_shape(line, {50, 2}, 3));
    CHECK_FALSE(hit_shape(line, {50, 50}, 3));  // a polyline has no inside
    Object pts = shape(ShapeType::Points, {10, 10, 40, 40});
    CHECK(hit_shape(pts, {41, 39}, 3));
    CHECK_FALSE(hit_shape(pts, {25, 25}, 3));
}

TEST_CASE("the nearest edge reports where a new vertex goes, and insertion puts it there") {
    Points sq = {0, 0, 10, 0, 10, 10, 0, 10};
    auto e = nearest_edge(sq, true, {5, 11}, 2);
    REQUIRE(e);
    CHECK(e->index == 2);
    CHECK(e->point.x == Approx(5));
    CHECK(e->point.y == Approx(10));
    Points five = insert_vertex(sq, e->index, e->point);
    CHECK(five == Points{0, 0, 10, 0, 10, 10, 5, 10, 0, 10});
    auto closing = nearest_edge(sq, true, {-1, 5}, 2);  // the edge from the last vertex back to the first
    REQUIRE(closing);
    CHECK(closing->index == 3);
    CHECK_FALSE(nearest_edge(sq, false, {-1, 5}, 2));  // open: that edge does not exist
}

TEST_CASE("a polygon never loses a vertex below three") {
    Points tri = {0, 0, 10, 0, 0, 10};
    CHECK_FALSE(remove_vertex(tri, 1, ShapeType::Polygon));
    Points quad = {0, 0, 10, 0, 10, 10, 0, 10};
    auto three = remove_vertex(quad, 2, ShapeType::Polygon);
    REQUIRE(three);
    CHECK(*three == Points{0, 0, 10, 0, 0, 10});
    CHECK_FALSE(remove_vertex({0, 0, 5, 5}, 0, ShapeType::Polyline));
}

TEST_CASE("dragging a box corner keeps the opposite corner fixed, also when rotated") {
    Points box = {10, 10, 30, 20};
    CHECK(drag_box_corner(box, 0, 2, {50, 40}) == Points{10, 10, 50, 40});
    // Rotated 90 degrees: corners move, the opposite one stays where it is on screen.
    Points corners = rectangle_corners(box, 90);
    Vec2 opposite = vertex(corners, 0);
    Points moved = drag_box_corner(box, 90, 2, {vertex(corners, 2).x - 4, vertex(corners, 2).y + 6});
    Vec2 still = vertex(rectangle_corners(moved, 90), 0);
    CHECK(still.x == Approx(opposite.x));
    CHECK(still.y == Approx(opposite.y));
}

TEST_CASE("the rotation handle turns a box towards the cursor, clockwise in degrees") {
    Points box = {0, 0, 20, 20};
    CHECK(rotation_towards(box, {10, -50}) == Approx(0));
    CHECK(rotation_towards(box, {60, 10}) == Approx(90));
    CHECK(rotation_towards(box, {10, 60}) == Approx(180));
    CHECK(rotation_towards(box, {-40, 10}) == Approx(270));
}

TEST_CASE("redrawing part of a polygon replaces the shorter side, or the chosen one") {
    // A 100x10 strip; vertices 0..3. Redraw from vertex 0 to vertex 1 (the top edge) with a bump.
    Points strip = {0, 0, 100, 0, 100, 10, 0, 10};
    Points bump = {50, -20};
    CHECK(redraw_polygon_part(strip, 0, 1, bump) == Points{100, 0, 100, 10, 0, 10, 0, 0, 50, -20});
    // Forced the other way: the long way round (1,2,3 back to 0) is replaced by the path reversed.
    CHECK(redraw_polygon_part(strip, 0, 1, bump, false) == Points{0, 0, 100, 0, 50, -20});
    // From vertex 1 to 3 the two ways are equal; a path through the middle cuts the strip.
    Points cut = redraw_polygon_part(strip, 1, 3, {50, 5}, true);
    CHECK(cut == Points{0, 10, 0, 0, 100, 0, 50, 5});
    // The default side is the shorter way round, whichever direction that runs.
    CHECK(shorter_way_is_forward(strip, 0, 1));
    CHECK_FALSE(shorter_way_is_forward(strip, 1, 0));
}

TEST_CASE("snapping prefers a vertex, then an edge, and skips the shape being edited") {
    Object a = shape(ShapeType::Polygon, {0, 0, 100, 0, 100, 100}, 0, "a");
    Object b = shape(ShapeType::Rectangle, {200, 0, 300, 100}, 0, "b");
    std::vector<const Object*> all = {&a, &b};
    auto v = snap_point(all, {98, 3}, 5, "");
    REQUIRE(v);
    CHECK(v->x == 100);
    CHECK(v->y == 0);
    auto e = snap_point(all, {50, 3}, 5, "");
    REQUIRE(e);
    CHECK(e->y == Approx(0));
    CHECK(e->x == Approx(50));
    CHECK_FALSE(snap_point(all, {98, 3}, 5, "a"));
    auto corner = snap_point(all, {202, 98}, 5, "a");
    REQUIRE(corner);
    CHECK(corner->x == Approx(200));
    CHECK(corner->y == Approx(100));
}

TEST_CASE("clip cuts a polygon at the image border, clamp moves its vertices") {
    Points over = {-10, 10, 50, 10, 50, 50, -10, 50};
    auto clipped = keep_inside(ShapeType::Polygon, over, 100, 100, ClampMode::Clip);
    REQUIRE(clipped);
    CHECK(polygon_area(*clipped) == Approx(polygon_area({0, 10, 50, 10, 50, 50, 0, 50})));
    auto clamped = keep_inside(ShapeType::Polygon, {-10, 10, 50, -5, 120, 50}, 100, 100, ClampMode::Clamp);
    CHECK(*clamped == Points{0, 10, 50, 0, 100, 50});
    CHECK_FALSE(keep_inside(ShapeType::Polygon, {-30, 0, -10, 0, -10, 20}, 100, 100, ClampMode::Clip));
    CHECK_FALSE(keep_inside(ShapeType::Rectangle, {110, 0, 120, 10}, 100, 100, ClampMode::Clamp));
    CHECK(*keep_inside(ShapeType::Rectangle, {-5, -5, 20, 20}, 100, 100, ClampMode::Clip) == Points{0, 0, 20, 20});
    CHECK(*keep_inside(ShapeType::Points, {5, 5, 150, 5}, 100, 100, ClampMode::Clip) == Points{5, 5});
    CHECK(*keep_inside(ShapeType::Polygon, over, 100, 100, ClampMode::None) == over);
}

TEST_CASE("the spatial index finds exactly the shapes a linear scan finds") {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> pos(0, 4000), size(2, 80);
    std::vector<Object> objects;
    std::vector<uint32_t> all;
    for (uint32_t i = 0; i < 3000; ++i) {
        double x = pos(rng), y = pos(rng), w = size(rng), h = size(rng);
        // Rotated boxes too: grown by the tolerance they reach past their axis-aligned bounds.
        objects.push_back(shape(i % 2 ? ShapeType::Rectangle : ShapeType::Polygon,
                                i % 2 ? Points{x, y, x + w, y + h} : Points{x, y, x + w, y, x, y + h}, i % 2 ? (double)(i % 90) : 0, "o" + std::to_string(i)));
        all.push_back(i);
    }
    SpatialIndex index;
    index.build(objects, all);
    std::vector<uint32_t> got;
    for (int q = 0; q < 3000; ++q) {
        Vec2 p{pos(rng), pos(rng)};
        index.query_point(p, 6, got);
        std::vector<uint32_t> hits, expected;
        for (uint32_t i : got)
            if (hit_shape(objects[i], p, 6)) hits.push_back(i);
        for (uint32_t i = 0; i < objects.size(); ++i)
            if (hit_shape(objects[i], p, 6)) expected.push_back(i);
        std::sort(hits.begin(), hits.end());
        REQUIRE(hits == expected);
    }
    index.query_rect({1000, 1000, 500, 500}, got);
    size_t overlapping = 0;
    for (const Object& o : objects) {
        Rect b = shape_bounds(o);
        overlapping += b.x <= 1500 && b.x + b.w >= 1000 && b.y <= 1500 && b.y + b.h >= 1000;
    }
    CHECK(got.size() == overlapping);
}

TEST_CASE("triangulating a concave polygon covers exactly its area") {
    Points u = {0, 0, 30, 0, 30, 30, 20, 30, 20, 10, 10, 10, 10, 30, 0, 30};
    for (bool reversed : {false, true}) {
        Points p = u;
        if (reversed)
            for (size_t i = 0, j = vertex_count(u) - 1; i < vertex_count(u); ++i, --j) set_vertex(p, i, vertex(u, j));
        auto tris = triangulate_polygon(p);
        REQUIRE(tris.size() == 3 * (vertex_count(p) - 2));
        double area = 0;
        for (size_t t = 0; t < tris.size(); t += 3) {
            Points tri = {p[2 * tris[t]], p[2 * tris[t] + 1], p[2 * tris[t + 1]], p[2 * tris[t + 1] + 1], p[2 * tris[t + 2]], p[2 * tris[t + 2] + 1]};
            area += std::fabs(polygon_area(tri));
        }
        CHECK(area == Approx(std::fabs(polygon_area(p))));
    }
}
