"""The new-contact form's duplicate warning (non-blocking: "Create anyway" sends a hidden
``confirm_duplicates``) and the link to the contact that already holds an email address."""

from __future__ import annotations

from flask import request

from ..services import duplicates


def warning(user, data: dict) -> dict:
    """Template context with the look-alikes of a contact about to be created, or {} to go on.
    An identical email is not a warning: the save refuses it (and links the holder)."""
    if request.form.get("confirm_duplicates"):
        return {}
    # By phone and name first: most new contacts look like nobody, and then an email match alone
    # could only silence the warning, so its lookup (and a second email validation) is skipped.
    if not duplicates.find_similar(user, {k: v for k, v in data.items() if k != "email"}):
        return {}
    similar = duplicates.find_similar(user, data)
    if not similar or any("email" in s.reasons for s in similar):
        return {}
    return {"similar": similar}


def email_clash(user, data: dict, errors: dict) -> dict:
    if "email" not in errors:
        return {}
    holder = duplicates.email_holder(user, data.get("email"))
    return {"email_clash": holder} if holder is not None else {}
