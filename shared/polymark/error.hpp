// Errors as values: what went wrong with outside data (JSON, images, server replies), where,
// and a sentence a labeler or a portal developer can act on. Nothing in the core throws on
// outside data; functions that read it return one of these instead.
#pragma once
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace pm {

struct Error {
    std::string code;     // stable, machine-readable ("expected_number", "decode_failed", ...)
    std::string path;     // where: a JSON Pointer into a document, a URL, a file name
    std::string message;  // readable, names the what and the where
};

using Errors = std::vector<Error>;

// A value or the errors that prevented it. Deliberately tiny: no monadic chaining.
template <class T>
class Expected {
public:
    Expected(T value) : state_(std::move(value)) {}
    Expected(Error error) : state_(Errors{std::move(error)}) {}
    Expected(Errors errors) : state_(std::move(errors)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(state_); }
    const T& value() const { return std::get<0>(state_); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Errors& errors() const { return std::get<1>(state_); }
    const Error& first_error() const { return errors().front(); }

private:
    std::variant<T, Errors> state_;
};

}  // namespace pm
