"""Every file to download (the problem report of a job, the CSV and vCard exports, one contact's
vCard) answers with the same headers from a page and from the API: an attachment with its name,
never stored by a cache (it is the user's data as of now), not sniffed."""

from __future__ import annotations

import pytest

from core.extensions import db
from core.models import User
from core.services import jobs
from tests import factories
from tests.core.test_api_contacts import Api, make_token
from tests.core.test_jobs import runners  # noqa: F401 - the test.count job kind (an autouse fixture)


def _headers(response) -> dict:
    return {k: response.headers.get(k) for k in ("Content-Type", "Content-Disposition", "Cache-Control",
                                                 "X-Content-Type-Options")}


@pytest.mark.parametrize(("page", "api", "kind", "name"), [
    ("/jobs/{job}/errors.csv", "/api/v1/jobs/{job}/problems.csv", "text/csv", "job-{job}-problems.csv"),
    ("/contacts/export.csv", "/api/v1/exports/contacts.csv", "text/csv", "contacts.csv"),
    ("/contacts/export.csv?raw=1", "/api/v1/exports/contacts.csv?raw=true", "text/csv", "contacts-raw.csv"),
    ("/contacts/export.vcf", "/api/v1/exports/contacts.vcf", "text/vcard", "contacts.vcf"),
])
def test_a_download_has_the_same_headers_on_the_page_and_the_api(app, member, member_client, team, page, api, kind,
                                                                 name):
    with app.app_context():
        factories.contact(db.session.merge(team), "Ada", "Lovelace")
        job_id = jobs.start(db.session.get(User, member.id), "test.count", {"n": 6}).id
    client = Api(app, make_token(app, member))
    from_page = member_client.get(page.format(job=job_id))
    page_body = from_page.get_data()  # read before the next request: a streamed body holds its request
    from_api = client.get(api.format(job=job_id))
    assert from_page.status_code == from_api.status_code == 200
    expected = {"Content-Type": f"{kind}; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name.format(job=job_id)}"',
                "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    assert _headers(from_page) == _headers(from_api) == expected
    assert page_body == from_api.get_data()
