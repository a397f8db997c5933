"""gridmap.guard: refuse control characters and broken JSON at the edge, before any route runs.

PostgreSQL cannot store a NUL in text and answers any query carrying one with an error, and the
other control characters (all but tab and newline) have no place in anything a person types. So
one ASGI middleware looks at every text input of every request — query parameters, path
parameters, the headers the app reads, JSON bodies (string values and object keys at any
depth), form fields and the text fields of multipart bodies — and answers 422
``control_character`` naming the field. It also refuses a JSON body that is not UTF-8
(``invalid_json``) or is nested deeper than :data:`MAX_JSON_DEPTH` (``too_deep``), before the
parser's recursion meets it.

It is cheap on the hot path: the query string and the path are searched for a control
character (raw or percent-encoded) in one regular-expression pass, and only when one is there
are they decoded to name the field. A JSON body is searched for ``\\u0000``-style escapes the
same way and parsed here only when one is found; its nesting is measured only when it holds
more brackets than the limit. File parts of uploads are not text: the importers check their
contents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridmap.api.open311 import open311_errors

MAX_JSON_DEPTH = 64

# What counts as a control character in text: C0 but tab and newline, DEL, and C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The same in URL bytes, raw or percent-encoded (C1 characters are two bytes in UTF-8). Tab and
# newline also match here; decoding tells them apart.
_URL_CONTROL = re.compile(rb"[\x00-\x1f\x7f]|%(?:[01][0-9A-Fa-f]|7[Ff]|[Cc]2%[89][0-9A-Fa-f])")
# In a header value only tab is allowed.
_HEADER_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# A JSON body that may hold a control character in a string: an escape of one (\u0000 or the
# short \b \f \r), a C1 one raw (two bytes in UTF-8), or a C0 one or DEL raw (a raw C0 one
# inside a string is invalid JSON, which the parser reports). Each is searched for in the way
# that is fastest on a large GeoJSON body: a literal first, then the pattern.
_JSON_ESCAPE = re.compile(
    rb"\\(?:u00(?:[01][0-9A-Fa-f]|7[Ff]|[89][0-9A-Fa-f])|u[Dd][89A-Fa-f][0-9A-Fa-f]{2}|[bfr])"
)
_UTF8_C1 = re.compile(rb"\xc2[\x80-\x9f]")
_RAW_CONTROL = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1

# Headers the app reads; others pass as they came.
_READ_HEADERS = {
    b"authorization": "Authorization",
    b"if-match": "If-Match",
    b"if-none-match": "If-None-Match",
    b"idempotency-key": "Idempotency-Key",
}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Refusal(Exception):
    """What the guard answers instead of the app: a 422 with a code and where it was found."""

    def __init__(self, detail: str, code: str, loc: list[str | int] | None = None) -> None:
        super().__init__(detail)
        self.detail, self.code, self.loc = detail, code, loc

    def response(self) -> JSONResponse:
        """The JSON answer, in the shape of every other 422 of the API."""
        content: dict[str, Any] = {"detail": self.detail, "code": self.code}
        if self.loc is not None:
            content["errors"] = [{"loc": self.loc, "msg": self.detail, "type": self.code}]
        return JSONResponse(status_code=422, content=content)


def _shown(text: str) -> str:
    """A name as it can be shown: control characters written as ``\\uXXXX``."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _text(raw: bytes) -> str:
    """URL-encoded bytes as text; stray non-ASCII bytes are kept apart from real characters."""
    return raw.decode("utf-8", "surrogateescape")


def _control(where: str, char: str, loc: list[str | int]) -> Refusal:
    return Refusal(
        f"{where} contains a control character (U+{ord(char):04X}); "
        "only tab and newline are allowed in text",
        "control_character",
        loc,
    )


def check_pairs(pairs: list[tuple[str, str]], kind: str, loc_kind: str) -> None:
    """Refuse the first name or value holding a control character (``kind`` says where)."""
    for name, value in pairs:
        bad = _CONTROL.search(name)
        if bad:
            raise _control(f"the name of {kind} '{_shown(name)}'", bad.group(), [loc_kind, name])
        bad = _CONTROL.search(value)
        if bad:
            raise _control(f"{kind} '{_shown(name)}'", bad.group(), [loc_kind, name])


def check_url(scope: Scope) -> None:
    """Refuse a control character in the query string or the path, naming the parameter."""
    query: bytes = scope.get("query_string", b"")
    if query and _URL_CONTROL.search(query):
        check_pairs(parse_qsl(_text(query), keep_blank_values=True), "query parameter", "query")
    path: str = scope.get("path", "")
    bad = _CONTROL.search(path)
    if bad:
        name = _path_parameter(scope)
        where = f"path parameter '{name}'" if name else "the path"
        raise _control(where, bad.group(), ["path", name or "path"])


def _path_parameter(scope: Scope) -> str | None:
    """The name of the path parameter, in the first route whose path matches, holding a control
    character (looked up only when there is one)."""
    path: str = scope.get("path", "")
    for route in iter_route_contexts(getattr(scope.get("app"), "routes", ())):
        regex = getattr(route, "path_regex", None)
        found = regex.match(path) if regex is not None else None
        if found is None:
            continue
        for name, value in found.groupdict().items():
            if isinstance(value, str) and _CONTROL.search(value):
                return str(name)
    return None


def check_headers(scope: Scope) -> None:
    """Refuse a control character in a header the app reads."""
    for name, value in scope.get("headers", ()):
        shown = _READ_HEADERS.get(name)
        if shown is None:
            continue
        bad = _HEADER_CONTROL.search(value)
        if bad:
            raise _control(f"header '{shown}'", bad.group().decode("latin-1"), ["header", shown])


def json_depth(body: bytes) -> int:
    """How deeply a JSON text nests arrays and objects (brackets inside strings do not count).

    Examples
    --------
    >>> json_depth(b'{"a": [1, {"b": "]]]["}]}')
    3
    >>> json_depth(b'"[[["')
    0
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    if not brackets:
        return 0
    steps = _STEP[np.frombuffer(brackets, dtype=np.uint8)]
    return int(np.cumsum(steps, dtype=np.int64).max())


def _may_hold_control(body: bytes) -> bool:
    """Whether a JSON body is worth parsing here to look for a control character."""
    return (
        (b"\\" in body and _JSON_ESCAPE.search(body) is not None)
        or (b"\xc2" in body and _UTF8_C1.search(body) is not None)
        or len(body.translate(None, _RAW_CONTROL)) != len(body)
    )


def _json_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return _shown(out)


def _walk(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str, bool]]:
    """Every string of a parsed JSON value: its path, the string, and whether it is a key."""
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), key, True
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, (*path, i))


def check_json(body: bytes) -> None:
    """Refuse a JSON body that is not UTF-8, nests too deeply or holds a control character."""
    # The route's parser (json.loads on bytes) also reads UTF-16 and UTF-32 and skips a UTF-8
    # BOM; the guard must read the body as that parser will, or refuse it.
    encoding = json.detect_encoding(body) if body else "utf-8"
    if encoding not in ("utf-8", "utf-8-sig"):
        raise Refusal(
            f"the body is {encoding.upper()}; JSON must be sent as UTF-8", "invalid_json", ["body"]
        )
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Refusal(
            f"the body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at position {exc.start});"
            " JSON must be sent as UTF-8",
            "invalid_json",
            ["body"],
        ) from None
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH:
        depth = json_depth(body)
        if depth > MAX_JSON_DEPTH:
            raise Refusal(
                f"the JSON body is nested {depth} levels deep; "
                f"at most {MAX_JSON_DEPTH} are allowed",
                "too_deep",
                ["body"],
            )
    if not _may_hold_control(body):
        return
    try:
        value = json.loads(text)
    except ValueError:
        return  # not JSON: the route's parser says so in its own words
    for path, string, is_key in _walk(value):
        try:
            string.encode("utf-8")
        except UnicodeEncodeError:
            raise Refusal(
                f"body field '{_json_path(path)}' holds half of a UTF-16 surrogate pair, which "
                "is not a character",
                "invalid_json",
                ["body", *path],
            ) from None
        bad = _CONTROL.search(string)
        if bad is None:
            continue
        if is_key:
            where = f"the name of body field '{_json_path(path)}'"
        else:
            where = f"body field '{_json_path(path)}'" if path else "the body"
        raise _control(where, bad.group(), ["body", *path])


class _TextParts:
    """Watches a multipart body as it streams past and finds a control character in a text part.

    Parts with a file name are files, left to the importers; the others are form fields.
    """

    def __init__(self, boundary: bytes) -> None:
        self.found: Refusal | None = None
        self.failed = False
        self._field, self._value = bytearray(), bytearray()
        self._name: str | None = None
        self._text = False
        self._data = bytearray()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
                "on_header_end": self._header,
                "on_part_data": self._part_data,
                "on_part_end": self._end,
            },
        )

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body (a malformed body is left to the route's parser)."""
        if self.found is not None or self.failed or not chunk:
            return
        try:
            self._parser.write(chunk)
        except Exception:
            self.failed = True

    def _begin(self) -> None:
        self._name, self._text = None, True
        self._data.clear()

    def _header(self) -> None:
        if bytes(self._field).lower() == b"content-disposition":
            _, options = parse_options_header(bytes(self._value))
            self._name = options.get(b"name", b"").decode("utf-8", "replace")
            self._text = b"filename" not in options
        self._field.clear()
        self._value.clear()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._text:
            self._data.extend(data[start:end])

    def _end(self) -> None:
        if not self._text or self.found is not None:
            return
        name = self._name or ""
        try:
            check_pairs([(name, self._data.decode("utf-8", "replace"))], "form field", "body")
        except Refusal as refusal:
            self.found = refusal


def _content_type(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return bytes(value)
    return None


def _is_json(content_type: bytes | None) -> bool:
    """Whether FastAPI would read the body as JSON: no content type, or ``application/*json``."""
    if content_type is None:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media.startswith(b"application/") and (
        media == b"application/json" or media.endswith(b"+json")
    )


class InputGuard:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 422 for a control character or a broken JSON body, else pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_url(scope)
            check_headers(scope)
        except Refusal as refusal:
            if scope["path"].startswith("/open311/"):
                # GeoReport v2 clients read errors in the spec's own shape.
                answer = open311_errors(Request(scope), 422, refusal.detail)
                await answer(scope, receive, send)
                return
            await refusal.response()(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        content_type = _content_type(scope)
        media = (content_type or b"").split(b";", 1)[0].strip().lower()
        if media == b"multipart/form-data":
            await self._multipart(scope, receive, send, content_type or b"")
        elif media == b"application/x-www-form-urlencoded" or _is_json(content_type):
            form = media == b"application/x-www-form-urlencoded"
            await self._buffered(scope, receive, send, form=form)
        else:
            await self.app(scope, receive, send)

    async def _buffered(self, scope: Scope, receive: Receive, send: Send, *, form: bool) -> None:
        # The route reads the whole body before it runs anyway (and BodyLimit, outside, caps
        # it), so reading it first costs memory the size of one body, not the wait.
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left, or BodyLimit has answered 413
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            if form:
                if _URL_CONTROL.search(body):
                    pairs = parse_qsl(_text(body), keep_blank_values=True)
                    check_pairs(pairs, "form field", "body")
            elif body:
                check_json(body)
        except Refusal as refusal:
            await refusal.response()(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _multipart(self, scope: Scope, receive: Receive, send: Send, ctype: bytes) -> None:
        _, options = parse_options_header(ctype)
        boundary = options.get(b"boundary")
        if not boundary:
            await self.app(scope, receive, send)
            return
        parts = _TextParts(boundary)
        answered = False

        async def watched() -> Message:
            nonlocal answered
            message = await receive()
            if message["type"] == "http.request" and not answered:
                parts.feed(message.get("body", b""))
                if parts.found is not None:
                    # Answer now and tell the app the client has gone: the form is read in full
                    # before a route runs, so no route sees it.
                    answered = True
                    await parts.found.response()(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not answered:
                await send(message)

        try:
            await self.app(scope, watched, guarded)
        except Exception:
            if not answered:
                raise
