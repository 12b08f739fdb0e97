#include "polymark/backend_profile.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>

namespace pm {

namespace {

// [SECTION] Setting and erasing through JSON Pointers (shared/polymark/json_pointer.hpp reads them)

// Sets a value, making missing objects (or arrays, before "-" or an index) on the way.
bool set_at(Json& root, const std::string& ptr, Json value) {
    auto tokens = json_pointer_parse(ptr);
    if (!tokens) return false;
    Json* at = &root;
    for (size_t k = 0; k < tokens->size(); ++k) {
        const std::string& t = (*tokens)[k];
        if (at->is_null()) *at = (t == "-" || json_pointer_index(t)) ? Json::array() : Json::object();
        Json* next = nullptr;
        if (at->is_object()) {
            next = &(*at)[t];
        } else if (at->is_array()) {
            auto i = json_pointer_index(t);
            if (t == "-" || (i && *i == at->size())) {
                at->push_back(nullptr);
                next = &at->back();
            } else if (i && *i < at->size()) {
                next = &(*at)[*i];
            } else {
                return false;
            }
        } else {
            return false;
        }
        at = next;
    }
    *at = std::move(value);
    return true;
}

// Erases a pointer; a "*" token stands for every element of an array.
void erase_at(Json& root, const std::vector<std::string>& tokens, size_t k) {
    if (k >= tokens.size()) return;
    const std::string& t = tokens[k];
    bool last = k + 1 == tokens.size();
    if (root.is_object()) {
        auto it = root.find(t);
        if (it == root.end()) return;
        if (last) root.erase(it);
        else erase_at(*it, tokens, k + 1);
    } else if (root.is_array()) {
        if (t == "*") {
            for (Json& e : root) erase_at(e, tokens, k + 1);
        } else if (auto i = json_pointer_index(t); i && *i < root.size()) {
            if (last) root.erase(root.begin() + static_cast<long>(*i));
            else erase_at(root[*i], tokens, k + 1);
        }
    }
}

// First place two values differ (numbers within 1e-9, absolute, or 1e-12 relative); "" if equal.
std::optional<std::string> first_difference(const Json& a, const Json& b, const std::string& path) {
    if (a.is_number() && b.is_number()) {
        double x = a.get<double>(), y = b.get<double>();
        double tol = std::max(1e-9, 1e-12 * std::max(std::fabs(x), std::fabs(y)));
        if (std::fabs(x - y) <= tol) return std::nullopt;
        return path;
    }
    if (a.type() != b.type()) return path;
    if (a.is_object()) {
        for (auto it = a.begin(); it != a.end(); ++it) {
            auto jt = b.find(it.key());
            std::string p = json_pointer_append(path, it.key());
            if (jt == b.end()) return p;
            if (auto d = first_difference(*it, *jt, p)) return d;
        }
        for (auto it = b.begin(); it != b.end(); ++it)
            if (a.find(it.key()) == a.end()) return json_pointer_append(path, it.key());
        return std::nullopt;
    }
    if (a.is_array()) {
        if (a.size() != b.size()) return path;
        for (size_t i = 0; i < a.size(); ++i)
            if (auto d = first_difference(a[i], b[i], json_pointer_append(path, i))) return d;
        return std::nullopt;
    }
    if (a == b) return std::nullopt;
    return path;
}

// [SECTION] Templates

// Never throws: text from outside may hold invalid UTF-8, which a plain dump() refuses.
std::string safe_dump(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }
std::string json_text(const Json& v) { return v.is_string() ? v.get<std::string>() : safe_dump(v); }

using Vars = std::map<std::string, Json>;

// "{name}" alone becomes the variable's JSON value; inside a longer string, its text.
Expected<Json> expand_string(const std::string& s, const Vars& vars, const std::string& path, bool url_encode) {
    auto lookup = [&](const std::string& name) -> const Json* {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : &it->second;
    };
    if (s.size() > 2 && s.front() == '{' && s.back() == '}' && s.find('{', 1) == std::string::npos) {
        std::string name = s.substr(1, s.size() - 2);
        const Json* v = lookup(name);
        if (!v) return Error{"unknown_variable", path, "the template \"" + s + "\" names \"" + name + "\", which the context does not give"};
        if (!url_encode) return *v;
    }
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '{') { out += s[i]; continue; }
        size_t end = s.find('}', i);
        if (end == std::string::npos) return Error{"bad_template", path, "unclosed \"{\" in \"" + s + "\""};
        std::string name = s.substr(i + 1, end - i - 1);
        const Json* v = lookup(name);
        if (!v) return Error{"unknown_variable", path, "the template \"" + s + "\" names \"" + name + "\", which the context does not give"};
        std::string text = json_text(*v);
        if (url_encode) {
            static const char* hex = "0123456789ABCDEF";
            for (unsigned char c : text) {
                if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
                else { out += '%'; out += hex[c >> 4]; out += hex[c & 15]; }
            }
        } else {
            out += text;
        }
        i = end;
    }
    return Json(out);
}

Expected<Json> expand(const Json& tmpl, const Vars& vars, const std::string& path) {
    if (tmpl.is_string()) return expand_string(tmpl.get<std::string>(), vars, path, false);
    if (tmpl.is_object()) {
        Json out = Json::object();
        for (auto it = tmpl.begin(); it != tmpl.end(); ++it) {
            auto v = expand(*it, vars, json_pointer_append(path, it.key()));
            if (!v) return v.errors();
            out[it.key()] = std::move(v.value());
        }
        return out;
    }
    if (tmpl.is_array()) {
        Json out = Json::array();
        for (size_t i = 0; i < tmpl.size(); ++i) {
            auto v = expand(tmpl[i], vars, json_pointer_append(path, i));
            if (!v) return v.errors();
            out.push_back(std::move(v.value()));
        }
        return out;
    }
    return tmpl;
}

bool has_placeholder(const Json& v) {
    if (v.is_string()) return v.get<std::string>().find('{') != std::string::npos;
    if (v.is_object() || v.is_array()) {
        for (const Json& e : v)
            if (has_placeholder(e)) return true;
    }
    return false;
}

// [SECTION] Reading a profile

void read_route(JsonReader& r, const Json& j, const std::string& path, Route& route, bool body_allowed) {
    if (!r.expect_object(j, path)) return;
    r.reject_unknown_keys(j, path, {"method", "path", "body", "item_at", "item", "id_at"});
    route.present = true;
    if (auto m = r.string_member(j, path, "method", true)) {
        static const char* methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
        if (std::find_if(std::begin(methods), std::end(methods), [&](const char* x) { return *m == x; }) == std::end(methods))
            r.fail("bad_enum", json_pointer_append(path, "method"), "method \"" + *m + "\" is not GET, POST, PUT, PATCH or DELETE");
        route.method = *m;
    }
    if (auto p = r.string_member(j, path, "path", true)) {
        if (p->empty() || (*p)[0] != '/') r.fail("bad_template", json_pointer_append(path, "path"), "a route path starts with \"/\"");
        route.path = *p;
    }
    if (auto b = j.find("body"); b != j.end()) {
        if (!body_allowed) r.fail("unknown_key", json_pointer_append(path, "body"), "a GET route has no body");
        route.body = *b;
    }
    if (auto a = r.string_member(j, path, "item_at", false)) {
        if (!json_pointer_parse(*a)) r.fail("bad_pointer", json_pointer_append(path, "item_at"), "\"" + *a + "\" is not a JSON Pointer");
        route.item_at = *a;
    }
    if (auto it = j.find("item"); it != j.end()) route.item = *it;
    if (auto a = r.string_member(j, path, "id_at", false)) {
        if (!json_pointer_parse(*a)) r.fail("bad_pointer", json_pointer_append(path, "id_at"), "\"" + *a + "\" is not a JSON Pointer");
        route.id_at = *a;
    }
}

std::string read_pointer(JsonReader& r, const Json& j, const std::string& path, const char* key, bool required) {
    auto s = r.string_member(j, path, key, required);
    if (!s) return {};
    if (!json_pointer_parse(*s)) r.fail("bad_pointer", json_pointer_append(path, key), "\"" + *s + "\" is not a JSON Pointer");
    return *s;
}

void read_transform(JsonReader& r, const Json& j, const std::string& path, std::vector<Transform>& out) {
    if (!r.expect_object(j, path)) return;
    Transform t;
    if (j.contains("offset")) {
        r.reject_unknown_keys(j, path, {"offset"});
        t.kind = Transform::Kind::Offset;
        t.arg = j["offset"];
    } else if (j.contains("divide")) {
        r.reject_unknown_keys(j, path, {"divide"});
        t.kind = Transform::Kind::Divide;
        t.arg = j["divide"];
    } else if (j.contains("lookup")) {
        r.reject_unknown_keys(j, path, {"lookup", "missing"});
        t.kind = Transform::Kind::Lookup;
        t.table = r.string_member(j, path, "lookup", true).value_or("");
        if (auto m = r.string_member(j, path, "missing", false)) {
            if (*m != "keep" && *m != "error") r.fail("bad_enum", json_pointer_append(path, "missing"), "\"missing\" is \"keep\" or \"error\"");
            t.keep_missing = *m == "keep";
        }
    } else if (j.contains("map")) {
        r.reject_unknown_keys(j, path, {"map"});
        t.kind = Transform::Kind::Map;
        if (r.expect_object(j["map"], json_pointer_append(path, "map"))) t.arg = j["map"];
    } else if (j.contains("not")) {
        r.reject_unknown_keys(j, path, {"not"});
        t.kind = Transform::Kind::Not;
    } else if (j.contains("wrap")) {
        r.reject_unknown_keys(j, path, {"wrap"});
        t.kind = Transform::Kind::Wrap;
    } else if (j.contains("attributes")) {
        r.reject_unknown_keys(j, path, {"attributes", "id_key", "value_key", "strings"});
        t.kind = Transform::Kind::Attributes;
        t.table = r.string_member(j, path, "attributes", true).value_or("");
        t.id_key = r.string_member(j, path, "id_key", false).value_or("id");
        t.value_key = r.string_member(j, path, "value_key", false).value_or("value");
        t.strings = r.bool_member(j, path, "strings", false).value_or(false);
    } else {
        r.fail("bad_enum", path, "a transform is one of offset, divide, lookup, map, not, wrap, attributes");
        return;
    }
    if ((t.kind == Transform::Kind::Offset || t.kind == Transform::Kind::Divide) && !t.arg.is_number() && !t.arg.is_string())
        r.fail("expected_number", path, "offset and divide take a number or a \"{variable}\"");
    if (t.kind == Transform::Kind::Divide && t.arg.is_number() && t.arg.get<double>() == 0)
        r.fail("out_of_range", path, "divide by zero");
    out.push_back(std::move(t));
}

void read_part(JsonReader& r, const Json& j, const std::string& path, PartMap& part) {
    if (auto c = j.find("constants"); c != j.end()) {
        std::string cp = json_pointer_append(path, "constants");
        if (r.expect_object(*c, cp))
            for (auto it = c->begin(); it != c->end(); ++it) {
                auto t = json_pointer_parse(it.key());
                if (!t || t->empty()) r.fail("bad_pointer", json_pointer_append(cp, it.key()), "constant keys are JSON Pointers");
                part.constants.emplace_back(it.key(), *it);
            }
    }
    if (auto g = j.find("geometry"); g != j.end()) {
        std::string gp = json_pointer_append(path, "geometry");
        if (r.expect_object(*g, gp)) {
            r.reject_unknown_keys(*g, gp, {"form", "units", "points", "box", "rotation", "rotation_origin"});
            GeometryMap& m = part.geometry;
            if (auto f = r.string_member(*g, gp, "form", true)) {
                static const std::pair<const char*, GeometryForm> forms[] = {{"none", GeometryForm::None}, {"flat", GeometryForm::Flat},
                    {"pairs", GeometryForm::Pairs}, {"xywh", GeometryForm::Xywh}, {"centre_radii", GeometryForm::CentreRadii},
                    {"centre_rim", GeometryForm::CentreRim}, {"region", GeometryForm::Region}};
                bool found = false;
                for (auto& [n, v] : forms)
                    if (*f == n) { m.form = v; found = true; }
                if (!found) r.fail("bad_enum", json_pointer_append(gp, "form"), "form \"" + *f + "\" is not none, flat, pairs, xywh, centre_radii, centre_rim or region");
            }
            if (auto u = r.string_member(*g, gp, "units", false)) {
                if (*u == "percent") m.units = Units::Percent;
                else if (*u != "pixels") r.fail("bad_enum", json_pointer_append(gp, "units"), "units are \"pixels\" or \"percent\"");
            }
            m.points = read_pointer(r, *g, gp, "points", m.form == GeometryForm::Flat || m.form == GeometryForm::Pairs || m.form == GeometryForm::CentreRim ||
                                                             m.form == GeometryForm::Region);
            m.box = read_pointer(r, *g, gp, "box", m.form == GeometryForm::Xywh || m.form == GeometryForm::CentreRadii);
            m.rotation = read_pointer(r, *g, gp, "rotation", false);
            if (auto o = r.string_member(*g, gp, "rotation_origin", false)) {
                if (*o == "top_left") m.rotation_about_corner = true;
                else if (*o != "centre") r.fail("bad_enum", json_pointer_append(gp, "rotation_origin"), "rotation_origin is \"centre\" or \"top_left\"");
                if (m.rotation_about_corner && m.form != GeometryForm::Xywh)
                    r.fail("bad_enum", json_pointer_append(gp, "rotation_origin"), "rotation about the top-left corner needs the xywh form");
            }
        }
    }
    if (auto fs = j.find("fields"); fs != j.end()) {
        std::string fp = json_pointer_append(path, "fields");
        if (r.expect_array(*fs, fp))
            for (size_t i = 0; i < fs->size(); ++i) {
                const Json& f = (*fs)[i];
                std::string p = json_pointer_append(fp, i);
                if (!r.expect_object(f, p)) continue;
                r.reject_unknown_keys(f, p, {"ours", "theirs", "transforms", "absent", "fixed", "write_only", "read_only"});
                FieldMap m;
                m.ours = read_pointer(r, f, p, "ours", true);
                if (auto fx = f.find("fixed"); fx != f.end()) m.fixed = *fx;
                m.theirs = read_pointer(r, f, p, "theirs", m.fixed.is_null());
                if (auto a = f.find("absent"); a != f.end()) m.absent = *a;
                m.write_only = r.bool_member(f, p, "write_only", false).value_or(false);
                m.read_only = r.bool_member(f, p, "read_only", false).value_or(false);
                if (m.read_only && m.write_only) r.fail("bad_enum", json_pointer_append(p, "read_only"), "a field is not both read_only and write_only");
                if (auto ts = f.find("transforms"); ts != f.end()) {
                    std::string tp = json_pointer_append(p, "transforms");
                    if (r.expect_array(*ts, tp))
                        for (size_t k = 0; k < ts->size(); ++k) read_transform(r, (*ts)[k], json_pointer_append(tp, k), m.transforms);
                }
                part.fields.push_back(std::move(m));
            }
    }
}

void read_guarantee(JsonReader& r, const Json& g, const std::string& path, const char* key, Guarantee& out) {
    const Json* v = r.member(g, path, key, true);
    if (!v) return;
    std::string p = json_pointer_append(path, key);
    if (!r.expect_object(*v, p)) return;
    r.reject_unknown_keys(*v, p, {"kept", "why"});
    out.kept = r.bool_member(*v, p, "kept", true).value_or(false);
    out.why = r.string_member(*v, p, "why", true).value_or("");
}

// [SECTION] Reading the review section

void read_list_route(JsonReader& r, const Json& j, const std::string& path, ListRoute& out) {
    if (!r.expect_object(j, path)) return;
    r.reject_unknown_keys(j, path, {"method", "path", "items_at", "next_at"});
    Json route = Json::object();
    for (const char* k : {"method", "path"})
        if (j.contains(k)) route[k] = j[k];
    read_route(r, route, path, out.route, false);
    if (out.route.method != "GET" && !out.route.method.empty())
        r.fail("bad_enum", json_pointer_append(path, "method"), "a list route is a GET");
    out.items_at = read_pointer(r, j, path, "items_at", true);
    out.next_at = read_pointer(r, j, path, "next_at", false);
}

void read_pointer_list(JsonReader& r, const Json& j, const std::string& path, const char* key, std::vector<std::string>& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
    std::string p = json_pointer_append(path, key);
    if (!r.expect_array(*it, p)) return;
    for (size_t k = 0; k < it->size(); ++k) {
        std::string ep = json_pointer_append(p, k);
        if (auto s = r.as_string((*it)[k], ep)) {
            if (!json_pointer_parse(*s)) r.fail("bad_pointer", ep, "\"" + *s + "\" is not a JSON Pointer");
            out.push_back(*s);
        }
    }
}

void read_review_item(JsonReader& r, const Json& j, const std::string& path, ReviewKind kind, ReviewItemMap& m) {
    if (!r.expect_object(j, path)) return;
    bool issue = kind == ReviewKind::Issue;
    if (issue)
        r.reject_unknown_keys(j, path, {"list", "create", "update", "delete", "id_table", "learn_id", "constants", "geometry", "fields", "drops", "write_once"});
    else
        r.reject_unknown_keys(j, path, {"list", "create", "update", "delete", "id_table", "learn_id", "constants", "fields", "drops", "write_once"});
    m.kind = kind;
    m.path = path;
    m.present = true;
    if (const Json* l = r.member(j, path, "list", true)) read_list_route(r, *l, json_pointer_append(path, "list"), m.list);
    if (const Json* c = r.member(j, path, "create", true)) {
        std::string cp = json_pointer_append(path, "create");
        if (r.expect_object(*c, cp)) {
            Json route = *c;
            if (issue) {
                route.erase("first_comment_at");
                m.first_comment_at = read_pointer(r, *c, cp, "first_comment_at", false);
            }
            read_route(r, route, cp, m.create, true);
            if (m.create.id_at.empty()) r.fail("missing_key", json_pointer_append(cp, "id_at"), "a review create route names where the reply holds the new id (\"id_at\")");
        }
    }
    if (const Json* u = r.member(j, path, "update", true)) read_route(r, *u, json_pointer_append(path, "update"), m.update, true);
    if (const Json* d = r.member(j, path, "delete", true)) read_route(r, *d, json_pointer_append(path, "delete"), m.remove, true);
    m.id_table = r.string_member(j, path, "id_table", true).value_or("");
    m.learn_id = r.string_member(j, path, "learn_id", true).value_or("");
    if (!m.learn_id.empty() && m.learn_id.find("{id}") == std::string::npos)
        r.fail("bad_template", json_pointer_append(path, "learn_id"), "learn_id names the backend id as \"{id}\"");
    read_part(r, j, path, m.part);
    if (issue && m.part.geometry.form != GeometryForm::Region)
        r.fail("bad_enum", json_pointer_append(path, "geometry"), "an issue's geometry is the \"region\" form (a point or a box)");
    read_pointer_list(r, j, path, "drops", m.drops);
    read_pointer_list(r, j, path, "write_once", m.write_once);
}

void read_review(JsonReader& r, const Json& j, ReviewProfile& out) {
    const std::string path = "/review";
    if (!r.expect_object(j, path)) return;
    r.reject_unknown_keys(j, path, {"guarantees", "job", "issues", "comments"});
    out.present = true;
    if (const Json* g = r.member(j, path, "guarantees", true)) {
        std::string gp = json_pointer_append(path, "guarantees");
        if (r.expect_object(*g, gp)) {
            r.reject_unknown_keys(*g, gp, {"decisions", "stage_check"});
            read_guarantee(r, *g, gp, "decisions", out.decisions);
            read_guarantee(r, *g, gp, "stage_check", out.stage_check);
        }
    }
    if (const Json* job = r.member(j, path, "job", true)) {
        std::string jp = json_pointer_append(path, "job");
        if (r.expect_object(*job, jp)) {
            r.reject_unknown_keys(*job, jp, {"read", "move", "stage_at", "state_at", "stages", "fields"});
            if (const Json* q = r.member(*job, jp, "read", true)) read_route(r, *q, json_pointer_append(jp, "read"), out.job_read, false);
            if (const Json* q = r.member(*job, jp, "move", true)) read_route(r, *q, json_pointer_append(jp, "move"), out.job_move, true);
            out.stage_at = read_pointer(r, *job, jp, "stage_at", true);
            out.state_at = read_pointer(r, *job, jp, "state_at", false);
            if (const Json* st = r.member(*job, jp, "stages", true); st && r.expect_array(*st, json_pointer_append(jp, "stages"))) {
                for (size_t i = 0; i < st->size(); ++i) {
                    std::string sp = json_pointer_append(json_pointer_append(jp, "stages"), i);
                    const Json& e = (*st)[i];
                    if (!r.expect_object(e, sp)) continue;
                    r.reject_unknown_keys(e, sp, {"ours", "theirs", "state", "returned_state"});
                    StageMap m;
                    auto ours = r.string_member(e, sp, "ours", true).value_or("");
                    if (auto stage = job_stage_from_string(ours)) m.ours = *stage;
                    else if (!ours.empty()) r.fail("bad_enum", json_pointer_append(sp, "ours"), "stage \"" + ours + "\" is not annotation, review or accepted");
                    m.theirs = r.string_member(e, sp, "theirs", true).value_or("");
                    m.state = r.string_member(e, sp, "state", false).value_or("");
                    m.returned_state = r.string_member(e, sp, "returned_state", false).value_or("");
                    if ((!m.state.empty() || !m.returned_state.empty()) && out.state_at.empty())
                        r.fail("missing_key", json_pointer_append(jp, "state_at"), "stages that send a state need \"state_at\"");
                    for (const StageMap& other : out.stages)
                        if (other.ours == m.ours && !ours.empty()) r.fail("duplicate_key", json_pointer_append(sp, "ours"), "stage \"" + ours + "\" is mapped twice");
                    out.stages.push_back(std::move(m));
                }
                for (JobStage s : {JobStage::Annotation, JobStage::Review, JobStage::Accepted})
                    if (std::none_of(out.stages.begin(), out.stages.end(), [&](const StageMap& m) { return m.ours == s; }))
                        r.fail("missing_key", json_pointer_append(jp, "stages"), std::string("stage \"") + to_string(s) + "\" has no backend stage");
            }
            read_part(r, *job, jp, out.job);
        }
    }
    if (const Json* i = r.member(j, path, "issues", true)) read_review_item(r, *i, json_pointer_append(path, "issues"), ReviewKind::Issue, out.issues);
    if (const Json* c = r.member(j, path, "comments", true)) read_review_item(r, *c, json_pointer_append(path, "comments"), ReviewKind::Comment, out.comments);
}

}  // namespace

Expected<BackendProfile> profile_from_json(const Json& json) {
    Errors errors;
    JsonReader r(errors);
    BackendProfile prof;
    if (!r.expect_root_object(json, "backend profile")) return errors;
    auto format = r.string_member(json, "", "format", true);
    if (format && *format != kProfileFormat) {
        r.fail("wrong_format", "/format", "\"format\" is \"" + *format + "\", not \"" + kProfileFormat + "\"");
        return errors;
    }
    auto version = r.integer_member(json, "", "version", true);
    if (version && *version != kProfileVersion) {
        r.fail("unsupported_version", "/version", "profile version " + std::to_string(*version) + " is not known; this reader knows version " + std::to_string(kProfileVersion));
        return errors;
    }
    if (!format || !version) return errors;
    r.reject_unknown_keys(json, "", {"format", "version", "name", "description", "guarantees", "headers", "load", "catchup", "save", "items", "review"});
    prof.name = r.string_member(json, "", "name", true).value_or("");
    prof.description = r.string_member(json, "", "description", false).value_or("");
    if (const Json* g = r.member(json, "", "guarantees", true); g && r.expect_object(*g, "/guarantees")) {
        r.reject_unknown_keys(*g, "/guarantees", {"conflicts", "deltas", "history", "revisions"});
        read_guarantee(r, *g, "/guarantees", "conflicts", prof.conflicts);
        read_guarantee(r, *g, "/guarantees", "deltas", prof.deltas);
        read_guarantee(r, *g, "/guarantees", "history", prof.history);
        read_guarantee(r, *g, "/guarantees", "revisions", prof.revisions);
    }
    if (auto h = json.find("headers"); h != json.end() && r.expect_object(*h, "/headers")) {
        for (auto it = h->begin(); it != h->end(); ++it)
            if (auto v = r.as_string(*it, json_pointer_append("/headers", it.key()))) prof.headers.emplace_back(it.key(), *v);
    }
    if (const Json* l = r.member(json, "", "load", true); l && r.expect_object(*l, "/load")) {
        r.reject_unknown_keys(*l, "/load", {"method", "path", "document_at", "items"});
        Json route = Json::object();
        for (const char* k : {"method", "path"})
            if (l->contains(k)) route[k] = (*l)[k];
        read_route(r, route, "/load", prof.load.route, false);
        if (l->contains("document_at")) prof.load.document_at = read_pointer(r, *l, "/load", "document_at", true);
        if (auto it = l->find("items"); it != l->end() && r.expect_array(*it, "/load/items")) {
            for (size_t i = 0; i < it->size(); ++i) {
                std::string p = json_pointer_append("/load/items", i);
                if (!r.expect_object((*it)[i], p)) continue;
                r.reject_unknown_keys((*it)[i], p, {"at", "collection"});
                LoadSource s;
                s.at = read_pointer(r, (*it)[i], p, "at", true);
                s.collection = r.string_member((*it)[i], p, "collection", true).value_or("");
                prof.load.items.push_back(s);
            }
        }
        if (prof.load.document_at.empty() == prof.load.items.empty() && !l->contains("document_at"))
            r.fail("missing_key", "/load/items", "the load route names where its reply holds items (\"items\") or the document (\"document_at\")");
    }
    if (auto c = json.find("catchup"); c != json.end()) read_route(r, *c, "/catchup", prof.catchup, false);
    if (const Json* s = r.member(json, "", "save", true); s && r.expect_object(*s, "/save")) {
        auto mode = r.string_member(*s, "/save", "mode", true).value_or("");
        if (mode == "operations" || mode == "document") {
            prof.save_mode = mode == "operations" ? SaveMode::Operations : SaveMode::Document;
            r.reject_unknown_keys(*s, "/save", {"mode", "request"});
            if (const Json* q = r.member(*s, "/save", "request", true)) read_route(r, *q, "/save/request", prof.save, true);
            if (prof.save.present && prof.save.item_at.empty()) r.fail("missing_key", "/save/request/item_at", "the save request names where items go (\"item_at\")");
        } else if (mode == "items") {
            prof.save_mode = SaveMode::Items;
            r.reject_unknown_keys(*s, "/save", {"mode", "create", "update", "delete"});
            if (const Json* q = r.member(*s, "/save", "create", true)) read_route(r, *q, "/save/create", prof.create, true);
            if (const Json* q = r.member(*s, "/save", "update", true)) read_route(r, *q, "/save/update", prof.update, true);
            if (const Json* q = r.member(*s, "/save", "delete", true)) read_route(r, *q, "/save/delete", prof.remove, true);
        } else if (!mode.empty()) {
            r.fail("bad_enum", "/save/mode", "save mode \"" + mode + "\" is not operations, items or document");
        }
    }
    if (const Json* items = r.member(json, "", "items", true); items && r.expect_array(*items, "/items")) {
        for (size_t i = 0; i < items->size(); ++i) {
            const Json& j = (*items)[i];
            std::string p = json_pointer_append("/items", i);
            if (!r.expect_object(j, p)) continue;
            r.reject_unknown_keys(j, p, {"kind", "type", "collection", "identity", "constants", "geometry", "fields", "keyframes", "drops"});
            ItemMap m;
            m.path = p;
            auto kind = r.string_member(j, p, "kind", true).value_or("");
            if (kind == "track") m.kind = SyncKind::Track;
            else if (kind != "object" && !kind.empty()) r.fail("bad_enum", json_pointer_append(p, "kind"), "kind is \"object\" or \"track\"");
            auto type = r.string_member(j, p, "type", true).value_or("");
            if (type == "any") m.any_type = true;
            else if (auto t = shape_type_from_string(type)) m.type = *t;
            else if (!type.empty()) r.fail("bad_enum", json_pointer_append(p, "type"), "type \"" + type + "\" is not a shape type or \"any\"");
            m.collection = r.string_member(j, p, "collection", true).value_or("");
            m.identity = r.bool_member(j, p, "identity", false).value_or(false);
            if (m.any_type && !m.identity) r.fail("bad_enum", json_pointer_append(p, "type"), "\"any\" type is for identity mappings only");
            read_part(r, j, p, m.item);
            if (!m.identity && !j.contains("geometry") && !(m.kind == SyncKind::Object && m.type == ShapeType::Tag) && m.kind == SyncKind::Object)
                r.fail("missing_key", json_pointer_append(p, "geometry"), "a shape mapping says where its geometry goes");
            if (auto k = j.find("keyframes"); k != j.end()) {
                std::string kp = json_pointer_append(p, "keyframes");
                if (r.expect_object(*k, kp)) {
                    r.reject_unknown_keys(*k, kp, {"at", "id_template", "constants", "geometry", "fields"});
                    m.keyframes_at = read_pointer(r, *k, kp, "at", true);
                    m.keyframe_id_template = r.string_member(*k, kp, "id_template", false).value_or("");
                    read_part(r, *k, kp, m.keyframe);
                }
            } else if (m.kind == SyncKind::Track && !m.identity) {
                r.fail("missing_key", json_pointer_append(p, "keyframes"), "a track mapping says where its keyframes go");
            }
            if (auto d = j.find("drops"); d != j.end() && r.expect_array(*d, json_pointer_append(p, "drops")))
                for (size_t k = 0; k < d->size(); ++k)
                    if (auto s = r.as_string((*d)[k], json_pointer_append(json_pointer_append(p, "drops"), k))) m.drops.push_back(*s);
            prof.items.push_back(std::move(m));
        }
    }
    if (auto rv = json.find("review"); rv != json.end()) read_review(r, *rv, prof.review);
    if (!errors.empty()) return errors;
    return prof;
}

Expected<BackendProfile> parse_profile(std::string_view text) {
    auto json = parse_json_text(text, "backend profile");
    if (!json) return json.errors();
    return profile_from_json(json.value());
}

// [SECTION] Context

ProfileContext context_from_task(const Task& task) {
    ProfileContext c;
    c.vars["task"] = task.id;
    for (const Media& m : task.media) c.media.push_back({m.frames, m.width, m.height});
    auto& labels = c.tables["labels"];
    for (const LabelSpec& l : task.labels) {
        labels.emplace_back(Json(l.id), Json(l.name.empty() ? l.id : l.name));
        for (const AttributeSpec& a : l.attributes)
            c.attribute_types[a.id] = a.type == AttributeType::Number ? "number" : a.type == AttributeType::Checkbox ? "boolean" : "string";
    }
    return c;
}

std::optional<MediaSize> media_size_at(const ProfileContext& context, long long frame) {
    if (frame < 0) return std::nullopt;
    long long first = 0;
    for (const MediaSize& m : context.media) {
        if (frame < first + m.frames) return m;
        first += m.frames;
    }
    return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> BackendRequest::redacted_headers() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [k, v] : headers) {
        std::string lower;
        for (char c : k) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        bool secret = lower.find("auth") != std::string::npos || lower.find("token") != std::string::npos ||
                      lower.find("cookie") != std::string::npos || lower.find("key") != std::string::npos;
        out.emplace_back(k, secret ? "***" : v);
    }
    return out;
}

// [SECTION] Transforms

namespace {

Error not_expressible(const std::string& path, const std::string& what) {
    return Error{"not_expressible", path, what};
}

Expected<double> resolve_number(const Json& arg, const ProfileContext& c, const std::string& path) {
    if (arg.is_number()) return arg.get<double>();
    auto v = expand_string(arg.get<std::string>(), c.vars, path, false);
    if (!v) return v.errors();
    if (!v.value().is_number() || v.value().get<double>() == 0)
        return Error{"expected_number", path, "\"" + arg.get<std::string>() + "\" must give a non-zero number"};
    return v.value().get<double>();
}

const std::vector<std::pair<Json, Json>>* table_of(const ProfileContext& c, const std::string& name) {
    auto it = c.tables.find(name);
    return it == c.tables.end() ? nullptr : &it->second;
}

Expected<Json> lookup(const ProfileContext& c, const std::string& table, bool keep, const Json& v, bool forward, const std::string& path) {
    if (const auto* t = table_of(c, table))
        for (const auto& [ours, theirs] : *t) {
            if (forward && ours == v) return theirs;
            if (!forward && theirs == v) return ours;
        }
    if (keep) return v;
    return Error{"unknown_lookup", path, "the \"" + table + "\" table has no entry for " + safe_dump(v)};
}

Json number_json(double x, bool integral) {
    if (integral && std::fabs(x) < 9e15 && x == std::floor(x)) return Json(static_cast<long long>(x));
    return Json(x);
}

Expected<Json> apply(const Transform& t, const Json& v, bool forward, const ProfileContext& c, const std::string& path) {
    switch (t.kind) {
    case Transform::Kind::Offset:
    case Transform::Kind::Divide: {
        if (!v.is_number()) return Error{"expected_number", path, "offset and divide apply to numbers"};
        auto n = resolve_number(t.arg, c, path);
        if (!n) return n.errors();
        double x = v.get<double>();
        if (t.kind == Transform::Kind::Offset)
            return number_json(forward ? x + n.value() : x - n.value(), v.is_number_integer() && n.value() == std::floor(n.value()));
        return Json(forward ? x / n.value() : x * n.value());
    }
    case Transform::Kind::Lookup:
        return lookup(c, t.table, t.keep_missing, v, forward, path);
    case Transform::Kind::Map:
        for (auto it = t.arg.begin(); it != t.arg.end(); ++it) {
            if (forward && v.is_string() && v.get<std::string>() == it.key()) return *it;
            if (!forward && *it == v) return Json(it.key());
        }
        if (forward) return not_expressible(path, "the backend has no value for " + safe_dump(v));
        return Error{"bad_enum", path, safe_dump(v) + " is not a value this profile knows"};
    case Transform::Kind::Not:
        if (!v.is_boolean()) return Error{"expected_boolean", path, "not applies to booleans"};
        return Json(!v.get<bool>());
    case Transform::Kind::Wrap:
        if (forward) return Json::array({v});
        if (!v.is_array() || v.size() != 1) return Error{"bad_payload", path, "expected an array of exactly one value"};
        return v[0];
    case Transform::Kind::Attributes: {
        if (forward) {
            if (!v.is_object()) return Error{"expected_object", path, "attributes are an object"};
            Json out = Json::array();
            for (auto it = v.begin(); it != v.end(); ++it) {
                auto id = lookup(c, t.table, table_of(c, t.table) == nullptr, Json(it.key()), true, json_pointer_append(path, it.key()));
                if (!id) return id.errors();
                Json e = Json::object();
                e[t.id_key] = id.value();
                e[t.value_key] = t.strings ? Json(json_text(*it)) : *it;
                out.push_back(std::move(e));
            }
            return out;
        }
        if (!v.is_array()) return Error{"expected_array", path, "attributes are an array"};
        Json out = Json::object();
        for (size_t i = 0; i < v.size(); ++i) {
            std::string p = json_pointer_append(path, i);
            const Json& e = v[i];
            if (!e.is_object() || !e.contains(t.id_key) || !e.contains(t.value_key))
                return Error{"bad_payload", p, "an attribute entry holds \"" + t.id_key + "\" and \"" + t.value_key + "\""};
            auto id = lookup(c, t.table, table_of(c, t.table) == nullptr, e[t.id_key], false, p);
            if (!id) return id.errors();
            std::string key = json_text(id.value());
            Json value = e[t.value_key];
            if (t.strings && value.is_string()) {
                auto type = c.attribute_types.find(key);
                std::string s = value.get<std::string>();
                if (type != c.attribute_types.end() && type->second == "boolean") {
                    if (s != "true" && s != "false") return Error{"bad_attribute", p, "\"" + s + "\" is not true or false"};
                    value = s == "true";
                } else if (type != c.attribute_types.end() && type->second == "number") {
                    auto n = parse_json_text(s, "attribute");
                    if (!n || !n.value().is_number()) return Error{"bad_attribute", p, "\"" + s + "\" is not a number"};
                    value = n.value();
                }
            }
            out[key] = std::move(value);
        }
        return out;
    }
    }
    return v;
}

// [SECTION] Geometry

struct Size {
    double w = 0, h = 0;
};

Expected<Size> size_for(const ProfileContext& c, const GeometryMap& g, long long frame, const std::string& path) {
    if (g.units != Units::Percent) return Size{1, 1};
    auto m = media_size_at(c, frame);
    if (!m || m->width <= 0 || m->height <= 0)
        return Error{"missing_media_size", path, "percent coordinates need the size of the media of frame " + std::to_string(frame)};
    return Size{double(m->width), double(m->height)};
}

constexpr double kPi = 3.14159265358979323846;

// Writes points [x1,y1,...] (and rotation) of one shape in the backend's form.
Expected<bool> geometry_out(const GeometryMap& g, const Json& ours, Json& theirs, const Size& size, const std::string& path) {
    if (g.form == GeometryForm::None) return true;
    std::vector<double> p;
    if (const Json* pts = json_pointer_find(ours, "/points"))
        for (const Json& x : *pts) p.push_back(x.get<double>());
    double rot = 0;
    if (const Json* r = json_pointer_find(ours, "/rotation")) rot = r->get<double>();
    bool pct = g.units == Units::Percent;
    double sx = pct ? 100.0 / size.w : 1, sy = pct ? 100.0 / size.h : 1;
    auto set_rotation = [&]() {
        if (!g.rotation.empty()) set_at(theirs, g.rotation, Json(rot));
    };
    switch (g.form) {
    case GeometryForm::Flat:
    case GeometryForm::Region:
    case GeometryForm::Pairs: {
        Json arr = Json::array();
        for (size_t i = 0; i + 1 < p.size(); i += 2) {
            if (g.form != GeometryForm::Pairs) { arr.push_back(p[i] * sx); arr.push_back(p[i + 1] * sy); }
            else arr.push_back(Json::array({p[i] * sx, p[i + 1] * sy}));
        }
        set_at(theirs, g.points, std::move(arr));
        set_rotation();
        return true;
    }
    case GeometryForm::Xywh:
    case GeometryForm::CentreRadii:
    case GeometryForm::CentreRim: {
        if (p.size() != 4) return Error{"bad_points", json_pointer_append(path, "points"), "this form needs a box of 4 numbers"};
        double w = p[2] - p[0], h = p[3] - p[1], cx = (p[0] + p[2]) / 2, cy = (p[1] + p[3]) / 2;
        Json box = Json::object();
        if (g.form == GeometryForm::Xywh) {
            double x = p[0], y = p[1];
            if (g.rotation_about_corner) {
                double t = rot * kPi / 180, cs = std::cos(t), sn = std::sin(t);
                x = cx + cs * (-w / 2) - sn * (-h / 2);
                y = cy + sn * (-w / 2) + cs * (-h / 2);
            }
            box["x"] = x * sx; box["y"] = y * sy; box["width"] = w * sx; box["height"] = h * sy;
        } else if (g.form == GeometryForm::CentreRadii) {
            box["x"] = cx * sx; box["y"] = cy * sy; box["radiusX"] = w / 2 * sx; box["radiusY"] = h / 2 * sy;
        } else {
            set_at(theirs, g.points, Json::array({cx * sx, cy * sy, (cx + w / 2) * sx, (cy - h / 2) * sy}));
            set_rotation();
            return true;
        }
        Json target = json_pointer_find(theirs, g.box) ? *json_pointer_find(theirs, g.box) : Json::object();
        for (auto it = box.begin(); it != box.end(); ++it) target[it.key()] = *it;
        set_at(theirs, g.box, std::move(target));
        set_rotation();
        return true;
    }
    case GeometryForm::None:
        break;
    }
    return true;
}

Expected<double> number_at(const Json& j, const std::string& ptr, const std::string& key, const std::string& path) {
    std::string p = key.empty() ? ptr : json_pointer_append(ptr, key);
    const Json* v = json_pointer_find(j, p);
    if (!v) return Error{"missing_key", path + p, "the payload has no " + p};
    if (!v->is_number()) return Error{"expected_number", path + p, p + " is not a number"};
    return v->get<double>();
}

// Reads the backend's geometry into our "points" (and "rotation") of `ours`.
Expected<bool> geometry_in(const GeometryMap& g, const Json& theirs, Json& ours, const Size& size, bool has_rotation, const std::string& path) {
    if (g.form == GeometryForm::None) return true;
    bool pct = g.units == Units::Percent;
    double sx = pct ? size.w / 100.0 : 1, sy = pct ? size.h / 100.0 : 1;
    double rot = 0;
    if (!g.rotation.empty()) {
        if (const Json* r = json_pointer_find(theirs, g.rotation)) {
            if (!r->is_number()) return Error{"expected_number", path + g.rotation, "rotation is a number"};
            rot = r->get<double>();
        }
    }
    Json pts = Json::array();
    if (g.form == GeometryForm::Flat || g.form == GeometryForm::Pairs || g.form == GeometryForm::CentreRim || g.form == GeometryForm::Region) {
        const Json* a = json_pointer_find(theirs, g.points);
        if (!a) return Error{"missing_key", path + g.points, "the payload has no points at " + g.points};
        if (!a->is_array()) return Error{"expected_array", path + g.points, "points are an array"};
        std::vector<double> flat;
        for (size_t i = 0; i < a->size(); ++i) {
            const Json& e = (*a)[i];
            std::string ep = path + json_pointer_append(g.points, i);
            if (g.form == GeometryForm::Pairs) {
                if (!e.is_array() || e.size() != 2 || !e[0].is_number() || !e[1].is_number())
                    return Error{"bad_points", ep, "a point is [x, y]"};
                flat.push_back(e[0].get<double>());
                flat.push_back(e[1].get<double>());
            } else {
                if (!e.is_number()) return Error{"expected_number", ep, "a coordinate is a number"};
                flat.push_back(e.get<double>());
            }
        }
        if (flat.size() % 2) return Error{"bad_points", path + g.points, "an odd count of coordinates"};
        if (g.form == GeometryForm::CentreRim) {
            if (flat.size() != 4) return Error{"bad_points", path + g.points, "an ellipse is [cx, cy, cx+rx, cy-ry]"};
            double cx = flat[0] * sx, cy = flat[1] * sy, rx = flat[2] * sx - cx, ry = cy - flat[3] * sy;
            pts = Json::array({cx - rx, cy - ry, cx + rx, cy + ry});
        } else {
            for (size_t i = 0; i < flat.size(); i += 2) {
                pts.push_back(flat[i] * sx);
                pts.push_back(flat[i + 1] * sy);
            }
        }
        if (g.form == GeometryForm::Region && flat.size() > 2) {
            // A box whatever corner came first; a polygon drawn in the backend: its bounding box.
            if (flat.size() < 4) return Error{"bad_points", path + g.points, "a region is a point [x, y] or at least two corners"};
            double x1 = flat[0], y1 = flat[1], x2 = flat[0], y2 = flat[1];
            for (size_t i = 2; i < flat.size(); i += 2) {
                x1 = std::min(x1, flat[i]); x2 = std::max(x2, flat[i]);
                y1 = std::min(y1, flat[i + 1]); y2 = std::max(y2, flat[i + 1]);
            }
            pts = Json::array({x1 * sx, y1 * sy, x2 * sx, y2 * sy});
        }
    } else if (g.form == GeometryForm::Xywh) {
        auto x = number_at(theirs, g.box, "x", path), y = number_at(theirs, g.box, "y", path);
        auto w = number_at(theirs, g.box, "width", path), h = number_at(theirs, g.box, "height", path);
        for (auto* e : {&x, &y, &w, &h})
            if (!*e) return e->errors();
        double X = x.value() * sx, Y = y.value() * sy, W = w.value() * sx, H = h.value() * sy;
        if (g.rotation_about_corner) {
            double t = rot * kPi / 180, cs = std::cos(t), sn = std::sin(t);
            double cx = X + cs * (W / 2) - sn * (H / 2), cy = Y + sn * (W / 2) + cs * (H / 2);
            X = cx - W / 2;
            Y = cy - H / 2;
        }
        pts = Json::array({X, Y, X + W, Y + H});
    } else if (g.form == GeometryForm::CentreRadii) {
        auto x = number_at(theirs, g.box, "x", path), y = number_at(theirs, g.box, "y", path);
        auto rx = number_at(theirs, g.box, "radiusX", path), ry = number_at(theirs, g.box, "radiusY", path);
        for (auto* e : {&x, &y, &rx, &ry})
            if (!*e) return e->errors();
        double cx = x.value() * sx, cy = y.value() * sy, a = rx.value() * sx, b = ry.value() * sy;
        pts = Json::array({cx - a, cy - b, cx + a, cy + b});
    }
    ours["points"] = std::move(pts);
    if (has_rotation && rot != 0) ours["rotation"] = rot;
    return true;
}

bool type_has_rotation(ShapeType t) { return t == ShapeType::Rectangle || t == ShapeType::Ellipse; }

// [SECTION] Parts

Vars item_vars(const ProfileContext& c, long long frame) {
    Vars v = c.vars;
    if (auto m = media_size_at(c, frame)) {
        v["width"] = m->width;
        v["height"] = m->height;
        v["frames"] = m->frames;
    }
    return v;
}

Expected<bool> part_out(const PartMap& part, const ProfileContext& c, const Json& ours, Json& theirs, long long frame, const std::string& path) {
    auto size = size_for(c, part.geometry, frame, path);
    if (!size) return size.errors();
    Vars vars = item_vars(c, frame);
    for (const auto& [ptr, tmpl] : part.constants) {
        auto v = expand(tmpl, vars, path);
        if (!v) return v.errors();
        set_at(theirs, ptr, std::move(v.value()));
    }
    if (auto g = geometry_out(part.geometry, ours, theirs, size.value(), path); !g) return g.errors();
    for (const FieldMap& f : part.fields) {
        if (f.theirs.empty() || f.read_only) continue;
        const Json* v = json_pointer_find(ours, f.ours);
        if (!v) {
            if (!f.absent.is_null()) set_at(theirs, f.theirs, f.absent);
            continue;
        }
        Json x = *v;
        for (const Transform& t : f.transforms) {
            auto y = apply(t, x, true, c, path + f.ours);
            if (!y) return y.errors();
            x = std::move(y.value());
        }
        set_at(theirs, f.theirs, std::move(x));
    }
    return true;
}

Expected<bool> part_in(const PartMap& part, const ProfileContext& c, const Json& theirs, Json& ours, bool has_rotation, const std::string& path) {
    for (const FieldMap& f : part.fields) {
        if (!f.fixed.is_null()) { set_at(ours, f.ours, f.fixed); continue; }
        if (f.write_only) continue;
        const Json* v = json_pointer_find(theirs, f.theirs);
        if (!v || (!f.absent.is_null() && *v == f.absent)) continue;
        Json x = *v;
        for (auto it = f.transforms.rbegin(); it != f.transforms.rend(); ++it) {
            auto y = apply(*it, x, false, c, path + f.theirs);
            if (!y) return y.errors();
            x = std::move(y.value());
        }
        set_at(ours, f.ours, std::move(x));
    }
    long long frame = 0;
    if (const Json* fr = json_pointer_find(ours, "/frame"); fr && fr->is_number()) frame = static_cast<long long>(fr->get<double>());
    auto size = size_for(c, part.geometry, frame, path);
    if (!size) return size.errors();
    return geometry_in(part.geometry, theirs, ours, size.value(), has_rotation, path);
}

bool constants_match(const PartMap& part, const Json& payload) {
    for (const auto& [ptr, tmpl] : part.constants) {
        if (has_placeholder(tmpl)) continue;
        const Json* v = json_pointer_find(payload, ptr);
        if (!v || *v != tmpl) return false;
    }
    return true;
}

const ItemMap* find_map(const BackendProfile& p, SyncKind kind, std::optional<ShapeType> type) {
    for (const ItemMap& m : p.items)
        if (m.kind == kind && (m.any_type || !type || m.type == *type)) return &m;
    return nullptr;
}

std::optional<ShapeType> type_of(const Json& value) {
    const Json* t = json_pointer_find(value, "/type");
    if (!t || !t->is_string()) return std::nullopt;
    return shape_type_from_string(t->get<std::string>());
}

Expected<BackendItem> read_item(const ItemMap& m, const ProfileContext& c, const Json& payload, const std::string& path) {
    Json ours = Json::object();
    if (m.identity) {
        ours = payload;
    } else if (m.kind == SyncKind::Object) {
        ours["type"] = to_string(m.type);
        if (auto r = part_in(m.item, c, payload, ours, type_has_rotation(m.type), path); !r) return r.errors();
    } else {
        ours["type"] = to_string(m.type);
        if (auto r = part_in(m.item, c, payload, ours, false, path); !r) return r.errors();
        ours.erase("points");
        const Json* kfs = json_pointer_find(payload, m.keyframes_at);
        if (!kfs || !kfs->is_array()) return Error{"expected_array", path + m.keyframes_at, "a track's keyframes are an array"};
        Json list = Json::array();
        for (size_t i = 0; i < kfs->size(); ++i) {
            Json k = Json::object();
            std::string kp = path + json_pointer_append(m.keyframes_at, i);
            if (auto r = part_in(m.keyframe, c, (*kfs)[i], k, type_has_rotation(m.type), kp); !r) return r.errors();
            if (!k.contains("id") && !m.keyframe_id_template.empty()) {
                Vars v = c.vars;
                v["track"] = ours.value("id", Json("")).is_string() ? ours["id"] : Json("");
                v["frame"] = k.value("frame", Json(0));
                auto id = expand_string(m.keyframe_id_template, v, kp, false);
                if (!id) return id.errors();
                k["id"] = json_text(id.value());
            }
            list.push_back(std::move(k));
        }
        ours["keyframes"] = std::move(list);
    }
    BackendItem item;
    item.kind = m.kind;
    if (m.kind == SyncKind::Object) {
        auto o = object_from_json(ours, path);
        if (!o) return o.errors();
        item.object = std::move(o.value());
    } else {
        auto t = track_from_json(ours, path);
        if (!t) return t.errors();
        item.track = std::move(t.value());
    }
    return item;
}

Expected<Json> write_item(const ItemMap& m, const ProfileContext& c, const Json& ours, const std::string& path) {
    if (m.identity) return ours;
    Json theirs = Json::object();
    if (m.kind == SyncKind::Object) {
        long long frame = ours.value("frame", 0LL);
        if (auto r = part_out(m.item, c, ours, theirs, frame, path); !r) return r.errors();
        return theirs;
    }
    static const Json kNone = Json::array();
    const Json* kp = json_pointer_find(ours, "/keyframes");
    const Json& kfs = kp && kp->is_array() ? *kp : kNone;
    long long first = kfs.empty() ? 0 : kfs[0].value("frame", 0LL);
    if (auto r = part_out(m.item, c, ours, theirs, first, path); !r) return r.errors();
    Json list = Json::array();
    for (size_t i = 0; i < kfs.size(); ++i) {
        Json k = Json::object();
        Json kv = kfs[i];
        if (const Json* r = json_pointer_find(ours, "/type")) kv["type"] = *r;
        if (auto r = part_out(m.keyframe, c, kv, k, kv.value("frame", 0LL), path + json_pointer_append("/keyframes", i)); !r) return r.errors();
        list.push_back(std::move(k));
    }
    set_at(theirs, m.keyframes_at, std::move(list));
    return theirs;
}

Json without_drops(const ItemMap& m, Json v) {
    for (const std::string& d : m.drops) {
        if (auto t = json_pointer_parse(d)) erase_at(v, *t, 0);
    }
    return v;
}

}  // namespace

// [SECTION] Items

Expected<Json> item_to_backend(const BackendProfile& profile, const ProfileContext& context, SyncKind kind, const Json& value) {
    Json ours;
    if (kind == SyncKind::Object) {
        auto o = object_from_json(value, "/value");
        if (!o) return o.errors();
        ours = object_to_json(o.value());
    } else {
        auto t = track_from_json(value, "/value");
        if (!t) return t.errors();
        ours = track_to_json(t.value());
    }
    auto type = type_of(ours);
    const ItemMap* m = find_map(profile, kind, type);
    if (!m)
        return not_expressible("/value/type", "the " + profile.name + " profile has no " + std::string(type ? to_string(*type) : "?") +
                                                  (kind == SyncKind::Track ? " track" : " object") + " mapping: the backend cannot hold it");
    auto payload = write_item(*m, context, ours, "/value");
    if (!payload) return payload.errors();
    // The proof that nothing was lost: read it back and compare.
    auto back = read_item(*m, context, payload.value(), "");
    if (!back) return back.errors();
    Json again = kind == SyncKind::Object ? object_to_json(*back->object) : track_to_json(*back->track);
    if (auto d = first_difference(without_drops(*m, ours), without_drops(*m, again), "/value"))
        return not_expressible(*d, "the " + profile.name + " backend cannot hold " + *d + " of this " + (kind == SyncKind::Track ? "track" : "object") +
                                       " (it would come back different)");
    return payload;
}

Expected<BackendItem> item_from_backend(const BackendProfile& profile, const ProfileContext& context, const Json& payload, const std::string& collection) {
    for (const ItemMap& m : profile.items) {
        if (!collection.empty() && m.collection != collection) continue;
        if (m.identity) {
            if (m.kind == SyncKind::Track ? payload.contains("keyframes") : !payload.contains("keyframes")) return read_item(m, context, payload, "");
            continue;
        }
        if (!constants_match(m.item, payload)) continue;
        if (m.kind == SyncKind::Track) {
            const Json* kfs = json_pointer_find(payload, m.keyframes_at);
            if (!kfs || !kfs->is_array() || kfs->empty() || !constants_match(m.keyframe, (*kfs)[0])) continue;
        } else if (!m.keyframes_at.empty()) {
            continue;
        }
        return read_item(m, context, payload, "");
    }
    return Error{"unknown_item", "", "no mapping of the " + profile.name + " profile matches this payload" +
                                         (collection.empty() ? std::string() : " in \"" + collection + "\"")};
}

// [SECTION] Requests

namespace {

Expected<BackendRequest> make_request(const BackendProfile& profile, const ProfileContext& c, const Route& route, const Vars& vars) {
    BackendRequest req;
    req.method = route.method;
    auto path = expand_string(route.path, vars, "/path", true);
    if (!path) return path.errors();
    req.path = path.value().get<std::string>();
    if (!route.body.is_null()) {
        auto body = expand(route.body, vars, "/body");
        if (!body) return body.errors();
        req.body = std::move(body.value());
    }
    Vars hv = vars;
    hv["token"] = c.token;
    for (const auto& [name, tmpl] : profile.headers) {
        if (tmpl.find("{token}") != std::string::npos && c.token.empty()) continue;
        auto v = expand_string(tmpl, hv, "/headers/" + json_pointer_escape(name), false);
        if (!v) return v.errors();
        req.headers.emplace_back(name, json_text(v.value()));
    }
    return req;
}

Expected<bool> place(BackendRequest& req, const Route& route, const Vars& vars, Json item) {
    if (route.item_at.empty() && req.body.is_null()) {
        req.body = std::move(item);
        return true;
    }
    auto at = expand_string(route.item_at, vars, "/item_at", false);
    if (!at) return at.errors();
    if (!set_at(req.body, json_text(at.value()), std::move(item)))
        return Error{"bad_pointer", "/item_at", "the route's body has no place at " + json_text(at.value())};
    return true;
}

}  // namespace

Expected<BackendRequest> to_backend(const BackendProfile& profile, const ProfileContext& context, const WireOp& op, const Json* previous) {
    Vars vars = context.vars;
    if (profile.save_mode == SaveMode::Operations) {
        if (op.op != SyncOpType::Delete) {
            auto checked = item_to_backend(profile, context, op.kind, op.value);
            if (!checked) return checked.errors();
        }
        auto req = make_request(profile, context, profile.save, vars);
        if (!req) return req;
        if (auto p = place(req.value(), profile.save, vars, wire_op_to_json(op)); !p) return p.errors();
        return req;
    }
    if (profile.save_mode == SaveMode::Document)
        return Error{"document_mode", "", "the " + profile.name + " profile saves whole documents: use document_to_backend"};

    const Json* value = op.op == SyncOpType::Delete ? previous : &op.value;
    const ItemMap* m = find_map(profile, op.kind, value ? type_of(*value) : std::nullopt);
    if (!m) return not_expressible("/value/type", "the " + profile.name + " profile has no mapping for this " + std::string(to_string(op.kind)));
    auto id = lookup(context, "ids", true, Json(op.id), true, "/id");
    vars["id"] = id.value();
    vars["collection"] = m->collection;
    const Route& route = op.op == SyncOpType::Create ? profile.create : op.op == SyncOpType::Update ? profile.update : profile.remove;
    auto req = make_request(profile, context, route, vars);
    if (!req) return req;
    if (op.op == SyncOpType::Delete) {
        if (!route.item.is_null()) {
            auto item = expand(route.item, vars, "/item");
            if (!item) return item.errors();
            if (auto p = place(req.value(), route, vars, std::move(item.value())); !p) return p.errors();
        }
        return req;
    }
    auto payload = item_to_backend(profile, context, op.kind, op.value);
    if (!payload) return payload.errors();
    if (auto p = place(req.value(), route, vars, std::move(payload.value())); !p) return p.errors();
    return req;
}

Expected<BackendRequest> document_to_backend(const BackendProfile& profile, const ProfileContext& context, const Document& doc) {
    if (profile.save_mode != SaveMode::Document)
        return Error{"not_document_mode", "", "the " + profile.name + " profile saves item by item: use to_backend"};
    auto req = make_request(profile, context, profile.save, context.vars);
    if (!req) return req;
    Errors errors;
    auto add = [&](SyncKind kind, const Json& value, const std::string& path) {
        auto payload = item_to_backend(profile, context, kind, value);
        if (!payload) {
            for (Error e : payload.errors()) {
                if (e.path.rfind("/value", 0) == 0) e.path = path + e.path.substr(6);
                errors.push_back(std::move(e));
            }
            return;
        }
        Vars vars = context.vars;
        const ItemMap* m = find_map(profile, kind, type_of(value));
        vars["collection"] = m ? m->collection : "";
        if (auto p = place(req.value(), profile.save, vars, std::move(payload.value())); !p)
            for (const Error& e : p.errors()) errors.push_back(e);
    };
    for (size_t i = 0; i < doc.objects.size(); ++i) add(SyncKind::Object, object_to_json(doc.objects[i]), json_pointer_append("/objects", i));
    for (size_t i = 0; i < doc.tracks.size(); ++i) add(SyncKind::Track, track_to_json(doc.tracks[i]), json_pointer_append("/tracks", i));
    if (!errors.empty()) return errors;
    return req;
}

BackendRequest load_request(const BackendProfile& profile, const ProfileContext& context) {
    auto req = make_request(profile, context, profile.load.route, context.vars);
    if (req) return req.value();
    BackendRequest fallback;
    fallback.method = profile.load.route.method;
    fallback.path = profile.load.route.path;
    return fallback;
}

Expected<Document> from_backend(const BackendProfile& profile, const ProfileContext& context, const Json& load_reply) {
    if (!profile.load.document_at.empty() || profile.load.items.empty()) {
        const Json* d = json_pointer_find(load_reply, profile.load.document_at);
        if (!d) return Error{"missing_key", profile.load.document_at, "the reply holds no document at " + profile.load.document_at};
        return document_from_json(*d);
    }
    Document doc;
    Errors errors;
    for (const LoadSource& s : profile.load.items) {
        const Json* a = json_pointer_find(load_reply, s.at);
        if (!a) continue;
        if (!a->is_array()) {
            errors.push_back({"expected_array", s.at, s.at + " is not an array"});
            continue;
        }
        for (size_t i = 0; i < a->size(); ++i) {
            auto item = item_from_backend(profile, context, (*a)[i], s.collection);
            if (!item) {
                for (Error e : item.errors()) {
                    e.path = json_pointer_append(s.at, i) + e.path;
                    errors.push_back(std::move(e));
                }
                continue;
            }
            if (item->object) doc.objects.push_back(std::move(*item->object));
            else doc.tracks.push_back(std::move(*item->track));
        }
    }
    if (!errors.empty()) return errors;
    return doc;
}

// [SECTION] Backend ids

namespace {

// The backend pointer of a part's id when it goes through the `ids` table; empty otherwise.
std::string backend_id_pointer(const PartMap& part) {
    for (const FieldMap& f : part.fields)
        if (f.ours == "/id" && !f.theirs.empty() && !f.transforms.empty() && f.transforms[0].kind == Transform::Kind::Lookup &&
            f.transforms[0].table == "ids")
            return f.theirs;
    return "";
}

bool table_has_backend_id(const ProfileContext& c, const Json& theirs) {
    if (const auto* t = table_of(c, "ids"))
        for (const auto& entry : *t)
            if (entry.second == theirs) return true;
    return false;
}

}  // namespace

std::vector<std::pair<Json, Json>> ids_from_create_reply(const BackendProfile& profile, const ProfileContext& context,
                                                         const WireOp& create, const Json& reply) {
    std::vector<std::pair<Json, Json>> out;
    if (profile.create.id_at.empty()) return out;
    const ItemMap* m = find_map(profile, create.kind, type_of(create.value));
    if (!m) return out;
    Vars vars = context.vars;
    vars["collection"] = m->collection;
    auto at = expand_string(profile.create.id_at, vars, "/save/create/id_at", false);
    if (!at) return out;
    std::string pointer = json_text(at.value());
    const Json* id = json_pointer_find(reply, pointer);
    if (!id || id->is_null()) return out;
    out.emplace_back(Json(create.id), *id);
    std::string kf_id = backend_id_pointer(m->keyframe);
    size_t cut = pointer.rfind('/');
    if (create.kind != SyncKind::Track || m->keyframes_at.empty() || kf_id.empty() || cut == std::string::npos) return out;
    const Json* payload = json_pointer_find(reply, pointer.substr(0, cut));
    const Json* theirs = payload ? json_pointer_find(*payload, m->keyframes_at) : nullptr;
    const Json* ours = json_pointer_find(create.value, "/keyframes");
    if (!theirs || !ours || !theirs->is_array() || !ours->is_array()) return out;
    for (size_t i = 0; i < std::min(theirs->size(), ours->size()); ++i) {
        const Json* backend = json_pointer_find((*theirs)[i], kf_id);
        const Json* mine = json_pointer_find((*ours)[i], "/id");
        if (backend && mine && !backend->is_null()) out.emplace_back(*mine, *backend);
    }
    return out;
}

void learn_backend_ids(const BackendProfile& profile, ProfileContext& context, const Json& load_reply) {
    auto learn = [&](const Json& payload, const std::string& pointer) {
        const Json* id = pointer.empty() ? nullptr : json_pointer_find(payload, pointer);
        if (!id || id->is_null() || table_has_backend_id(context, *id)) return;
        context.tables["ids"].emplace_back(Json(json_text(*id)), *id);
    };
    for (const LoadSource& s : profile.load.items) {
        const Json* list = json_pointer_find(load_reply, s.at);
        if (!list || !list->is_array()) continue;
        for (const Json& payload : *list)
            for (const ItemMap& m : profile.items) {
                if (m.collection != s.collection) continue;
                learn(payload, backend_id_pointer(m.item));
                const Json* kfs = m.keyframes_at.empty() ? nullptr : json_pointer_find(payload, m.keyframes_at);
                if (!kfs || !kfs->is_array()) continue;
                std::string kf_id = backend_id_pointer(m.keyframe);
                for (const Json& k : *kfs) learn(k, kf_id);
            }
    }
}

}  // namespace pm

// [SECTION] Review items and jobs

namespace pm {

namespace {

Expected<Json> canonical_review(ReviewKind kind, const Json& value, const std::string& path) {
    if (kind == ReviewKind::Issue) {
        auto i = issue_from_json(value, path);
        if (!i) return i.errors();
        return issue_to_json(i.value());
    }
    if (kind == ReviewKind::Comment) {
        auto c = comment_from_json(value, path);
        if (!c) return c.errors();
        return comment_to_json(c.value());
    }
    auto d = decision_from_json(value, path);
    if (!d) return d.errors();
    return decision_to_json(d.value());
}

Json without(const std::vector<std::string>& pointers, Json v) {
    for (const std::string& d : pointers)
        if (auto t = json_pointer_parse(d)) erase_at(v, *t, 0);
    return v;
}

}  // namespace

bool set_at_pointer(Json& root, const std::string& pointer, Json value) { return set_at(root, pointer, std::move(value)); }

void erase_at_pointer(Json& root, const std::string& pointer) {
    if (auto t = json_pointer_parse(pointer)) erase_at(root, *t, 0);
}

const ReviewItemMap* review_map(const BackendProfile& profile, ReviewKind kind) {
    if (!profile.review.present) return nullptr;
    const ReviewItemMap* m = kind == ReviewKind::Issue ? &profile.review.issues : kind == ReviewKind::Comment ? &profile.review.comments : nullptr;
    return m && m->present ? m : nullptr;
}

Expected<Json> review_item_to_backend(const BackendProfile& profile, const ProfileContext& context, ReviewKind kind, const Json& value) {
    const ReviewItemMap* m = review_map(profile, kind);
    if (!m) {
        std::string why = kind == ReviewKind::Decision && !profile.review.decisions.why.empty() ? profile.review.decisions.why
                                                                                               : "the " + profile.name + " profile has no " + to_string(kind) + " mapping";
        return not_expressible("/value", why);
    }
    auto ours = canonical_review(kind, value, "/value");
    if (!ours) return ours.errors();
    Json payload = Json::object();
    long long frame = ours.value().value("frame", 0LL);
    if (auto r = part_out(m->part, context, ours.value(), payload, frame, "/value"); !r) return r.errors();
    // The proof that nothing was lost: read it back (the fields the backend sets come from ours).
    Json back = Json::object();
    if (auto r = part_in(m->part, context, payload, back, false, ""); !r) return r.errors();
    std::vector<std::string> unsent = m->drops;
    for (const FieldMap& f : m->part.fields)
        if (f.read_only) {
            unsent.push_back(f.ours);
            if (const Json* v = json_pointer_find(ours.value(), f.ours)) set_at(back, f.ours, *v);
        }
    for (const std::string& d : m->drops)
        if (const Json* v = json_pointer_find(ours.value(), d)) set_at(back, d, *v);
    auto again = canonical_review(kind, back, "/value");
    if (!again) return again.errors();
    if (auto d = first_difference(without(unsent, ours.value()), without(unsent, again.value()), "/value"))
        return not_expressible(*d, "the " + profile.name + " backend cannot hold " + *d + " of this " + to_string(kind) + " (it would come back different)");
    return payload;
}

Expected<Json> review_item_from_backend(const BackendProfile& profile, const ProfileContext& context, ReviewKind kind, const Json& payload) {
    const ReviewItemMap* m = review_map(profile, kind);
    if (!m) return Error{"unknown_item", "", "the " + profile.name + " profile has no " + std::string(to_string(kind)) + " mapping"};
    if (!payload.is_object()) return Error{"expected_object", "", "a backend " + std::string(to_string(kind)) + " is an object"};
    Json ours = Json::object();
    if (auto r = part_in(m->part, context, payload, ours, false, ""); !r) return r.errors();
    return canonical_review(kind, ours, "");
}

std::string review_our_id(const BackendProfile& profile, ProfileContext& context, ReviewKind kind, const Json& backend_id) {
    const ReviewItemMap* m = review_map(profile, kind);
    if (!m) return json_text(backend_id);
    auto& table = context.tables[m->id_table];
    for (const auto& [ours, theirs] : table)
        if (theirs == backend_id) return json_text(ours);
    Vars v{{"id", Json(json_text(backend_id))}};
    auto id = expand_string(m->learn_id, v, m->path + "/learn_id", false);
    std::string ours = id ? json_text(id.value()) : json_text(backend_id);
    table.emplace_back(Json(ours), backend_id);
    return ours;
}

Expected<BackendRequest> review_request(const BackendProfile& profile, const ProfileContext& context, const Route& route,
                                        const std::map<std::string, Json>& extra, const Json* payload) {
    Vars vars = context.vars;
    for (const auto& [k, v] : extra) vars[k] = v;
    auto req = make_request(profile, context, route, vars);
    if (!req) return req;
    if (payload) {
        Json& body = req.value().body;
        if (body.is_object() && payload->is_object()) {
            for (auto it = payload->begin(); it != payload->end(); ++it) body[it.key()] = *it;
        } else {
            body = *payload;
        }
    }
    return req;
}

Expected<Json> job_from_backend(const BackendProfile& profile, const ProfileContext& context, const Json& payload) {
    const ReviewProfile& rv = profile.review;
    if (!rv.present) return Error{"no_review", "", "the " + profile.name + " profile has no review section"};
    if (!payload.is_object()) return Error{"expected_object", "", "the backend's job is an object"};
    Json ours = Json::object();
    if (auto r = part_in(rv.job, context, payload, ours, false, ""); !r) return r.errors();
    const Json* stage = json_pointer_find(payload, rv.stage_at);
    if (!stage || !stage->is_string()) return Error{"missing_key", rv.stage_at, "the backend's job has no stage at " + rv.stage_at};
    for (const StageMap& s : rv.stages)
        if (s.theirs == stage->get<std::string>()) {
            ours["stage"] = to_string(s.ours);
            return ours;
        }
    return Error{"bad_enum", rv.stage_at, "stage \"" + stage->get<std::string>() + "\" of the backend's job is not in the profile's stage table"};
}

Expected<BackendRequest> job_move_to_backend(const BackendProfile& profile, const ProfileContext& context, JobStage from, JobStage to) {
    const ReviewProfile& rv = profile.review;
    if (!rv.present) return Error{"no_review", "", "the " + profile.name + " profile has no review section"};
    for (const StageMap& s : rv.stages) {
        if (s.ours != to) continue;
        Json body = Json::object();
        set_at(body, rv.stage_at, Json(s.theirs));
        const std::string& state = from == JobStage::Review && to != JobStage::Review && !s.returned_state.empty() ? s.returned_state : s.state;
        if (!state.empty()) set_at(body, rv.state_at, Json(state));
        return review_request(profile, context, rv.job_move, {}, &body);
    }
    return Error{"not_expressible", "/stage", std::string("the ") + profile.name + " profile has no backend stage for \"" + to_string(to) + "\""};
}

std::optional<std::string> next_page_path(const Json& reply, const ListRoute& list) {
    if (list.next_at.empty()) return std::nullopt;
    const Json* v = json_pointer_find(reply, list.next_at);
    if (!v || !v->is_string() || v->get<std::string>().empty()) return std::nullopt;
    const std::string& url = v->get<std::string>();
    if (url[0] == '/') return url;
    size_t scheme = url.find("://");
    if (scheme == std::string::npos) return std::nullopt;
    size_t slash = url.find('/', scheme + 3);
    if (slash == std::string::npos) return std::nullopt;
    return url.substr(slash);
}

}  // namespace pm
