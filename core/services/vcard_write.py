"""vCard writing (RFC 2426 3.0 / RFC 6350 4.0) for one contact with all its details: CRLF
lines folded at 75 octets, text escaped, the photo inline (3.0 ``ENCODING=b``, 4.0 ``data:``).
Deterministic (fixed property order, no REV), so export -> import -> export gives the same file.
Read with core/services/vcard.py, which re-exports ``write_card``."""

from __future__ import annotations

import base64
import hashlib


def escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
            .replace(",", "\\,").replace(";", "\\;"))


def fold(line: str) -> str:
    """Fold at 75 octets without splitting a UTF-8 character (RFC 6350 3.2)."""
    out, current, size = [], [], 0
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > (75 if not out else 74):
            out.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += width
    out.append("".join(current))
    return "\r\n ".join(out) + "\r\n"


def uid_of(contact, uid: str | None, namespace: str) -> str:
    """``uid`` (the one the contact was imported with), else a stable one derived from the contact
    and this installation (``derived_uid``)."""
    return uid or derived_uid(contact.id, contact.created_at, namespace)


def derived_uid(contact_id: int, created_at, namespace: str) -> str:
    """A UUID-shaped UID that names the contact to this installation only: a digest of the
    namespace, the id and the creation time (an id reused after a reset is another contact), then
    the id itself (the last group), so importing our own export again finds the contact
    (``derived_contact_id``) instead of creating a copy."""
    digest = hashlib.sha256(f"{namespace}:{contact_id}:{created_at:%Y%m%dT%H%M%S.%f}".encode()).hexdigest()
    return f"urn:uuid:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{contact_id:012x}"


def derived_contact_id(uid: str) -> int | None:
    """The contact id ``derived_uid`` put in ``uid`` (to be checked against that contact); None
    when ``uid`` cannot be one."""
    if not uid.startswith("urn:uuid:") or len(uid) != 45:
        return None
    try:
        contact_id = int(uid[-12:], 16)
    except ValueError:
        return None
    return contact_id if 0 < contact_id <= 2**31 - 1 else None


def write_card(contact, details: dict, version: str = "4.0", *, namespace: str = "contacts", uid: str | None = None,
               photo=None) -> str:
    """One contact as a vCard (CRLF lines, folded). ``uid``: its stored vCard UID (external id of
    source "vcard") or None; ``photo``: (mime, bytes) or None."""
    v4 = version == "4.0"

    def params(label: str, pref: bool = False) -> str:
        types = [{"mobile": "cell"}.get(label, label)] if label in ("home", "work", "mobile") else []
        if pref and not v4:
            types.append("pref")
        out = f";TYPE={','.join(types)}" if types else ""
        return out + (";PREF=1" if pref and v4 else "")

    lines = ["BEGIN:VCARD", f"VERSION:{version}", "PRODID:-//Contacts//vCard export//EN",
             f"UID:{uid_of(contact, uid, namespace)}",
             f"FN:{escape(f'{contact.first_name} {contact.last_name}'.strip() or contact.email or '')}",
             f"N:{escape(contact.last_name)};{escape(contact.first_name)};;;"]
    if v4:
        lines.insert(3, "KIND:individual")
    if contact.organization is not None and contact.organization.deleted_at is None:
        lines.append(f"ORG:{escape(contact.organization.name)}")
    if details.get("title"):
        lines.append(f"TITLE:{escape(details['title'])}")
    if details.get("birthday"):
        day = details["birthday"].isoformat()
        lines.append(f"BDAY:{day.replace('-', '') if v4 else day}")
    if contact.email:
        lines.append(f"EMAIL{params('other', True)}:{escape(contact.email)}")
    lines += [f"EMAIL{params(e['label'])}:{escape(e['value'])}" for e in details.get("emails", [])]
    if contact.phone:
        lines.append(f"TEL{params('other', True)}:{escape(contact.phone)}")
    lines += [f"TEL{params(p['label'])}:{escape(p['value'])}" for p in details.get("phones", [])]
    for a in details.get("addresses", []):
        parts = ["", "", a["street"], a["locality"], a["region"], a["postcode"], a["country"]]
        lines.append(f"ADR{params(a['label'])}:{';'.join(escape(p) for p in parts)}")
    lines += [f"URL{params(u['label'])}:{u['value']}" for u in details.get("urls", [])]
    if details.get("notes"):
        lines.append(f"NOTE:{escape(details['notes'])}")
    if photo is not None:
        mime, data = photo
        encoded = base64.b64encode(data).decode("ascii")
        if v4:
            lines.append(f"PHOTO:data:{mime};base64,{encoded}")
        else:
            lines.append(f"PHOTO;ENCODING=b;TYPE={mime.split('/')[-1].upper()}:{encoded}")
    lines.append("END:VCARD")
    return "".join(fold(line) for line in lines)
