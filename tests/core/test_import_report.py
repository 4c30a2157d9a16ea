"""What an import tells the user: its preview agrees with the job, kept rows' warnings, the
downloadable problem report (the file's own rows with Row and Problem), look-alike rows."""

from __future__ import annotations

from core.services import custom_fields, import_jobs, importer
from tests.core.test_import import _user, import_file, upload

FIRST = (
    "First Name,Last Name,Email,Tags,Shoe size,Job Title\n"
    "Ada,Lovelace,ada@example.org,vip,42,Countess\n"
    "Alan,Turing,alan@example.org,vip,41,\n"
    "Grace,Hopper,grace@example.org,vip,40,\n"
    "Kat,Johnson,kat@example.org,vip,39,\n"
    "Tim,Lee,tim@example.org,vip,38,Director\n"
)
SECOND = (
    "First Name,Last Name,Email,Tags,Shoe size,Job Title,Birthday\n"
    "New,Person,new@example.org,,,,\n"              # 2 new
    "Ada,Byron,ada@example.org,vip,42,Countess,\n"  # 3 a core field changes
    "Alan,Turing,alan@example.org,\"vip,ace\",41,,\n"  # 4 a tag only
    "Grace,Hopper,grace@example.org,vip,44,,\n"     # 5 a custom field only
    "Tim,Lee,tim@example.org,vip,38,CEO,\n"         # 6 a detail only
    "Kat,Johnson,kat@example.org,vip,39,,\n"        # 7 nothing
    ",,not-an-email,,,,\n"                           # 8 rejected: nothing left
    "Bob,Stone,bob@example.org,,,,31/31/1990\n"     # 9 new, its birthday left out
)


def _shoe_size(admin):
    custom_fields.create_field(_user(admin.id), {"key": "shoe", "label": "Shoe size", "kind": "number"})


def test_the_preview_counts_what_the_import_then_does(ctx, admin, member):
    # The preview called a row whose only change is a tag, a custom field or a detail
    # "unchanged" (the appliers did nothing in a dry run), while the import updated it.
    _shoe_size(admin)
    actor = _user(member.id)
    assert import_file(actor, FIRST.encode()).result["summary"]["Created"] == 5
    token = upload(actor, SECOND.encode())
    info = import_jobs.inspect(actor, token)
    preview = import_jobs.dry_run(actor, token, info["mapping"], importer.Options(source=info["source"]))
    assert preview.counts == {"created": 2, "updated": 4, "unchanged": 1, "rejected": 1}
    assert preview.warnings == 1 and preview.samples["warnings"][0]["row"] == 9
    changed = {item["row"]: item["changes"] for item in preview.samples["updated"]}
    assert set(changed) == {3, 4, 5, 6}
    assert changed[4] == {"tags": ["vip", "ace, vip"]} and list(changed[5]) == ["custom.shoe"]
    assert list(changed[6]) == ["title"]
    job = import_file(actor, SECOND.encode())
    summary = job.result["summary"]
    assert {k.lower(): v for k, v in summary.items() if k != "Warnings"} == preview.counts
    assert summary["Warnings"] == preview.warnings
    # And the dry-run job (the API's) says the same.
    dry = import_file(actor, SECOND.encode(), dry_run=True)
    assert dry.result["summary"] == {"Created": 0, "Updated": 0, "Unchanged": 7, "Rejected": 1, "Warnings": 1}
