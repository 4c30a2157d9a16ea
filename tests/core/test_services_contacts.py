"""Contacts and organizations through their services: validation, ownership, versions, the
trash, search and keyset pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact
from core.services import contacts as service
from core.services import organizations as orgs
from tests import factories


def _id(detached) -> int:
    return db.session.merge(detached).id


def test_create_normalizes_and_audits(ctx, member, team):
    c = service.create_contact(member, {"first_name": " Ada ", "last_name": "Lovelace", "email": "Ada@Example.ORG",
                                        "phone": "+44 20 7946 0958"})
    assert (c.first_name, c.email, c.email_key, c.phone) == ("Ada", "Ada@example.org", "ada@example.org", "+442079460958")
    assert c.owner_team_id == _id(team) and c.sort_name == service.sort_name("Ada", "Lovelace") and c.version == 1
    assert c.type and c.status  # vocabulary defaults
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity_id == c.id, AuditEntry.entity_type == "contact"))
    assert entry.action == "created" and entry.changes["email"] == [None, "Ada@example.org"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"first_name": "", "last_name": "", "email": ""}, "first_name"),
        ({"first_name": "A", "email": "nope"}, "email"),
        ({"first_name": "A", "phone": "12"}, "phone"),
        ({"first_name": "A", "type": "alien"}, "type"),
        ({"first_name": "A", "status": "zombie"}, "status"),
        ({"first_name": "A", "organization_id": "abc"}, "organization_id"),
        ({"first_name": "A", "organization_id": "-4"}, "organization_id"),
        ({"first_name": "A", "organization_id": 999999}, "organization_id"),
        ({"first_name": "A", "owner_team_id": "x"}, "owner_team_id"),
        ({"first_name": "A", "owner_team_id": 999999}, "owner_team_id"),
        ({"first_name": "A" * 101}, "first_name"),
        ({"first_name": "A\x00"}, "first_name"),
        ({"first_name": "A", "nickname": "Al"}, "nickname"),
    ],
)
def test_bad_input_names_the_field(ctx, member, data, field):
    with pytest.raises(ValidationError) as err:
        service.create_contact(member, data)
    assert field in err.value.errors
    assert db.session.scalar(select(Contact.id)) is None


def test_email_is_unique_case_insensitively_even_in_the_trash(ctx, member):
    first = service.create_contact(member, {"first_name": "A", "email": "a@example.org"})
    with pytest.raises(ValidationError) as err:
        service.create_contact(member, {"first_name": "B", "email": "A@EXAMPLE.org"})
    assert "already has this email" in err.value.errors["email"][0]
    service.delete_contact(member, first.id)
    with pytest.raises(ValidationError) as err:
        service.create_contact(member, {"first_name": "B", "email": "a@example.org"})
    assert "trash" in err.value.errors["email"][0]


def test_viewers_and_outsiders(ctx, viewer, outsider, member, team):
    with pytest.raises(PermissionDenied):
        service.create_contact(viewer, {"first_name": "A"})
    c = service.create_contact(member, {"first_name": "A"})
    assert service.get_contact(viewer, c.id).id == c.id
    with pytest.raises(PermissionDenied):
        service.update_contact(viewer, c.id, {"first_name": "B"}, expected_version=c.version)
    with pytest.raises(NotFound):
        service.get_contact(outsider, c.id)
    with pytest.raises(NotFound):
        service.delete_contact(outsider, c.id)
    with pytest.raises(NotFound):
        service.get_contact(member, 999999)


def test_update_with_a_stale_version_is_a_conflict(ctx, member):
    c = service.create_contact(member, {"first_name": "Ada", "last_name": "Byron"})
    cid, v1 = c.id, c.version
    service.update_contact(member, cid, {"last_name": "Lovelace"}, expected_version=v1)
    with pytest.raises(Conflict) as err:
        service.update_contact(member, cid, {"last_name": "King"}, expected_version=v1)
    assert err.value.changes == {"last_name": ("King", "Lovelace")}
    updated = service.update_contact(member, cid, {"last_name": "King"}, expected_version=v1 + 1)
    assert updated.last_name == "King" and updated.version == v1 + 2


def test_update_without_changes_writes_nothing(ctx, member):
    c = service.create_contact(member, {"first_name": "Ada"})
    cid, version = c.id, c.version
    service.update_contact(member, cid, {"first_name": "Ada"}, expected_version=version)
    assert db.session.get(Contact, cid).version == version
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.entity_id == cid)).all()) == 1


def test_moving_to_a_team_you_are_not_in_is_refused(ctx, member, other_team):
    c = service.create_contact(member, {"first_name": "Ada"})
    with pytest.raises(ValidationError) as err:
        service.update_contact(member, c.id, {"owner_team_id": _id(other_team)}, expected_version=None)
    assert "owner_team_id" in err.value.errors


def test_delete_and_restore(ctx, member):
    c = service.create_contact(member, {"first_name": "Ada"})
    service.delete_contact(member, c.id)
    with pytest.raises(NotFound):
        service.get_contact(member, c.id)
    assert service.get_contact(member, c.id, deleted=True).deleted_by_id == member.id
    assert [x.id for x in service.list_contacts(member, deleted=True).items] == [c.id]
    service.restore_contact(member, c.id)
    assert service.get_contact(member, c.id).deleted_at is None
    with pytest.raises(NotFound):
        service.restore_contact(member, c.id)


def test_list_search_filters_and_pages(ctx, member, outsider, team, other_team):
    t = db.session.merge(team)
    org = factories.organization(t, "Analytical Engines")
    names = [("Ada", "Lovelace"), ("Charles", "Babbage"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Ada", "Yonath")]
    made = {}
    for first, last in names:
        made[last] = factories.contact(t, first, last, email=f"{last.lower()}@example.org", status="active")
    db.session.get(Contact, made["Babbage"].id).organization_id = org.id
    db.session.get(Contact, made["Hopper"].id).status = "lead"
    db.session.get(Contact, made["Turing"].id).phone = "+442079460958"
    db.session.commit()
    factories.contact(db.session.merge(other_team), "Ada", "Hidden")

    def last_names(**kw):
        return [c.last_name for c in service.list_contacts(member, **kw).items]

    assert last_names() == ["Babbage", "Hopper", "Lovelace", "Turing", "Yonath"]  # the outsider's team is hidden
    assert last_names(sort="-name")[0] == "Yonath"
    assert last_names(q="ada") == ["Lovelace", "Yonath"]  # "first last" matches through the reversed words
    assert last_names(q="lovelace ada") == ["Lovelace"]
    assert last_names(q="hopper@") == ["Hopper"]
    assert last_names(q="7946") == ["Turing"]
    assert last_names(q="100%_") == []  # LIKE wildcards are escaped
    assert last_names(status="lead") == ["Hopper"]
    assert last_names(organization_id=org.id) == ["Babbage"]
    assert last_names(extra_filters=[lambda stmt: stmt.where(Contact.first_name == "Alan")]) == ["Turing"]
    assert [c.last_name for c in service.list_contacts(outsider).items] == ["Hidden"]

    page1 = service.list_contacts(member, limit=2)
    page2 = service.list_contacts(member, limit=2, cursor=page1.next_cursor)
    page3 = service.list_contacts(member, limit=2, cursor=page2.next_cursor)
    seen = [c.last_name for c in page1.items + page2.items + page3.items]
    assert seen == ["Babbage", "Hopper", "Lovelace", "Turing", "Yonath"] and page3.next_cursor is None
    for kw, field in (({"sort": "age"}, "sort"), ({"limit": 0}, "limit"), ({"cursor": "garbage"}, "cursor")):
        with pytest.raises(ValidationError) as err:
            service.list_contacts(member, **kw)
        assert field in err.value.errors


@pytest.mark.parametrize("sort", ["created", "-created", "updated", "-updated"])
def test_every_sort_pages_through_everything(ctx, member, team, sort):
    t = db.session.merge(team)
    ids = {factories.contact(t, "P", f"N{i}").id for i in range(5)}
    seen, cursor = [], None
    for _ in range(5):
        page = service.list_contacts(member, sort=sort, limit=2, cursor=cursor)
        seen += [c.id for c in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)


def test_organizations(ctx, member, viewer, outsider, team):
    org = orgs.create_organization(member, {"name": "Analytical Engines", "website": "https://example.org"})
    assert org.name_key == "analytical engines" and org.owner_team_id == _id(team)
    with pytest.raises(ValidationError) as err:
        orgs.create_organization(member, {"name": ""})
    assert "name" in err.value.errors
    with pytest.raises(PermissionDenied):
        orgs.create_organization(viewer, {"name": "X"})
    with pytest.raises(NotFound):
        orgs.get_organization(outsider, org.id)
    v = org.version
    orgs.update_organization(member, org.id, {"name": "Difference Engines"}, expected_version=v)
    with pytest.raises(Conflict):
        orgs.update_organization(member, org.id, {"name": "Other"}, expected_version=v)
    assert [o.name for o in orgs.list_organizations(member, q="diff").items] == ["Difference Engines"]
    assert orgs.list_organizations(outsider).items == []
    factories.contact(db.session.merge(team), "Ada", "L", organization_id=org.id)
    assert orgs.contact_count(org.id) == 1
    orgs.delete_organization(member, org.id)
    assert [o.id for o in orgs.list_organizations(member, deleted=True).items] == [org.id]
    orgs.restore_organization(member, org.id)
    assert orgs.get_organization(member, org.id).deleted_at is None
    with pytest.raises(ValidationError):
        orgs.list_organizations(member, limit=500)


def test_vocabularies_cost_one_cache_read_a_request_and_a_change_shows_at_once(ctx, admin, monkeypatch):
    from core.extensions import cache
    from core.services import vocabulary

    reads = []
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda key: reads.append(key) or real_get(key))
    types, statuses = vocabulary.terms("type"), vocabulary.terms("status")
    vocabulary.terms("type")
    assert types and statuses and len(reads) == 1  # both kinds in one entry, read once a request
    vocabulary.add_term(admin, "status", "dormant", "Dormant")
    assert ("dormant", "Dormant") in vocabulary.terms("status")
    assert vocabulary.terms("type") == types


def test_a_new_contact_is_written_directly_unless_it_names_another(ctx, member, team):
    """The new row goes in with a prebuilt statement and the object is attached fully loaded; a new
    contact that reports to another still goes through the unit of work, which stamps the manager's
    pages (they list it) as before (core/services/stamps.py)."""
    from core.services import stamps

    boss = service.create_contact(member, {"first_name": "Ada", "email": "ada@example.org"})
    assert db.session.get(Contact, boss.id) is boss and boss.version == 1 and boss.deleted_at is None
    assert not db.session.is_modified(boss)
    scope = stamps.contact_scope(boss.id)
    before = stamps.read([scope])[scope]
    report = service.create_contact(member, {"first_name": "Grace", "reports_to_id": boss.id})
    assert report.reports_to_id == boss.id and stamps.read([scope])[scope] != before
    changed = service.update_contact(member, boss.id, {"last_name": "Lovelace"}, boss.version)
    assert changed.version == 2
