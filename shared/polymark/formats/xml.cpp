#include "polymark/formats/xml.hpp"

#include "polymark/formats/format_common.hpp"

namespace pm::formats {

namespace {

constexpr size_t kMaxDepth = 256;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_name_start(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80; }
bool is_name_char(unsigned char c) { return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

void append_utf8(std::string& out, unsigned long cp) {
    if (cp < 0x80) out += char(cp);
    else if (cp < 0x800) { out += char(0xC0 | (cp >> 6)); out += char(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) { out += char(0xE0 | (cp >> 12)); out += char(0x80 | ((cp >> 6) & 0x3F)); out += char(0x80 | (cp & 0x3F)); }
    else { out += char(0xF0 | (cp >> 18)); out += char(0x80 | ((cp >> 12) & 0x3F)); out += char(0x80 | ((cp >> 6) & 0x3F)); out += char(0x80 | (cp & 0x3F)); }
}

}  // namespace

XmlReader::XmlReader(std::string_view text, std::string file) : s_(text), file_(std::move(file)) {
    if (s_.size() >= 3 && (unsigned char)s_[0] == 0xEF && (unsigned char)s_[1] == 0xBB && (unsigned char)s_[2] == 0xBF) i_ = 3;
}

namespace {
// Attribute names are short and mostly differ early: compared in place, not by a memcmp call.
bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t k = 0; k < a.size(); ++k)
        if (a[k] != b[k]) return false;
    return true;
}
}  // namespace

const std::string_view* XmlReader::attribute(std::string_view name) const {
    for (size_t k = 0; k < attribute_count_; ++k)
        if (same_name(attributes_[k].name, name)) return &attributes_[k].value;
    return nullptr;
}

std::string XmlReader::element_path() const {
    std::string p;
    for (std::string_view n : stack_) {
        if (!p.empty()) p += '/';
        p.append(n);
    }
    return p;
}

Error XmlReader::error_here(const std::string& code, const std::string& message) const {
    std::string where = file_ + ":" + text_position(s_, event_at_);
    std::string path = element_path();
    return Error{code, where, where + (path.empty() ? "" : " (" + path + ")") + ": " + message};
}

XmlReader::Event XmlReader::fail(size_t at, const std::string& message) {
    failed_ = true;
    event_at_ = at;
    error_ = error_here("bad_xml", "not well-formed XML: " + message);
    return Event::Failed;
}

void XmlReader::skip_space() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
}

bool XmlReader::read_name(std::string_view& out) {
    size_t b = i_;
    if (i_ >= s_.size() || !is_name_start((unsigned char)s_[i_])) return false;
    while (i_ < s_.size() && is_name_char((unsigned char)s_[i_])) ++i_;
    out = s_.substr(b, i_ - b);
    return true;
}

bool XmlReader::resolve(std::string_view raw, std::string& out, size_t at) {
    out.clear();
    size_t amp = raw.find('&');
    if (amp == std::string_view::npos) { out.assign(raw); return true; }
    out.reserve(raw.size());
    size_t k = 0;
    while (k < raw.size()) {
        amp = raw.find('&', k);
        if (amp == std::string_view::npos) { out.append(raw.substr(k)); break; }
        out.append(raw.substr(k, amp - k));
        size_t semi = raw.find(';', amp);
        if (semi == std::string_view::npos || semi - amp > 12) { fail(at + amp, "'&' that starts no reference (write &amp;)"); return false; }
        std::string_view ref = raw.substr(amp + 1, semi - amp - 1);
        if (ref == "lt") out += '<';
        else if (ref == "gt") out += '>';
        else if (ref == "amp") out += '&';
        else if (ref == "quot") out += '"';
        else if (ref == "apos") out += '\'';
        else if (ref.size() >= 2 && ref[0] == '#') {
            unsigned long cp = 0;
            bool hex = ref[1] == 'x';
            std::string_view digits = ref.substr(hex ? 2 : 1);
            if (digits.empty()) { fail(at + amp, "an empty character reference"); return false; }
            for (char c : digits) {
                int d = c >= '0' && c <= '9' ? c - '0' : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10 : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0) { fail(at + amp, "a character reference with a bad digit"); return false; }
                cp = cp * (hex ? 16 : 10) + (unsigned long)d;
                if (cp > 0x10FFFF) break;
            }
            if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { fail(at + amp, "a character reference to no Unicode character"); return false; }
            append_utf8(out, cp);
        } else {
            fail(at + amp, "the entity &" + std::string(ref) + "; is not defined (only &lt; &gt; &amp; &quot; &apos; and numeric references are)");
            return false;
        }
        k = semi + 1;
    }
    return true;
}

// Comments, processing instructions, CDATA (as text) and DOCTYPE. Returns false on failure.
bool XmlReader::skip_markup() {
    if (s_.compare(i_, 4, "<!--") == 0) {
        size_t e = s_.find("-->", i_ + 4);
        if (e == std::string_view::npos) { fail(i_, "a comment that never ends"); return false; }
        i_ = e + 3;
        return true;
    }
    if (s_.compare(i_, 2, "<?") == 0) {
        size_t e = s_.find("?>", i_ + 2);
        if (e == std::string_view::npos) { fail(i_, "a processing instruction that never ends"); return false; }
        i_ = e + 2;
        return true;
    }
    if (s_.compare(i_, 9, "<!DOCTYPE") == 0) {
        if (seen_root_) { fail(i_, "a DOCTYPE after the root element"); return false; }
        int brackets = 0;
        for (size_t k = i_ + 9; k < s_.size(); ++k) {
            if (s_[k] == '[') ++brackets;
            else if (s_[k] == ']') --brackets;
            else if (s_[k] == '>' && brackets <= 0) { i_ = k + 1; return true; }
        }
        fail(i_, "a DOCTYPE that never ends");
        return false;
    }
    fail(i_, "'<!' that starts no comment, CDATA section or DOCTYPE");
    return false;
}

XmlReader::Event XmlReader::next() {
    if (failed_) return Event::Failed;
    if (!checked_utf8_) {
        checked_utf8_ = true;
        size_t bad_at = 0;
        if (!valid_utf8(s_, bad_at)) return fail(bad_at, "the file is not UTF-8 text (byte " + std::to_string(bad_at) + ")");
    }
    attribute_count_ = 0;
    if (pending_end_) {
        pending_end_ = false;
        name_ = stack_.back();
        stack_.pop_back();
        return Event::EndElement;
    }
    text_.clear();
    bool text_has_content = false;
    size_t text_at = i_;
    while (true) {
        if (i_ >= s_.size()) {
            if (!stack_.empty()) return fail(i_, "the file ends inside <" + std::string(stack_.back()) + ">");
            if (!seen_root_) return fail(i_, "there is no root element");
            return Event::End;
        }
        size_t lt = s_.find('<', i_);
        if (lt == std::string_view::npos) lt = s_.size();
        if (lt > i_) {
            std::string_view raw = s_.substr(i_, lt - i_);
            bool all_space = true;
            for (char c : raw)
                if (!is_space(c)) { all_space = false; break; }
            if (!all_space) {
                if (stack_.empty()) return fail(i_, "text outside the root element");
                if (!text_has_content) text_at = i_;
                std::string piece;
                if (!resolve(raw, piece, i_)) return Event::Failed;
                text_ += piece;
                text_has_content = true;
            } else if (!stack_.empty()) {
                text_.append(raw);
            }
            i_ = lt;
            continue;
        }
        // At '<'. The byte after it decides (comparing whole prefixes first cost a tenth of a
        // CVAT import).
        const char after = i_ + 1 < s_.size() ? s_[i_ + 1] : '\0';
        if (after == '!' && s_.compare(i_, 9, "<![CDATA[") == 0) {
            if (stack_.empty()) return fail(i_, "CDATA outside the root element");
            size_t e = s_.find("]]>", i_ + 9);
            if (e == std::string_view::npos) return fail(i_, "a CDATA section that never ends");
            if (!text_has_content) text_at = i_;
            text_.append(s_.substr(i_ + 9, e - i_ - 9));
            text_has_content = true;
            i_ = e + 3;
            continue;
        }
        if (after == '!' || after == '?') {
            if (!skip_markup()) return Event::Failed;
            continue;
        }
        if (text_has_content) {
            event_at_ = text_at;
            return Event::Text;
        }
        text_.clear();
        if (after == '/') return read_end();
        return read_start();
    }
}

XmlReader::Event XmlReader::read_start() {
    size_t at = i_;
    event_at_ = at;
    if (stack_.empty() && seen_root_) return fail(at, "a second root element");
    ++i_;
    std::string_view name;
    if (!read_name(name)) return fail(i_, "'<' not followed by an element name");
    if (stack_.size() >= kMaxDepth) return fail(at, "elements nested deeper than " + std::to_string(kMaxDepth));
    while (true) {
        size_t before = i_;
        skip_space();
        if (i_ >= s_.size()) return fail(at, "the start tag <" + std::string(name) + "> never ends");
        if (s_[i_] == '>') { ++i_; break; }
        if (s_[i_] == '/') {
            if (i_ + 1 >= s_.size() || s_[i_ + 1] != '>') return fail(i_, "'/' not followed by '>'");
            i_ += 2;
            pending_end_ = true;
            break;
        }
        if (before == i_) return fail(i_, "attributes must be separated by white space");
        std::string_view attr;
        size_t attr_at = i_;
        if (!read_name(attr)) return fail(i_, "an attribute name or the end of the tag");
        skip_space();
        if (i_ >= s_.size() || s_[i_] != '=') return fail(i_, "'=' after the attribute name " + std::string(attr));
        ++i_;
        skip_space();
        if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'')) return fail(i_, "a quoted value for the attribute " + std::string(attr));
        // One pass to the closing quote, noting '<' (an error) and '&' (references to resolve):
        // values are short, and three memchr calls on each cost a tenth of a CVAT import.
        const char q = s_[i_];
        size_t end = i_ + 1;
        bool has_lt = false, has_amp = false;
        for (; end < s_.size() && s_[end] != q; ++end) {
            has_lt |= s_[end] == '<';
            has_amp |= s_[end] == '&';
        }
        if (end >= s_.size()) return fail(i_, "the value of " + std::string(attr) + " never ends");
        std::string_view raw = s_.substr(i_ + 1, end - i_ - 1);
        if (has_lt) return fail(i_, "'<' inside the value of " + std::string(attr));
        for (size_t k = 0; k < attribute_count_; ++k)
            if (same_name(attributes_[k].name, attr)) return fail(attr_at, "the attribute " + std::string(attr) + " is given twice");
        if (attribute_count_ == attributes_.size()) attributes_.emplace_back();
        Attr& a = attributes_[attribute_count_++];
        a.name = attr;
        if (!has_amp) a.value = raw;
        else if (!resolve(raw, a.resolved, i_ + 1)) return Event::Failed;
        else a.value = a.resolved;
        i_ = end + 1;
    }
    seen_root_ = true;
    stack_.push_back(name);
    name_ = name;
    return Event::StartElement;
}

XmlReader::Event XmlReader::read_end() {
    size_t at = i_;
    event_at_ = at;
    i_ += 2;
    std::string_view name;
    if (!read_name(name)) return fail(i_, "an element name after '</'");
    skip_space();
    if (i_ >= s_.size() || s_[i_] != '>') return fail(i_, "'>' to end </" + std::string(name));
    ++i_;
    if (stack_.empty()) return fail(at, "</" + std::string(name) + "> closes no element");
    if (stack_.back() != name) return fail(at, "</" + std::string(name) + "> where </" + std::string(stack_.back()) + "> was expected");
    name_ = name;
    stack_.pop_back();
    return Event::EndElement;
}

bool XmlReader::read_text_content(std::string& out) {
    out.clear();
    size_t depth = stack_.size();
    size_t text_at = event_at_;  // errors about the content point at it (or at the element when empty)
    bool seen_text = false;
    while (true) {
        Event e = next();
        if (e == Event::Failed) return false;
        if (e == Event::Text) {
            if (!seen_text) text_at = event_at_;
            seen_text = true;
            out += text_;
            continue;
        }
        if (e == Event::EndElement && stack_.size() < depth) {
            event_at_ = text_at;
            return true;
        }
        if (e == Event::StartElement) {
            failed_ = true;
            error_ = error_here("bad_xml", "expected only text inside this element, found <" + std::string(name_) + ">");
            return false;
        }
        if (e == Event::End) return false;
    }
}

bool XmlReader::skip_element() {
    size_t depth = stack_.size();
    while (true) {
        Event e = next();
        if (e == Event::Failed || e == Event::End) return false;
        if (e == Event::EndElement && stack_.size() < depth) return true;
    }
}

void append_xml_escaped(std::string& out, std::string_view text) {
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            case '\n': out += "&#10;"; break;
            case '\r': out += "&#13;"; break;
            case '\t': out += "&#9;"; break;
            default: out += c;
        }
    }
}

std::string xml_escaped(std::string_view text) {
    std::string out;
    append_xml_escaped(out, text);
    return out;
}

}  // namespace pm::formats
