"""What the contacts pages need for tags, groups and categories (called from one line each in
core/views/contacts.py): the form fields, their choices, and a page's tags in one query."""

from __future__ import annotations

from markupsafe import Markup, escape

from ..services import categories, groups, tags, taxonomy
from .rendering import url_parts
from .tags import tag_style


def form_data(form) -> dict:
    """The taxonomy fields the contact form sent (only those it had)."""
    data = {}
    if "tags" in form:
        data["tags"] = form.get("tags", "")
    if "group_ids" in form:  # the form always sends an empty one, so none selected clears them
        data["group_ids"] = [v for v in form.getlist("group_ids") if v]
    if "category_id" in form:
        data["category_id"] = form.get("category_id", "")
    return data


def values_of(user, contact) -> dict:
    return taxonomy.form_values(user, contact)


def form_choices(user, values: dict) -> dict:
    usable = groups.usable_groups(user)
    chosen = {str(v) for v in values.get("group_ids") or []}
    extra = [g for g in groups.visible_groups(user) if str(g.id) in chosen and g not in usable]
    names = [n.strip() for n in (values.get("tags") or "").split(",") if n.strip()] if isinstance(
        values.get("tags"), str) else list(values.get("tags") or [])
    known = {t.name_key: t for t in tags.resolve(user, names, create=False)} if names else {}
    chips = [known.get(n.lower()) or tags.Tag(name=n, name_key=n.lower(), color=tags.color_for(n.lower()))
             for n in names]
    return {
        "group_choices": [(g.id, g.name) for g in usable + extra],
        "chosen_groups": chosen,
        "category_choices": [(c.id, "\u2014 " * depth + c.name) for c, depth in categories.tree()],
        "tag_chips": chips,
    }


def row_chips(contacts, tag_rows: dict | None = None) -> dict[int, Markup]:
    """contact id -> its tag chips (links to the list filtered by the tag) as HTML, for a page of list
    rows: one query (none with ``tag_rows``, their tags as ``tags.chips_of`` answers), and each tag's
    chip built once however many rows carry it."""
    before, after = (escape(part) for part in url_parts("contacts.index", "tag"))
    built: dict[int, str] = {}

    def chip(tag_id, name, color) -> str:
        if tag_id not in built:
            built[tag_id] = f'<a class="chip" href="{before}{tag_id}{after}" style="{escape(tag_style(color))}">{escape(name)}</a>'
        return built[tag_id]

    return {
        contact_id: Markup('<span class="chips">' + "".join(chip(*t) for t in found) + "</span>")  # noqa: S704 - escaped
        for contact_id, found in (tag_rows if tag_rows is not None else tags.chips_of([c.id for c in contacts])).items()
    }


def show_context(user, contact) -> dict:
    return {
        "contact_chips": row_chips([contact]).get(contact.id, ""),
        "category_path": categories.path(contact.category_id),
    }
