"""Validation and normalization of contact fields (email-validator, phonenumbers).

Both libraries are imported on first use, not when the web worker starts (phonenumbers' metadata
and email-validator's DNS machinery are start-up time no page before the first form or list needs).
"""

from __future__ import annotations

from flask import current_app


def normalize_email(raw: str) -> str:
    """Return the normalized address or raise ValueError with a message for the user."""
    from email_validator import EmailNotValidError, validate_email

    try:
        info = validate_email(raw, check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"])
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return info.normalized


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Parse to E.164 or raise ValueError."""
    import phonenumbers

    region = region or current_app.config["PHONE_DEFAULT_REGION"]
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValueError("This is not a phone number; include the country code, e.g. +44 20 7946 0958.") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValueError("This phone number is not valid; check the digits and the country code.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Show an E.164 number in international format; anything unparsable is shown as stored."""
    if not e164:
        return ""
    import phonenumbers

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
