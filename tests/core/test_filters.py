"""The filter builder's grammar: every operator of every core field, OR groups, plugin filters as
fields, bad input (a clear 422 naming ``f``, never a 500), the URL round trip, and keyset pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ValidationError
from core.extensions import db
from core.models import Contact, User, utcnow
from core.plugins import hookimpl
from core.services import contacts as service
from core.services import filters
from core.services.list_query import ListQuery, count
from core.ui import SearchFilter
from tests import factories


def _user(u):
    db.session.commit()  # end the read snapshot: the user fixture committed in another session
    return db.session.get(User, u.id)


@pytest.fixture
def people(ctx, team, other_team):
    t = db.session.merge(team)
    acme = factories.organization(t, "Acme Corp")
    globex = factories.organization(t, "Globex")
    made = {
        "ada": factories.contact(t, "Ada", "Lovelace", email="ada@acme.example", phone="+442079460958",
                                 organization_id=acme.id),
        "grace": factories.contact(t, "Grace", "Hopper", email="grace@navy.example", status="lead",
                                   organization_id=globex.id),
        "alan": factories.contact(t, "Alan", "Turing", type="customer"),
        "old": factories.contact(t, "Old", "Timer", email="old@acme.example", status="inactive"),
        "hidden": factories.contact(db.session.merge(other_team), "Hidden", "Person", email="h@acme.example"),
    }
    old = made["old"]
    old.created_at = old.updated_at = utcnow() - timedelta(days=400)
    db.session.commit()
    ids = {k: v.id for k, v in made.items()} | {"acme": acme.id, "globex": globex.id, "team_id": t.id}
    db.session.commit()  # no read snapshot left open: users and clients made after this must be seen
    return ids


def names(actor, args):
    query = ListQuery.from_args(args)
    page = service.list_contacts(actor, **query.statement_kwargs(actor))
    return sorted(c.first_name for c in page.items)


CASES = [
    (["name.words.love"], ["Ada"]),
    (["name.words.HOP gr"], ["Grace"]),  # every word starts a word of the name, any order
    (["name.words.ove"], []),  # inside a word: not what "has words starting with" finds
    (["name.contains.love"], ["Ada"]),  # an older link's "contains" is read as "words"
    (["name.starts.hop"], ["Grace"]),
    (["name.starts.HOPPER GR"], ["Grace"]),
    (["email.is.ADA@acme.example"], ["Ada"]),
    (["email.isnot.ada@acme.example"], ["Alan", "Grace", "Old"]),
    (["email.words.acme"], ["Ada", "Old"]),
    (["email.words.acme.example"], ["Ada", "Old"]),
    (["email.words.navy gra"], ["Grace"]),
    (["email.words.cme"], []),
    (["email.starts.gra"], ["Grace"]),
    (["email.empty"], ["Alan"]),
    (["email.notempty"], ["Ada", "Grace", "Old"]),
    (["phone.is.+44 20 7946 0958"], ["Ada"]),
    (["phone.isnot.+442079460958"], ["Alan", "Grace", "Old"]),
    (["phone.contains.7946"], ["Ada"]),
    (["phone.contains.0958"], ["Ada"]),  # the index holds every suffix: any 3+ consecutive digits
    (["phone.contains.2079460958"], ["Ada"]),
    (["phone.contains.58"], ["Ada"]),  # fewer than 3 digits: the scan
    (["phone.contains.4420794609581"], []),
    (["phone.starts.44"], ["Ada"]),
    (["phone.empty"], ["Alan", "Grace", "Old"]),
    (["phone.notempty"], ["Ada"]),
    (["organization.contains.cme"], ["Ada"]),
    (["organization.starts.glo"], ["Grace"]),
    (["organization.empty"], ["Alan", "Old"]),
    (["organization.notempty"], ["Ada", "Grace"]),
    (["type.is.customer"], ["Alan"]),
    (["type.isnot.customer"], ["Ada", "Grace", "Old"]),
    (["status.is.lead"], ["Grace"]),
    (["status.isnot.active"], ["Grace", "Old"]),
    (["created.last.30"], ["Ada", "Alan", "Grace"]),
    (["updated.last.30"], ["Ada", "Alan", "Grace"]),
    (["created.before." + (utcnow() - timedelta(days=30)).strftime("%Y-%m-%d")], ["Old"]),
    (["created.after." + (utcnow() - timedelta(days=30)).strftime("%Y-%m-%d")], ["Ada", "Alan", "Grace"]),
    # AND inside a group, OR between groups: (acme AND active) OR (status lead)
    (["email.contains.acme", "status.is.active", "or", "status.is.lead"], ["Ada", "Grace"]),
    (["email.contains.acme", "or", "type.is.customer", "or", "name.starts.hopper"], ["Ada", "Alan", "Grace", "Old"]),
    ([], ["Ada", "Alan", "Grace", "Old"]),
    (["or", "or", "status.is.lead", "or"], ["Grace"]),
]


@pytest.mark.parametrize(("args", "expected"), CASES)
def test_every_operator_and_groups(people, member, args, expected):
    assert names(_user(member), {"f": args} if args else {}) == expected


def test_choice_fields_by_id(people, member, team):
    actor = _user(member)
    assert names(actor, {"f": [f"organization.is.{people['acme']}"]}) == ["Ada"]
    assert names(actor, {"f": [f"organization.isnot.{people['acme']}"]}) == ["Alan", "Grace", "Old"]
    assert names(actor, {"f": [f"team.is.{team.id}"]}) == ["Ada", "Alan", "Grace", "Old"]
    assert names(actor, {"f": [f"team.isnot.{team.id}"]}) == []


def test_filters_add_to_the_other_list_parameters(people, member):
    actor = _user(member)
    assert names(actor, {"q": "ada", "f": ["email.contains.acme"]}) == ["Ada"]
    assert names(actor, {"status": "active", "f": ["email.contains.acme", "or", "type.is.customer"]}) == ["Ada", "Alan"]


BAD = [
    ("nosuch.is.x", "Unknown filter field"),
    ("status.contains.x", "cannot be filtered with 'contains'"),
    ("status.is", "give a value"),
    ("status.is.nosuch", "Choose one of"),
    ("type.is.x" + "y" * 300, "too long"),
    ("created.last.abc", "number of days"),
    ("created.last.0", "number of days"),
    ("created.before.31/12/2020", "YYYY-MM-DD"),
    ("created.after.9999-12-31", "YYYY-MM-DD"),
    ("phone.is.not a phone", "Phone"),
    ("phone.contains.abc", "digits"),
    ("organization.is.999999", "No such organization"),
    ("organization.is.abc", "No such organization"),
    ("team.is.99999", "Choose one of your teams"),
    ("email.", "cannot be filtered"),
]


@pytest.mark.parametrize(("arg", "message"), BAD)
def test_bad_conditions_are_refused_naming_f(people, member, arg, message):
    actor = _user(member)
    with pytest.raises(ValidationError) as caught:
        ListQuery.from_args({"f": [arg]}).statement_kwargs(actor)
    assert list(caught.value.errors) == ["f"]
    assert message in caught.value.errors["f"][0]


def test_too_many_conditions_or_groups(people, member):
    with pytest.raises(ValidationError):
        ListQuery.from_args({"f": ["email.empty"] * (filters.MAX_CONDITIONS + 1)})
    with pytest.raises(ValidationError) as caught:
        ListQuery.from_args({"f": ["email.empty", "or"] * (filters.MAX_GROUPS + 1)})
    assert "OR groups" in caught.value.errors["f"][0]


def test_other_teams_organizations_and_teams_are_not_offered_or_accepted(people, outsider):
    actor = _user(outsider)
    with pytest.raises(ValidationError):
        ListQuery.from_args({"f": [f"organization.is.{people['acme']}"]}).statement_kwargs(actor)
    assert names(actor, {"f": ["email.contains.acme"]}) == ["Hidden"]


def test_the_url_form_round_trips_and_is_canonical(ctx):
    query = ListQuery.from_args({"f": ["or", "status.is.lead", "email.words.a.b.c", "or", "or", "phone.empty.x"],
                                 "q": "ada"})
    assert query.filter.args() == ["status.is.lead", "email.words.a.b.c", "or", "phone.empty"]
    assert query.string() == "q=ada&f=status.is.lead&f=email.words.a.b.c&f=or&f=phone.empty"
    again = ListQuery.from_string(query.string())
    assert again.filter.args() == query.filter.args() and again.q == "ada"


def test_builder_rows_become_the_filter(ctx):
    rows, ok = filters.from_rows({
        "r0_field": "status", "r0_op": "is", "r0_value": "lead", "r0_group": "0",
        "r1_field": "email", "r1_op": "empty", "r1_group": "0",
        "r3_field": "type", "r3_op": "is", "r3_value": "customer", "r3_group": "4",
    })
    assert ok
    assert filters.Filter(rows).args() == ["status.is.lead", "email.empty", "or", "type.is.customer"]
    rows, ok = filters.from_rows({"r0_field": "status", "r0_op": "starts", "r0_value": "x"})
    assert not ok and "cannot be filtered" in rows[0].error


def test_keyset_pages_walk_a_filtered_or_list(people, member):
    actor = _user(member)
    for i in range(7):
        factories.contact(actor.teams[0], "Bulk", f"Person{i:02}", status="lead")
    query = ListQuery.from_args({"f": ["status.is.lead", "or", "type.is.customer"]})
    seen, cursor = [], None
    while True:
        page = service.list_contacts(actor, limit=3, cursor=cursor, **query.statement_kwargs(actor))
        seen.extend(c.last_name for c in page.items)
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 9
    assert seen == sorted(seen, key=str.lower)


class ListFilterPlugin:
    """A plugin filter the old way (apply only) and one with operators and a condition."""

    @hookimpl
    def contacts_search_filters(self):
        def vip(stmt, value):
            if value not in ("yes", "no"):
                raise ValidationError({"vip": "Say yes or no."})
            return stmt.where(Contact.status == "lead") if value == "yes" else stmt.where(Contact.status != "lead")

        def initial(op, value):
            return Contact.first_name.like(value + "%") if op == "starts" else Contact.first_name == value

        return [
            SearchFilter("vip", "VIP", apply=vip, options=lambda user: [("yes", "Yes"), ("no", "No")]),
            SearchFilter("first", "First name", apply=lambda s, v: s, kind="text", operators=("is", "starts"),
                         condition=initial),
        ]


@pytest.fixture
def plugin_filters(app):
    pm = app.extensions["contacts_pm"]
    plugin = ListFilterPlugin()
    pm.register(plugin, name="test-list-filters")
    yield
    pm.unregister(plugin)


def test_plugin_filters_are_fields(people, member, plugin_filters):
    actor = _user(member)
    fields = filters.available_fields()
    assert fields["vip"].operators == ("is",) and fields["first"].operators == ("is", "starts")
    assert names(actor, {"f": ["vip.is.yes"]}) == ["Grace"]
    assert names(actor, {"f": ["vip.is.yes", "or", "first.starts.Al"]}) == ["Alan", "Grace"]
    assert names(actor, {"f": ["first.is.Ada"]}) == ["Ada"]
    with pytest.raises(ValidationError) as caught:
        ListQuery.from_args({"f": ["vip.is.maybe"]}).statement_kwargs(actor)
    assert caught.value.errors == {"f": ["VIP: Say yes or no."]}
    with pytest.raises(ValidationError):
        ListQuery.from_args({"f": ["vip.isnot.yes"]})
    assert names(actor, {"vip": "no"}) == ["Ada", "Alan", "Old"]  # the toolbar's select still works


def test_the_lazy_count_is_capped(people, member):
    actor = _user(member)
    assert count(actor, ListQuery.from_args({"f": ["email.contains.acme"]})) == (2, False)
    assert count(actor, ListQuery(), cap=3) == (3, True)
    assert count(actor, ListQuery(), cap=4) == (4, False)


def test_count_fragment_and_builder_fragment(people, member_client):
    response = member_client.get("/contacts/count?f=email.contains.acme")
    assert response.status_code == 200 and "2 matching" in response.get_data(as_text=True)
    response = member_client.get("/contacts/count?f=status.starts.x")
    assert response.status_code == 200 and "matching" not in response.get_data(as_text=True)
    response = member_client.get("/contacts/filter-builder?r0_field=status&r0_op=contains&add=1")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="r0_op"' in body and 'value="is" selected' in body  # the operator fitted to the field
    assert 'name="r1_field"' in body and "Or all of" in body


def test_list_page_filters_and_pushes_the_compact_url(people, member_client):
    response = member_client.get(
        "/?b=1&r0_field=email&r0_op=words&r0_value=acme&r0_group=0&r1_field=status&r1_op=is&r1_value=lead&r1_group=1",
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == "/?f=email.words.acme&f=or&f=status.is.lead"
    assert "Lovelace" in body and "Hopper" in body and "Turing" not in body
    assert 'hx-swap-oob="true"' in body and 'value="email.words.acme"' in body
    page = member_client.get("/?f=email.words.acme&f=or&f=status.is.lead").get_data(as_text=True)
    assert "Lovelace" in page and "Hopper" in page and "Turing" not in page
    assert 'name="r0_value" type="text" value="acme"' in page


def _filter_row_errors(body: str) -> list[str]:
    """The messages shown beside a condition of the builder (in its row, after its field)."""
    return re.findall(r'<div class="filter-row" data-row="\d+">(?:(?!</div>).)*?<p class="field-error" role="alert">'
                      r'([^<]*)</p>', body, re.S)


def test_list_page_shows_a_bad_filter_once_beside_its_field(people, member_client):
    """Once: beside the condition's field, not again below the builder nor above the rows (which
    say where to look). A problem no condition holds is shown once, below the builder."""
    response = member_client.get("/?f=status.is.nosuch")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    (message,) = _filter_row_errors(body)
    assert message.startswith("Status: Choose one of") and body.count(message) == 1
    assert 'id="filter-error"' not in body and "Fix the filter above" in body
    response = member_client.get("/?b=1&r0_field=created&r0_op=last&r0_value=x&r0_group=0", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and body.count("number of days") == 1
    assert "number of days" in _filter_row_errors(body)[0]
    assert "HX-Push-Url" not in response.headers
    response = member_client.get("/?f=%00.is.x")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and _filter_row_errors(body) == []
    (message,) = re.findall(r'<p class="error" role="alert" id="filter-error">([^<]*)</p>', body)
    assert message and body.count(message) == 1


def test_api_list_takes_the_filter(people, app, member):
    from tests.core.test_api_contacts import Api, make_token

    api = Api(app, make_token(app, member))
    response = api.get("/api/v1/contacts?f=email.contains.acme&f=or&f=type.is.customer")
    assert response.status_code == 200
    assert sorted(c["first_name"] for c in response.json["items"]) == ["Ada", "Alan", "Old"]
    response = api.get("/api/v1/contacts?f=status.like.x")
    assert response.status_code == 422 and "f" in response.json["errors"]["query"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.text(max_size=30),
    st.builds(lambda f, o, v: f"{f}.{o}.{v}", st.sampled_from([*(f.key for f in filters.CORE_FIELDS), "x"]),
              st.sampled_from([*filters.OPERATORS, "or", ""]), st.text(max_size=20)),
), max_size=6))
def test_any_filter_answers_200_or_422_never_500(member_client, args):
    response = member_client.get("/", query_string={"f": args})
    assert response.status_code in (200, 422)
    count = member_client.get("/contacts/count", query_string={"f": args})
    assert count.status_code == 200


@pytest.mark.parametrize("arg", ["name.words.hop", "email.words.navy", "phone.contains.7946"])
def test_word_and_digit_conditions_use_the_search_index(people, member, arg):
    from sqlalchemy import text as sql_text

    actor = _user(member)
    query = ListQuery.from_args({"f": [arg]})
    stmt = service.contacts_statement(actor, **query.statement_kwargs(actor)).order_by(Contact.sort_name, Contact.id)
    bind = db.session.get_bind()
    compiled = stmt.compile(bind, compile_kwargs={"render_postcompile": True})
    if bind.dialect.name == "sqlite":
        params = tuple(compiled.params[k] for k in compiled.positiontup)
        plan = " | ".join(r[3] for r in db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params))
        table = "contacts_phone_fts" if arg.startswith("phone") else "contacts_fts"  # phones: an index of their own
        assert f" {table} VIRTUAL TABLE" in plan, plan
        # a rare word: its hits are read and sorted, not checked along the whole sort index
        assert "deleted_at=?" not in plan and "USE TEMP B-TREE FOR ORDER BY" in plan, plan
    else:  # with a few thousand rows and their statistics, as the planner would see a real table
        db.session.execute(sql_text(
            "INSERT INTO contacts (first_name, last_name, sort_name, email, email_key, phone, type, status, "
            "owner_team_id, version, created_at, updated_at) SELECT 'p' || g, 'q' || g, 'q' || g, NULL, NULL, "
            "'+1555' || lpad(g::text, 7, '0'), 'person', 'active', :t, 1, now(), now() "
            "FROM generate_series(1, 5000) AS g"), {"t": people["team_id"]})
        for index in ("ix_contacts_search", "ix_contacts_search_phone"):  # as autovacuum would have
            db.session.execute(sql_text(f"SELECT gin_clean_pending_list('{index}'::regclass)"))
        db.session.execute(sql_text("ANALYZE contacts"))
        compiled = stmt.compile(bind, compile_kwargs={"render_postcompile": True})
        plan = " | ".join(db.session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
        # the full-text GIN (ix_contacts_search, _phone) or, for a name, the trigram one (pg_trgm serves
        # the word-start regular expression too); never a scan of contacts
        assert "ix_contacts_search" in plan or "ix_contacts_name_trgm" in plan, plan
        assert "Seq Scan on contacts" not in plan and "~~" not in plan, plan


def _walked(actor, arg: str, limit: int = 2) -> list[str]:
    """Every name a condition lists, page by page."""
    seen, cursor = [], None
    while True:
        query = ListQuery.from_args({"f": [arg]})
        page = service.list_contacts(actor, limit=limit, cursor=cursor, **query.statement_kwargs(actor))
        seen += [c.full_name for c in page.items]
        if not (cursor := page.next_cursor):
            return seen


def test_very_common_words_are_checked_row_by_row_with_the_same_answer(ctx, member, team, monkeypatch):
    """A very common word (search.COMMON_HITS) is checked on each row the list walks in sort order
    (SQLite: GLOB for an ASCII text, FTS5 for that row alone for another) instead of against all its
    hits; case, accents, word starts, phone digits and paging answer as for a rare word."""
    from core.services import search, word_filters

    t = db.session.merge(team)
    for first, last, email, phone in [
        ("José", "Núñez", "jose@mail.example", "+15550100"), ("Jose", "Smith", "JOSE.S@gmail.example", "+15505550"),
        ("Ana", "Josephs", "ana@gmail.example", ""), ("Bo", "Majose", "bo@jose.example", "+4420555"),
        ("Zoë", "Gmailson", "zoe@gmail.example", ""), ("Li", "Wei", "li@gmailer.example", "+1202")]:
        factories.contact(t, first, last, email=email, phone=phone)
    db.session.commit()
    actor = _user(member)
    conditions = ["name.words.jose", "name.words.JOS nu", "name.words.zoe", "email.words.gmail",
                  "email.words.gmail jose", "name.words.j", "name.words.ose", "phone.contains.555"]
    answers = {}
    for common in (10**9, 1):
        monkeypatch.setattr(search, "COMMON_HITS", common)
        answers[common] = {arg: _walked(actor, arg) for arg in conditions}
    assert answers[1] == answers[10**9]
    assert answers[1]["name.words.jose"] == ["Ana Josephs", "José Núñez", "Jose Smith"]
    assert answers[1]["name.words.zoe"] == ["Zoë Gmailson"]
    assert answers[1]["email.words.gmail"] == ["Zoë Gmailson", "Ana Josephs", "Jose Smith", "Li Wei"]
    assert answers[1]["email.words.gmail jose"] == ["Jose Smith"]
    assert answers[1]["name.words.ose"] == []
    assert answers[1]["phone.contains.555"] == ["Bo Majose", "José Núñez", "Jose Smith"]  # any run of digits
    if db.session.get_bind().dialect.name == "sqlite":
        def sql(field, words):
            return str(word_filters._sqlite(field, words).compile(compile_kwargs={"literal_binds": True}))

        assert "rowid = contacts.id" in sql("email", ["gmail"]) and " IN (SELECT rowid" not in sql("email", ["gmail"])
        assert " IN (SELECT rowid" in sql("name", ["j"])  # one letter: FTS5 has no index for it
        assert " IN (SELECT rowid" in sql("name", ["zoë"])  # GLOB does not fold this
        with word_filters.all_hits():  # the lazy count reads 20 pages' worth: all the hits at once
            assert " IN (SELECT rowid" in sql("email", ["gmail"])
        monkeypatch.setattr(search, "COMMON_HITS", 10**9)
        assert "rowid = contacts.id" not in sql("email", ["gmail"])  # rare: the hits, read and sorted


@pytest.mark.parametrize("path", [
    "/?group=\u00b2", "/?category=\u00b2", "/?tag=\u00b2", "/?organization_id=\u00b2",
    "/?f=created.last.\u00b2", "/contacts/filter-builder?r0_field=status&r0_op=is&remove=\u00b2",
    "/contacts/filter-builder?r0_field=status&r0_op=is&add=\u00b2", "/groups/\u00b2",
    "/?group=99999999999", "/?organization_id=99999999999", "/?tag=99999999999",
])
def test_a_digit_that_is_not_decimal_is_a_bad_value_not_a_500(people, member_client, path):
    # "²".isdigit() is true but int("²") raises: every id or number check uses isdecimal().
    assert member_client.get(path).status_code < 500


def test_parse_id_takes_only_an_id_a_row_can_have():
    from core.models import MAX_ID, parse_id

    assert parse_id("42") == 42 and parse_id(" 7 ") == 7 and parse_id(12) == 12
    assert parse_id(str(MAX_ID)) == MAX_ID
    for bad in (None, "", "0", "-1", "1.5", "1e3", "\u00b2", str(MAX_ID + 1), "99999999999", True, "12a"):
        assert parse_id(bad) is None, bad


def test_the_builder_shows_a_tag_named_in_the_url_as_chosen(people, member, member_client):
    """``tag.is.<name>`` filters (the service takes an id or a name: the API and hand-written links
    use names), so the builder must show that tag chosen; it showed "Choose…", and applying the
    builder again then dropped the condition with "Tag: give a value"."""
    from core.services import taxonomy

    actor = _user(member)
    ada = db.session.scalars(db.select(Contact).where(Contact.first_name == "Ada")).first()
    taxonomy.add_tags(actor, [ada.id], ["Gold"])
    tag_id = db.session.scalar(db.select(db.text("id")).select_from(db.text("tags")).where(db.text("name = 'Gold'")))
    chosen = f'<option value="{tag_id}" selected>Gold</option>'
    page = member_client.get("/?f=tag.is.gold").get_data(as_text=True)
    assert chosen in page
    fragment = member_client.get("/contacts/filter-builder?r0_field=tag&r0_op=is&r0_value=Gold").get_data(as_text=True)
    assert chosen in fragment
    # a value that names no option is kept as it was, so applying again says what is wrong with it
    fragment = member_client.get("/contacts/filter-builder?r0_field=tag&r0_op=is&r0_value=nope").get_data(as_text=True)
    assert '<option value="nope" selected>nope</option>' in fragment


def test_a_retired_status_still_filters_the_contacts_that_keep_it(people, member, admin):
    """An admin retiring a status (or type) leaves the contacts that have it as they are; the
    builder refused ``status.is.<retired>`` ("Choose one of: ...") while the toolbar's ?status= found
    them, so the builder could not find the contacts left to clean up."""
    from core.models import ContactStatus
    from core.services import vocabulary

    actor = _user(member)
    term = db.session.scalars(db.select(ContactStatus).where(ContactStatus.key == "inactive")).one()
    vocabulary.set_active(db.session.merge(admin), "status", term.id, False)
    assert names(actor, {"f": ["status.is.inactive"]}) == ["Old"] == names(actor, {"status": "inactive"})
    assert "Old" not in names(actor, {"f": ["status.isnot.inactive"]})
    with pytest.raises(ValidationError) as caught:
        names(actor, {"f": ["status.is.nonsense"]})
    assert "inactive" not in str(caught.value.errors)  # the message offers the active statuses only


def test_the_name_prefix_operator_says_it_reads_the_last_name_first(people, member, member_client):
    """``name.starts`` is a prefix of the sort name, "Lovelace Ada": "Name starts with Ada" found
    nobody called Ada, with nothing on the page to say why."""
    actor = _user(member)
    assert names(actor, {"f": ["name.starts.love"]}) == ["Ada"] and names(actor, {"f": ["name.starts.ada"]}) == []
    body = member_client.get("/contacts/filter-builder?r0_field=name&r0_op=starts&r0_value=love").get_data(as_text=True)
    assert '<option value="starts" selected>starts with (last name first)</option>' in body
    body = member_client.get("/contacts/filter-builder?r0_field=email&r0_op=starts&r0_value=a").get_data(as_text=True)
    assert '<option value="starts" selected>starts with</option>' in body  # other fields keep the plain label
