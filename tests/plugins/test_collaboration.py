"""The collaboration plugin: notes on a contact, their permissions and their safe rendering."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask_login import FlaskLoginClient
from sqlalchemy import inspect, select

from core import create_app, hookimpl
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.models import Contact
from core.plugins import hook
from core.services import vocabulary
from core.services.pagination import encode_cursor
from plugins.collaboration import services
from plugins.collaboration.models import Note
from plugins.collaboration.render import render_markdown
from tests import factories
from tests.conftest import test_config

HTMX = {"HX-Request": "true"}

# --- rendering ------------------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)">',
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1) )",
    "[click](java&#115;cript:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[ref][x]\n\n[x]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "![img](javascript:alert(1))",
    '![x" onerror="alert(1)](https://example.org/a.png)',
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![data](data:image/png;base64,iVBORw0KGgo=)",
    "[vb](vbscript:msgbox(1))",
    '<div hx-get="/admin" hx-trigger="load">x</div>',
    '<button hx-on:click="alert(1)">x</button>',
    '<span data-hx-post="/x" hx-on="click: alert(1)">x</span>',
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    "<!-- comment --><p onclick=alert(1)>x</p>",
    "<details open ontoggle=alert(1)>",
    '[x](https://example.org "title\\" onmouseover=\\"alert(1)")',
    "<form action=javascript:alert(1)><input type=submit></form>",
    "```html\n<script>alert(1)</script>\n```",
    "    <script>alert(1)</script>",
    "<a href='//evil.example'>x</a> [rel](//evil.example) [local](/admin)",
]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def assert_inert(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered and "<iframe" not in lowered and "<style" not in lowered
    # Inside any tag: no event handlers, no htmx attributes, no javascript: (text may mention them, escaped).
    for tag in re.findall(r"<[^>]*>", lowered):
        assert not re.search(r"\s(on\w+|hx-[\w:-]*|data-hx-[\w:-]*)\s*=", tag), tag
        assert "javascript:" not in tag and "data:" not in tag and "vbscript:" not in tag, tag
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in {"p", "a", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "br", "hr",
                       "h1", "h2", "h3", "h4", "h5", "h6"}, tag
        for name, value in attrs:
            assert not name.startswith(("on", "hx-", "data-")), name
            if name == "href":
                assert value.split(":", 1)[0] in ("http", "https", "mailto"), value
            if tag == "a" and name == "rel":
                assert value == "noopener noreferrer nofollow"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_come_out_inert(payload):
    html = str(render_markdown(payload))
    assert_inert(html)


def test_all_payloads_at_once_are_inert():
    assert_inert(str(render_markdown("\n\n".join(PAYLOADS))))


def test_ordinary_markdown_renders():
    html = str(render_markdown(
        "# Title\n\n*em* and **strong** and `code`\n\n- one\n- two\n\n1. first\n\n"
        "> quoted\n\n[site](https://example.org/a?b=1) <mailto:ada@example.org>\n\n```\nx < 1\n```"
    ))
    assert "<h1>Title</h1>" in html
    assert "<em>em</em>" in html and "<strong>strong</strong>" in html and "<code>code</code>" in html
    assert "<ul>\n<li>one</li>" in html and "<ol>\n<li>first</li>" in html and "<blockquote>" in html
    assert '<a href="https://example.org/a?b=1" rel="noopener noreferrer nofollow">site</a>' in html
    assert 'href="mailto:ada@example.org"' in html
    assert "<pre><code>x &lt; 1\n</code></pre>" in html


def test_images_become_links_and_text_is_escaped():
    html = str(render_markdown("![a <b>](https://example.org/p.png) 1 < 2 & 3"))
    assert '<a href="https://example.org/p.png" rel="noopener noreferrer nofollow">a &lt;b&gt;</a>' in html
    assert "<img" not in html and "1 &lt; 2 &amp; 3" in html


def test_render_markdown_is_a_template_global(app):
    assert app.jinja_env.globals["render_markdown"] is render_markdown
    assert render_markdown(None) == ""


# --- services and pages ---------------------------------------------------------------------


def tid(team) -> int:
    return inspect(team).identity[0]


def make_contact(app, team) -> int:
    with app.app_context():
        return factories.contact(db.session.merge(team)).id


def add(app, actor, contact_id, body="A *note*"):
    with app.test_request_context():
        return services.add_note(actor, contact_id, body).id


def test_add_and_list_notes(app, member_client, member, team):
    cid = make_contact(app, team)
    response = member_client.post(f"/collaboration/contacts/{cid}/notes", data={"body": "Met **Ada** <script>x</script>"},
                                  headers=HTMX)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "contact-changed"
    assert b"Met <strong>Ada</strong> &lt;script&gt;" in response.data
    assert b'name="body"' in response.data and b"<html" not in response.data
    panel = member_client.get(f"/collaboration/contacts/{cid}/notes")
    assert panel.status_code == 200 and b"<strong>Ada</strong>" in panel.data
    assert member.display_name.encode() in panel.data and b"Edit" in panel.data
    with app.app_context():
        (note,) = db.session.scalars(select(Note)).all()
        assert (note.contact_id, note.author_id, note.version, note.body) == (
            cid, member.id, 1, "Met **Ada** <script>x</script>")


@pytest.mark.parametrize("body, message", [("", b"Write something"), ("   \n ", b"Write something"),
                                           ("x" * 20_001, b"At most 20,000"), ("a\x00b", b"NUL")])
def test_bad_body_is_422_naming_the_field(app, member_client, team, body, message):
    cid = make_contact(app, team)
    response = member_client.post(f"/collaboration/contacts/{cid}/notes", data={"body": body}, headers=HTMX)
    assert response.status_code == 422
    assert b'class="field-error"' in response.data and message in response.data
    assert b'aria-invalid="true"' in response.data


def test_longest_note_is_accepted(app, member, team):
    cid = make_contact(app, team)
    assert add(app, member, cid, "y" * 20_000)


def test_viewer_reads_but_cannot_write(app, viewer_client, viewer, member, team):
    cid = make_contact(app, team)
    nid = add(app, member, cid)
    panel = viewer_client.get(f"/collaboration/contacts/{cid}/notes")
    assert panel.status_code == 200 and b"<em>note</em>" in panel.data
    assert b'name="body"' not in panel.data and b"Edit" not in panel.data
    assert viewer_client.post(f"/collaboration/contacts/{cid}/notes", data={"body": "hi"}).status_code == 403
    assert viewer_client.post(f"/collaboration/notes/{nid}", data={"body": "x", "version": 1}).status_code == 403
    assert viewer_client.post(f"/collaboration/notes/{nid}/delete").status_code == 403
    with app.test_request_context(), pytest.raises(PermissionDenied):
        services.add_note(viewer, cid, "nope")


def test_outsider_gets_404_everywhere(app, outsider_client, outsider, member, team):
    cid = make_contact(app, team)
    nid = add(app, member, cid)
    assert outsider_client.get(f"/collaboration/contacts/{cid}/notes").status_code == 404
    assert outsider_client.post(f"/collaboration/contacts/{cid}/notes", data={"body": "x"}).status_code == 404
    assert outsider_client.get(f"/collaboration/notes/{nid}").status_code == 404
    assert outsider_client.get(f"/collaboration/notes/{nid}/edit").status_code == 404
    assert outsider_client.post(f"/collaboration/notes/{nid}", data={"body": "x", "version": 1}).status_code == 404
    assert outsider_client.post(f"/collaboration/notes/{nid}/delete").status_code == 404
    assert outsider_client.get("/collaboration/contacts/2147483647/notes").status_code == 404
    with app.test_request_context(), pytest.raises(NotFound):
        services.list_notes(outsider, cid)


def test_edit_own_note_with_version_check(app, member_client, member, team):
    cid = make_contact(app, team)
    nid = add(app, member, cid, "first")
    form = member_client.get(f"/collaboration/notes/{nid}/edit")
    assert form.status_code == 200 and b'name="version" value="1"' in form.data and b">first</textarea>" in form.data
    saved = member_client.post(f"/collaboration/notes/{nid}", data={"body": "second _take_", "version": "1"})
    assert saved.status_code == 200 and b"second <em>take</em>" in saved.data and b"(edited)" in saved.data
    assert saved.headers["HX-Trigger"] == "contact-changed"
    stale = member_client.post(f"/collaboration/notes/{nid}", data={"body": "third", "version": "1"})
    assert stale.status_code == 409
    assert b"Someone else changed this note" in stale.data and b">third</textarea>" in stale.data
    assert b'name="version" value="2"' in stale.data and b"second <em>take</em>" in stale.data
    bad = member_client.post(f"/collaboration/notes/{nid}", data={"body": "third"})
    assert bad.status_code == 422 and b"Missing or not a number" in bad.data
    empty = member_client.post(f"/collaboration/notes/{nid}", data={"body": "", "version": "2"})
    assert empty.status_code == 422 and b"Write something" in empty.data
    assert member_client.get(f"/collaboration/notes/{nid}").data.count(b"second <em>take</em>") == 1
    with app.app_context():
        assert db.session.get(Note, nid).body == "second _take_"


def test_only_author_or_admin_edits_and_deletes(app, client_for, admin_client, member, team):
    cid = make_contact(app, team)
    nid = add(app, member, cid, "mine")
    with app.app_context():
        colleague = factories.user("member", [db.session.merge(team)])
        db.session.refresh(colleague)
        _ = colleague.teams
        db.session.expunge_all()
    other = client_for(colleague)
    assert other.get(f"/collaboration/notes/{nid}").status_code == 200
    assert other.get(f"/collaboration/notes/{nid}/edit").status_code == 403
    assert other.post(f"/collaboration/notes/{nid}", data={"body": "x", "version": 1}).status_code == 403
    assert other.post(f"/collaboration/notes/{nid}/delete").status_code == 403
    assert b"Edit" not in other.get(f"/collaboration/notes/{nid}").data
    assert admin_client.post(f"/collaboration/notes/{nid}", data={"body": "by admin", "version": 1}).status_code == 200
    assert admin_client.post(f"/collaboration/notes/{nid}/delete").status_code == 200


def test_delete_own_note(app, member_client, member, team):
    cid = make_contact(app, team)
    nid = add(app, member, cid, "to be removed")
    response = member_client.post(f"/collaboration/notes/{nid}/delete", headers=HTMX)
    assert response.status_code == 200 and response.data == b"" and response.headers["HX-Trigger"] == "contact-changed"
    assert b"to be removed" not in member_client.get(f"/collaboration/contacts/{cid}/notes").data
    assert member_client.get(f"/collaboration/notes/{nid}").status_code == 404
    with app.app_context():
        assert db.session.get(Note, nid).deleted_at is not None  # soft


def test_notes_newest_first_with_load_more(app, member_client, member, team):
    cid = make_contact(app, team)
    for n in range(25):
        add(app, member, cid, f"note number {n}")
    first = member_client.get(f"/collaboration/contacts/{cid}/notes")
    bodies = re.findall(rb"note number (\d+)", first.data)
    assert bodies == [str(n).encode() for n in range(24, 4, -1)] and b"Load more" in first.data
    cursor = re.search(rb"cursor=([\w-]+)", first.data).group(1).decode()
    rest = member_client.get(f"/collaboration/contacts/{cid}/notes?cursor={cursor}", headers=HTMX)
    assert re.findall(rb"note number (\d+)", rest.data) == [b"4", b"3", b"2", b"1", b"0"]
    assert b"Load more" not in rest.data and b'name="body"' not in rest.data
    for bad in ("nonsense!", encode_cursor([2**40])):
        broken = member_client.get(f"/collaboration/contacts/{cid}/notes?cursor={bad}")
        assert broken.status_code == 422 and b"cursor" in broken.data


class Spy:
    def __init__(self):
        self.calls = []

    @hookimpl
    def contacts_record_changed(self, entity_type, entity_id, action, actor, changes):
        self.calls.append((entity_type, entity_id, action, getattr(actor, "id", None), dict(changes)))


def test_changes_are_announced_after_commit(app, member, team):
    cid = make_contact(app, team)
    spy = Spy()
    pm = app.extensions["contacts_pm"]
    pm.register(spy, name="spy")
    try:
        with app.test_request_context():
            note = services.add_note(member, cid, "one")
            services.update_note(member, note.id, "two", 1)
            services.update_note(member, note.id, "two", 2)  # unchanged: nothing to announce
            services.delete_note(member, note.id)
            nid = note.id
    finally:
        pm.unregister(spy)
    assert spy.calls == [
        ("note", nid, "created", member.id, {"contact_id": (None, cid)}),
        ("note", nid, "updated", member.id, {"contact_id": (cid, cid), "body": ("one", "two")}),
        ("note", nid, "deleted", member.id, {"contact_id": (cid, cid)}),
    ]


def test_service_errors(app, member, team):
    cid = make_contact(app, team)
    nid = add(app, member, cid)
    with app.test_request_context():
        with pytest.raises(ValidationError) as exc:
            services.update_note(member, nid, "x", "abc")
        assert "version" in exc.value.errors
        with pytest.raises(ValidationError):
            services.update_note(member, nid, "x", 2**40)
        with pytest.raises(Conflict) as conflict:
            services.update_note(member, nid, "x", 7)
        assert conflict.value.changes == {"body": ("x", "A *note*")}
        with pytest.raises(ValidationError):
            services.list_notes(member, cid, limit=0)
        with pytest.raises(NotFound):
            services.get_note(member, 2147483647)


def test_notes_on_trashed_contact_are_hidden(app, member_client, member, team):
    cid = make_contact(app, team)
    add(app, member, cid)
    with app.test_request_context():
        from core.services.contacts import delete_contact

        delete_contact(member, cid)
    assert member_client.get(f"/collaboration/contacts/{cid}/notes").status_code == 404


def test_merge_repoints_notes(app, member, team):
    source, target = make_contact(app, team), make_contact(app, team)
    nid = add(app, member, source)
    with app.test_request_context():
        hook().contacts_contacts_merged(
            target=db.session.get(Contact, target), source=db.session.get(Contact, source), actor=member
        )
        assert db.session.get(Note, nid).contact_id == target
        assert [n.id for n in services.list_notes(member, target).items] == [nid]


def test_unmerge_puts_notes_back(app, member, team):
    source, target = make_contact(app, team), make_contact(app, team)
    moved = [add(app, member, source, "first"), add(app, member, source, "second")]
    own = add(app, member, target, "the target's own")
    with app.test_request_context():
        t, s = db.session.get(Contact, target), db.session.get(Contact, source)
        undo = {k: v for a in hook().contacts_contacts_merged(target=t, source=s, actor=member) for k, v in a.items()}
        assert undo["collaboration"] == {"notes": sorted(moved)}
        db.session.commit()
    with app.test_request_context():
        services.delete_note(member, moved[0])  # soft delete since: still a row, it goes back too
        db.session.execute(Note.__table__.delete().where(Note.id == moved[0]))  # and then gone for good
        db.session.commit()
        t, s = db.session.get(Contact, target), db.session.get(Contact, source)
        for _ in range(2):  # idempotent
            hook().contacts_contacts_unmerged(target=t, source=s, actor=member, undo=undo)
        db.session.commit()
        rows = sorted(db.session.execute(select(Note.id, Note.contact_id)).all())
        assert rows == sorted([(moved[1], source), (own, target)])
        hook().contacts_contacts_unmerged(target=t, source=s, actor=member, undo={"elsewhere": {"notes": [own]}})
        assert db.session.get(Note, own).contact_id == target


def test_panel_and_permission_hooks(app, member, team):
    cid = make_contact(app, team)
    with app.test_request_context():
        contact = db.session.get(Contact, cid)
        panels = [p for ps in hook().contacts_contact_panels(contact=contact, user=member) for p in ps or []]
        assert any(p.key == "notes" and p.url == f"/collaboration/contacts/{cid}/notes" for p in panels)
        declared = {k for d in hook().contacts_permissions() for k in (d or {})}
        assert {"note.view", "note.create", "note.edit", "note.delete"} <= declared
        note = Note(contact_id=cid, author_id=member.id, body="x")
        note.contact = contact
        assert hook().contacts_permission(user=member, action="note.create", obj=note) is True
        assert hook().contacts_permission(user=member, action="note.frobnicate", obj=note) is False


def test_app_works_without_collaboration(app, tmp_path_factory):
    other = create_app(test_config(tmp_path_factory), plugins=["monitoring"])
    other.test_client_class = FlaskLoginClient
    assert "collaboration" not in other.blueprints and "render_markdown" not in other.jinja_env.globals
    with other.app_context():
        db.create_all()
        vocabulary.ensure_defaults()
        team = factories.team("Solo")
        user = factories.user("member", [team])
        cid = factories.contact(team).id
        client = other.test_client(user=user)
        assert client.get(f"/collaboration/contacts/{cid}/notes").status_code == 404
        assert client.get(f"/monitoring/contacts/{cid}/activity").status_code == 200
        db.session.remove()
        db.engine.dispose()


def test_adding_a_note_needs_the_csrf_header(app, tmp_path_factory):
    guarded = create_app(test_config(tmp_path_factory, WTF_CSRF_ENABLED=True), plugins=["collaboration"])
    guarded.test_client_class = FlaskLoginClient
    with guarded.app_context():
        db.create_all()
        vocabulary.ensure_defaults()
        team = factories.team("Guarded")
        user = factories.user("member", [team])
        cid = factories.contact(team).id
        client = guarded.test_client(user=user)
        url = f"/collaboration/contacts/{cid}/notes"
        assert client.post(url, data={"body": "no token"}, headers=HTMX).status_code == 400
        token = re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
        assert client.post(url, data={"body": "with token"}, headers={**HTMX, "X-CSRFToken": token}).status_code == 200
        assert [n.body for n in db.session.scalars(select(Note))] == ["with token"]
        db.session.remove()
        db.engine.dispose()
