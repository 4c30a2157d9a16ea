"""Reading the CSV files people upload: encoding, delimiter, the header row, the column mapping,
and the rows as records for the import pipeline (importer.py).

- Encoding: a BOM decides (UTF-8, UTF-16 as Excel's "Unicode text" writes it); otherwise UTF-16
  without BOM when every other byte is NUL, UTF-8 when the start decodes as UTF-8, else cp1252
  (Windows Excel/Outlook), else Latin-1. Undecodable bytes further down reject their row.
- Delimiter: comma, semicolon, tab or pipe, whichever splits the first rows most consistently
  (or the one Excel's "sep=;" first line names).
- Header row: the first of the first rows in which known column names appear (LinkedIn puts a
  "Notes:" paragraph above its header).
- Mapping: column index -> target field, auto-detected from the header names of Google Contacts
  (current and legacy), Outlook, LinkedIn, HubSpot, Thunderbird and our own export.
- Malformed input is a ValidationError on "file" (empty, binary, no header) or a per-row error
  string (a field over 1 MiB, a NUL byte, more cells than the header, undecodable bytes).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice

from ..errors import ValidationError

MAX_FIELD = 1024 * 1024  # one cell; a quote left open stops here instead of swallowing the file
csv.field_size_limit(MAX_FIELD)
SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
HEADER_SEARCH = 20  # rows looked at to find the header

TARGETS = {
    "": "(skip)",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split)",
    "email": "Email",
    "phone": "Phone",
    "organization": "Organization",
    "type": "Type",
    "status": "Status",
    "external_id": "External id",
    "tags": "Tags",
    "title": "Job title",
    "notes": "Notes",
    "birthday": "Birthday",
    "url": "Website",
    "street": "Address: street",
    "city": "Address: city",
    "region": "Address: region",
    "postcode": "Address: postcode",
    "country": "Address: country",
}
EXTRA_TARGETS = ("title", "notes", "birthday")
# One address a row, from the first columns of each part (Google's "Address 1 - ...", Outlook's
# "Business ...", Thunderbird's "Home ..."): the contact detail's fields.
ADDRESS_TARGETS = {"street": "street", "city": "locality", "region": "region", "postcode": "postcode", "country": "country"}
MULTIPLE = ("phone", "email", "tags", "url")  # targets several columns may go to
CUSTOM_PREFIX = "cf_"  # "cf_<key>": a custom field's column (its label or key as the header)


def targets() -> dict[str, str]:
    """The fields a column can go to: the core's, then every active custom field."""
    from . import custom_fields

    return TARGETS | {CUSTOM_PREFIX + f.key: f.label for f in custom_fields.definitions()}


def _aliases() -> dict[str, tuple]:
    from . import custom_fields

    custom = {CUSTOM_PREFIX + f.key: (norm(f.label), norm(f.key), norm(CUSTOM_PREFIX + f.key))
              for f in custom_fields.definitions()}
    return ALIASES | custom

# Header names, normalized (lower case, letters and digits only), per target.
ALIASES = {
    "first_name": ("firstname", "givenname", "first"),
    "last_name": ("lastname", "familyname", "surname", "last"),
    "full_name": ("name", "fullname", "displayname"),
    # After the first, further email columns become the contact's other addresses.
    "email": ("email", "emailaddress", "email1value", "primaryemail", "mail", "email2value", "email3value",
              "email4value", "secondaryemail", "email2address", "email3address"),
    "phone": (
        "phone", "phonenumber", "phone1value", "phone2value", "phone3value", "phone4value", "phone5value",
        "phone6value", "phone7value", "mobilephone", "mobilephonenumber", "mobilenumber", "mobile",
        "primaryphone", "businessphone", "workphone", "homephone", "telephone",
    ),
    "organization": ("organization", "organizationname", "organization1name", "company", "companyname",
                     "associatedcompany", "organisation"),
    "type": ("type", "contacttype"),
    "status": ("status", "contactstatus"),
    "external_id": ("externalid",),
    "tags": ("tags", "labels", "groupmembership", "categories"),
    # Not plain "Title": Outlook uses it for Mr/Ms.
    "title": ("jobtitle", "organizationtitle", "organization1title", "position"),
    "notes": ("notes", "note"),
    "birthday": ("birthday", "birthdate", "dateofbirth"),
    "url": ("website", "websiteurl", "webpage", "webpage1", "webpage2", "website1value", "website2value",
            "personalwebpage", "businesswebpage", "url"),
    "street": ("street", "streetaddress", "address", "address1street", "homeaddress", "homestreet", "businessstreet",
               "workaddress", "workstreet"),
    "city": ("city", "town", "locality", "address1city", "homecity", "businesscity", "workcity"),
    "region": ("region", "state", "stateregion", "province", "address1region", "homestate", "businessstate",
               "workstate"),
    "postcode": ("postcode", "postalcode", "zip", "zipcode", "address1postalcode", "homezipcode", "homepostalcode",
                 "businesspostalcode", "workzipcode", "workpostalcode"),
    "country": ("country", "countryregion", "address1country", "homecountry", "homecountryregion",
                "businesscountryregion", "businesscountry", "workcountry"),
}
# Recognized exports: the header names that identify them, the source of their ids, and the
# columns that are their record id.
PRESETS = {
    "contacts": ({"firstname", "lastname", "email", "phone", "organization", "type", "status"}, {"uid": "external_id"}),
    "google": ({"phoneticfirstname", "email1value", "labels"}, {}),
    "google-legacy": ({"givenname", "familyname", "groupmembership"}, {}),
    "outlook": ({"emailaddress", "businessphone", "categories"}, {}),
    "linkedin": ({"firstname", "lastname", "url", "connectedon"}, {"url": "external_id"}),
    "hubspot": ({"recordid", "firstname", "email"}, {"recordid": "external_id"}),
    "thunderbird": ({"primaryemail", "displayname", "secondaryemail"}, {}),
}
PRESET_LABELS = {
    "contacts": "Contacts export", "google": "Google Contacts", "google-legacy": "Google Contacts (legacy CSV)",
    "outlook": "Outlook", "linkedin": "LinkedIn connections", "hubspot": "HubSpot", "thunderbird": "Thunderbird",
    "": "Unrecognized layout",
}
# Where a layout's external ids come from, when not from the layout itself: our export's UID
# column holds the contact's vCard UID (csv_export), so both exports name a contact alike.
PRESET_SOURCES = {"contacts": "vcard"}
_NORM = re.compile(r"[^0-9a-z]+")
_TAG_SPLIT = re.compile(r"\s*(?::::|;|,)\s*")
_SKIP_TAGS = {"mycontacts", "starred", "*mycontacts"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def norm(header: str) -> str:
    return _NORM.sub("", header.lower())


@dataclass
class Layout:
    encoding: str
    delimiter: str
    header_row: int  # 1-based record number of the header
    headers: list = field(default_factory=list)
    preset: str = ""

    def params(self) -> dict:
        return asdict(self)

    @classmethod
    def from_params(cls, data: dict) -> Layout:
        return cls(**{k: data[k] for k in ("encoding", "delimiter", "header_row", "headers", "preset")})


def file_error(message: str) -> ValidationError:
    return ValidationError({"file": message}, message=message)


def detect_encoding(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = raw[:4096]
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 2 * 0.9 and head[0::2].count(0) < len(head) // 20:
        return "utf-16-le"
    if len(head) >= 4 and head[0::2].count(0) > len(head) // 2 * 0.9 and head[1::2].count(0) < len(head) // 20:
        return "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _decode_sample(raw: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw, final=False)


def _pick_delimiter(text: str) -> str:
    lines = text.splitlines()[:HEADER_SEARCH + 30]
    best, best_score = ",", (-1, -1)
    for delim in DELIMITERS:
        try:
            rows = list(islice(csv.reader(lines, delimiter=delim, strict=False), HEADER_SEARCH + 20))
        except csv.Error:
            continue
        widths = Counter(len(r) for r in rows if len(r) > 1)
        if not widths:
            continue
        width, count = max(widths.items(), key=lambda kv: (kv[1], kv[0]))
        score = (count, width)
        if score > best_score:
            best, best_score = delim, score
    return best


def auto_mapping(headers: list[str], preset: str = "") -> dict[int, str]:
    """Column index -> target, from the header names; each target taken once, except phone and
    email (the first non-empty of several columns is used, the others kept as further ones), tags
    (all are joined) and websites (all kept)."""
    special = PRESETS.get(preset, ({}, {}))[1]
    lookup = {alias: target for target, aliases in _aliases().items() for alias in aliases}
    mapping: dict[int, str] = {}
    taken: set = set()
    for index, header in enumerate(headers):
        key = norm(header)
        target = special.get(key) or lookup.get(key)
        if target is None or (target in taken and target not in MULTIPLE):
            continue
        mapping[index] = target
        taken.add(target)
    if "first_name" in taken or "last_name" in taken:  # "Name" only when there is no split name
        mapping = {i: t for i, t in mapping.items() if t != "full_name"}
    return mapping


def detect_preset(headers: list[str]) -> str:
    names = {norm(h) for h in headers}
    for preset, (signature, _special) in PRESETS.items():
        if signature <= names:
            return preset
    return ""


def sniff(path: str) -> Layout:
    """Work out how to read the file at ``path``; ValidationError on "file" if it cannot be read."""
    with open(path, "rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    if not raw.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise file_error("The file is empty.")
    encoding = detect_encoding(raw)
    text = _decode_sample(raw, encoding).lstrip("\ufeff")
    if "\x00" in text or len(_CONTROL.findall(text)) > max(2, len(text) // 200):
        raise file_error("This is not a CSV file: it contains binary data. Export your contacts as CSV and upload that.")
    first_line = text.split("\n", 1)[0].strip().strip('"')
    if first_line.lower().startswith("sep=") and len(first_line) == 5:  # Excel's hint line: "sep=;"
        delimiter = first_line[4]
        text = "\n" + text.split("\n", 1)[1] if "\n" in text else ""
    else:
        delimiter = _pick_delimiter(text)
    rows = []
    reader = csv.reader(text.splitlines(), delimiter=delimiter, strict=False)
    try:
        for row in islice(reader, HEADER_SEARCH):
            rows.append(row)
    except csv.Error:
        pass
    header_row, best = None, 0
    known = {alias for aliases in _aliases().values() for alias in aliases} | {"recordid", "url"}
    for number, row in enumerate(rows, start=1):
        hits = sum(1 for cell in row if norm(cell) in known)
        if hits >= 2:
            header_row = number
            break
        if hits > best and len([c for c in row if c.strip()]) > 1:
            header_row, best = number, hits
    if header_row is None:
        header_row = next((n for n, row in enumerate(rows, start=1) if len([c for c in row if c.strip()]) > 1), None)
    if header_row is None:
        raise file_error("No header row found: the first line should name the columns (First Name, Email, ...).")
    headers = [h.strip() for h in rows[header_row - 1]]
    while headers and not headers[-1]:
        headers.pop()
    return Layout(encoding, delimiter, header_row, headers, detect_preset(headers))


def source_of(layout: Layout) -> str:
    """The source of the external ids in a file of this layout."""
    return PRESET_SOURCES.get(layout.preset) or layout.preset or "csv"


def split_tags(value: str) -> list[str]:
    tags = []
    for tag in _TAG_SPLIT.split(value):
        tag = tag.strip().lstrip("*").strip()
        if tag and norm(tag) not in _SKIP_TAGS and tag not in tags:
            tags.append(tag)
    return tags


# Targets a cell goes to as it is (as ``to_record``'s last branch does for any other).
_PLAIN_TARGETS = frozenset({"first_name", "last_name", "organization", "type", "status", "external_id"})


def to_record(row: list[str], mapping: dict[int, str]) -> dict:
    record: dict = {"extra": {}}
    full = ""
    address: dict = {}
    width = len(row)
    for index, target in mapping.items():
        value = row[index].strip() if index < width else ""
        if not value:
            continue
        # Each branch is for targets of its own (the commonest first).
        if target in _PLAIN_TARGETS:
            record.setdefault(target, value)
        elif target == "email":
            if not record.get("email"):
                record["email"] = value
            elif value.lower() != record["email"].lower():  # a further address (checked leniently, as a vCard's)
                record["extra"].setdefault("emails", []).append({"label": "other", "value": value})
        elif target == "phone":  # several phone columns: the importer takes the first valid one
            record.setdefault("phone", value)
            record["extra"].setdefault("phones", []).append(value)
        elif target in EXTRA_TARGETS:
            record["extra"].setdefault(target, value)
        elif target == "tags":
            record.setdefault("tags", []).extend(t for t in split_tags(value) if t not in record.get("tags", []))
        elif target.startswith(CUSTOM_PREFIX):
            record.setdefault("custom", {}).setdefault(target[len(CUSTOM_PREFIX):], value)
        elif target == "full_name":
            full = full or value
        elif target == "url":
            record["extra"].setdefault("urls", []).append({"label": "other", "value": value})
        elif target in ADDRESS_TARGETS:
            address.setdefault(ADDRESS_TARGETS[target], value)
        else:
            record.setdefault(target, value)
    if address:
        record["extra"]["addresses"] = [{"label": "other", **address}]
    if full and not (record.get("first_name") or record.get("last_name")):
        first, _, last = full.rpartition(" ")
        record["first_name"], record["last_name"] = (first, last) if first else (full, "")
    return record


def read_rows(path: str, layout: Layout):
    """Yield ``(row number, cells | error message)`` for every row after the header."""
    width = len(layout.headers)
    with open(path, encoding=layout.encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=layout.delimiter, strict=False)
        number = 0
        held = None  # the last good row, yielded once the next is read: the file's last may be cut short
        while True:
            start = reader.line_num
            try:
                row = next(reader)
            except StopIteration:
                if held is not None:
                    yield held[0], _unclosed_quote(path, layout, held[2]) or held[1]
                return
            except csv.Error as exc:
                if held is not None:
                    yield held[0], held[1]
                    held = None
                number += 1
                if number > layout.header_row:
                    yield number, _csv_problem(exc)
                continue
            if held is not None:
                yield held[0], held[1]
                held = None
            number += 1
            text = "".join(row)  # a row's cells at once: a blank row, a character that could not be decoded
            if number <= layout.header_row or not text.strip():
                continue
            if "\ufffd" in text:
                yield number, f"Some characters cannot be read as {layout.encoding}: save the file as UTF-8 and upload it again."
            elif len(row) > width and any(cell.strip() for cell in row[width:]):
                yield number, f"This row has {len(row)} cells but the header names {width} columns."
            else:
                held = (number, row, start)


def _unclosed_quote(path: str, layout: Layout, start: int) -> str | None:
    """The problem of the file's last row, read from line ``start + 1``, when a quote opened in it
    is never closed (the lenient reader would take the rest of the file as one cell)."""
    with open(path, encoding=layout.encoding, errors="replace", newline="") as fh:
        text = "".join(islice(fh, start, None))
    try:
        for _row in csv.reader(text.splitlines(keepends=True), delimiter=layout.delimiter, strict=True):
            pass
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            lines = text.count("\n") + (not text.endswith("\n"))
            return (f'A quote (") opened in this row is never closed, so the rest of the file ({lines} '
                    f"line{'s' if lines != 1 else ''}) was read as one cell: close the quote and upload the file again.")
    return None


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger" in text:
        return f"A cell is longer than {MAX_FIELD // 1024} KiB: is a quote (\") left open?"
    if "NUL" in text:
        return "This row contains binary data (a NUL byte)."
    return f"This row cannot be read: {text}."


def records(path: str, layout: Layout, mapping: dict[int, str]):
    """The rows as records for importer.run: ``(row number, record dict | error message)``."""
    for number, row in read_rows(path, layout):
        yield number, row if isinstance(row, str) else to_record(row, mapping)


def rows_at(path: str, layout: Layout, numbers) -> Iterator[tuple[int, list[str]]]:
    """The cells of the rows numbered ``numbers`` (as ``read_rows`` numbers them), as the file has
    them, rows it could not read included (a problem report shows them): read up to the last."""
    wanted = set(numbers)
    last = max(wanted, default=0)
    with open(path, encoding=layout.encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=layout.delimiter, strict=False)
        number = 0
        while number < last:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error:
                number += 1
                continue
            number += 1
            if number in wanted:
                yield number, row


def count_rows(path: str, layout: Layout) -> int:
    return sum(1 for _ in read_rows(path, layout))


def preview(path: str, layout: Layout, limit: int = 5) -> list[list[str]]:
    return [row for _n, row in islice(read_rows(path, layout), limit) if not isinstance(row, str)]


def clean_mapping(raw: dict, width: int) -> dict[int, str]:
    """A mapping from a form or the API: {column index or header: target}; ValidationError naming the bad entry."""
    mapping: dict[int, str] = {}
    for key, target in raw.items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise ValidationError({"mapping": f"Unknown column {key!r}."}) from None
        if not 0 <= index < width:
            raise ValidationError({"mapping": f"Column {index} is not in the file (it has {width})."})
        allowed = targets()
        if target not in allowed:
            raise ValidationError({"mapping": f"Unknown field {target!r}; choose one of: {', '.join(t for t in allowed if t)}."})
        if target:
            mapping[index] = target
    if not mapping:
        raise ValidationError({"mapping": "Map at least one column."})
    return mapping
