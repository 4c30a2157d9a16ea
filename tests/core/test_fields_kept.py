"""fields.normalize_email / normalize_phone keep their libraries set up between calls (email-validator's
function, phonenumbers' pattern cache and a one-entry memo of its number-type check): every answer
is the library's own, for the email addresses and phone numbers of the real client exports
(../shared/samples) and a few awkward ones."""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import pytest

from core.services import csv_import, fields, vcard_import

_HERE = Path(__file__).resolve()
SAMPLES = next((p for p in (Path(os.environ.get("CONTACTS_SAMPLES_DIR") or _HERE.parents[2].parent / "shared" / "samples"),
                            _HERE.parents[3] / "shared" / "samples", Path("/work/shared/samples")) if p.is_dir()), None)

PHONES = ["+1 212 555 0100", "(415) 555-2671", "4155552671", "+44 20 7946 0958", "020 7946 0958", "+49 30 901820",
          "+33 1 42 68 53 00", "+81 3-3224-9999", "+1 800 FLOWERS", "1-800-356-9377", "+1 (212) 555-0100 ext. 12",
          "+1 613 555 0199", "+1 242 357 1234", "+1 868 555 1234", "+1 876 555 1234", "+7 495 123-45-67",
          "＋１ ２１２ ５５５ ０１００", "+61 2 9374 4000", "+91 22 2778 8000", "12", "+999 123", "555-0100",
          "not a number", "+1 999 555 0100", "+44 7700 900123", "911", "+1 212 555 01001"]
EMAILS = ["ada@example.org", "Ada@EXAMPLE.ORG", "x@bücher.de", "Jörg@bücher.de", "a@ＥＸ.com", "bad@@example.org",
          "c@localhost", "e@a..b", '"q"@example.com', "k@[1.2.3.4]", "n@ex.onion", "nope", "postmaster@Example.org"]


def _sample_cells() -> tuple[list, list]:
    """Every email address and phone number of the sample exports, as the import reads them."""
    if SAMPLES is None:
        pytest.skip("the shared samples are not here (../shared/samples)")
    emails, phones = [], []

    def take(record):
        extra = record.get("extra") or {}
        emails.extend(v for v in [record.get("email"), *(e["value"] if isinstance(e, dict) else e
                                                         for e in extra.get("emails") or [])] if v)
        phones.extend(v for v in [record.get("phone"), *(p["value"] if isinstance(p, dict) else p
                                                         for p in extra.get("phones") or [])] if v)

    for path in sorted((SAMPLES / "csv").glob("*.csv")):
        layout = csv_import.sniff(str(path))
        for _n, record in csv_import.records(str(path), layout, csv_import.auto_mapping(layout.headers, layout.preset)):
            if isinstance(record, dict):
                take(record)
    for path in sorted((SAMPLES / "vcard").glob("*.vcf")):
        for _n, record in vcard_import.records(str(path)):
            if isinstance(record, dict):
                take(record)
    assert len(emails) > 50 and len(phones) > 50
    return emails, phones


def _answer(fn, raw):
    try:
        return "ok", fn(raw)
    except ValueError as exc:
        return "error", str(exc)


def _library_phone(raw: str, region: str) -> str:
    """What normalize_phone did with phonenumbers as it comes: no pattern cache, no memo."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValueError("This is not a phone number; include the country code, e.g. +44 20 7946 0958.") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValueError("This phone number is not valid; check the digits and the country code.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@pytest.fixture
def library_alone(monkeypatch):
    """A function running its argument with phonenumbers as it comes (fields' setup taken off)."""
    from phonenumbers import phonenumberutil, re_util

    fields.normalize_phone("+1 212 555 0100", "US")  # set up

    def run(fn):
        with monkeypatch.context() as patch:
            patch.setattr(phonenumberutil, "_number_type_helper", phonenumberutil._number_type_helper.library)
            patch.setattr(re_util, "_COMPILED_PATTERNS", None)
            patch.setattr(phonenumberutil, "normalize_digits_only", phonenumberutil.normalize_digits_only.library)
            return fn()

    return run


@pytest.mark.parametrize("region", ["US", "GB"])
def test_phones_get_the_librarys_answers(ctx, library_alone, region):
    _emails, phones = _sample_cells()
    cells = [*phones, *PHONES, *(p.replace(" ", "") for p in PHONES)]
    library = library_alone(lambda: [_answer(lambda r: _library_phone(r, region), raw) for raw in cells])
    kept = [_answer(lambda r: fields.normalize_phone(r, region), raw) for raw in cells]
    again = [_answer(lambda r: fields.normalize_phone(r, region), raw) for raw in reversed(cells)][::-1]
    assert kept == library == again
    assert sum(1 for kind, _v in kept if kind == "ok") > 40


def test_phonenumbers_is_set_up_once(library_alone):
    """The pattern cache is on, and the number type of a valid number is worked out once, not
    twice (finding its region, then checking it there)."""
    from phonenumbers import phonenumberutil, re_util

    assert phonenumberutil._number_type_helper.memoized
    if hasattr(re_util, "enable_pattern_cache"):
        assert re_util._COMPILED_PATTERNS  # the patterns the numbers so far needed
    checks = []
    matching = phonenumberutil._is_number_matching_desc

    def counted(*args):
        checks.append(args)
        return matching(*args)

    def count(fn):
        checks.clear()
        for raw in ("+1 212 555 0100", "+44 20 7946 0958", "(415) 555-2671"):
            fn(raw)
        return len(checks)

    phonenumberutil._is_number_matching_desc = counted
    try:
        kept = count(lambda raw: fields.normalize_phone(raw, "US"))
        library = library_alone(lambda: count(lambda raw: _library_phone(raw, "US")))
    finally:
        phonenumberutil._is_number_matching_desc = matching
    assert 0 < kept * 2 <= library


def test_the_digits_of_a_number_are_the_librarys(library_alone):
    """The ASCII shortcut of normalize_digits_only gives what the library gives, for every ASCII
    character and mixes of them, and leaves anything else to the library."""
    from phonenumbers import phonenumberutil

    kept = phonenumberutil.normalize_digits_only
    assert kept.library is not kept  # set up
    texts = [chr(c) for c in range(128)] + ["".join(chr(c) for c in range(128)), "+1 (212) 555-0100 x12", "",
                                            "１２３", "٣٤٥ 67", "+49 (0)30 9018-20"] + PHONES
    for keep in (False, True):
        library = library_alone(lambda: [phonenumberutil.normalize_digits_only(t, keep) for t in texts])  # noqa: B023
        assert [kept(t, keep) for t in texts] == library


def test_emails_get_the_librarys_answers(ctx):
    import importlib

    from email_validator import EmailNotValidError, syntax

    emails, _phones = _sample_cells()
    cells = [*emails, *EMAILS]
    kept = [_answer(lambda r: fields.normalize_email(r, False), raw) for raw in cells]
    module = importlib.import_module("email_validator.validate_email")
    memo = module.validate_email_domain_name
    module.validate_email_domain_name = syntax.validate_email_domain_name  # the library alone
    try:
        library = []
        for raw in cells:
            try:
                library.append(("ok", module.validate_email(raw, check_deliverability=False).normalized))
            except EmailNotValidError as exc:
                library.append(("error", str(exc)))
    finally:
        module.validate_email_domain_name = memo
    assert kept == library
    assert sum(1 for kind, _v in kept if kind == "ok") > 40


def test_the_email_validator_is_kept(monkeypatch):
    """normalize_email imports nothing per address (it looked email-validator up by name each time)."""
    fields.normalize_email("ada@example.org", False)
    imports = []
    real = builtins.__import__

    def counting(name, *args, **kwargs):
        imports.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", counting)
    assert fields.normalize_email("Grace@Example.org", False) == "Grace@example.org"
    with pytest.raises(ValueError, match="@-sign"):
        fields.normalize_email("grace.example.org", False)
    assert not [name for name in imports if "email_validator" in name]
