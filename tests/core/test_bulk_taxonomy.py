"""The tags/groups/categories bulk actions (core/taxonomy_hooks.py) through the bulk service:
tag and untag, group membership and category on many contacts, per-record permissions kept."""

from __future__ import annotations

from sqlalchemy import select

from core.errors import Conflict
from core.extensions import db
from core.models import Contact
from core.plugins import hook
from core.services import bulk, categories, groups, tags
from core.services.list_query import ListQuery
from tests.core.test_bulk import _make, _user, people  # noqa: F401 - fixture


def _tag_names(contact_id):
    db.session.commit()
    return [t.name for t in tags.tags_of([contact_id]).get(contact_id, [])]


def test_the_taxonomy_actions_are_offered(ctx):
    found = {a.key for answer in hook().contacts_bulk_actions() for a in (answer or [])}
    assert {"tag_add", "tag_remove", "group_add", "group_remove", "category"} <= found


def test_tagging_and_untagging_many_skips_other_teams(people, member):  # noqa: F811
    ids = people["mine"] + people["theirs"]
    result = bulk.start(_user(member), "tag_add", {"tag": "VIP"}, ids=ids)
    assert (result.changed, result.skipped) == (3, 2)
    assert [_tag_names(i) for i in people["mine"]] == [["VIP"]] * 3
    assert [_tag_names(i) for i in people["theirs"]] == [[], []]
    tag_id = str(db.session.scalar(select(tags.Tag.id).where(tags.Tag.name == "VIP")))
    removed = bulk.start(_user(member), "tag_remove", {"tag_id": tag_id}, ids=people["mine"][:2])
    assert removed.changed == 2
    assert [_tag_names(i) for i in people["mine"]] == [[], [], ["VIP"]]


def test_group_and_category_for_everything_a_filter_matches(people, member, team):  # noqa: F811
    actor = _user(member)
    group = groups.create_group(actor, {"name": "Board", "owner_team_id": team.id})
    admin_tree = categories.Category(name="Partners", name_key="partners")
    db.session.add(admin_tree)
    db.session.commit()
    query = ListQuery.from_args({"f": ["name.starts.person"]})
    added = bulk.start(_user(member), "group_add", {"group_id": str(group.id)}, query=query)
    assert added.changed == 3  # the member's three; the other team's two are not visible
    members = set(db.session.scalars(select(groups.GroupMember.contact_id).where(groups.GroupMember.group_id == group.id)))
    assert members == set(people["mine"])
    moved = bulk.start(_user(member), "category", {"category_id": str(admin_tree.id)}, ids=people["mine"])
    assert moved.changed == 3
    db.session.commit()
    cats = db.session.scalars(select(Contact.category_id).where(Contact.id.in_(people["mine"]))).all()
    assert cats == [admin_tree.id] * 3
    out = bulk.start(_user(member), "group_remove", {"group_id": str(group.id)}, ids=people["mine"][:1])
    assert out.changed == 1


def test_a_save_meanwhile_does_not_fail_the_batch(app, people, member, monkeypatch):  # noqa: F811
    """Someone saves one of the batch's contacts while the batch is changing them (PostgreSQL let
    them: the batch read its contacts, the other save committed, the batch wrote with the version
    it read): the whole batch failed on that one contact (StaleDataError). The batch now holds its
    contacts from the moment it reads them: the other save waits for it, then goes through or, if
    it had read the contact before the batch changed it, answers as any lost race does (409,
    reload); the batch changes all its contacts either way."""
    import threading

    from core.services import contacts as contact_service

    actor = _user(member)
    tree = categories.Category(name="Partners", name_key="partners")
    db.session.add(tree)
    db.session.commit()
    edited, outcome, real_check = people["mine"][2], {}, categories.clean_category_id

    def edit_meanwhile():
        with app.test_request_context():
            try:
                contact_service.update_contact(db.session.get(type(actor), actor.id), edited,
                                               {"first_name": "Edited"}, None)
                outcome["edited"] = True
            except Exception as exc:  # noqa: BLE001 - the test says what went wrong
                outcome["error"] = exc
            finally:
                db.session.remove()

    other = threading.Thread(target=edit_meanwhile, daemon=True)

    def clean_category_id(value, errors):  # the batch has read its contacts, and written nothing yet
        if "started" not in outcome:
            outcome["started"] = True
            other.start()
            other.join(timeout=2)  # PostgreSQL: it waits for the batch's row lock; SQLite: for the write turn
        return real_check(value, errors)

    monkeypatch.setattr(categories, "clean_category_id", clean_category_id)
    moved = bulk.start(actor, "category", {"category_id": str(tree.id)}, ids=people["mine"])
    other.join(timeout=30)
    assert (moved.changed, moved.skipped) == (3, 0) and not other.is_alive()
    error = outcome.get("error")
    assert outcome.get("edited") or (isinstance(error, Conflict) and "Reload it" in error.message), outcome
    db.session.expire_all()
    rows = db.session.execute(select(Contact.id, Contact.category_id, Contact.first_name)
                              .where(Contact.id.in_(people["mine"]))).all()
    assert {r.category_id for r in rows} == {tree.id}
    assert dict((r.id, r.first_name) for r in rows)[edited] == ("Edited" if outcome.get("edited") else "P")
