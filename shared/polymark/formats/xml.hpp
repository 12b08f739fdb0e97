// A small pull reader of XML 1.0 for annotation files (CVAT, Pascal VOC), and an escaper for
// writing them. Reads elements, attributes, text, CDATA, comments, processing instructions and the
// five predefined and numeric character references; skips a DOCTYPE (no entity definitions:
// any other reference is an error). Checks what a reader needs to trust the file: names, quotes,
// matching end tags, one root, unique attributes, UTF-8 in references. Works on a borrowed view
// without building a tree, so a 150 MB CVAT file costs no more memory than itself.
// Errors name the file, line:column and the element path ("annotations/track/box").
#pragma once
#include "polymark/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pm::formats {

class XmlReader {
public:
    enum class Event { StartElement, EndElement, Text, End, Failed };

    XmlReader(std::string_view text, std::string file);

    // The next event. A self-closing element gives StartElement then EndElement. Text comes only
    // for character data that is not all white space. After Failed, error() says why.
    Event next();

    std::string_view name() const { return name_; }  // of the current start or end element
    // Attributes of the current start element, values with references resolved.
    size_t attribute_count() const { return attribute_count_; }
    std::string_view attribute_name(size_t i) const { return attributes_[i].name; }
    // Values are views into the text (or into the reader, when they held references), valid until
    // the next event.
    std::string_view attribute_value(size_t i) const { return attributes_[i].value; }
    const std::string_view* attribute(std::string_view name) const;
    const std::string& text() const { return text_; }  // of the current Text event, resolved

    // After a StartElement: the text inside it up to its end tag (consumed). Fails on a child element.
    bool read_text_content(std::string& out);
    // After a StartElement: skips everything up to and including its end tag.
    bool skip_element();

    size_t depth() const { return stack_.size(); }
    size_t offset() const { return i_; }  // bytes read so far
    std::string element_path() const;  // "annotations/track/box"
    // An error at the current element ("file:line:col (annotations/track/box): message").
    Error error_here(const std::string& code, const std::string& message) const;
    const Error& error() const { return error_; }

private:
    struct Attr {
        std::string_view name;
        std::string_view value;  // into the text, or into `resolved`
        std::string resolved;     // the value with its references replaced, when it had any
    };
    Event fail(size_t at, const std::string& message);
    bool read_name(std::string_view& out);
    bool resolve(std::string_view raw, std::string& out, size_t at);
    void skip_space();
    Event read_start();
    Event read_end();
    bool skip_markup();

    std::string_view s_;
    std::string file_;
    size_t i_ = 0, event_at_ = 0;
    std::vector<std::string_view> stack_;
    std::string_view name_;
    std::vector<Attr> attributes_;  // reused: the first attribute_count_ are the current ones
    size_t attribute_count_ = 0;
    std::string text_;
    bool pending_end_ = false, seen_root_ = false, failed_ = false, checked_utf8_ = false;
    Error error_;
};

// Text escaped for an XML attribute value or character data (& < > " ').
void append_xml_escaped(std::string& out, std::string_view text);
std::string xml_escaped(std::string_view text);

}  // namespace pm::formats
