#include "polymark/json_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace pm {

Utf8Lead utf8_lead(unsigned char c) {
    if (c >= 0xC2 && c <= 0xDF) return {1, 0x80, 0xBF};
    if (c == 0xE0) return {2, 0xA0, 0xBF};
    if (c == 0xED) return {2, 0x80, 0x9F};
    if (c >= 0xE1 && c <= 0xEF) return {2, 0x80, 0xBF};
    if (c == 0xF0) return {3, 0x90, 0xBF};
    if (c == 0xF4) return {3, 0x80, 0x8F};
    if (c >= 0xF1 && c <= 0xF3) return {3, 0x80, 0xBF};
    return {};
}

// [SECTION] The limit scan: one pass over the text, before nlohmann sees it

namespace {

// Python's strict UTF-8 decoder refuses the same: overlong forms, surrogates, past U+10FFFF.
bool is_utf8(std::string_view s, size_t& bad_at) {
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) { ++i; continue; }
        Utf8Lead lead = utf8_lead(c);
        if (lead.continuation == 0) { bad_at = i; return false; }
        for (size_t k = 1; k <= lead.continuation; ++k) {
            if (i + k >= s.size()) { bad_at = i; return false; }
            unsigned char d = (unsigned char)s[i + k];
            if (d < (k == 1 ? lead.low : 0x80) || d > (k == 1 ? lead.high : 0xBF)) { bad_at = i; return false; }
        }
        i += lead.continuation + 1;
    }
    return true;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The code unit of a \uXXXX escape starting at s[i] (the backslash), or -1.
long escape_unit(std::string_view s, size_t i) {
    if (i + 6 > s.size()) return -1;
    if (s[i] != '\\' || s[i + 1] != 'u') return -1;
    long v = 0;
    for (size_t k = 2; k < 6; ++k) {
        int h = hex_value(s[i + k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) out += (char)cp;
    else if (cp < 0x800) { out += (char)(0xC0 | (cp >> 6)); out += (char)(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) { out += (char)(0xE0 | (cp >> 12)); out += (char)(0x80 | ((cp >> 6) & 0x3F)); out += (char)(0x80 | (cp & 0x3F)); }
    else { out += (char)(0xF0 | (cp >> 18)); out += (char)(0x80 | ((cp >> 12) & 0x3F)); out += (char)(0x80 | ((cp >> 6) & 0x3F)); out += (char)(0x80 | (cp & 0x3F)); }
}

// A string token (quotes included, maybe unterminated): its text with each lone surrogate escape
// replaced by \ufffd, its decoded value (lone surrogates as U+FFFD) and whether it had any.
struct StringToken {
    std::string raw;
    std::string value;
    bool lone_surrogate = false;
};

StringToken read_string_token(std::string_view s) {
    StringToken t;
    t.raw += '"';
    size_t i = 1;
    while (i < s.size() && s[i] != '"') {
        if (s[i] != '\\') { t.raw += s[i]; t.value += s[i]; ++i; continue; }
        if (i + 1 >= s.size()) { t.raw += s[i]; ++i; break; }
        char e = s[i + 1];
        long unit = escape_unit(s, i);
        if (e != 'u' || unit < 0) {
            t.raw.append(s.substr(i, 2));
            const char* plain = "\"\\/bfnrt";
            const char* meant = "\"\\/\b\f\n\r\t";
            if (const char* at = std::strchr(plain, e); at && e) t.value += meant[at - plain];
            i += 2;
            continue;
        }
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            long low = escape_unit(s, i + 6);
            if (low >= 0xDC00 && low <= 0xDFFF) {
                t.raw.append(s.substr(i, 12));
                append_utf8(t.value, 0x10000 + (((uint32_t)unit - 0xD800) << 10) + ((uint32_t)low - 0xDC00));
                i += 12;
                continue;
            }
        }
        if (unit >= 0xD800 && unit <= 0xDFFF) {
            t.raw += "\\ufffd";
            append_utf8(t.value, 0xFFFD);
            t.lone_surrogate = true;
        } else {
            t.raw.append(s.substr(i, 6));
            append_utf8(t.value, (uint32_t)unit);
        }
        i += 6;
    }
    if (i < s.size()) { t.raw += '"'; ++i; }
    return t;
}

size_t string_token_length(std::string_view s) {
    size_t i = 1;
    while (i < s.size() && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
    return std::min(s.size(), i + 1);
}

bool is_number_char(char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }

// Where the scan stands: the open containers, each with its current member name or element index.
struct Level {
    bool object = false;
    bool expecting_key = false;
    std::string key;
    size_t index = 0;
};

std::string pointer_of(const std::vector<Level>& levels) {
    std::string p;
    for (const Level& l : levels) p = l.object ? json_pointer_append(p, l.key) : json_pointer_append(p, l.index);
    return p;
}

}  // namespace

Expected<ScannedJson> scan_json_limits(std::string_view text, const std::string& what) {
    size_t bad_at = 0;
    if (!is_utf8(text, bad_at))
        return Error{"not_json", "", what + " is not valid JSON: it is not UTF-8 text (byte " + std::to_string(bad_at) + ")"};
    ScannedJson out;
    out.text.reserve(text.size());
    std::vector<Level> levels;
    size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c == '"') {
            size_t n = string_token_length(text.substr(i));
            std::string_view token = text.substr(i, n);
            bool is_key = !levels.empty() && levels.back().object && levels.back().expecting_key;
            bool may_be_lone = token.find("\\u") != std::string_view::npos;
            if (!is_key && !may_be_lone) {
                out.text.append(token);
            } else {
                StringToken t = read_string_token(token);
                if (is_key) levels.back().key = t.value;
                std::string at = pointer_of(levels);
                if (t.lone_surrogate)
                    out.problems.push_back({"bad_string", at, (is_key ? "the member name at " : "the string at ") + (at.empty() ? std::string("the root") : at) + " holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape): it is not Unicode text"});
                out.text += t.raw;
            }
            i += n;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t n = 1;
            while (i + n < text.size() && is_number_char(text[i + n])) ++n;
            std::string token(text.substr(i, n));
            double value = std::strtod(token.c_str(), nullptr);
            if (!std::isfinite(value)) {
                std::string at = pointer_of(levels);
                out.problems.push_back({"out_of_range", at, "the number at " + (at.empty() ? std::string("the root") : at) + " (" + token.substr(0, 24) + (n > 24 ? "..." : "") + ") is too large for a double"});
                out.text += "null";
            } else {
                out.text += token;
            }
            i += n;
        } else if (c == '{' || c == '[') {
            if (levels.size() >= kMaxJsonDepth) {
                std::string at = pointer_of(levels);
                size_t depth = 0, j = i;
                while (j < text.size()) {
                    char d = text[j];
                    if (d == '"') { j += string_token_length(text.substr(j)); continue; }
                    if (d == '{' || d == '[') ++depth;
                    else if ((d == '}' || d == ']') && --depth == 0) break;
                    ++j;
                }
                Error deep{"too_deep", at, "the value at " + (at.empty() ? std::string("the root") : at) + " is nested more than " + std::to_string(kMaxJsonDepth) + " arrays and objects deep"};
                if (j >= text.size()) return deep;
                out.problems.push_back(std::move(deep));
                out.text += "null";
                i = j + 1;
                continue;
            }
            Level l;
            l.object = c == '{';
            l.expecting_key = l.object;
            levels.push_back(std::move(l));
            out.text += c;
            ++i;
        } else {
            if ((c == '}' || c == ']') && !levels.empty()) levels.pop_back();
            else if (c == ',' && !levels.empty()) {
                if (levels.back().object) levels.back().expecting_key = true;
                else ++levels.back().index;
            } else if (c == ':' && !levels.empty() && levels.back().object) {
                levels.back().expecting_key = false;
            }
            out.text += c;
            ++i;
        }
    }
    return out;
}

// [SECTION] The fast path: valid JSON within the limits, read in one pass

namespace {

// A recursive-descent reader that builds the same Json as nlohmann's DOM parser (non-negative
// integers unsigned, negative ones signed, duplicate keys: the last value at the first place) but
// gives up, returning false, on anything it does not take for sure: a syntax error, a BOM, bad
// UTF-8, a lone surrogate, a number no double or 64-bit integer holds exactly as nlohmann reads
// it, nesting past kMaxJsonDepth. The callers then take the careful path, which says what and
// where. It exists for speed: nlohmann's lexer and the limit scan each call strtod on every
// number, and musl's strtod, on 128-bit soft floats in wasm, was 40 % of reading a big document;
// here strtod reads only decimals of more than 19 digits or with an exponent past 19.
class FastJson {
public:
    explicit FastJson(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

    bool read(Json& out) {
        if (end_ - p_ >= 3 && (unsigned char)p_[0] == 0xEF && (unsigned char)p_[1] == 0xBB && (unsigned char)p_[2] == 0xBF) return false;
        skip_space();
        if (!value(out, 0)) return false;
        skip_space();
        return p_ == end_;
    }

private:
    const char* p_;
    const char* end_;
    std::string buffer_;  // a number token, NUL-terminated for strtod

    void skip_space() {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
    }
    bool literal(const char* word, size_t n) {
        if ((size_t)(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
        p_ += n;
        return true;
    }

    bool value(Json& out, size_t depth) {
        if (p_ >= end_) return false;
        switch (*p_) {
            case '{': return object(out, depth + 1);
            case '[': return array(out, depth + 1);
            case '"': {
                std::string s;
                if (!string(s)) return false;
                out = std::move(s);
                return true;
            }
            case 't': out = true; return literal("true", 4);
            case 'f': out = false; return literal("false", 5);
            case 'n': out = nullptr; return literal("null", 4);
            default: return number(out);
        }
    }

    bool object(Json& out, size_t depth) {
        if (depth > kMaxJsonDepth) return false;
        out = Json::object();
        ++p_;
        skip_space();
        if (p_ < end_ && *p_ == '}') { ++p_; return true; }
        std::string key;
        while (true) {
            if (p_ >= end_ || *p_ != '"' || !string(key)) return false;
            skip_space();
            if (p_ >= end_ || *p_ != ':') return false;
            ++p_;
            skip_space();
            if (!value(out[key], depth)) return false;
            skip_space();
            if (p_ >= end_) return false;
            if (*p_ == '}') { ++p_; return true; }
            if (*p_ != ',') return false;
            ++p_;
            skip_space();
        }
    }

    bool array(Json& out, size_t depth) {
        if (depth > kMaxJsonDepth) return false;
        out = Json::array();
        auto& items = out.get_ref<Json::array_t&>();
        ++p_;
        skip_space();
        if (p_ < end_ && *p_ == ']') { ++p_; return true; }
        while (true) {
            items.emplace_back();
            if (!value(items.back(), depth)) return false;
            skip_space();
            if (p_ >= end_) return false;
            if (*p_ == ']') { ++p_; return true; }
            if (*p_ != ',') return false;
            ++p_;
            skip_space();
        }
    }

    bool hex4(uint32_t& unit) {
        if (end_ - p_ < 4) return false;
        unit = 0;
        for (int k = 0; k < 4; ++k) {
            int h = hex_value(p_[k]);
            if (h < 0) return false;
            unit = unit * 16 + (uint32_t)h;
        }
        p_ += 4;
        return true;
    }

    bool string(std::string& out) {
        out.clear();
        ++p_;  // the opening quote
        while (true) {
            const char* run = p_;
            while (p_ < end_ && (unsigned char)*p_ >= 0x20 && *p_ != '"' && *p_ != '\\' && (unsigned char)*p_ < 0x80) ++p_;
            out.append(run, (size_t)(p_ - run));
            if (p_ >= end_) return false;
            unsigned char c = (unsigned char)*p_;
            if (c == '"') { ++p_; return true; }
            if (c < 0x20) return false;
            if (c >= 0x80) {
                Utf8Lead lead = utf8_lead(c);
                if (lead.continuation == 0 || (size_t)(end_ - p_) <= lead.continuation) return false;
                for (size_t k = 1; k <= lead.continuation; ++k) {
                    unsigned char d = (unsigned char)p_[k];
                    if (d < (k == 1 ? lead.low : 0x80) || d > (k == 1 ? lead.high : 0xBF)) return false;
                }
                out.append(p_, lead.continuation + 1);
                p_ += lead.continuation + 1;
                continue;
            }
            // A backslash.
            if (++p_ >= end_) return false;
            char e = *p_++;
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t unit;
                    if (!hex4(unit)) return false;
                    if (unit >= 0xDC00 && unit <= 0xDFFF) return false;  // a lone low surrogate
                    if (unit >= 0xD800 && unit <= 0xDBFF) {
                        uint32_t low;
                        if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u') return false;
                        p_ += 2;
                        if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, unit);
                    break;
                }
                default: return false;
            }
        }
    }

    static bool digit(char c) { return c >= '0' && c <= '9'; }

    // (hi x 2^64 + lo) / d and its remainder, for hi < d: Knuth's division in two base-2^32 digits
    // on the normalised divisor. The 128-bit `/` would bring compiler-rt's general division into
    // the app's first load.
    static uint64_t divide_128_by_64(uint64_t hi, uint64_t lo, uint64_t d, uint64_t& remainder) {
        const uint64_t base = 1ULL << 32;
        const int shift = __builtin_clzll(d);
        if (shift) {
            d <<= shift;
            hi = (hi << shift) | (lo >> (64 - shift));
            lo <<= shift;
        }
        const uint64_t d1 = d >> 32, d0 = d & (base - 1);
        auto digit = [&](uint64_t top, uint64_t next) {  // top / d's next base-2^32 digit
            uint64_t q = top / d1, r = top - q * d1;
            while (q >= base || q * d0 > ((r << 32) | next)) {
                --q;
                r += d1;
                if (r >= base) break;
            }
            return q;
        };
        const uint64_t q1 = digit(hi, lo >> 32);
        const uint64_t middle = ((hi << 32) | (lo >> 32)) - q1 * d;
        const uint64_t q0 = digit(middle, lo & (base - 1));
        remainder = (((middle << 32) | (lo & (base - 1))) - q0 * d) >> shift;
        return (q1 << 32) | q0;
    }

    // m x 10^e correctly rounded (to nearest, ties to even), for 0 < m < 2^64 and |e| <= 19: the
    // 16 to 19 digit decimals a labeler's coordinates are written with, which Clinger's path cannot
    // take. In 128-bit integers: the product, or a quotient with 55+ bits and its remainder.
    static double exact_decimal(uint64_t m, int e) {
        using u128 = unsigned __int128;
        static const uint64_t kPow10[] = {1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
                                          100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
                                          10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
                                          100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL};
        auto bits = [](u128 v) {
            uint64_t hi = uint64_t(v >> 64), lo = uint64_t(v);
            return hi ? 128 - __builtin_clzll(hi) : lo ? 64 - __builtin_clzll(lo) : 0;
        };
        u128 q;
        int scale;  // the value is q x 2^scale, less than one unit of q when `sticky`
        bool sticky = false;
        if (e >= 0) {
            q = (u128)m * kPow10[e];
            scale = 0;
        } else {
            const uint64_t p = kPow10[-e];
            int s = 55 + bits(p) - bits(m);
            if (s < 0) s = 0;
            u128 n = (u128)m << s;  // the quotient has 55 or 56 bits: it fits in 64
            uint64_t remainder;
            q = divide_128_by_64(uint64_t(n >> 64), uint64_t(n), p, remainder);
            sticky = remainder != 0;
            scale = -s;
        }
        int extra = bits(q) - 53;
        if (extra > 0) {
            u128 low = q & (((u128)1 << extra) - 1), half = (u128)1 << (extra - 1);
            q >>= extra;
            scale += extra;
            if (low > half || (low == half && (sticky || (q & 1)))) {
                ++q;
                if (q == ((u128)1 << 53)) { q >>= 1; ++scale; }
            }
        }
        return std::ldexp(double(uint64_t(q)), scale);
    }

    bool number(Json& out) {
        static const double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        const char* start = p_;
        bool negative = *p_ == '-';
        if (negative) ++p_;
        if (p_ >= end_ || !digit(*p_)) return false;
        uint64_t mantissa = 0;
        int significant = 0, exponent = 0;
        if (*p_ == '0') ++p_;
        else
            for (; p_ < end_ && digit(*p_); ++p_, ++significant)
                if (significant < 19) mantissa = mantissa * 10 + uint64_t(*p_ - '0');
        int integer_digits = significant;
        bool integer = true;
        if (p_ < end_ && *p_ == '.') {
            integer = false;
            if (++p_ >= end_ || !digit(*p_)) return false;
            for (; p_ < end_ && digit(*p_); ++p_) {
                if (significant == 0 && *p_ == '0') { --exponent; continue; }  // leading zeros of 0.00x
                if (significant < 19) { mantissa = mantissa * 10 + uint64_t(*p_ - '0'); --exponent; }
                ++significant;
            }
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            integer = false;
            ++p_;
            bool minus = p_ < end_ && *p_ == '-';
            if (p_ < end_ && (*p_ == '-' || *p_ == '+')) ++p_;
            if (p_ >= end_ || !digit(*p_)) return false;
            int e = 0;
            for (; p_ < end_ && digit(*p_); ++p_) e = std::min(e * 10 + (*p_ - '0'), 100000);
            exponent += minus ? -e : e;
        }
        if (integer) {
            // nlohmann: unsigned when there is no sign, signed with one; past 64 bits, strtod.
            if (integer_digits > 18) return false;
            if (negative) out = -(int64_t)mantissa;
            else out = mantissa;
            return true;
        }
        if (significant <= 15 && exponent >= -22 && exponent <= 22) {
            // Clinger's fast path: both factors exact, so one rounding, as strtod's.
            double v = double(mantissa);
            v = exponent < 0 ? v / kPow10[-exponent] : v * kPow10[exponent];
            out = negative ? -v : v;
            return true;
        }
        if (significant <= 19 && exponent >= -19 && exponent <= 19 && mantissa != 0) {
            double v = exact_decimal(mantissa, exponent);
            out = negative ? -v : v;
            return true;
        }
        buffer_.assign(start, p_);
        char* stop = nullptr;
        double v = std::strtod(buffer_.c_str(), &stop);
        if (stop != buffer_.c_str() + buffer_.size() || !std::isfinite(v)) return false;
        out = v;
        return true;
    }
};

}  // namespace

bool parse_json_fast(std::string_view text, Json& out) {
    if (!FastJson(text).read(out)) {
        out = Json();
        return false;
    }
    return true;
}

namespace {
using JsonTextParser = nlohmann::detail::parser<Json, nlohmann::detail::iterator_input_adapter<const char*>>;

JsonTextParser text_parser(std::string_view text) {
    const char* begin = text.data();
    return JsonTextParser(nlohmann::detail::input_adapter(begin, begin + text.size()), nullptr, /*allow_exceptions=*/false);
}
}  // namespace

// What Json::parse does without a callback (nlohmann/detail/input/parser.hpp, parser::parse):
// a DOM built by SAX events, the whole text read (strict), a discarded value on any error.
Json parse_json_or_discarded(std::string_view text) {
    Json result;
    if (parse_json_fast(text, result)) return result;
    nlohmann::detail::json_sax_dom_parser<Json> dom(result, /*allow_exceptions=*/false);
    text_parser(text).sax_parse(&dom, /*strict=*/true);
    if (dom.is_errored()) return Json(Json::value_t::discarded);
    return result;
}

static Expected<Json> parse_scanned(const std::string& text, const std::string& what) {
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
    // nlohmann skips a byte order mark; Python's json refuses it, and so does the contract.
    bool bom = text.size() >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF;
    if (bom) return Error{"not_json", "", what + " is not valid JSON: it starts with a byte order mark"};
    Json value = parse_json_or_discarded(text);
    if (!value.is_discarded()) return value;
    std::string reason;
    OffsetFinder finder;
    finder.reason = &reason;
    text_parser(text).sax_parse(&finder, /*strict=*/true);
    // nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    auto colon = reason.find("parse error");
    std::string detail = colon == std::string::npos ? reason : reason.substr(colon);
    return Error{"not_json", "", what + " is not valid JSON: " + detail};
}

Expected<TolerantJson> parse_json_text_tolerant(std::string_view text, const std::string& what) {
    TolerantJson fast;
    if (parse_json_fast(text, fast.value)) return fast;
    auto scanned = scan_json_limits(text, what);
    if (!scanned) return scanned.errors();
    auto value = parse_scanned(scanned->text, what);
    if (!value) return value.errors();
    return TolerantJson{std::move(value.value()), std::move(scanned->problems)};
}

Expected<Json> parse_json_text(std::string_view text, const std::string& what) {
    Json fast;
    if (parse_json_fast(text, fast)) return fast;
    auto scanned = scan_json_limits(text, what);
    if (!scanned) return scanned.errors();
    for (const Error& e : scanned->problems)
        if (e.code == "too_deep") return e;
    auto value = parse_scanned(scanned->text, what);
    if (!value) return value.errors();
    if (!scanned->problems.empty()) return scanned->problems;
    return value;
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
    auto out_of_range = [&]() -> std::optional<long long> {
        fail("out_of_range", path, where(path) + " must lie within -(2^53-1) and 2^53-1 (an integer a double holds exactly)");
        return std::nullopt;
    };
    if (v.is_number_unsigned()) {
        if (v.get<unsigned long long>() > (unsigned long long)kMaxExactInteger) return out_of_range();
        return (long long)v.get<unsigned long long>();
    }
    if (v.is_number_integer()) {
        long long i = v.get<long long>();
        if (i > kMaxExactInteger || i < -kMaxExactInteger) return out_of_range();
        return i;
    }
    if (v.is_number_float()) {
        double d = v.get<double>();
        if (std::isfinite(d) && std::floor(d) == d) {
            if (std::fabs(d) > (double)kMaxExactInteger) return out_of_range();
            return (long long)d;
        }
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
