"""Message templates with merge fields, and the only place they are rendered.

Users write templates, so a template is hostile input. Four fences, each enough on its own
against the usual server-side template injection payloads:

1. **What may be written.** The source is parsed (``env.parse``) and its syntax tree is checked
   against a short allow-list: text, merge fields (``{{ contact.first_name }}``), ``{% if %}``,
   comparisons, and a handful of filters with constant arguments. No loops, ``set``, macros,
   calls, arithmetic, string concatenation, includes or imports: a template cannot build a big
   value or spin, so ``{% for %}`` bombs and ``"a"*10**9`` are refused before anything runs.
   Names other than the merge roots (``config``, ``self``, ``request``, ``lipsum``, ``cycler``,
   ...) are flagged as unknown fields (``jinja2.meta.find_undeclared_variables``).
2. **What can be reached.** Rendering uses ``ImmutableSandboxedEnvironment`` with no globals,
   only the filters above, attribute access limited to keys of the plain dicts built for this
   one render (no ORM objects, no config, request or app), every call refused, and arithmetic
   operators intercepted (which also stops Jinja folding ``"a"*10**9`` at compile time).
3. **How long.** The render runs under ``sys.settrace`` with a budget of trace events (a
   deterministic step count) and a wall-clock deadline; either one aborts the render by raising
   inside the template's own frames. A thread with a timeout could not stop the work (Python
   threads cannot be killed), and ``MAX_RANGE`` only limits ``range``, not nested loops.
4. **How much.** Output is consumed chunk by chunk from ``Template.generate`` and the render
   stops once it exceeds ``MAX_OUTPUT`` characters.

A render builds its context from scratch for one contact: there is no cache of contexts or of
rendered text, and nothing in the context names another record.
"""

from __future__ import annotations

import functools
import sys
import time as _time
from dataclasses import dataclass, field

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.tests import TESTS
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from core.database import transaction
from core.errors import Conflict, NotFound, ValidationError
from core.extensions import db
from core.models import Contact, utcnow
from core.policy import can, require, visible_team_ids, writable_teams
from core.services import audit
from core.services.fields import clean_text
from core.services.records import Owner

from .models_prefs import MessageTemplate

MAX_SOURCE = 20_000
MAX_SUBJECT = 300
MAX_NAME = 200
MAX_OUTPUT = 100_000  # characters of rendered text
MAX_STEPS = 200_000  # trace events per render; a merge template needs a few hundred
MAX_SECONDS = 1.0
MAX_ID = 2**31 - 1

# The merge fields a template may use: root -> attributes.
FIELDS: dict[str, tuple[str, ...]] = {
    "contact": ("first_name", "last_name", "full_name", "email", "phone"),
    "organization": ("name",),
    "sender": ("name", "email"),
}
KNOWN = tuple(f"{root}.{attr}" for root, attrs in FIELDS.items() for attr in attrs)
SAFE_FILTERS = ("upper", "lower", "title", "capitalize", "trim", "default", "d", "truncate")
SAFE_TESTS = ("defined", "undefined", "none")
ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.Getattr, nodes.Getitem,
    nodes.Filter, nodes.Test, nodes.If, nodes.CondExpr, nodes.And, nodes.Or, nodes.Not, nodes.Compare,
    nodes.Operand,
)


class RenderLimit(Exception):
    """The render used up its step budget, its time or its output allowance."""


class _Fields(dict):
    """A merge root: its keys are the only thing a template can reach."""


class MergeEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def __init__(self, **kwargs):
        super().__init__(undefined=StrictUndefined, **kwargs)
        self.globals.clear()
        self.filters = {name: FILTERS[name] for name in SAFE_FILTERS}
        self.tests = {name: TESTS[name] for name in SAFE_TESTS}

    def call_binop(self, context, operator, left, right):
        raise SecurityError("arithmetic is not allowed in templates")

    def call_unop(self, context, operator, arg):
        raise SecurityError("arithmetic is not allowed in templates")

    def is_safe_callable(self, obj) -> bool:
        return False

    def getattr(self, obj, attribute):
        if isinstance(obj, _Fields) and attribute in obj:
            return obj[attribute]
        return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj, argument):
        if isinstance(obj, _Fields) and isinstance(argument, str) and argument in obj:
            return obj[argument]
        return self.undefined(obj=obj, name=argument)


TEXT_ENV = MergeEnvironment(autoescape=False)
HTML_ENV = MergeEnvironment(autoescape=True)


# --- checking a template before it is saved or rendered -------------------------------------------


@dataclass
class Check:
    errors: list[str] = field(default_factory=list)  # the template cannot be used
    fields: list[str] = field(default_factory=list)  # merge fields it uses, in order
    unknown: list[str] = field(default_factory=list)  # names that are not merge fields


def _path(node) -> str | None:
    """``contact.first_name`` for a Name/Getattr/Getitem chain, else None."""
    parts = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
        else:
            return None
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return ".".join([node.name, *reversed(parts)])


def _describe(node) -> str:
    names = {
        nodes.For: "{% for %} loops", nodes.Macro: "macros", nodes.CallBlock: "{% call %} blocks",
        nodes.Assign: "{% set %}", nodes.AssignBlock: "{% set %}", nodes.With: "{% with %}",
        nodes.Include: "{% include %}", nodes.Import: "{% import %}", nodes.FromImport: "{% import %}",
        nodes.Extends: "{% extends %}", nodes.Block: "{% block %}", nodes.Call: "calling a function or method",
        nodes.Concat: "string joining with ~", nodes.FilterBlock: "{% filter %} blocks",
    }
    for kind, text in names.items():
        if isinstance(node, kind):
            return text
    if isinstance(node, nodes.BinExpr | nodes.UnaryExpr):
        return "arithmetic"
    return type(node).__name__


def check(source: str) -> Check:
    """Parse ``source`` and say what is wrong with it, without running it."""
    result = Check()
    if len(source) > MAX_SOURCE:
        result.errors.append(f"At most {MAX_SOURCE} characters.")
        return result
    try:
        tree = TEXT_ENV.parse(source)
    except TemplateSyntaxError as exc:
        result.errors.append(f"Line {exc.lineno}: {exc.message}")
        return result
    seen_bad: set[str] = set()

    def visit(node, in_path: bool = False):
        if not isinstance(node, ALLOWED_NODES):
            what = _describe(node)
            if what not in seen_bad:
                seen_bad.add(what)
                result.errors.append(f"Line {node.lineno}: not allowed in a template: {what}.")
            return
        if isinstance(node, nodes.Filter | nodes.Test):
            allowed = SAFE_FILTERS if isinstance(node, nodes.Filter) else SAFE_TESTS
            if node.name not in allowed:
                result.errors.append(f"Line {node.lineno}: the {node.name!r} {'filter' if isinstance(node, nodes.Filter) else 'test'} "
                                     f"is not allowed (use {', '.join(allowed)}).")
                return
            if node.kwargs or node.dyn_args or node.dyn_kwargs or not all(isinstance(a, nodes.Const) for a in node.args):
                result.errors.append(f"Line {node.lineno}: {node.name!r} takes only plain values as arguments.")
                return
            for arg in node.args:
                if isinstance(arg.value, int | float) and not isinstance(arg.value, bool) and not 0 <= arg.value <= 1000:
                    result.errors.append(f"Line {node.lineno}: {node.name!r} arguments must be between 0 and 1000.")
                    return
                if isinstance(arg.value, str) and len(arg.value) > 1000:
                    result.errors.append(f"Line {node.lineno}: {node.name!r} arguments are at most 1000 characters.")
                    return
            if node.node is not None:
                visit(node.node)
            return
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            path = _path(node)
            if path is None:
                result.errors.append(f"Line {node.lineno}: only merge fields such as {{{{ contact.first_name }}}} "
                                     f"may be looked up.")
                return
            _field(path, node.lineno)
            return
        if isinstance(node, nodes.Name):
            _field(node.name, node.lineno)
            return
        if isinstance(node, nodes.Const) and isinstance(node.value, str) and len(node.value) > 1000:
            result.errors.append(f"Line {node.lineno}: quoted text is at most 1000 characters.")
            return
        for child in node.iter_child_nodes():
            visit(child)

    def _field(path: str, lineno: int):
        if path in KNOWN:
            if path not in result.fields:
                result.fields.append(path)
        elif path not in result.unknown:
            result.unknown.append(path)

    visit(tree)
    if result.errors:
        return result
    # Belt and braces: every free name jinja itself sees must be a merge root.
    try:
        free = meta.find_undeclared_variables(tree)
    except TemplateSyntaxError as exc:
        result.errors.append(f"Line {exc.lineno}: {exc.message}")
        return result
    for name in sorted(free):
        if name not in FIELDS and not any(u == name or u.startswith(name + ".") for u in result.unknown):
            result.unknown.append(name)
    return result


def field_errors(values: dict[str, str]) -> dict[str, list[str]]:
    """Errors per template field (``subject``, ``body``): unusable syntax and unknown merge fields."""
    errors: dict[str, list[str]] = {}
    for name, source in values.items():
        found = check(source or "")
        msgs = list(found.errors)
        if found.unknown:
            msgs.append("Unknown merge field(s): " + ", ".join("{{ " + u + " }}" for u in found.unknown)
                        + ". Known: " + ", ".join(KNOWN) + ".")
        if msgs:
            errors[name] = msgs
    return errors


# --- rendering ------------------------------------------------------------------------------------


def _bounded(template, context: dict, *, max_steps: int = MAX_STEPS, max_seconds: float = MAX_SECONDS,
             max_output: int = MAX_OUTPUT) -> str:
    """Render with a step budget, a deadline and an output cap (see the module docstring)."""
    steps = 0
    deadline = _time.monotonic() + max_seconds

    def tracer(frame, event, arg):
        nonlocal steps
        steps += 1
        if steps > max_steps:
            raise RenderLimit("The template takes too many steps to render.")
        if steps % 512 == 0 and _time.monotonic() > deadline:
            raise RenderLimit("The template takes too long to render.")
        return tracer

    previous = sys.gettrace()
    out: list[str] = []
    size = 0
    sys.settrace(tracer)
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > max_output:
                raise RenderLimit(f"The rendered text is longer than {max_output} characters.")
            out.append(chunk)
    finally:
        sys.settrace(previous)
    return "".join(out)


def build_context(contact: Contact, sender, *, organization_name: str = "") -> dict:
    """Fresh plain data for one render: strings only, nothing that leads elsewhere."""
    return {
        "contact": _Fields(
            first_name=contact.first_name or "", last_name=contact.last_name or "",
            full_name=f"{contact.first_name or ''} {contact.last_name or ''}".strip(),
            email=contact.email or "", phone=contact.phone or "",
        ),
        "organization": _Fields(name=organization_name or ""),
        "sender": _Fields(name=getattr(sender, "display_name", "") or getattr(sender, "name", "") or "",
                          email=getattr(sender, "email", "") or ""),
    }


@dataclass
class Rendered:
    subject: str = ""
    body: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)  # per field; non-empty means do not send
    missing: list[str] = field(default_factory=list)  # known fields that are empty for this contact

    @property
    def ok(self) -> bool:
        return not self.errors


def render_text(subject: str, body: str, context: dict, *, html: bool = False) -> Rendered:
    """Check and render ``subject`` and ``body`` against ``context`` (from ``build_context``)."""
    result = Rendered(errors=field_errors({"subject": subject, "body": body}))
    used: list[str] = []
    for name, source in (("subject", subject), ("body", body)):
        if name in result.errors:
            continue
        used += [f for f in check(source).fields if f not in used]
        env = TEXT_ENV if name == "subject" or not html else HTML_ENV
        try:
            text = _bounded(env.from_string(source), context)
        except RenderLimit as exc:
            result.errors[name] = [str(exc)]
            continue
        except (SecurityError, UndefinedError) as exc:
            result.errors[name] = [f"Cannot be rendered: {exc.message or exc}"]
            continue
        except TemplateError as exc:
            result.errors[name] = [f"Cannot be rendered: {exc}"]
            continue
        if name == "subject":
            if "\r" in text or "\n" in text:
                result.errors["subject"] = ["The subject has a line break once merged."]
            elif len(text) > MAX_SUBJECT:
                result.errors["subject"] = [f"The subject is longer than {MAX_SUBJECT} characters once merged."]
        setattr(result, name, text)
    result.missing = [f for f in used if not context[f.split(".")[0]].get(f.split(".")[1])]
    return result


def render_for(actor, template: MessageTemplate | dict, contact_id: int, *, html: bool = False) -> Rendered:
    """Render a template (saved, or ``{"subject", "body"}``) for one contact ``actor`` may view.

    This is what the send path uses: it refuses nothing itself, the caller sends only if ``ok``.
    """
    from .preferences import get_contact

    contact = get_contact(actor, contact_id)  # 404 unless the actor may view the contact
    subject = template["subject"] if isinstance(template, dict) else template.subject
    body = template["body"] if isinstance(template, dict) else template.body
    org = contact.organization
    org_name = org.name if org is not None and org.deleted_at is None and can(actor, "organization.view", org) else ""
    return render_text(subject or "", body or "", build_context(contact, actor, organization_name=org_name), html=html)


# --- template use cases -------------------------------------------------------------------------------


def _channels() -> list[str]:
    from .preferences import channel_keys

    return channel_keys()


def clean(actor, data: dict, existing: MessageTemplate | None) -> dict:
    errors: dict = {}
    allowed = {"name", "channel", "subject", "body", "owner_team_id", "version", "csrf_token"}
    for key in sorted(set(data) - allowed):
        errors[key] = "Unknown field."
    for key in ("name", "channel", "subject", "body"):
        if data.get(key) is not None and not isinstance(data[key], str):
            errors[key] = "Must be a string."
    if errors:
        raise ValidationError(errors)
    values = {}
    if existing is None or "name" in data:
        values["name"] = clean_text(data.get("name"), "name", errors, MAX_NAME, required=True)
    if existing is None or "channel" in data:
        values["channel"] = clean_text(data.get("channel"), "channel", errors, 50, required=True)
        if "channel" not in errors and values["channel"] not in _channels():
            errors["channel"] = f"Choose one of: {', '.join(_channels())}."
    if existing is None or "subject" in data:
        values["subject"] = clean_text(data.get("subject"), "subject", errors, MAX_SUBJECT)
    if existing is None or "body" in data:
        raw = "" if data.get("body") is None else str(data["body"]).replace("\r\n", "\n")
        if "\x00" in raw:
            errors["body"] = "Contains a NUL character."
        elif not raw.strip():
            errors["body"] = "This field is required."
        elif len(raw) > MAX_SOURCE:
            errors["body"] = f"At most {MAX_SOURCE} characters (got {len(raw)})."
        values["body"] = raw
    if existing is None or data.get("owner_team_id") not in (None, ""):
        raw_team = data.get("owner_team_id")
        if raw_team in (None, ""):
            teams = writable_teams(actor)
            if len(teams) == 1:
                values["owner_team_id"] = teams[0].id
            else:
                errors["owner_team_id"] = "Choose the team that owns this template."
        else:
            try:
                values["owner_team_id"] = int(raw_team)
                if not 0 < values["owner_team_id"] <= MAX_ID:
                    raise ValueError
            except (TypeError, ValueError):
                errors["owner_team_id"] = "Not a team id."
    for key, msgs in field_errors({k: values[k] for k in ("subject", "body") if k in values and k not in errors}).items():
        errors[key] = msgs
    if errors:
        raise ValidationError(errors)
    return values


def _duplicate(exc: IntegrityError) -> ValidationError:
    return ValidationError({"name": "This team already has a template with this name."})


def list_templates(actor, *, channel: str | None = None) -> list[MessageTemplate]:
    require(actor, "communication_template.list")
    teams = visible_team_ids(actor)
    params = {"teams": list(teams or ()) or [-1], "channel": channel}
    return list(db.session.scalars(_templates_query(teams is not None, bool(channel)), params))


@functools.cache
def _templates_query(by_team: bool, by_channel: bool):
    """``list_templates``'s statement, built once (the Email panel of every contact page asks it)."""
    stmt = select(MessageTemplate).order_by(MessageTemplate.name, MessageTemplate.id)
    if by_team:
        stmt = stmt.where(MessageTemplate.owner_team_id.in_(bindparam("teams", expanding=True)))
    if by_channel:
        stmt = stmt.where(MessageTemplate.channel == bindparam("channel"))
    return stmt.limit(500)


def get_template(actor, template_id: int) -> MessageTemplate:
    tpl = db.session.get(MessageTemplate, template_id) if 0 < template_id <= MAX_ID else None
    if tpl is None:
        raise NotFound("No such template.")
    require(actor, "communication_template.view", tpl)
    return tpl


def create_template(actor, data: dict) -> MessageTemplate:
    require(actor, "communication_template.create")
    values = clean(actor, data, None)
    require(actor, "communication_template.create", Owner(values["owner_team_id"]))
    try:
        with transaction():
            tpl = MessageTemplate(created_by_id=getattr(actor, "id", None), updated_by_id=getattr(actor, "id", None),
                                  **values)
            db.session.add(tpl)
            db.session.flush()
            audit.record(actor, "created", "communication_template", tpl.id,
                         {k: (None, v) for k, v in values.items() if k != "body"})
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return tpl


def update_template(actor, template_id: int, data: dict, expected_version: int | None) -> MessageTemplate:
    tpl = get_template(actor, template_id)
    require(actor, "communication_template.edit", tpl)
    values = clean(actor, data, tpl)
    actor_id = getattr(actor, "id", None)  # before the transaction: loading the user may autoflush
    try:
        with transaction():
            tpl = db.session.get(MessageTemplate, template_id, populate_existing=True)
            if tpl is None:
                raise NotFound("No such template.")
            if expected_version is not None and tpl.version != expected_version:
                theirs = {k: getattr(tpl, k) for k in values if getattr(tpl, k) != values[k]}
                raise Conflict("Someone else changed this template since you opened it; review and save again.",
                               current=tpl, changes=theirs)
            if values.get("owner_team_id", tpl.owner_team_id) != tpl.owner_team_id:
                require(actor, "communication_template.edit", Owner(values["owner_team_id"]))
            changes = {k: (getattr(tpl, k), v) for k, v in values.items() if getattr(tpl, k) != v}
            for key, value in values.items():
                setattr(tpl, key, value)
            if changes:
                tpl.updated_by_id = actor_id
                tpl.updated_at = utcnow()
                db.session.flush()
                audit.record(actor, "updated", "communication_template", tpl.id,
                             {k: ((v[0], v[1]) if k != "body" else ("…", "…")) for k, v in changes.items()})
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return tpl


def delete_template(actor, template_id: int, expected_version: int | None = None) -> None:
    tpl = get_template(actor, template_id)
    require(actor, "communication_template.delete", tpl)
    with transaction():
        tpl = db.session.get(MessageTemplate, template_id, populate_existing=True)
        if tpl is None:
            raise NotFound("No such template.")
        if expected_version is not None and tpl.version != expected_version:
            raise Conflict("Someone else changed this template since you opened it; review it before deleting.",
                           current=tpl)
        audit.record(actor, "deleted", "communication_template", tpl.id,
                     {"name": (tpl.name, None), "channel": (tpl.channel, None)})
        db.session.delete(tpl)


def render_preview(actor, contact_id: int, *, template_id: int | None = None, subject: str | None = None,
                   body: str | None = None) -> Rendered:
    """Preview a saved template, or unsaved ``subject``/``body``, against a contact the actor may view."""
    if template_id is not None:
        tpl = get_template(actor, template_id)
        source = {"subject": tpl.subject if subject is None else subject, "body": tpl.body if body is None else body}
    else:
        require(actor, "communication_template.list")
        source = {"subject": subject or "", "body": body or ""}
    for key, value in source.items():
        if not isinstance(value, str):
            raise ValidationError({key: "Must be a string."})
        if len(value) > MAX_SOURCE:
            raise ValidationError({key: f"At most {MAX_SOURCE} characters."})
    return render_for(actor, source, contact_id)


__all__ = ["check", "render_for", "render_text", "render_preview", "create_template", "update_template",
           "delete_template", "list_templates", "get_template", "RenderLimit", "FIELDS", "KNOWN"]
