"""Custom fields in the filter builder: each kind offers the operators that fit it (numbers and
dates compare, text contains, choices are chosen), and a bad value is a 422 naming the field."""

from __future__ import annotations

import re

from core.extensions import db
from core.models import User
from core.services import contacts, custom_fields
from core.services.filters import available_fields

HX = {"HX-Request": "true"}


def _user(user_id):
    db.session.commit()
    return db.session.get(User, user_id)


def _rows(html):
    return sorted(re.findall(r'<td data-label="Name"><a href="[^"]+">([^<]+)</a>', html))


def test_custom_fields_get_builder_operators_by_kind(app, admin, member, member_client):
    with app.test_request_context():
        custom_fields.create_field(_user(admin.id), {"key": "shoe", "label": "Shoe size", "kind": "number"})
        custom_fields.create_field(_user(admin.id), {"key": "motto", "label": "Motto", "kind": "text"})
        actor = _user(member.id)
        for name, shoe, motto in (("Ada", 37, "Poetical science"), ("Alan", 44, "Can machines think"),
                                  ("Grace", 38, "")):
            contacts.create_contact(actor, {"first_name": name, "last_name": "X",
                                            "custom_fields": {"shoe": shoe, "motto": motto or None}})
        fields = available_fields()
        assert fields["cf_shoe"].kind == "number" and "after" in fields["cf_shoe"].operators
        assert fields["cf_motto"].kind == "text" and "contains" in fields["cf_motto"].operators
    big = member_client.get("/?f=cf_shoe.after.37.5", headers=HX)
    assert big.status_code == 200 and _rows(big.get_data(as_text=True)) == ["Alan X", "Grace X"]
    either = member_client.get("/?f=cf_motto.contains.science&f=or&f=cf_shoe.is.44", headers=HX)
    assert _rows(either.get_data(as_text=True)) == ["Ada X", "Alan X"]
    empty = member_client.get("/?f=cf_motto.empty", headers=HX)
    assert _rows(empty.get_data(as_text=True)) == ["Grace X"]
    bad = member_client.get("/?f=cf_shoe.after.huge", headers=HX)
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and ("Shoe size" in body or "cf_shoe" in body)
