// A careful reader of untrusted JSON values: every accessor checks the type first and records
// an Error with a JSON Pointer (RFC 6901) instead of throwing. Used by the document and task
// parsers so that both report errors the same way.
#pragma once
#include "polymark/error.hpp"
#include "polymark/json_pointer.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pm {

// [SECTION] Limits every JSON text obeys (docs/SCHEMA.md, "Limits"); serve.py applies the same.
// The depth keeps every parser (wasm's small stack, Python's recursion limit) safe; `meta` nests
// less deep so that a valid document stays within kMaxJsonDepth inside any reply or request.
inline constexpr size_t kMaxJsonDepth = 64;
inline constexpr size_t kMaxMetaDepth = 32;
inline constexpr long long kMaxExactInteger = 9007199254740991LL;  // 2^53 - 1: exact in a double

// A JSON text with what no reader may take out of it neutralised: each number no double can hold
// and each container nested past kMaxJsonDepth became null, each lone surrogate escape \ufffd.
// `problems` names them in text order (out_of_range, too_deep, bad_string) with JSON pointers.
struct ScannedJson {
    std::string text;
    Errors problems;
};
// Fails only when nothing can be read: the text is not UTF-8 (not_json) or a container past the
// depth limit never closes (too_deep).
Expected<ScannedJson> scan_json_limits(std::string_view text, const std::string& what);

// A JSON text as nlohmann's Json::parse(text, nullptr, false) reads it: the value, or a discarded
// value when the text is not JSON. Without its callback machinery, and through pointers as every
// JSON text of the app is: one instance of nlohmann's lexer and parser in the wasm (Json::parse
// adds one per iterator type, and its callback parser beside the plain one).
Json parse_json_or_discarded(std::string_view text);

// Valid JSON within the limits in one pass, the same value as nlohmann's parser gives; false
// (and `out` null) for anything else, which the functions above and below then read carefully.
bool parse_json_fast(std::string_view text, Json& out);

// Parses text without exceptions. Errors, in this order: not UTF-8 (not_json), nested past the
// limit (too_deep), not JSON (not_json, path "", naming line and column), then every number no
// double holds (out_of_range) and lone surrogate (bad_string) in text order, at their pointers.
Expected<Json> parse_json_text(std::string_view text, const std::string& what);

// The same, for readers that can leave out the parts holding a problem (an annotation document
// opened for editing): the value is read from the neutralised text and `problems` says where.
struct TolerantJson {
    Json value;
    Errors problems;
};
Expected<TolerantJson> parse_json_text_tolerant(std::string_view text, const std::string& what);

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

// What a UTF-8 lead byte (>= 0x80) needs, as strict as Python's decoder (no overlong forms,
// surrogates or code points past U+10FFFF): how many continuation bytes, and the range the first
// one must be in (the others are 0x80-0xBF). `continuation` is 0 for a byte that cannot lead.
struct Utf8Lead {
    size_t continuation = 0;
    unsigned char low = 0x80, high = 0xBF;
};
Utf8Lead utf8_lead(unsigned char c);

// The code points of UTF-8 text; a malformed byte counts as one code point of its own value.
std::vector<uint32_t> utf8_code_points(std::string_view text);

}  // namespace pm
