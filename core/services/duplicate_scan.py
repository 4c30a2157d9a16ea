"""The duplicate scan: a background job that finds look-alike contacts in the whole database
without comparing every pair.

Blocking, phase by phase (each resumable from the job's checkpoint):
- ``phone``: one GROUP BY phone over live contacts; every group of two or more is a set of pairs
  (groups larger than GROUP_CAP, a shared switchboard number, are counted and skipped).
- ``email``: the unique email_key already refuses identical addresses; this phase catches the
  same mailbox written differently (``ada+news@x.org``, ``a.da@gmail.com``) by a looser key.
- ``name``: contacts grouped by organization (the warning's rule, duplicates.name_score: a close
  name at the same organization, less so when their emails or phones differ), compared with
  rapidfuzz inside a block; an organization with more
  than BLOCK_CAP contacts is cut into blocks by last-name prefix + first initial, and a block
  still too big is compared in a sliding window over the name order. A name shared by more
  than NAME_GROUP_CAP contacts of one organization is a common name there, not a duplicate.

Pairs are recorded with ``a_id < b_id``; an open pair found again gets the new reasons, a
dismissed or merged one is never suggested again.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from itertools import combinations

from sqlalchemy import func, insert, select, tuple_

from ..database import transaction
from ..errors import PermissionDenied
from ..extensions import db
from ..models import Contact, DuplicatePair
from ..models.merges import OPEN
from . import jobs
from .duplicates import NAME_CUTOFF, REASON_SCORES, combine, full_name, name_score

KIND = "contacts.duplicate_scan"
PHASES = ("phone", "email", "name")
BATCH = 5000  # contacts (or phone groups, or organizations x 10) per batch
ORG_BATCH = 500
BATCH_CONTACTS = 20_000  # contacts per name batch (a big organization makes a batch of its own)
BEAT_SECONDS = 15  # a long batch still beats the job's heartbeat, so the sweep does not think it died
GROUP_CAP = 20
NAME_GROUP_CAP = 5
BLOCK_CAP = 300
WINDOW = 40
GMAIL = {"gmail.com", "googlemail.com"}


def start(actor):
    """Admins and managers start a scan (it reads the whole database; each user's queue shows
    only the pairs they may act on)."""
    if actor.role not in ("admin", "manager"):
        raise PermissionDenied("Only admins and managers can start a duplicate scan.")
    return jobs.start(actor, KIND, {}, title="Find duplicate contacts")


def _live():
    return Contact.deleted_at.is_(None)


def loose_email(key: str) -> str:
    """The mailbox behind an address: no "+tag", and no dots for Gmail."""
    local, _, domain = key.partition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def record_pairs(found: dict[tuple[int, int], dict[str, int]], stats: dict) -> None:
    """Store the pairs found, in the caller's transaction."""
    keys = list(found)
    for start_at in range(0, len(keys), 400):
        chunk = keys[start_at:start_at + 400]
        existing = {
            (p.a_id, p.b_id): p
            for p in db.session.scalars(
                select(DuplicatePair).where(tuple_(DuplicatePair.a_id, DuplicatePair.b_id).in_(chunk))
            )
        }
        rows = []
        for key in chunk:
            scores = found[key]
            pair = existing.get(key)
            if pair is None:
                rows.append({"a_id": key[0], "b_id": key[1], "score": combine(scores),
                             "reasons": sorted(scores), "status": OPEN})
            elif pair.status == OPEN and not set(scores) <= set(pair.reasons):
                reasons = sorted(set(pair.reasons) | set(scores))
                pair.reasons = reasons
                pair.score = min(100, max(pair.score, combine(scores)) + 5 * (len(reasons) - len(scores)))
        if rows:
            db.session.execute(insert(DuplicatePair), rows)
            stats["new"] = stats.get("new", 0) + len(rows)
        stats["found"] = stats.get("found", 0) + len(chunk)


def _add(found, a: int, b: int, reason: str, score: int) -> None:
    key = (a, b) if a < b else (b, a)
    scores = found.setdefault(key, {})
    scores[reason] = max(scores.get(reason, 0), score)


def _phone_batch(after: str, stats: dict) -> tuple[dict, str | None]:
    phones = db.session.scalars(
        select(Contact.phone).where(_live(), Contact.phone != "", Contact.phone > after)
        .group_by(Contact.phone).having(func.count() > 1).order_by(Contact.phone).limit(BATCH // 10)
    ).all()
    found: dict = {}
    if not phones:
        return found, None
    groups = defaultdict(list)
    for cid, phone in db.session.execute(
        select(Contact.id, Contact.phone).where(_live(), Contact.phone.in_(phones)).order_by(Contact.id)
    ):
        groups[phone].append(cid)
    for ids in groups.values():
        if len(ids) > GROUP_CAP:
            stats["skipped_groups"] = stats.get("skipped_groups", 0) + 1
            continue
        for a, b in combinations(ids, 2):
            _add(found, a, b, "phone", REASON_SCORES["phone"])
    return found, phones[-1]


def _email_pass(ctx, done: int, total: int) -> tuple[dict, int]:
    """Stream every live address by id; keep the ones whose loose key differs, then look up the
    plain addresses those keys name."""
    variants: dict[str, list[int]] = defaultdict(list)
    after = 0
    while True:
        rows = db.session.execute(
            select(Contact.id, Contact.email_key).where(_live(), Contact.email_key.is_not(None), Contact.id > after)
            .order_by(Contact.id).limit(BATCH)
        ).all()
        if not rows:
            break
        for cid, key in rows:
            loose = loose_email(key)
            if loose != key:
                variants[loose].append(cid)
        after = rows[-1][0]
        done += len(rows)
        ctx.progress(done, total)
    found: dict = {}
    keys = list(variants)
    for start_at in range(0, len(keys), 500):
        chunk = keys[start_at:start_at + 500]
        for cid, key in db.session.execute(
            select(Contact.id, Contact.email_key).where(_live(), Contact.email_key.in_(chunk))
        ):
            variants[key].append(cid)
    for ids in variants.values():
        if 1 < len(ids) <= GROUP_CAP:
            for a, b in combinations(sorted(ids), 2):
                _add(found, a, b, "email", REASON_SCORES["email"])
    return found, done


def _compare(block: list[tuple], found: dict) -> None:
    """All pairs of a block (rows of (id, name, email_key, phone)) that score as a close name:
    one rapidfuzz call per name against the names after it (the loop runs in C; no numpy)."""
    from rapidfuzz import fuzz  # here, not at start-up: the scan runs in the worker
    from rapidfuzz.process import extract

    names = [row[1] for row in block]
    for i in range(len(block) - 1):
        mine = block[i]
        for _match, similarity, j in extract(names[i], names[i + 1:], scorer=fuzz.ratio,
                                             score_cutoff=NAME_CUTOFF, limit=None):
            theirs = block[i + 1 + j]
            score = name_score(similarity, (mine[2], theirs[2]), (mine[3], theirs[3]))
            if score is not None:
                _add(found, mine[0], theirs[0], "name", score)


def _compare_org(members: list[tuple], found: dict, beat, stats: dict) -> None:
    """members: (id, first, last, sort_name, email_key, phone), in sort_name order. A name shared
    by more than NAME_GROUP_CAP contacts of one organization is a common name there (six John
    Smiths at one company are six people), not a duplicate: those contacts are left out."""
    rows = [(m[0], full_name(m[1], m[2]), m[4], m[5]) for m in members]
    counts = Counter(row[1] for row in rows)
    common = {name for name, n in counts.items() if n > NAME_GROUP_CAP}
    if common:
        keep = [i for i, row in enumerate(rows) if row[1] not in common]
        stats["common_names"] = stats.get("common_names", 0) + len(rows) - len(keep)
        members, rows = [members[i] for i in keep], [rows[i] for i in keep]
    if len(rows) <= BLOCK_CAP:
        _compare(rows, found)
        return
    blocks = defaultdict(list)
    for m, row in zip(members, rows, strict=True):
        blocks[(m[2][:3].lower(), m[1][:1].lower())].append(row)
    for block in blocks.values():
        beat()
        if len(block) <= BLOCK_CAP:
            _compare(block, found)
            continue
        for first in range(0, len(block), WINDOW):  # overlapping windows over the name order
            _compare(block[first:first + 2 * WINDOW], found)


def _name_batch(after: int, beat, stats: dict) -> tuple[dict, int | None, int]:
    """The next organizations (up to ORG_BATCH, and about BATCH_CONTACTS contacts) after ``after``."""
    counted = db.session.execute(
        select(Contact.organization_id, func.count()).where(Contact.organization_id > after)
        .group_by(Contact.organization_id).order_by(Contact.organization_id).limit(ORG_BATCH)
    ).all()
    found: dict = {}
    if not counted:
        return found, None, 0
    orgs, size = [], 0
    for org_id, count in counted:
        if orgs and size + count > BATCH_CONTACTS:
            break
        orgs.append(org_id)
        size += count
    members = defaultdict(list)
    count = 0
    for row in db.session.execute(
        select(Contact.organization_id, Contact.id, Contact.first_name, Contact.last_name, Contact.sort_name,
               Contact.email_key, Contact.phone)
        .where(_live(), Contact.organization_id.in_(orgs))
        .order_by(Contact.organization_id, Contact.sort_name, Contact.id)
    ):
        members[row[0]].append(tuple(row[1:]))
        count += 1
    for group in members.values():
        if len(group) > 1:
            _compare_org(group, found, beat, stats)
    return found, orgs[-1], count


def run(ctx) -> dict:
    """The job runner. Checkpoint: {"phase", "after", "done", "stats"}."""
    point = dict(ctx.checkpoint or {})
    phase = point.get("phase", PHASES[0])
    after = point.get("after")
    done = point.get("done", 0)
    stats = point.get("stats", {})
    total = point.get("total") or 2 * db.session.scalar(select(func.count()).select_from(Contact).where(_live()))

    last_beat = [time.monotonic()]

    def beat():
        if time.monotonic() - last_beat[0] > BEAT_SECONDS:
            ctx.progress(done, total)
            last_beat[0] = time.monotonic()

    def save(next_phase, next_after):
        ctx.progress(done, total, checkpoint={"phase": next_phase, "after": next_after, "done": done,
                                              "stats": stats, "total": total})

    if phase == "phone":
        after = after or ""
        while True:
            found, last = _phone_batch(after, stats)
            with transaction():
                record_pairs(found, stats)
                if last is None:
                    save("email", None)
                    break
                save("phone", last)
            after = last
        phase = "email"
    if phase == "email":
        found, done = _email_pass(ctx, done, total)
        with transaction():
            record_pairs(found, stats)
            save("name", 0)
        phase, after = "name", 0
    if phase == "name":
        after = after or 0
        while True:
            found, last, count = _name_batch(after, beat, stats)
            done += count
            with transaction():
                record_pairs(found, stats)
                if last is None:
                    done = total
                    save("done", None)
                    break
                save("name", last)
            after = last
    summary = {"Pairs found": stats.get("found", 0), "New pairs": stats.get("new", 0)}
    if stats.get("skipped_groups"):
        summary[f"Groups of more than {GROUP_CAP} skipped"] = stats["skipped_groups"]
    if stats.get("common_names"):
        summary[f"Contacts left out: their name is shared by more than {NAME_GROUP_CAP} at their organization"] = (
            stats["common_names"])
    return {"summary": summary, "links": [{"label": "Review duplicates", "url": _queue_url()}]}


def _queue_url() -> str:
    from flask import url_for

    try:
        return url_for("merges.queue")
    except RuntimeError:  # a worker has no request to build URLs from
        return "/duplicates/"
