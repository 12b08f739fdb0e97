// A pull reader of one JSON text that may arrive in pieces: the caller walks the containers it
// cares about, takes each value it wants as text (to read a small one with parse_json_text) and
// skips the rest. Bytes behind the reader are let go, so a file of any size is read in the memory
// of its largest taken value. Syntax is checked as strictly as parse_json_text checks it (grammar,
// UTF-8, kMaxJsonDepth), and a syntax error names line and column.
#pragma once
#include "polymark/error.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pm {

class JsonStream {
public:
    // More of the text into `out` (at most `capacity` bytes); 0 means the text has ended.
    using Refill = std::function<size_t(char* out, size_t capacity)>;

    // `text` is the whole text, or its first bytes when `more` gives the rest. `what` names the
    // text in messages; `total_size` (when known) lets fraction() say how far the reader is.
    JsonStream(std::string_view text, Refill more, std::string what, size_t total_size = 0);

    // Whether the next value is an object, an array, a string, ... ('{', '[', '"', 't', 'n', '-'
    // or a digit); 0 at the end of the text or after an error.
    char peek();
    // Enters the object or array that comes next; false (and an error) when it is something else.
    bool begin_object();
    bool begin_array();
    // In an object: the next member's key, or nullopt at its end (the '}' is taken).
    std::optional<std::string> next_key();
    // In an array: whether another element follows (false at its end; the ']' is taken).
    bool next_element();
    // The next value's text, whole; valid until the next call of any method. Empty after an error.
    std::string_view take_value();
    void skip_value() { take_value(); }
    // The held text from the next value on, for a reader that can take a value straight from
    // it; advance(n) then passes the n bytes it took (valid JSON, or the reader is wrong). A
    // value that runs past the held text is for take_value().
    std::string_view held();
    void advance(size_t n);
    // After the root value: only whitespace may follow.
    bool finish();

    const std::optional<Error>& error() const { return error_; }
    double fraction() const;
    size_t offset() const { return base_ + pos_; }  // bytes read so far
    size_t total_size() const { return more_ ? total_ : data_.size(); }  // 0 when unknown

private:
    enum class Scan { Done, Incomplete, Bad };
    struct Level {
        bool object;
        bool first = true;
    };
    bool more();
    void skip_space();
    Scan scan_value(size_t& i, size_t depth);
    Scan scan_string(size_t& i);
    Scan scan_number(size_t& i);
    Scan scan_literal(size_t& i, std::string_view word);
    void skip_space_at(size_t& i);
    bool take(char c, const char* expected);
    void fail_at(size_t i, const std::string& expected);

    std::string_view data_;   // the text held now; data_[0] is byte `base_` of the whole
    std::string buffer_;      // what data_ views when the text arrives in pieces
    Refill more_;
    bool ended_ = false;
    size_t pos_ = 0, base_ = 0, total_ = 0;
    size_t line_ = 1, line_start_ = 0;  // line_start_: offset in the whole text
    std::string what_;
    std::vector<Level> levels_;
    std::optional<Error> error_;
    std::string failure_;  // what a scan expected where it stopped
    size_t failure_at_ = 0;
};

}  // namespace pm

namespace pm {

// The value of a JSON number token as parse_json_text gives it (an integer through long long,
// others correctly rounded); false when no double holds it (the reader then says out_of_range).
bool json_number_value(std::string_view token, double& out);
// The same for the number `s` starts with: its length (0 when it starts with none, or one no
// double holds), and whether it was written as an integer.
size_t json_number_prefix(std::string_view s, double& out, bool& integer);

}  // namespace pm
