"""gridmap.services.whistle_import: the whistle list as a file (CSV or XLSX), out and back in.

Export and import share their columns, so a file exported, edited in a spreadsheet and imported
again changes exactly what was edited. An import matches lines by ``code``: it adds new lines and
changes those that differ, leaving lines the file does not name as they are. It is all or
nothing: every row is checked first, and one at fault stops the whole file with a 422 naming each
row and column; a dry run (``commit`` false) answers exactly as the commit would.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import openpyxl
from pydantic import ValidationError
from sqlalchemy.orm import Session

from gridmap.auth import Principal
from gridmap.errors import InvalidFile, InvalidRows
from gridmap.queries import audit
from gridmap.queries import whistle as q
from gridmap.schemas.whistle import WhistleItemIn
from gridmap.services.access import require_role
from gridmap.services.whistle import FIELDS, WHISTLE_EDITORS, Known, faults
from gridmap.vocab import codes

COLUMNS = (
    "code",
    "class_code",
    "class_name",
    "matter",
    "category",
    "lead_kind",
    "partner_kinds",
    "report_hours",
    "answer_hours",
    "active",
)
REQUIRED = ("code", "class_code", "matter", "lead_kind", "report_hours", "answer_hours")
# Co-operating kinds in one cell: written with ";", read with any usual list separator.
PARTNER_SEPARATOR = ";"
_SEPARATORS = re.compile(r"[;；、,，]")
TRUE = ("true", "1", "yes", "y", "是")
FALSE = ("false", "0", "no", "n", "否")
# A list of a few thousand lines is already long (Beijing's districts publish about 500).
MAX_ROWS = 5000
# An XLSX is a zip: what it unpacks to is capped, so a small file cannot expand into gigabytes.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_COLUMNS = 50
# How many faults an answer lists (it says how many there were).
MAX_FAULTS = 200

Row = tuple[int, dict[str, str]]
CODE_FAULTS = {
    "code": "is not an item code like 01-001 (letters, digits, - _ .)",
    "class_code": "is not a class code like 01 (letters, digits, - _)",
}


def _header(cells: list[str], label: str) -> list[str]:
    names = [c.strip().lower().lstrip("\ufeff") for c in cells]
    while names and not names[-1]:
        names.pop()
    if len(names) > MAX_COLUMNS:
        raise InvalidFile(f"{label}: {len(names)} columns; a whistle list has {len(COLUMNS)}")
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise InvalidFile(
            f"{label}: unknown columns {', '.join(repr(n) for n in unknown[:5])}; the columns "
            f"are {', '.join(COLUMNS)}",
            field="file",
        )
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise InvalidFile(f"{label}: no column {', '.join(missing)}", field="file")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidFile(f"{label}: column {twice[0]!r} appears twice in the header")
    return names


def _too_many(label: str) -> InvalidFile:
    return InvalidFile(f"{label} holds more than {MAX_ROWS} rows; split it", field="file")


def read_csv(data: bytes, label: str) -> list[Row]:
    """The rows of a UTF-8 CSV with a header row, each with its spreadsheet row number."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidFile(
            f"{label} is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} "
            '(save it as Excel\'s "CSV UTF-8")',
            line=line,
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidFile(f"{label} is empty")
        names = _header(header, label)
        rows: list[Row] = []
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise _too_many(label)
            if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
                raise InvalidFile(
                    f"{label}: row {number} has {len(cells)} cells; the header names "
                    f"{len(names)} columns",
                    row=number,
                )
            padded = [*cells, *[""] * (len(names) - len(cells))]
            rows.append((number, dict(zip(names, padded, strict=False))))
    except csv.Error as exc:
        raise InvalidFile(f"{label} is not a readable CSV: {exc}") from None
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(data: bytes, label: str) -> list[Row]:
    """The rows of the first sheet of an XLSX workbook (header in row 1), each with its row
    number; a formula is refused, not evaluated (its value is not in the file reliably)."""
    try:
        parts = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InvalidFile(f"{label} is not an XLSX workbook", field="file") from None
    if sum(p.file_size for p in parts) > MAX_UNPACKED_BYTES:
        raise InvalidFile(
            f"{label} unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB; a whistle list is "
            "far smaller",
            field="file",
        )
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    # openpyxl raises errors of many kinds (zip, XML, key, value) for a file that only looks
    # like a workbook: any of them means the same to the sender.
    except Exception:  # noqa: BLE001
        raise InvalidFile(
            f"{label} is not an XLSX workbook that can be read", field="file"
        ) from None
    try:
        return _sheet_rows(book, label)
    finally:
        book.close()


def _rows_said(sheet: Any) -> int:
    """How many rows a sheet says it spans (0 when it does not say)."""
    try:
        return int(sheet.max_row or 0)
    except (TypeError, ValueError):
        return 0


def _sheet_rows(book: Any, label: str) -> list[Row]:
    if not book.worksheets:
        raise InvalidFile(f"{label} holds no sheet")
    sheet = book.worksheets[0]
    cells: Iterator[Any] = sheet.iter_rows(min_row=1, max_row=1, max_col=MAX_COLUMNS + 1)
    first = next(cells, ())
    names = _header([_cell(c.value) for c in first], label)
    # A sheet's rows are read up to one past the limit and no further: openpyxl fills a gap
    # before a far row with empty ones, so a few bytes naming row 1,000,000 would cost a
    # million rows. What lies beyond is known from the sheet's own size (its dimension).
    if _rows_said(sheet) > MAX_ROWS + 1:
        raise _too_many(label)
    rows: list[Row] = []
    formulas: list[dict[str, Any]] = []
    bounded = sheet.iter_rows(min_row=2, max_row=MAX_ROWS + 2, max_col=len(names))
    for number, line in enumerate(bounded, start=2):
        values = [c.value for c in line]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise _too_many(label)
        for name, c in zip(names, line, strict=False):
            if getattr(c, "data_type", None) == "f":
                formulas.append(
                    {
                        "row": number,
                        "column": name,
                        "detail": "a formula; paste its value instead (Paste Special → Values)",
                    }
                )
        padded = [*values, *[None] * (len(names) - len(values))]
        rows.append((number, {n: _cell(v) for n, v in zip(names, padded, strict=False)}))
    if formulas:
        raise _faulty(formulas, label)
    if not rows:
        raise InvalidFile(f"{label} holds a header but no rows")
    return rows


def read_file(data: bytes, name: str) -> list[Row]:
    """The rows of an uploaded CSV or XLSX, by its name's ending."""
    lower = name.lower()
    if not data.strip():
        raise InvalidFile(f"{name} is empty", field="file")
    if lower.endswith(".csv"):
        rows = read_csv(data, name)
        if not rows:
            raise InvalidFile(f"{name} holds a header but no rows")
        return rows
    if lower.endswith(".xlsx"):
        return read_xlsx(data, name)
    raise InvalidFile(f"cannot read {name}: send a .csv (UTF-8) or an .xlsx", field="file")


def _faulty(found: list[dict[str, Any]], label: str) -> InvalidRows:
    rows = sorted({f["row"] for f in found})
    said = "; ".join(f"row {f['row']}, {f['column']}: {f['detail']}" for f in found[:5])
    return InvalidRows(
        f"{label}: {len(found)} faults in {len(rows)} rows, nothing was written: {said}"
        + (" …" if len(found) > 5 else ""),
        faults=found[:MAX_FAULTS],
        fault_count=len(found),
    )


def _pattern_fault(column: str, value: str) -> str:
    """Why a cell does not have the shape of its column, in words."""
    if column in CODE_FAULTS:
        return CODE_FAULTS[column]
    if re.search(r"[\x00-\x1f\x7f]", value):
        return "holds a line break or a control character"
    return "starts with = + - or @, which a spreadsheet takes for a formula"


def _values(cells: dict[str, str]) -> dict[str, Any]:
    """A row's cells as the fields of a line (text as it was, empty cells left out)."""
    out: dict[str, Any] = {}
    for name, raw in cells.items():
        value = raw.strip()
        if name == "partner_kinds":
            out[name] = [k.strip() for k in _SEPARATORS.split(value) if k.strip()]
        elif not value:
            continue
        elif name == "active":
            low = value.lower()
            out[name] = True if low in TRUE else False if low in FALSE else value
        else:
            out[name] = value
    return out


def _check_row(
    number: int, cells: dict[str, str], known: Known
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values = _values(cells)
    found: list[dict[str, Any]] = []
    for name, raw in cells.items():
        if not re.match(codes.PARAGRAPH, raw):
            found.append({"row": number, "column": name, "detail": "holds a control character"})
    if found:
        return values, found
    try:
        line = WhistleItemIn.model_validate(values).model_dump()
    except ValidationError as exc:
        for err in exc.errors():
            column = str(err["loc"][0]) if err["loc"] else "row"
            detail = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "bool_parsing":
                detail = f"write true or false (是/否), not {values.get(column)!r}"
            elif err["type"] == "string_pattern_mismatch":
                detail = _pattern_fault(column, str(err.get("input", "")))
            found.append({"row": number, "column": column, "detail": detail})
        return values, found
    class_name = line.pop("class_name")
    # Whether its class exists or is made by the file is for the whole file to say.
    found += [{"row": number, **f} for f in faults(line, known, new_class=True)]
    line["class_name"] = class_name
    return line, found


def import_items(
    session: Session, rows: list[Row], *, principal: Principal, commit: bool, source: str
) -> dict[str, Any]:
    """Check every row against the list as it is, and write the lines (with ``commit``) only
    when none is at fault; the report of what was (or would be) created and changed."""
    require_role(principal, "import the whistle list", roles=WHISTLE_EDITORS)
    q.lock_list(session)
    known = Known.read(session)
    existing = {line["code"]: line for line in q.items(session)}
    # A column the file leaves out is left as it is on the lines it changes (a new line takes
    # its default): a file of codes and hours changes hours, not partners nor categories.
    given = [k for k in FIELDS if not rows or k in rows[0][1]]
    found: list[dict[str, Any]] = []
    lines: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for number, cells in rows:
        line, faulty = _check_row(number, cells, known)
        found += faulty
        if faulty:
            continue
        if line["code"] in seen:
            found.append(
                {
                    "row": number,
                    "column": "code",
                    "detail": f"{line['code']} is on row {seen[line['code']]} already",
                }
            )
            continue
        seen[line["code"]] = number
        lines.append((number, line))
    made, renamed = _classes(lines, known, found)
    if found:
        order = {name: n for n, name in enumerate(COLUMNS)}
        found.sort(key=lambda f: (f["row"], order.get(f["column"], len(COLUMNS))))
        raise _faulty(found, source)
    if commit:
        # Renamed in two steps, so a name one class gives up and another takes (a swap) never
        # meets the unique constraint on class names halfway.
        for code in renamed:
            q.rename_class(session, code=code, name=f"gridmap renaming {code}")
        for code, name in made.items():
            q.insert_class(session, code=code, name=name)
        for code, name in renamed.items():
            q.rename_class(session, code=code, name=name)
    created: list[str] = []
    updated: list[str] = []
    unchanged = 0
    for _number, line in lines:
        before = existing.get(line["code"])
        if before is None:
            created.append(line["code"])
            if commit:
                q.insert_item(session, values={k: line[k] for k in FIELDS})
            continue
        changes = {k: line[k] for k in given if before[k] != line[k]}
        if not changes:
            unchanged += 1
            continue
        updated.append(line["code"])
        if commit:
            q.update_item(session, item_id=before["id"], changes=changes)
    report = {
        "committed": commit,
        "source": source,
        "rows": len(lines),
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "classes_created": sorted(made),
        "classes_renamed": sorted(renamed),
    }
    if commit and (created or updated or made or renamed):
        audit.record(
            session,
            principal.actor,
            "import",
            "whistle_list",
            source,
            after={k: v for k, v in report.items() if k != "committed"},
        )
    return report


def _classes(
    lines: list[tuple[int, dict[str, Any]]], known: Known, found: list[dict[str, Any]]
) -> tuple[dict[str, str], dict[str, str]]:
    """The classes a file makes and those it renames, by code; faults where rows disagree on
    a class's name or two classes would share one."""
    made: dict[str, str] = {}
    renamed: dict[str, str] = {}
    named_on: dict[str, int] = {}
    for number, line in lines:
        code, name = line["class_code"], line["class_name"]
        if name is None:
            continue
        said = made.get(code) or renamed.get(code)
        if said is not None and said != name:
            found.append(
                {
                    "row": number,
                    "column": "class_name",
                    "detail": f"class {code} is named {said!r} on row {named_on[code]}",
                }
            )
            continue
        named_on.setdefault(code, number)
        if code not in known.classes:
            made[code] = name
        elif known.classes[code] != name:
            renamed[code] = name
    for number, line in lines:
        code = line["class_code"]
        if code not in known.classes and code not in made:
            found.append(
                {
                    "row": number,
                    "column": "class_name",
                    "detail": f"no whistle class {code!r}; give its name (on one of its rows) "
                    "to make it",
                }
            )
    final = {**known.classes, **renamed, **made}
    holders: dict[str, str] = {}
    for code in sorted(final, key=lambda c: (c in named_on, named_on.get(c, 0))):
        name = final[code]
        if name in holders:
            found.append(
                {
                    "row": named_on.get(code, 0),
                    "column": "class_name",
                    "detail": f"class {holders[name]} is named {name!r} already",
                }
            )
        holders.setdefault(name, code)
    return made, renamed


def export_rows(session: Session) -> list[list[Any]]:
    """The whole list (active lines and inactive ones), by code, as rows of :data:`COLUMNS`."""
    names = q.classes(session)
    return [
        [
            line["code"],
            line["class_code"],
            names[line["class_code"]],
            line["matter"],
            line["category"] or "",
            line["lead_kind"],
            PARTNER_SEPARATOR.join(line["partner_kinds"] or []),
            line["report_hours"],
            line["answer_hours"],
            "true" if line["active"] else "false",
        ]
        for line in q.items(session)
    ]


def to_csv(rows: list[list[Any]]) -> bytes:
    """A UTF-8 CSV with a header row; the byte-order mark lets Excel read it as UTF-8."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[list[Any]]) -> bytes:
    """An XLSX workbook of one sheet, header in row 1."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("吹哨清单")
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
