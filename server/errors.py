"""Errors that cross module boundaries: bad outside data, an unusable store, a bad path, an API error reply."""

# --------------------------------------------------------------------------- errors

class ImportFailure(Exception):
    """Invalid outside data: a task directory (exit status 2) or a request body (400).

    ``code`` is one of the error codes of docs/SCHEMA.md section 7 (or "invalid"),
    ``pointer`` the JSON pointer of the offending value.
    """

    def __init__(self, message, code="invalid", pointer_=""):
        super().__init__(message)
        self.code = code
        self.pointer = pointer_


class StoreError(Exception):
    """The database cannot be used (e.g. written by a newer serve.py)."""


class BadPath(Exception):
    """A request path that is malformed (400) rather than merely absent (404)."""


class RequestError(Exception):
    """An API error reply: status, code, message and extra top-level keys."""

    def __init__(self, status, code, message, extra=None, headers=None, path=None, field=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.extra, self.headers, self.path = extra or {}, headers, path
        self.field = field  # {"header": name}, {"parameter": name} or {"target": "path"|"query"}: what is wrong

    @classmethod
    def bad_header(cls, name, message, status=400, code="bad_request"):
        return cls(status, code, f"header {name}: {message}", field={"header": name})

    @classmethod
    def bad_parameter(cls, name, message):
        return cls(400, "bad_request", f"query parameter {name!r}: {message}", field={"parameter": name})

    @classmethod
    def invalid(cls, failure):
        """400 for invalid outside data; the message and "path" name the JSON pointer."""
        return cls(400, failure.code, str(failure), path=failure.pointer)

    def body(self):
        error = {"code": self.code, "message": self.message}
        if self.path is not None:
            error["path"] = self.path
        error.update(self.field or {})
        return {"error": error, **self.extra}
