// JSON Pointers (RFC 6901): the one place that escapes, joins, parses and follows them. Error
// paths ("/objects/3/points", "/objects/0/attributes/a~1b"), the sync engine's and the backend
// profiles' addresses into values all go through here. No exceptions: a malformed pointer is
// std::nullopt or nullptr. Depends on nlohmann/json only.
#pragma once
#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pm {

using Json = nlohmann::ordered_json;

// One reference token: "~" becomes "~0" and "/" becomes "~1".
std::string json_pointer_escape(std::string_view key);

// `base` with one more reference token: a member name (escaped) or an array index.
std::string json_pointer_append(const std::string& base, std::string_view key);
std::string json_pointer_append(const std::string& base, size_t index);

// The unescaped reference tokens of `pointer` ("" is the root: no tokens); std::nullopt when it is
// not a JSON Pointer (it does not start with "/", or holds a "~" followed by neither 0 nor 1).
std::optional<std::vector<std::string>> json_pointer_parse(std::string_view pointer);

// A token read as an array index: 1 to 9 decimal digits, no leading zero ("0", "17"; not "01", "-").
std::optional<size_t> json_pointer_index(std::string_view token);

// The value `pointer` names inside `root`, or nullptr (malformed, or nothing there).
const Json* json_pointer_find(const Json& root, std::string_view pointer);

// Whether `pointer` is `base` or a pointer below it ("/a/1" is below "/a"; "/ab" is not).
bool json_pointer_within(std::string_view pointer, std::string_view base);

}  // namespace pm
