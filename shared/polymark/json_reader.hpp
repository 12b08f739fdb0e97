// A careful reader of untrusted JSON values: every accessor checks the type first and records
// an Error with a JSON Pointer (RFC 6901) instead of throwing. Used by the document and task
// parsers so that both report errors the same way.
#pragma once
#include "polymark/error.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pm {

using Json = nlohmann::ordered_json;

std::string json_pointer_escape(std::string_view key);
std::string json_pointer_append(const std::string& base, std::string_view key);
std::string json_pointer_append(const std::string& base, size_t index);

// Parses text without exceptions; on failure returns a not_json error (path "") naming line and column.
Expected<Json> parse_json_text(std::string_view text, const std::string& what);

class JsonReader {
public:
    explicit JsonReader(Errors& errors, size_t max_errors = 100) : errors_(errors), max_errors_(max_errors) {}

    void fail(std::string code, std::string path, std::string message);
    bool full() const { return errors_.size() >= max_errors_; }
    size_t error_count() const { return errors_.size(); }

    // Type checks of a value at `path`. Each records an error and returns false on mismatch.
    bool expect_object(const Json& v, const std::string& path);
    bool expect_array(const Json& v, const std::string& path);
    // The root of a document or task: not_object (path "") when it is anything but an object.
    bool expect_root_object(const Json& v, const char* what);

    // Members of an object. `required` members that are missing record missing_key.
    const Json* member(const Json& object, const std::string& path, const char* key, bool required);
    std::optional<std::string> string_member(const Json& o, const std::string& path, const char* key, bool required);
    std::optional<double> number_member(const Json& o, const std::string& path, const char* key, bool required);
    std::optional<long long> integer_member(const Json& o, const std::string& path, const char* key, bool required);
    std::optional<bool> bool_member(const Json& o, const std::string& path, const char* key, bool required);

    std::optional<std::string> as_string(const Json& v, const std::string& path);
    std::optional<double> as_number(const Json& v, const std::string& path);
    std::optional<long long> as_integer(const Json& v, const std::string& path);
    std::optional<bool> as_bool(const Json& v, const std::string& path);

    // Records unknown_key for every member of `object` not in `allowed`.
    void reject_unknown_keys(const Json& object, const std::string& path, std::initializer_list<const char*> allowed);

private:
    Errors& errors_;
    size_t max_errors_;
};

// The code points of UTF-8 text; a malformed byte counts as one code point of its own value.
std::vector<uint32_t> utf8_code_points(std::string_view text);

}  // namespace pm
