#include "polymark/json_pointer.hpp"

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

std::optional<std::vector<std::string>> json_pointer_parse(std::string_view pointer) {
    std::vector<std::string> tokens;
    if (pointer.empty()) return tokens;
    if (pointer[0] != '/') return std::nullopt;
    std::string token;
    for (size_t i = 1; i <= pointer.size(); ++i) {
        if (i == pointer.size() || pointer[i] == '/') {
            tokens.push_back(std::move(token));
            token.clear();
        } else if (pointer[i] == '~') {
            if (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) return std::nullopt;
            token += pointer[i + 1] == '0' ? '~' : '/';
            ++i;
        } else {
            token += pointer[i];
        }
    }
    return tokens;
}

std::optional<size_t> json_pointer_index(std::string_view token) {
    if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0')) return std::nullopt;
    size_t index = 0;
    for (char c : token) {
        if (c < '0' || c > '9') return std::nullopt;
        index = index * 10 + size_t(c - '0');
    }
    return index;
}

const Json* json_pointer_find(const Json& root, std::string_view pointer) {
    auto tokens = json_pointer_parse(pointer);
    if (!tokens) return nullptr;
    const Json* at = &root;
    for (const std::string& t : *tokens) {
        if (at->is_object()) {
            auto it = at->find(t);
            if (it == at->end()) return nullptr;
            at = &*it;
        } else if (at->is_array()) {
            auto i = json_pointer_index(t);
            if (!i || *i >= at->size()) return nullptr;
            at = &(*at)[*i];
        } else {
            return nullptr;
        }
    }
    return at;
}

bool json_pointer_within(std::string_view pointer, std::string_view base) {
    return pointer.substr(0, base.size()) == base && (pointer.size() == base.size() || pointer[base.size()] == '/');
}

}  // namespace pm
