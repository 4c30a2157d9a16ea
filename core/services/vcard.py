"""vCard: read 2.1, 3.0 and 4.0 files as people's phones and mail clients export them, and write
3.0 or 4.0 (RFC 2426 / RFC 6350) for one contact with all its details.

Reading is tolerant and per card: ``read_cards(data)`` yields ``(card number, record)`` for a card
it could read and ``(card number, "message")`` for one it could not (missing END:VCARD, too large,
no name and no email...), and never raises for bad input, so one broken card never loses the
rest of the file. It handles folded lines (CRLF, LF or mixed, space or tab indents), vCard 2.1
quoted-printable with soft line breaks and any CHARSET, bare 2.1 parameters (``TEL;WORK;VOICE``),
RFC 6868 caret escapes, base64 photos (2.1/3.0 ``ENCODING=b``, 4.0 ``data:`` URIs), Apple's
``itemN.`` groups, UTF-8 (with or without BOM) and Windows-1252 files, and several cards per file.
Not vobject: it stops a whole file on one bad base64 photo or quoted-printable line, re-reads long
values quadratically, and does not fold photos or keep 4.0 ``data:`` URIs intact; the tests use it
as an independent reader of what we write.

The card's record (vcard_import.settle picks the valid primary email and phone and hands it to the
import pipeline, core/services/importer.py)::

    {
        "first_name": "Ada",                 # N given (+ additional names); FN when N is empty
        "last_name": "Lovelace",             # N family
        "email": "ada@example.org" | None,   # the preferred (else first) EMAIL, as written
        "phone": "+44 20 7946 0958" | "",    # the preferred (else first) TEL, as written
        "organization": "Analytical Engines" | "",  # ORG, first component
        "external_id": "urn:uuid:..." | None,       # UID (an external id of source "vcard")
        "tags": ["Friends", ...],            # CATEGORIES
        "extra": {                           # only the keys the card has; saved by details.import_many
            "title": "Countess",             # TITLE
            "birthday": "1815-12-10",        # BDAY as an ISO date (cards without a year: left out + warning)
            "notes": "text",                 # NOTE (several are joined by a blank line)
            "emails": [{"label": "work", "value": "..."}],   # the other EMAILs; label home/work/mobile/other
            "phones": [{"label": "mobile", "value": "..."}], # the other TELs
            "addresses": [{"label": "home", "street": "...", "locality": "...", "region": "...",
                           "postcode": "...", "country": "..."}],   # ADR (PO box and extended join the street)
            "urls": [{"label": "other", "value": "https://..."}],  # URL
            "photo": {"mime": "image/jpeg", "data": b"..."},        # PHOTO (embedded only; links are not fetched)
        },
        "warnings": ["photo skipped: ..."],  # what was left out of this card, for the per-card report
    }

Values are as written in the card; validation and normalization (email, E.164) are the
services' job. Writing: ``write_card(contact, details, version)`` (details: core/services/details.py).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
from collections.abc import Iterator

from .vcard_write import write_card  # noqa: F401 - the serializer, re-exported

MAX_CARD_CHARS = 4_000_000  # a card with a big photo is ~1.4 MB; more is not a contact
MAX_VALUE_CHARS = 100_000  # any one text value
VERSIONS = ("3.0", "4.0")
NAME_RE = re.compile(r"(?:([A-Za-z0-9-]+)\.)?([A-Za-z0-9_-]+)")
LINE_SPLIT = re.compile(r"\r\n|\r|\n")
BASE64_LINE = re.compile(r"[A-Za-z0-9+/=]+")
ENCODINGS = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"}
LABELS = {"home": "home", "work": "work", "cell": "mobile", "mobile": "mobile", "iphone": "mobile"}


class CardError(Exception):
    """This card cannot be imported; the message says why."""


# --- reading --------------------------------------------------------------------------------


def decode_file(data: bytes | str) -> str:
    """The file as text: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def split_cards(text: str) -> Iterator[tuple[int, list[str] | str]]:
    """(number, physical lines) per BEGIN:VCARD ... END:VCARD, or (number, error message)."""
    number, lines, size, found = 0, None, 0, False
    for line in LINE_SPLIT.split(text):
        marker = line.strip().upper()
        if marker == "BEGIN:VCARD":
            found = True
            if lines is not None:
                yield number, "END:VCARD is missing: the card stops where the next one begins."
            number, lines, size = number + 1, [], 0
        elif marker == "END:VCARD" and lines is not None:
            yield number, (lines if size <= MAX_CARD_CHARS else f"The card is too large ({size // 1000} KB).")
            lines = None
        elif lines is not None:
            size += len(line) + 1
            if size <= MAX_CARD_CHARS:
                lines.append(line)
    if lines is not None:
        yield number, "END:VCARD is missing: the file ends inside this card."
    if not found:
        yield 1, "This is not a vCard file: no BEGIN:VCARD line."


def _is_qp(line: str) -> bool:
    return "quoted-printable" in line.split(":", 1)[0].lower()


def unfold(lines: list[str]) -> list[str]:
    """Logical lines: folded continuations joined, QP soft line breaks joined, 2.1 base64 bodies
    (unindented, ended by a blank line) joined. Pieces are joined once (linear in the card's size)."""
    out: list[list[str]] = []
    qp_more = in_base64 = False
    for line in lines:
        if qp_more:
            out[-1][-1] = out[-1][-1][:-1]  # drop the soft line break's "="
            out[-1].append(line.lstrip(" \t"))
            qp_more = line.endswith("=")
        elif line[:1] in (" ", "\t") and out:
            out[-1].append(line[1:])
        elif not line.strip():
            in_base64 = False
        elif in_base64 and BASE64_LINE.fullmatch(line.strip()):
            out[-1].append(line.strip())
        else:
            out.append([line])
            head = line.split(":", 1)[0].upper()
            in_base64 = "BASE64" in head or "ENCODING=B" in head
            qp_more = _is_qp(line) and line.endswith("=")
    return ["".join(parts) for parts in out]


def _caret(value: str) -> str:
    return re.sub(r"\^(n|N|\^|')", lambda m: {"n": "\n", "N": "\n", "^": "^", "'": '"'}[m.group(1)], value)


def parse_line(line: str) -> tuple[str, dict, str] | None:
    """(NAME, {PARAM: [values]}, raw value) of one logical line; None when it is not a property."""
    match = NAME_RE.match(line)
    if not match:
        return None
    name, pos, params = match.group(2).upper().replace("_", "-"), match.end(), {}
    while pos < len(line) and line[pos] == ";":
        pos += 1
        key_end = pos
        while key_end < len(line) and line[key_end] not in "=;:":
            key_end += 1
        key = line[pos:key_end].strip().upper()
        pos = key_end
        values: list[str] = []
        if pos < len(line) and line[pos] == "=":
            pos += 1
            while True:
                if pos < len(line) and line[pos] == '"':
                    end = line.find('"', pos + 1)
                    end = len(line) if end < 0 else end
                    values.append(line[pos + 1:end])
                    pos = end + 1
                else:
                    end = pos
                    while end < len(line) and line[end] not in ",;:":
                        end += 1
                    values.append(line[pos:end])
                    pos = end
                if pos < len(line) and line[pos] == ",":
                    pos += 1
                    continue
                break
        elif key:  # vCard 2.1 bare parameter: TEL;WORK;VOICE, PHOTO;JPEG, NOTE;QUOTED-PRINTABLE
            key, values = ("ENCODING", [key]) if key in ENCODINGS else ("TYPE", [key])
        if key:
            params.setdefault(key, []).extend(_caret(v) for v in values)
    if pos >= len(line) or line[pos] != ":":
        return None
    return name, params, line[pos + 1:]


def _text_of(raw: str, params: dict) -> str:
    """The value as text, QP-decoded in its CHARSET (an unknown charset is read as UTF-8)."""
    if "QUOTED-PRINTABLE" in (e.upper() for e in params.get("ENCODING", [])):
        data = quopri.decodestring(raw.encode("utf-8", errors="replace"))
        charset = (params.get("CHARSET") or ["utf-8"])[0]
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = "utf-8"
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")
    return raw


def split_escaped(value: str, sep: str) -> list[str]:
    """Split on ``sep`` not preceded by a backslash, then unescape each part."""
    parts, current, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            current.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def unescape(value: str) -> str:
    return split_escaped(value, "\x00")[0]


def _types(params: dict) -> set[str]:
    return {t.strip().lower() for v in params.get("TYPE", []) for t in v.split(",")}


def _label(params: dict) -> str:
    types = _types(params)
    for key in ("cell", "iphone", "mobile", "home", "work"):
        if key in types:
            return LABELS[key]
    return "other"


def _preferred(params: dict) -> int:
    """Lower is more preferred: PREF=1 (4.0) or TYPE=pref (2.1/3.0) first."""
    if "pref" in _types(params):
        return 1
    try:
        return int((params.get("PREF") or ["100"])[0])
    except ValueError:
        return 100


def _photo(raw: str, params: dict, warnings: list) -> dict | None:
    raw = raw.strip()
    encoding = {e.upper() for e in params.get("ENCODING", [])}
    if raw.lower().startswith("data:"):
        head, _, body = raw.partition(",")
        if ";base64" not in head.lower():
            warnings.append("photo skipped: only base64 data: URIs are read.")
            return None
        raw = body
    elif not encoding & {"B", "BASE64"}:
        warnings.append("photo skipped: it is a link, and links are not fetched.")
        return None
    try:
        data = base64.b64decode(re.sub(r"\s+", "", raw), validate=True)
    except (binascii.Error, ValueError):
        warnings.append("photo skipped: it is not valid base64.")
        return None
    from .details import photo_type

    mime = photo_type(data)
    if mime is None:
        warnings.append("photo skipped: not a JPEG, PNG or GIF image.")
        return None
    return {"mime": mime, "data": data}


def _birthday(raw: str, warnings: list) -> str | None:
    text = raw.strip().split("T")[0]
    digits = text.replace("-", "")
    if text.startswith("--") or len(digits) != 8 or not digits.isdecimal():
        warnings.append(f"birthday {raw[:40]!r} skipped: it has no full date.")
        return None
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"


def to_record(lines: list[str]) -> dict:
    """The record of one card's physical lines (inside BEGIN/END); CardError if it has nothing to import."""
    props: list[tuple[str, dict, str]] = []
    warnings: list[str] = []
    for line in unfold(lines):
        parsed = parse_line(line)
        if parsed is None:
            warnings.append(f"line skipped: {line[:40]!r}")
            continue
        name, params, raw = parsed
        if name not in ("PHOTO",) and len(raw) > MAX_VALUE_CHARS:
            raise CardError(f"{name} is too long ({len(raw)} characters).")
        props.append(parsed)
    record: dict = {"first_name": "", "last_name": "", "email": None, "phone": "", "organization": "",
                    "external_id": None, "tags": [], "extra": {}, "warnings": warnings}
    extra = record["extra"]
    emails, phones, notes, fn = [], [], [], ""
    for name, params, raw in props:
        text = _text_of(raw, params)
        if name == "N":
            parts = [p.strip() for p in split_escaped(text, ";")] + [""] * 5
            record["last_name"] = parts[0]
            additional = [a.strip() for a in parts[2].split(",")]
            record["first_name"] = " ".join(p for p in (parts[1], *additional) if p)
        elif name == "FN":
            fn = unescape(text).strip()
        elif name == "ORG":
            record["organization"] = split_escaped(text, ";")[0].strip()
        elif name == "TITLE":
            extra["title"] = unescape(text).strip()
        elif name == "NOTE":
            notes.append(unescape(text).replace("\r\n", "\n").strip())
        elif name == "BDAY":
            birthday = _birthday(unescape(text), warnings)
            if birthday:
                extra["birthday"] = birthday
        elif name == "UID":
            record["external_id"] = unescape(text).strip() or None
        elif name == "CATEGORIES":
            record["tags"] += [t.strip() for t in split_escaped(text, ",") if t.strip()]
        elif name == "EMAIL":
            emails.append((_preferred(params), len(emails), _label(params), unescape(text).strip()))
        elif name == "TEL":
            value = unescape(text).strip()
            value = value[4:] if value.lower().startswith("tel:") else value
            phones.append((_preferred(params), len(phones), _label(params), value))
        elif name == "URL":
            extra.setdefault("urls", []).append({"label": _label(params), "value": unescape(text).strip()})
        elif name == "ADR":
            parts = [p.strip() for p in split_escaped(text, ";")] + [""] * 7
            street = "\n".join(p for p in parts[:3] if p)
            extra.setdefault("addresses", []).append({
                "label": _label(params), "street": street, "locality": parts[3], "region": parts[4],
                "postcode": parts[5], "country": parts[6],
            })
        elif name == "PHOTO" and "photo" not in extra:
            photo = _photo(raw, params, warnings)
            if photo:
                extra["photo"] = photo
    if notes:
        extra["notes"] = "\n\n".join(n for n in notes if n)
    for key, found in (("email", emails), ("phone", phones)):
        found = [f for f in found if f[3]]
        if found:
            primary = min(found)
            record[key] = primary[3]
            extra[key + "s"] = [{"label": f[2], "value": f[3]} for f in found if f is not primary]
    if not (record["first_name"] or record["last_name"]) and fn != record["email"]:
        record["first_name"] = fn
    if not (record["first_name"] or record["last_name"] or record["email"]):
        raise CardError("The card has no name and no email address.")
    return record


def read_cards(data: bytes | str) -> Iterator[tuple[int, dict | str]]:
    """``(card number, record)`` or ``(card number, error message)`` for every card of a file."""
    for number, lines in split_cards(decode_file(data)):
        if isinstance(lines, str):
            yield number, lines
            continue
        try:
            yield number, to_record(lines)
        except CardError as exc:
            yield number, str(exc)
        except Exception as exc:  # noqa: BLE001 - one unreadable card never stops the file
            yield number, f"The card could not be read ({type(exc).__name__})."
