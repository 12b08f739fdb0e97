#include "polymark/json_stream.hpp"

#include "polymark/json_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace pm {

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

JsonStream::JsonStream(std::string_view text, Refill more, std::string what, size_t total_size)
    : more_(std::move(more)), total_(total_size), what_(std::move(what)) {
    data_ = text;  // read in place until more is needed; then the rest goes into buffer_
    ended_ = !more_;
    if (data_.size() >= 3 && (unsigned char)data_[0] == 0xEF && (unsigned char)data_[1] == 0xBB && (unsigned char)data_[2] == 0xBF)
        error_ = Error{"not_json", "", what_ + " is not valid JSON: it starts with a byte order mark"};
}

double JsonStream::fraction() const {
    size_t total = total_size();
    if (total == 0) return more_ ? 0.0 : 1.0;  // in pieces of unknown size, or an empty text
    return std::min(1.0, double(offset()) / double(total));
}

// Lets go of what lies before pos_ and appends the next piece; a value being taken starts at
// pos_, so it stays whole.
bool JsonStream::more() {
    if (!more_ || ended_) return false;
    size_t kept = data_.size() - pos_;
    if (data_.data() != buffer_.data()) buffer_.assign(data_.substr(pos_));
    else if (pos_ > 0) std::memmove(buffer_.data(), buffer_.data() + pos_, kept);
    base_ += pos_;
    pos_ = 0;
    size_t piece = std::max<size_t>(size_t(1) << 20, kept);
    if (buffer_.size() < kept + piece) {
        buffer_.resize(kept + piece);
    } else if (buffer_.size() > 4 * (kept + piece)) {  // after a big value
        buffer_.resize(kept + piece);
        buffer_.shrink_to_fit();
    }
    size_t n = std::min(more_(buffer_.data() + kept, piece), piece);
    if (n == 0) ended_ = true;
    data_ = std::string_view(buffer_.data(), kept + n);
    return n > 0;
}

void JsonStream::fail_at(size_t i, const std::string& expected) {
    if (error_) return;
    size_t column = base_ + i - line_start_ + 1;
    std::string where = "line " + std::to_string(line_) + ", column " + std::to_string(column);
    if (expected.rfind("too deep", 0) == 0) {
        error_ = Error{"too_deep", "", what_ + ": containers nested deeper than " + std::to_string(kMaxJsonDepth) + " at " + where};
    } else if (expected.rfind("utf-8", 0) == 0) {
        error_ = Error{"not_json", "", what_ + " is not valid JSON: it is not UTF-8 text (byte " + std::to_string(base_ + i) + ")"};
    } else {
        error_ = Error{"not_json", "", what_ + " is not valid JSON: parse error at " + where + ": expected " + expected};
    }
}

void JsonStream::skip_space() {
    for (;;) {
        while (pos_ < data_.size() && is_space(data_[pos_])) {
            if (data_[pos_] == '\n') { ++line_; line_start_ = base_ + pos_ + 1; }
            ++pos_;
        }
        if (pos_ < data_.size() || !more()) return;
    }
}

char JsonStream::peek() {
    if (error_) return 0;
    skip_space();
    return pos_ < data_.size() ? data_[pos_] : 0;
}

bool JsonStream::take(char c, const char* expected) {
    if (peek() == c) {
        ++pos_;
        return true;
    }
    fail_at(pos_, expected);
    return false;
}

bool JsonStream::begin_object() {
    if (levels_.size() >= kMaxJsonDepth && peek() == '{') { fail_at(pos_, "too deep"); return false; }
    if (!take('{', "an object")) return false;
    levels_.push_back({true});
    return true;
}

bool JsonStream::begin_array() {
    if (levels_.size() >= kMaxJsonDepth && peek() == '[') { fail_at(pos_, "too deep"); return false; }
    if (!take('[', "an array")) return false;
    levels_.push_back({false});
    return true;
}

std::optional<std::string> JsonStream::next_key() {
    if (error_ || levels_.empty() || !levels_.back().object) return std::nullopt;
    Level& level = levels_.back();
    char c = peek();
    if (c == '}') {
        ++pos_;
        levels_.pop_back();
        return std::nullopt;
    }
    if (!level.first && !take(',', "',' or '}'")) return std::nullopt;
    level.first = false;
    if (peek() != '"') { fail_at(pos_, "a string key"); return std::nullopt; }
    std::string_view token = take_value();
    if (error_) return std::nullopt;
    std::string_view inner = token.substr(1, token.size() - 2);
    std::string key = inner.find('\\') == std::string_view::npos ? std::string(inner)
                      : Json::parse(token, nullptr, false).get<std::string>();  // escapes: already checked valid
    if (!take(':', "':'")) return std::nullopt;
    return key;
}

bool JsonStream::next_element() {
    if (error_ || levels_.empty() || levels_.back().object) return false;
    Level& level = levels_.back();
    if (peek() == ']') {
        ++pos_;
        levels_.pop_back();
        return false;
    }
    if (!level.first && !take(',', "',' or ']'")) return false;
    level.first = false;
    if (peek() == ']') { fail_at(pos_, "a value"); return false; }
    return !error_;
}

std::string_view JsonStream::take_value() {
    if (error_) return {};
    skip_space();
    for (;;) {
        size_t line = line_, line_start = line_start_;
        size_t i = pos_;
        Scan s = scan_value(i, levels_.size());
        if (s == Scan::Done) {
            std::string_view value = data_.substr(pos_, i - pos_);
            pos_ = i;
            return value;
        }
        if (s == Scan::Bad) {
            fail_at(failure_at_, failure_);
            return {};
        }
        line_ = line;
        line_start_ = line_start;
        // Rescanned only once the held part of the value has doubled: linear in its size.
        // At the end of the text a scan no longer comes back Incomplete.
        size_t held = data_.size() - pos_;
        while (data_.size() - pos_ <= 2 * held && more()) {
        }
    }
}

std::string_view JsonStream::held() {
    if (error_) return {};
    skip_space();
    return data_.substr(pos_);
}

void JsonStream::advance(size_t n) {
    const char* from = data_.data() + pos_;
    const char* end = from + n;
    while (const void* nl = std::memchr(from, '\n', size_t(end - from))) {
        ++line_;
        from = static_cast<const char*>(nl) + 1;
        line_start_ = base_ + size_t(from - data_.data());
    }
    pos_ += n;
}

bool JsonStream::finish() {
    if (error_) return false;
    if (!levels_.empty()) { fail_at(pos_, "the end of a container"); return false; }
    skip_space();
    if (pos_ < data_.size()) { fail_at(pos_, "the end of the text"); return false; }
    return true;
}

// [SECTION] Scanning one value: Incomplete when the held text ends inside it and more is to come

#define PM_NEED(i, expected)                                        \
    if ((i) >= data_.size()) {                                      \
        if (more_ && !ended_) return Scan::Incomplete;              \
        failure_at_ = (i);                                          \
        failure_ = (expected);                                      \
        return Scan::Bad;                                           \
    }
#define PM_BAD(i, expected) \
    do {                    \
        failure_at_ = (i);  \
        failure_ = (expected); \
        return Scan::Bad;   \
    } while (0)

void JsonStream::skip_space_at(size_t& i) {
    while (i < data_.size() && is_space(data_[i])) {
        if (data_[i] == '\n') { ++line_; line_start_ = base_ + i + 1; }
        ++i;
    }
}

JsonStream::Scan JsonStream::scan_value(size_t& i, size_t depth) {
    PM_NEED(i, "a value");
    char c = data_[i];
    if (c == '"') return scan_string(i);
    if (c == '-' || is_digit(c)) return scan_number(i);
    if (c == 't') return scan_literal(i, "true");
    if (c == 'f') return scan_literal(i, "false");
    if (c == 'n') return scan_literal(i, "null");
    if (c != '{' && c != '[') PM_BAD(i, "a value");
    if (depth + 1 > kMaxJsonDepth) PM_BAD(i, "too deep");
    bool object = c == '{';
    char close = object ? '}' : ']';
    ++i;
    skip_space_at(i);
    PM_NEED(i, object ? "a string key or '}'" : "a value or ']'");
    if (data_[i] == close) { ++i; return Scan::Done; }
    for (;;) {
        if (object) {
            PM_NEED(i, "a string key");
            if (data_[i] != '"') PM_BAD(i, "a string key");
            if (Scan s = scan_string(i); s != Scan::Done) return s;
            skip_space_at(i);
            PM_NEED(i, "':'");
            if (data_[i] != ':') PM_BAD(i, "':'");
            ++i;
            skip_space_at(i);
        }
        if (Scan s = scan_value(i, depth + 1); s != Scan::Done) return s;
        skip_space_at(i);
        PM_NEED(i, object ? "',' or '}'" : "',' or ']'");
        if (data_[i] == close) { ++i; return Scan::Done; }
        if (data_[i] != ',') PM_BAD(i, object ? "',' or '}'" : "',' or ']'");
        ++i;
        skip_space_at(i);
    }
}

JsonStream::Scan JsonStream::scan_string(size_t& i) {
    ++i;  // the opening quote
    for (;;) {
        while (i < data_.size()) {
            unsigned char c = (unsigned char)data_[i];
            if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') { ++i; continue; }
            break;
        }
        PM_NEED(i, "a closing quote");
        unsigned char c = (unsigned char)data_[i];
        if (c == '"') { ++i; return Scan::Done; }
        if (c < 0x20) PM_BAD(i, "a control character to be escaped");
        if (c == '\\') {
            PM_NEED(i + 1, "an escape");
            char e = data_[i + 1];
            if (e == 'u') {
                for (size_t k = 2; k < 6; ++k) {
                    PM_NEED(i + k, "four hex digits");
                    if (!is_hex(data_[i + k])) PM_BAD(i + k, "four hex digits");
                }
                i += 6;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                i += 2;
            } else {
                PM_BAD(i + 1, "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
            }
            continue;
        }
        Utf8Lead lead = utf8_lead(c);
        if (lead.continuation == 0) PM_BAD(i, "utf-8");
        for (size_t k = 1; k <= lead.continuation; ++k) {
            PM_NEED(i + k, "utf-8");
            unsigned char d = (unsigned char)data_[i + k];
            if (d < (k == 1 ? lead.low : 0x80) || d > (k == 1 ? lead.high : 0xBF)) PM_BAD(i, "utf-8");
        }
        i += lead.continuation + 1;
    }
}

JsonStream::Scan JsonStream::scan_number(size_t& i) {
    auto digits = [&](size_t& j) -> Scan {
        while (j < data_.size() && is_digit(data_[j])) ++j;
        if (j >= data_.size() && more_ && !ended_) return Scan::Incomplete;
        return Scan::Done;
    };
    if (data_[i] == '-') {
        ++i;
        PM_NEED(i, "a digit");
    }
    if (!is_digit(data_[i])) PM_BAD(i, "a digit");
    if (data_[i] == '0') {
        ++i;
    } else if (Scan s = digits(i); s != Scan::Done) {
        return s;
    }
    if (i >= data_.size()) return more_ && !ended_ ? Scan::Incomplete : Scan::Done;
    if (data_[i] == '.') {
        ++i;
        PM_NEED(i, "a digit");
        if (!is_digit(data_[i])) PM_BAD(i, "a digit");
        if (Scan s = digits(i); s != Scan::Done) return s;
    }
    if (i >= data_.size()) return more_ && !ended_ ? Scan::Incomplete : Scan::Done;
    if (data_[i] == 'e' || data_[i] == 'E') {
        ++i;
        PM_NEED(i, "a digit");
        if (data_[i] == '+' || data_[i] == '-') {
            ++i;
            PM_NEED(i, "a digit");
        }
        if (!is_digit(data_[i])) PM_BAD(i, "a digit");
        if (Scan s = digits(i); s != Scan::Done) return s;
    }
    return Scan::Done;
}

JsonStream::Scan JsonStream::scan_literal(size_t& i, std::string_view word) {
    for (size_t k = 0; k < word.size(); ++k) {
        PM_NEED(i + k, std::string("\"") + std::string(word) + "\"");
        if (data_[i + k] != word[k]) PM_BAD(i, "a value");
    }
    i += word.size();
    return Scan::Done;
}

#undef PM_NEED
#undef PM_BAD

}  // namespace pm

namespace pm {

size_t json_number_prefix(std::string_view s, double& out, bool& integer) {
    static const double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0, n = s.size();
    bool negative = i < n && s[i] == '-';
    i += negative;
    if (i >= n || !is_digit(s[i])) return 0;
    uint64_t mantissa = 0;
    int digits = 0, exponent = 0;
    if (s[i] == '0') {
        ++i;
        digits = 1;
    } else {
        for (; i < n && is_digit(s[i]); ++i, ++digits)
            if (digits < 19) mantissa = mantissa * 10 + uint64_t(s[i] - '0');
    }
    integer = true;
    if (i < n && s[i] == '.') {
        integer = false;
        if (++i >= n || !is_digit(s[i])) return 0;
        for (; i < n && is_digit(s[i]); ++i, ++digits)
            if (digits < 19) { mantissa = mantissa * 10 + uint64_t(s[i] - '0'); --exponent; }
    }
    bool plain_exponent = true;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integer = false;
        ++i;
        bool minus = i < n && s[i] == '-';
        if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
        if (i >= n || !is_digit(s[i])) return 0;
        int e = 0;
        for (; i < n && is_digit(s[i]); ++i) e = std::min(e * 10 + (s[i] - '0'), 100000);
        exponent += minus ? -e : e;
        plain_exponent = exponent >= -22 && exponent <= 22;
    }
    // nlohmann reads an integer token as an integer (so "-0" is 0) and converts it.
    if (integer && digits <= 18) {
        out = mantissa == 0 ? 0.0 : negative ? -double((long long)mantissa) : double((long long)mantissa);
        return i;
    }
    // Clinger's fast path: both factors exact, so one rounding, as strtod's.
    if (!integer && digits <= 15 && plain_exponent && exponent >= -22 && exponent <= 22) {
        double v = double(mantissa);
        v = exponent < 0 ? v / kPow10[-exponent] : v * kPow10[exponent];
        out = negative ? -v : v;
        return i;
    }
    if (i > 64) return 0;
    char text[72];
    std::copy(s.begin(), s.begin() + long(i), text);
    text[i] = 0;
    errno = 0;
    double v = std::strtod(text, nullptr);
    if (errno == ERANGE || !std::isfinite(v)) return 0;
    out = v;
    return i;
}

bool json_number_value(std::string_view token, double& out) {
    bool integer;
    return !token.empty() && json_number_prefix(token, out, integer) == token.size();
}

}  // namespace pm
