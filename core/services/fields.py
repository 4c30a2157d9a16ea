"""Validation and normalization of contact fields (email-validator, phonenumbers).

Both libraries are imported on first use, not when the web worker starts (phonenumbers' metadata
and email-validator's DNS machinery are start-up time no page before the first form or list needs).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from flask import current_app

# Results worked out ahead (an import validates its next batch in another process, with these same
# functions): (kind, raw) -> ("ok", value) | ("error", message). See ``prevalidated``.
_AHEAD: ContextVar[dict | None] = ContextVar("fields_ahead", default=None)


@contextmanager
def prevalidated(results: dict | None):
    """Within the block, ``normalize_email``/``normalize_phone`` called with the app's settings
    answer from ``results`` (made by ``check_many`` with the same settings) for the inputs it has,
    and work out the others as usual: the same rules, computed elsewhere."""
    token = _AHEAD.set(results or None)
    try:
        yield
    finally:
        _AHEAD.reset(token)


def _answer(kind: str, raw: str):
    ahead = _AHEAD.get()
    found = ahead.get((kind, raw)) if ahead is not None else None
    if found is None:
        return None
    if found[0] == "error":
        raise ValueError(found[1])
    return found[1]


def check_many(cells, check_deliverability: bool, region: str) -> dict:
    """``normalize_email``/``normalize_phone`` of many ``(kind, raw)`` cells, for ``prevalidated``.
    Needs no app: it runs in a worker process."""
    out = {}
    for kind, raw in cells:
        if (kind, raw) in out:
            continue
        try:
            value = normalize_email(raw, check_deliverability) if kind == "email" else normalize_phone(raw, region)
            # The cell itself when it was already normal (most emails): pickled once, not twice.
            out[kind, raw] = ("ok", raw if value == raw else value)
        except ValueError as exc:
            out[kind, raw] = ("error", str(exc))
    return out


def normalize_email(raw: str, check_deliverability: bool | None = None) -> str:
    """Return the normalized address or raise ValueError with a message for the user."""
    if check_deliverability is None:
        found = _answer("email", raw)
        if found is not None:
            return found
        check_deliverability = current_app.config["EMAIL_CHECK_DELIVERABILITY"]
    validate, error = _EMAIL or _email_library()
    try:
        info = validate(raw, check_deliverability=check_deliverability)
    except error as exc:
        raise ValueError(str(exc)) from None
    return info.normalized


# email-validator's function and error, kept once imported (with its domain check remembered,
# ``_memoize_domain_check``): importing them by name cost two import look-ups an address.
_EMAIL: tuple | None = None


def _email_library() -> tuple:
    global _EMAIL
    from email_validator import EmailNotValidError, validate_email

    _memoize_domain_check()
    _EMAIL = (validate_email, EmailNotValidError)
    return _EMAIL


_DOMAIN_CHECKS: dict = {}  # (domain, options, special-use names) -> the library's answer for a valid domain
_DOMAIN_CHECKS_MAX = 10_000


def _memoize_domain_check() -> None:
    """Remember email-validator's check of the part after the @ per domain: an import's addresses
    share a few domains, and that check (IDNA, per-character Unicode tests) is most of the cost of
    validating one. The library's own function is called for a domain it has not seen, with the
    same arguments, and only its answers for valid domains are kept (a bad domain is checked every
    time and raises the library's own error), so every address gets the very answer it would have:
    the same normalized form, the same error, in the same order (the part before the @ is checked
    first, as before). The answer depends on the library's list of special-use domains too, part
    of the key."""
    import importlib

    import email_validator

    module = importlib.import_module("email_validator.validate_email")  # the module, not its function
    check = module.validate_email_domain_name
    if getattr(check, "memoized", False):
        return

    def memoized(domain, test_environment=False, globally_deliverable=True):
        key = (domain, test_environment, globally_deliverable, tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES))
        found = _DOMAIN_CHECKS.get(key)
        if found is None:
            found = check(domain, test_environment=test_environment, globally_deliverable=globally_deliverable)
            if len(_DOMAIN_CHECKS) >= _DOMAIN_CHECKS_MAX:
                _DOMAIN_CHECKS.clear()
            _DOMAIN_CHECKS[key] = found
        return dict(found)

    memoized.memoized = True
    module.validate_email_domain_name = memoized


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Parse to E.164 or raise ValueError."""
    if region is None:
        found = _answer("phone", raw)
        if found is not None:
            return found
        region = current_app.config["PHONE_DEFAULT_REGION"]
    phonenumbers = _PHONENUMBERS or _phone_library()
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValueError("This is not a phone number; include the country code, e.g. +44 20 7946 0958.") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValueError("This phone number is not valid; check the digits and the country code.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_PHONENUMBERS = None  # the module, once set up (``_phone_library``)


def _phone_library():
    """phonenumbers, with two of its costs of every number taken away (the answers unchanged):

    - Its cache of compiled metadata patterns turned on (``enable_pattern_cache``, off by default):
      each number is checked against a dozen patterns of its region's metadata, each looked up
      through ``re.compile`` (and recompiled whenever other patterns pushed it out of ``re``'s own
      cache); the cache keeps them in a dict by pattern text. Versions without it do as before.
    - The type of a number remembered for the next call (``_memoize_number_type``).
    - The digits of an ASCII number picked out at once (``_ascii_digits``)."""
    global _PHONENUMBERS
    import phonenumbers

    enable = getattr(phonenumbers, "enable_pattern_cache", None)
    if enable is not None:
        enable()
    _memoize_number_type()
    _ascii_digits()
    _PHONENUMBERS = phonenumbers
    return phonenumbers


def _memoize_number_type() -> None:
    """Remember the last answer of phonenumbers' number-type check (``_number_type_helper``: a
    national number against a region's metadata, a dozen patterns). ``is_valid_number`` asks it
    twice for the same number and metadata: finding the number's region (the first region of the
    country code it is a number of) and then checking it against that region. One entry is enough
    for that; the metadata is compared by identity (the library loads each region's once and never
    changes it), the number by value, so the answer is the library's own."""
    from phonenumbers import phonenumberutil

    helper = getattr(phonenumberutil, "_number_type_helper", None)
    if helper is None or getattr(helper, "memoized", False):
        return
    last: list = [None]  # (national number, metadata, type): one tuple, replaced whole (threads)

    def memoized(national_number, metadata):
        seen = last[0]
        if seen is not None and seen[1] is metadata and seen[0] == national_number:
            return seen[2]
        answer = helper(national_number, metadata)
        last[0] = (national_number, metadata, answer)
        return answer

    memoized.memoized = True
    memoized.library = helper
    phonenumberutil._number_type_helper = memoized


_NON_DIGITS = dict.fromkeys(c for c in range(128) if not 48 <= c <= 57)  # str.translate: ASCII but 0-9 deleted


def _ascii_digits() -> None:
    """phonenumbers' ``normalize_digits_only`` (the digits of a number as typed, in European digits)
    asks Unicode for the digit value of each character, one call each, twice or so a number. Of an
    ASCII string the digits are 0-9 as they are (Unicode gives no other ASCII character a digit
    value): kept by one ``str.translate``, or the string as it is when the library keeps every
    character. Anything else (wide or Arabic-Indic digits...) goes to the library's own."""
    from phonenumbers import phonenumberutil

    library = phonenumberutil.normalize_digits_only
    if getattr(library, "library", None) is not None:
        return

    def normalize_digits_only(number, keep_non_digits=False):
        if type(number) is str and number.isascii():
            return number if keep_non_digits else number.translate(_NON_DIGITS)
        return library(number, keep_non_digits)

    normalize_digits_only.library = library
    phonenumberutil.normalize_digits_only = normalize_digits_only


def format_phone(e164: str) -> str:
    """Show an E.164 number in international format; anything unparsable is shown as stored."""
    if not e164:
        return ""
    phonenumbers = _PHONENUMBERS or _phone_library()
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def clean_text(value, field: str, errors: dict, max_len: int, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if "\x00" in text:
        errors[field] = "Contains a NUL character."
    elif required and not text:
        errors[field] = "This field is required."
    elif len(text) > max_len:
        errors[field] = f"At most {max_len} characters (got {len(text)})."
    return text
