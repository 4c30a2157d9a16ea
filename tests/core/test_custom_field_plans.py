"""The plan of a custom-field filter (custom_field_queries.matching): a rare value's ids listed, a
common one probed per row; one statement decides, and that a value is common is remembered."""

from __future__ import annotations

from core.extensions import cache, db
from core.services import custom_field_queries as queries
from tests.core.test_custom_fields import fields, names, people, where  # noqa: F401 - fixtures
from tests.statements import captured


def _sql(condition) -> str:
    return str(condition.compile(db.session.get_bind()))


def _reads(seen: list[str]) -> list[str]:
    """The reads of values (the field's own definition may be loaded again after a commit)."""
    return [s for s in seen if "FROM custom_field_values" in s]


def test_rare_values_are_their_ids_and_common_ones_a_probe_with_the_same_answer(
        app, people, fields, member, monkeypatch):  # noqa: F811
    gold = ("tier", "eq", "gold")  # Ann and Cat
    cache.clear()
    with captured(app, selects_only=True) as seen:
        rare = queries.condition(fields["tier"], "eq", "gold")
    assert len(_reads(seen)) == 1  # one capped read of the ids: no count before it
    assert "EXISTS" not in _sql(rare)
    assert names(where(rare), member) == ["Ann", "Cat"]

    monkeypatch.setattr(queries, "FEW", 1)  # the same two matches are now "many"
    cache.clear()
    common = queries.condition(fields[gold[0]], gold[1], gold[2])
    assert "EXISTS" in _sql(common)
    assert names(where(common), member) == ["Ann", "Cat"]
    with captured(app, selects_only=True) as seen:  # remembered: no read at all
        again = queries.condition(fields["tier"], "eq", "gold")
    assert _reads(seen) == [] and "EXISTS" in _sql(again)
    assert names(where(again), member) == ["Ann", "Cat"]

    with captured(app, selects_only=True) as seen:  # another value has a plan of its own
        silver = queries.condition(fields["tier"], "eq", "silver")
    assert len(_reads(seen)) == 1 and "EXISTS" not in _sql(silver)
    assert names(where(silver), member) == ["Bob"]


def test_a_value_remembered_as_rare_that_grew_common_is_probed(app, people, fields, member, monkeypatch):  # noqa: F811
    cache.clear()
    queries.condition(fields["size"], "gt", "39.5")  # Bob and Cat: remembered as few
    monkeypatch.setattr(queries, "FEW", 1)
    with captured(app, selects_only=True) as seen:
        grown = queries.condition(fields["size"], "gt", "39.5")
    assert len(_reads(seen)) == 1  # the ids are read again (they are the condition), and found too many
    assert "EXISTS" in _sql(grown)
    assert names(where(grown), member) == ["Bob", "Cat"]
