"""Custom fields: definitions, validation by kind, values on contacts (service and API), filters
with operators, sorting with keyset pages, export/import text, audit."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core.errors import PermissionDenied, ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact, CustomFieldValue
from core.services import contacts as service
from core.services import custom_field_queries as queries
from core.services import custom_fields as cf
from tests.core.test_api_contacts import Api, make_token


def define(admin, key, kind, **extra):
    return cf.create_field(admin, {"key": key, "label": key.replace("_", " ").title(), "kind": kind, **extra})


@pytest.fixture
def fields(ctx, admin):
    made = {
        "nickname": define(admin, "nickname", "text"),
        "bio": define(admin, "bio", "long_text"),
        "size": define(admin, "size", "number"),
        "since": define(admin, "since", "date"),
        "vip": define(admin, "vip", "boolean"),
        "tier": define(admin, "tier", "choice", choices="gold\nsilver\nbronze"),
        "topics": define(admin, "topics", "multi_choice", choices=["golf", "chess", "jazz"]),
        "site": define(admin, "site", "url"),
    }
    return made


# --- definitions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"key": "", "label": "X", "kind": "text"}, "key"),
        ({"key": "Bad Key", "label": "X", "kind": "text"}, "key"),
        ({"key": "1abc", "label": "X", "kind": "text"}, "key"),
        ({"key": "ok", "label": "", "kind": "text"}, "label"),
        ({"key": "ok", "label": "X", "kind": "colour"}, "kind"),
        ({"key": "ok", "label": "X", "kind": "choice"}, "choices"),
        ({"key": "ok", "label": "X", "kind": "text", "choices": "a\nb"}, "choices"),
        ({"key": "ok", "label": "X", "kind": "text", "position": "many"}, "position"),
    ],
)
def test_definition_validation_names_the_field(ctx, admin, data, field):
    with pytest.raises(ValidationError) as exc:
        cf.create_field(admin, data)
    assert field in exc.value.errors


def test_definitions_are_admin_only_unique_and_keep_their_key_and_kind(ctx, admin, member):
    with pytest.raises(PermissionDenied):
        cf.create_field(member, {"key": "x", "label": "X", "kind": "text"})
    field = define(admin, "shoe", "number")
    with pytest.raises(ValidationError) as exc:
        define(admin, "shoe", "text")
    assert "key" in exc.value.errors
    for change in ({"key": "boot"}, {"kind": "text"}):
        with pytest.raises(ValidationError):
            cf.update_field(admin, field.id, change)
    cf.update_field(admin, field.id, {"label": "Shoe size", "required": True})
    assert db.session.get(type(field), field.id).label == "Shoe size"
    audited = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "custom_field")).all()
    assert audited == ["created", "updated"]


def test_choices_in_use_cannot_be_removed(fields, admin, member):
    c = service.create_contact(member, {"first_name": "A", "custom_fields": {"tier": "gold"}})
    with pytest.raises(ValidationError) as exc:
        cf.update_field(admin, fields["tier"].id, {"choices": "silver\nbronze"})
    assert "gold" in exc.value.errors["choices"][0]
    cf.update_field(admin, fields["tier"].id, {"choices": "gold\nsilver\nbronze\nplatinum"})
    assert cf.values_of([c.id])[c.id] == {"tier": "gold"}


# --- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("nickname", "  Addie ", "Addie"),
        ("bio", "Line one\nLine two", "Line one\nLine two"),
        ("size", "42", 42),
        ("size", 3.5, 3.5),
        ("size", " -1e3 ", -1000),
        ("since", "2024-02-29", "2024-02-29"),
        ("vip", True, True),
        ("vip", "no", False),
        ("tier", "silver", "silver"),
        ("topics", ["jazz", "golf", "jazz"], ["golf", "jazz"]),
        ("site", "example.org/about", "https://example.org/about"),
    ],
)
def test_values_are_normalized_by_kind(fields, member, key, raw, expected):
    c = service.create_contact(member, {"first_name": "A", "custom_fields": {key: raw}})
    assert cf.values_of([c.id])[c.id] == {key: expected}


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("nickname", "x" * 501),
        ("nickname", "a\x00b"),
        ("nickname", {"a": 1}),
        ("bio", "x" * 10001),
        ("size", "lots"),
        ("size", "1,5"),
        ("size", True),
        ("size", "nan"),
        ("size", "1e20"),
        pytest.param("size", 10**400, id="size-int-too-large-for-a-float"),  # float() raises OverflowError
        ("since", "31/01/2024"),
        ("since", "2023-02-29"),
        ("vip", "maybe"),
        ("tier", "diamond"),
        ("topics", ["golf", "poker"]),
        ("topics", [1]),
        ("site", "javascript:alert(1)"),
        ("site", "https://no spaces.org"),
        ("site", "localhost"),
        ("unknown_key", "x"),
    ],
)
def test_bad_values_are_refused_naming_custom_key(fields, member, key, raw):
    with pytest.raises(ValidationError) as exc:
        service.create_contact(member, {"first_name": "A", "custom_fields": {key: raw}})
    assert list(exc.value.errors) == [f"custom.{key}"]
    assert db.session.scalar(select(db.func.count()).select_from(Contact)) == 0


def test_errors_of_core_and_custom_fields_come_together(fields, member):
    with pytest.raises(ValidationError) as exc:
        service.create_contact(member, {"email": "nope", "custom_fields": {"size": "big"}})
    assert {"email", "custom.size"} <= set(exc.value.errors)


def test_required_fields_on_create_and_when_cleared(ctx, admin, member):
    define(admin, "region", "text", required=True)
    with pytest.raises(ValidationError) as exc:
        service.create_contact(member, {"first_name": "A"})
    assert exc.value.errors == {"custom.region": ["This field is required."]}
    c = service.create_contact(member, {"first_name": "A", "custom_fields": {"region": "North"}})
    service.update_contact(member, c.id, {"first_name": "B"}, None)  # not sent: stays
    with pytest.raises(ValidationError):
        service.update_contact(member, c.id, {"custom_fields": {"region": ""}}, None)


def test_archived_fields_are_hidden_kept_and_read_only(fields, admin, member):
    c = service.create_contact(member, {"first_name": "A", "custom_fields": {"nickname": "Addie"}})
    cf.update_field(admin, fields["nickname"].id, {"archived": True})
    assert cf.values_of([c.id])[c.id] == {}
    assert cf.values_of([c.id], include_archived=True)[c.id] == {"nickname": "Addie"}
    with pytest.raises(ValidationError) as exc:
        service.update_contact(member, c.id, {"custom_fields": {"nickname": "X"}}, None)
    assert "archived" in exc.value.errors["custom.nickname"][0]
    cf.update_field(admin, fields["nickname"].id, {"archived": False})
    assert cf.values_of([c.id])[c.id] == {"nickname": "Addie"}


def test_custom_changes_are_audited_and_bump_the_version(fields, member):
    c = service.create_contact(member, {"first_name": "A", "custom_fields": {"size": 40}})
    version = c.version
    c = service.update_contact(member, c.id, {"custom_fields": {"size": 41, "topics": ["chess"]}}, version)
    assert c.version == version + 1
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_id == c.id, AuditEntry.action == "updated")
    ).one()
    assert entry.changes == {"custom.size": [40, 41], "custom.topics": [None, "chess"]}
    service.update_contact(member, c.id, {"custom_fields": {"topics": []}}, None)
    assert cf.values_of([c.id])[c.id] == {"size": 41}
    assert db.session.scalar(select(db.func.count()).select_from(CustomFieldValue)) == 1


def test_multi_choice_is_one_row_per_choice(fields, member):
    c = service.create_contact(member, {"first_name": "A", "custom_fields": {"topics": ["golf", "jazz"]}})
    rows = db.session.scalars(select(CustomFieldValue.value_text).where(CustomFieldValue.contact_id == c.id)).all()
    assert sorted(rows) == ["golf", "jazz"]


# --- filters and operators -------------------------------------------------------------------


@pytest.fixture
def people(fields, member):
    data = [
        ("Ann", {"nickname": "Annie", "size": 36, "since": "2020-01-01", "vip": True, "tier": "gold", "topics": ["golf"]}),
        ("Bob", {"nickname": "Bobby", "size": 44, "since": "2022-06-01", "vip": False, "tier": "silver",
                 "topics": ["golf", "chess"]}),
        ("Cat", {"size": 40, "tier": "gold"}),
        ("Dan", {}),
    ]
    return {n: service.create_contact(member, {"first_name": n, "last_name": "X", "custom_fields": v}).id for n, v in data}


def names(stmt_filter, member, **kwargs):
    page = service.list_contacts(member, extra_filters=[stmt_filter], limit=200, **kwargs)
    return sorted(c.first_name for c in page.items)


def where(cond):
    return lambda stmt: stmt.where(cond)


@pytest.mark.parametrize(
    ("key", "op", "value", "value2", "expected"),
    [
        ("nickname", "contains", "NNI", None, ["Ann"]),
        ("nickname", "eq", "bobby", None, ["Bob"]),
        ("size", "lt", "40", None, ["Ann"]),
        ("size", "gt", "39.5", None, ["Bob", "Cat"]),
        ("size", "between", "36", "40", ["Ann", "Cat"]),
        ("since", "gt", "2021-01-01", None, ["Bob"]),
        ("vip", "eq", "no", None, ["Bob"]),
        ("tier", "eq", "gold", None, ["Ann", "Cat"]),
        ("topics", "eq", "golf", None, ["Ann", "Bob"]),
        ("topics", "eq", "chess", None, ["Bob"]),
        ("nickname", "empty", None, None, ["Cat", "Dan"]),
        ("size", "not_empty", None, None, ["Ann", "Bob", "Cat"]),
    ],
)
def test_operators(people, fields, member, key, op, value, value2, expected):
    assert names(where(queries.condition(fields[key], op, value, value2)), member) == expected


@pytest.mark.parametrize(
    ("key", "op", "value"),
    [("size", "lt", "small"), ("size", "contains", "4"), ("vip", "lt", "yes"), ("since", "eq", "soon"),
     ("tier", "eq", "diamond"), ("nickname", "like", "x"), ("nickname", "contains", "")],
)
def test_bad_filter_values_name_the_filter(people, fields, key, op, value):
    with pytest.raises(ValidationError) as exc:
        queries.condition(fields[key], op, value)
    assert list(exc.value.errors) == [f"cf_{key}"]


def test_search_filters_one_per_active_field_plus_status_changed(people, fields, member, admin):
    cf.update_field(admin, fields["bio"].id, {"archived": True})
    filters = {f.key: f for f in queries.search_filters()}
    assert "cf_bio" not in filters and {"cf_tier", "cf_nickname", "status_changed_days"} <= set(filters)
    assert filters["cf_tier"].options(member) == [("gold", "gold"), ("silver", "silver"), ("bronze", "bronze")]
    tier = filters["cf_tier"]
    assert names(lambda s: tier.apply(s, "gold"), member) == ["Ann", "Cat"]
    nick = filters["cf_nickname"]
    assert names(lambda s: nick.apply(s, "bob"), member) == ["Bob"]


# --- sorting ---------------------------------------------------------------------------------


def walk(member, sort, limit, **kwargs):
    seen, cursor = [], None
    while True:
        page = service.list_contacts(member, sort=sort, cursor=cursor, limit=limit, **kwargs)
        seen += [c.first_name for c in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 50])
def test_sort_by_custom_field_walks_every_contact_once(people, member, limit):
    assert walk(member, "cf_size", limit) == ["Ann", "Cat", "Bob", "Dan"]
    assert walk(member, "-cf_size", limit) == ["Bob", "Cat", "Ann", "Dan"]
    assert walk(member, "cf_since", limit) == ["Ann", "Bob", "Cat", "Dan"]
    assert walk(member, "-cf_vip", limit) == ["Ann", "Bob", "Cat", "Dan"]
    assert walk(member, "cf_nickname", limit) == ["Ann", "Bob", "Cat", "Dan"]


def test_sort_with_a_filter_and_ties(people, member, team):
    for n in range(5):
        service.create_contact(member, {"first_name": f"T{n}", "custom_fields": {"tier": "gold"}})
    seen = walk(member, "cf_tier", 2, status="")
    assert len(seen) == len(set(seen)) == 9
    gold = walk(member, "-cf_tier", 3, extra_filters=[lambda s: s.where(queries.condition(
        cf.by_key()["tier"], "eq", "gold"))])
    assert sorted(gold) == sorted(["Ann", "Cat", "T0", "T1", "T2", "T3", "T4"])


@pytest.mark.parametrize("sort", ["cf_topics", "cf_bio", "cf_nope", "-cf_"])
def test_unsortable_or_unknown_sorts_are_refused(people, member, sort):
    with pytest.raises(ValidationError) as exc:
        service.list_contacts(member, sort=sort)
    assert "sort" in exc.value.errors


@pytest.mark.parametrize("cursor", ["WzMsIngiLDFd", "WzEsIngiLDFd", "garbage", "WzEsMSwxXQ"])
def test_bad_cursors_are_422(people, member, cursor):
    with pytest.raises(ValidationError) as exc:
        service.list_contacts(member, sort="cf_size", cursor=cursor)
    assert "cursor" in exc.value.errors


# --- export / import -------------------------------------------------------------------------


def test_export_and_import_text_round_trip(people, fields):
    exported = queries.export_values(people.values())
    assert exported[people["Bob"]] == {"nickname": "Bobby", "size": "44", "since": "2022-06-01", "vip": "no",
                                       "tier": "silver", "topics": "golf|chess"}
    assert exported[people["Dan"]] == {}
    for key, text in exported[people["Bob"]].items():
        value = queries.import_value(fields[key], text)
        assert cf.jsonable(fields[key], cf.clean_value(fields[key], value)) == value
    assert queries.import_value(fields["topics"], "golf|chess") == ["golf", "chess"]
    assert queries.import_value(fields["size"], "") is None
    with pytest.raises(ValueError):
        queries.import_value(fields["since"], "yesterday")


# --- API -------------------------------------------------------------------------------------


def test_api_reads_writes_filters_and_sorts_custom_fields(app, admin, member, team):
    with app.app_context():
        admin_ = db.session.merge(admin)
        with app.test_request_context():
            define(admin_, "size", "number")
            define(admin_, "since", "date", required=True)
    api = Api(app, make_token(app, member))
    bad = api.post("/api/v1/contacts", json={"first_name": "A", "custom_fields": {"size": "x"}})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]["json"]) == {"custom.size", "custom.since"}
    made = api.post("/api/v1/contacts", json={"first_name": "A", "custom_fields": {"size": 7, "since": "2024-01-02"}})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["custom_fields"] == {"size": 7, "since": "2024-01-02"}
    api.post("/api/v1/contacts", json={"first_name": "B", "custom_fields": {"size": 3, "since": "2024-01-01"}})
    etag = made.headers["ETag"]
    patched = api.patch(f"/api/v1/contacts/{body['id']}", json={"custom_fields": {"size": None}},
                        headers={"If-Match": etag})
    assert patched.status_code == 200 and patched.get_json()["custom_fields"] == {"since": "2024-01-02"}
    assert patched.headers["ETag"] != etag
    listed = api.get("/api/v1/contacts?sort=-cf_since&limit=1").get_json()
    assert [c["first_name"] for c in listed["items"]] == ["A"] and listed["next_cursor"]
    second = api.get(f"/api/v1/contacts?sort=-cf_since&limit=1&cursor={listed['next_cursor']}").get_json()
    assert [c["first_name"] for c in second["items"]] == ["B"] and second["items"][0]["custom_fields"]["size"] == 3
    assert api.get("/api/v1/contacts?sort=cf_nope").status_code == 422
    defs = api.get("/api/v1/custom-fields").get_json()["items"]
    assert [d["key"] for d in defs] == ["size", "since"]


def test_form_field_names_and_contact_page(app, admin, member_client, team):
    with app.app_context(), app.test_request_context():
        admin_ = db.session.merge(admin)
        define(admin_, "tier", "choice", choices="gold\nsilver")
        define(admin_, "topics", "multi_choice", choices="golf\nchess")
        define(admin_, "since", "date")
    form = member_client.get("/contacts/new").get_data(as_text=True)
    assert 'name="cf_tier"' in form and 'name="cf_topics"' in form and 'type="date"' in form
    bad = member_client.post("/contacts/new", data={"first_name": "A", "cf_present": ["tier", "since"],
                                                     "cf_tier": "diamond", "cf_since": "soon"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="cf_tier-error"' in html and 'id="cf_since-error"' in html
    ok = member_client.post("/contacts/new", data={
        "first_name": "Ada", "cf_present": ["tier", "topics", "since"], "cf_tier": "gold",
        "cf_topics": ["golf", "chess"], "cf_since": "2024-05-06"})
    assert ok.status_code == 302
    page = member_client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "golf, chess" in page and "2024-05-06" in page and ">gold<" in page
    with app.app_context():
        contact_id = db.session.scalar(select(Contact.id))
    edit = member_client.get(f"/contacts/{contact_id}/edit").get_data(as_text=True)
    assert 'value="golf" checked' in edit and 'name="status_reason"' in edit
    listed = member_client.get("/?cf_tier=gold&sort=-cf_since").get_data(as_text=True)
    assert f'href="/contacts/{contact_id}"' in listed
    assert member_client.get("/?cf_tier=silver").get_data(as_text=True).count(f'href="/contacts/{contact_id}"') == 0
    with app.app_context(), app.test_request_context():
        define(db.session.merge(admin), "nick", "text")
    toolbar = member_client.get("/").get_data(as_text=True)
    assert '<input type="search" id="filter-cf_nick" name="cf_nick"' in toolbar  # no choices: typed text
    assert '<select id="filter-cf_tier" name="cf_tier"' in toolbar and '<option value="-cf_since">' in toolbar


def test_admin_pages_manage_definitions(app, admin_client, member_client):
    assert member_client.get("/admin/custom-fields").status_code == 403
    page = admin_client.get("/admin/custom-fields")
    assert page.status_code == 200 and "No custom fields yet" in page.get_data(as_text=True)
    bad = admin_client.post("/admin/custom-fields", data={"label": "Tier", "key": "Tier!", "kind": "choice"})
    assert bad.status_code == 422 and 'id="key-error"' in bad.get_data(as_text=True)
    ok = admin_client.post("/admin/custom-fields", data={"label": "Tier", "key": "tier", "kind": "choice",
                                                         "choices": "gold\nsilver", "required": "1"})
    assert ok.status_code == 302
    with app.app_context():
        from core.models import CustomField

        field = db.session.scalar(select(CustomField))
        assert (field.key, field.choices, field.required) == ("tier", ["gold", "silver"], True)
    assert admin_client.post(f"/admin/custom-fields/{field.id}", data={"label": "Level", "position": "3",
                                                                       "choices": "gold\nsilver\nbronze"}).status_code == 302
    assert admin_client.post(f"/admin/custom-fields/{field.id}/archive", data={"archived": "1"}).status_code == 302
    with app.app_context():
        field = db.session.get(CustomField, field.id)
        assert (field.label, field.archived, field.required, field.position) == ("Level", True, False, 3)
    assert "Archived" in admin_client.get("/admin/custom-fields").get_data(as_text=True)


def test_dates_are_stored_as_dates(fields, member):
    c = service.create_contact(member, {"first_name": "A", "custom_fields": {"since": "2024-01-31"}})
    stored = db.session.scalar(select(CustomFieldValue.value_date).where(CustomFieldValue.contact_id == c.id))
    assert stored == date(2024, 1, 31)


def test_api_create_answers_the_values_written_without_reading_them(app, admin, member, fields):
    """The answer to a create is built from the values just written (no read after the commit):
    it must be what a later GET reads back, for every kind (numbers, dates, choices in order)."""
    from tests.core.test_write_statements import counting

    api = Api(app, make_token(app, member))
    values = {"nickname": "Ada", "bio": "Long\ntext", "size": 7.0, "since": "2024-01-02", "vip": False,
              "tier": "gold", "topics": ["jazz", "golf"], "site": "example.org"}
    with counting(app) as seen:
        made = api.post("/api/v1/contacts", json={"first_name": "A", "custom_fields": values})
    assert made.status_code == 201, made.get_json()
    assert not [s for s in seen if s.startswith("SELECT") and "FROM custom_field_values" in s], seen
    read = api.get(f"/api/v1/contacts/{made.get_json()['id']}").get_json()["custom_fields"]
    assert made.get_json()["custom_fields"] == read
    assert read["topics"] == ["golf", "jazz"] and read["size"] == 7 and read["vip"] is False
    bare = api.post("/api/v1/contacts", json={"first_name": "B"})
    assert bare.get_json()["custom_fields"] == {} == api.get(f"/api/v1/contacts/{bare.get_json()['id']}").get_json()["custom_fields"]
