#include "polymark/json_reader.hpp"

#include <cmath>
#include <limits>

namespace pm {

std::string json_pointer_escape(std::string_view key) {
    std::string out;
    out.reserve(key.size());
    for (char c : key) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out += c;
    }
    return out;
}

std::string json_pointer_append(const std::string& base, std::string_view key) {
    return base + "/" + json_pointer_escape(key);
}

std::string json_pointer_append(const std::string& base, size_t index) {
    return base + "/" + std::to_string(index);
}

Expected<Json> parse_json_text(std::string_view text, const std::string& what) {
    Json value;
    std::string reason;
    // Parsing with allow_exceptions=false only says "discarded"; to say where, the text is parsed
    // again through a SAX handler that keeps the parser's message (it names line and column).
    struct OffsetFinder : nlohmann::json_sax<Json> {
        std::string* reason;
        bool null() override { return true; }
        bool boolean(bool) override { return true; }
        bool number_integer(number_integer_t) override { return true; }
        bool number_unsigned(number_unsigned_t) override { return true; }
        bool number_float(number_float_t, const string_t&) override { return true; }
        bool string(string_t&) override { return true; }
        bool binary(binary_t&) override { return true; }
        bool start_object(std::size_t) override { return true; }
        bool key(string_t&) override { return true; }
        bool end_object() override { return true; }
        bool start_array(std::size_t) override { return true; }
        bool end_array() override { return true; }
        bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
            *reason = ex.what();
            return false;
        }
    };
    value = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) return value;
    OffsetFinder finder;
    finder.reason = &reason;
    Json::sax_parse(text.begin(), text.end(), &finder, nlohmann::detail::input_format_t::json, /*strict=*/true);
    // nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    auto colon = reason.find("parse error");
    std::string detail = colon == std::string::npos ? reason : reason.substr(colon);
    return Error{"not_json", "", what + " is not valid JSON: " + detail};
}

void JsonReader::fail(std::string code, std::string path, std::string message) {
    if (full()) return;
    errors_.push_back(Error{std::move(code), std::move(path), std::move(message)});
}

static std::string where(const std::string& path) { return path.empty() ? "the document root" : path; }

static const char* type_name(const Json& v) {
    switch (v.type()) {
        case Json::value_t::null: return "null";
        case Json::value_t::boolean: return "a boolean";
        case Json::value_t::string: return "a string";
        case Json::value_t::array: return "an array";
        case Json::value_t::object: return "an object";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned:
        case Json::value_t::number_float: return "a number";
        default: return "an unsupported value";
    }
}

bool JsonReader::expect_object(const Json& v, const std::string& path) {
    if (v.is_object()) return true;
    fail("expected_object", path, where(path) + " must be an object, not " + type_name(v));
    return false;
}

bool JsonReader::expect_root_object(const Json& v, const char* what) {
    if (v.is_object()) return true;
    fail("not_object", "", std::string(what) + " must be a JSON object, not " + type_name(v));
    return false;
}

bool JsonReader::expect_array(const Json& v, const std::string& path) {
    if (v.is_array()) return true;
    fail("expected_array", path, where(path) + " must be an array, not " + type_name(v));
    return false;
}

const Json* JsonReader::member(const Json& object, const std::string& path, const char* key, bool required) {
    auto it = object.find(key);
    if (it == object.end()) {
        if (required) fail("missing_key", json_pointer_append(path, key), std::string("missing required key \"") + key + "\" in " + where(path));
        return nullptr;
    }
    return &*it;
}

std::optional<std::string> JsonReader::as_string(const Json& v, const std::string& path) {
    if (v.is_string()) return v.get_ref<const std::string&>();
    fail("expected_string", path, where(path) + " must be a string, not " + type_name(v));
    return std::nullopt;
}

std::optional<double> JsonReader::as_number(const Json& v, const std::string& path) {
    if (v.is_number()) {
        double d = v.get<double>();
        if (std::isfinite(d)) return d;
        fail("expected_number", path, where(path) + " must be a finite number");
        return std::nullopt;
    }
    fail("expected_number", path, where(path) + " must be a number, not " + type_name(v));
    return std::nullopt;
}

std::optional<long long> JsonReader::as_integer(const Json& v, const std::string& path) {
    if (v.is_number_integer()) {
        if (v.is_number_unsigned() && v.get<unsigned long long>() > (unsigned long long)std::numeric_limits<long long>::max()) {
            fail("out_of_range", path, where(path) + " is too large");
            return std::nullopt;
        }
        return v.get<long long>();
    }
    if (v.is_number_float()) {
        double d = v.get<double>();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) return (long long)d;
    }
    fail("expected_integer", path, where(path) + " must be an integer, not " + (v.is_number() ? "a fraction" : type_name(v)));
    return std::nullopt;
}

std::optional<bool> JsonReader::as_bool(const Json& v, const std::string& path) {
    if (v.is_boolean()) return v.get<bool>();
    fail("expected_boolean", path, where(path) + " must be true or false, not " + type_name(v));
    return std::nullopt;
}

std::optional<std::string> JsonReader::string_member(const Json& o, const std::string& path, const char* key, bool required) {
    const Json* v = member(o, path, key, required);
    return v ? as_string(*v, json_pointer_append(path, key)) : std::nullopt;
}

std::optional<double> JsonReader::number_member(const Json& o, const std::string& path, const char* key, bool required) {
    const Json* v = member(o, path, key, required);
    return v ? as_number(*v, json_pointer_append(path, key)) : std::nullopt;
}

std::optional<long long> JsonReader::integer_member(const Json& o, const std::string& path, const char* key, bool required) {
    const Json* v = member(o, path, key, required);
    return v ? as_integer(*v, json_pointer_append(path, key)) : std::nullopt;
}

std::optional<bool> JsonReader::bool_member(const Json& o, const std::string& path, const char* key, bool required) {
    const Json* v = member(o, path, key, required);
    return v ? as_bool(*v, json_pointer_append(path, key)) : std::nullopt;
}

void JsonReader::reject_unknown_keys(const Json& object, const std::string& path, std::initializer_list<const char*> allowed) {
    for (auto it = object.begin(); it != object.end(); ++it) {
        bool known = false;
        for (const char* a : allowed) known = known || it.key() == a;
        if (!known) fail("unknown_key", json_pointer_append(path, it.key()), "unknown key \"" + it.key() + "\" in " + where(path));
    }
}

std::vector<uint32_t> utf8_code_points(std::string_view text) {
    std::vector<uint32_t> out;
    for (size_t i = 0; i < text.size();) {
        unsigned char c = (unsigned char)text[i];
        int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        uint32_t cp = n == 1 ? c : c & (0x3F >> (n - 1));
        for (int k = 1; k < n && i + k < text.size(); ++k) cp = (cp << 6) | ((unsigned char)text[i + k] & 0x3F);
        out.push_back(cp);
        i += (size_t)n;
    }
    return out;
}

}  // namespace pm
