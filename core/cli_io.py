"""``contacts import`` and ``contacts export``: the same pipeline and export as the web, run in
this process with a progress bar, acting as a real user (``--as``) or the first admin."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from .errors import ServiceError, ValidationError


def _actor(email: str | None):
    from sqlalchemy import func, select

    from .extensions import db
    from .models import User

    stmt = select(User).where(User.active.is_(True))
    if email:
        stmt = stmt.where(func.lower(User.email) == email.strip().lower())
    else:
        stmt = stmt.where(User.role == "admin").order_by(User.id)
    user = db.session.scalars(stmt.limit(1)).first()
    if user is None:
        raise ValidationError({"as": f"No active user {email!r}." if email else "No active admin; pass --as EMAIL."})
    return user


def _team_id(name: str | None):
    if not name:
        return None
    from sqlalchemy import func, select

    from .extensions import db
    from .models import Team

    team = db.session.scalar(select(Team).where(func.lower(Team.name) == name.strip().lower()))
    if team is None:
        raise ValidationError({"team": f"No team named {name!r}."})
    return team.id


def _fail(exc: ServiceError):
    from .cli import _fail as fail

    fail(exc)


def register(cli) -> None:
    @cli.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--key", type=click.Choice(["email", "external_id"]), default=None,
                  help="Match existing contacts on this, the other one is the fallback (default: email; "
                       "external_id, the card's UID, for a vCard file).")
    @click.option("--dry-run", is_flag=True, help="Only report what would be created, updated and rejected.")
    @click.option("--team", default=None, help="Owner team of new contacts (default: the user's first team).")
    @click.option("--as", "as_email", default=None, help="Import as this user (default: the first admin).")
    @click.option("--source", default=None,
                  help="Where a CSV's external ids come from (default: the detected layout; vcard for a vCard file).")
    @click.option("--errors", "errors_file", type=click.File("w", encoding="utf-8"), default=None,
                  help="Write the problem report here (CSV): each row with a problem as the file has it, then Row and Problem.")
    @with_appcontext
    def import_command(file, key, dry_run, team, as_email, source, errors_file):
        """Import contacts from a CSV FILE (Google, Outlook, LinkedIn, HubSpot, Thunderbird or our export)
        or a vCard FILE (2.1 to 4.0: phones, Google, Apple, Outlook, Thunderbird)."""
        from .services import csv_import, import_report, importer, vcard_import

        problems: list = []
        layout = None

        def note(ref, message):
            problems.append((ref, message))

        try:
            actor = _actor(as_email)
            if vcard_import.is_vcard(file):
                click.echo("vCard file", err=True)
                options = importer.Options(key=key or "external_id", source=vcard_import.SOURCE, team_id=_team_id(team),
                                           dry_run=dry_run)
                records, total = vcard_import.records(file, on_warning=note), vcard_import.count_cards(file)
            else:
                layout = csv_import.sniff(file)
                mapping = csv_import.auto_mapping(layout.headers, layout.preset)
                if not mapping:
                    raise ValidationError({"file": "No column could be matched to a contact field."})
                click.echo(f"{csv_import.PRESET_LABELS[layout.preset]}{' layout' if layout.preset else ''}, {layout.encoding}, "
                           f"columns: {', '.join(f'{layout.headers[i]}->{t}' for i, t in mapping.items())}", err=True)
                options = importer.Options(key=key or "email", source=source or csv_import.source_of(layout),
                                           team_id=_team_id(team), dry_run=dry_run)
                records, total = csv_import.records(file, layout, mapping), csv_import.count_rows(file, layout)
            with click.progressbar(length=total, label="Dry run" if dry_run else "Importing", file=sys.stderr) as bar:
                seen = {"done": 0}

                def on_batch(outcome):
                    bar.update(outcome.done - seen["done"])
                    seen["done"] = outcome.done

                outcome = importer.run(actor, records, options, on_batch=on_batch, on_error=note)
        except ServiceError as exc:
            _fail(exc)
        for name, value in outcome.summary().items():
            click.echo(f"{name}: {value}")
        if dry_run:
            for kind in ("created", "updated"):
                for item in outcome.samples[kind]:
                    click.echo(f"  would be {kind}: {item}")
            for item in outcome.samples["look_alikes"]:
                click.echo(f"  row {item['row']} looks like row {item['other']} ({item['why']}): two contacts")
        for ref, message in problems[:20]:
            click.echo(f"row {ref}: {message}", err=True)
        if len(problems) > 20:
            click.echo(f"... and {len(problems) - 20} more problems", err=True)
        if errors_file is not None:  # the web's problem report: the file's rows with Row and Problem (no formulas)
            if layout is None:
                import_report.write(errors_file, None, [(ref, str(ref), message, None) for ref, message in problems])
            else:
                import_report.write(errors_file, import_report.header(layout.headers),
                                    import_report.with_cells(file, layout, problems))

    @cli.command("export")
    @click.option("--format", "fmt", type=click.Choice(["csv", "vcard"]), default=None,
                  help="Default: vcard when --out ends in .vcf, else csv.")
    @click.option("--vcard-version", type=click.Choice(["3.0", "4.0"]), default="4.0", show_default=True)
    @click.option("--raw", is_flag=True, help="CSV values as stored (no formula neutralizing, no BOM): for re-import.")
    @click.option("--out", "out", type=click.File("w", encoding="utf-8", lazy=True), default="-", help="Default: stdout.")
    @click.option("--as", "as_email", default=None, help="Export what this user sees (default: the first admin).")
    @click.option("-q", "--search", "q", default="", help="Full-text filter, as in the search box.")
    @click.option("--status", default="")
    @click.option("--type", "type_", default="")
    @click.option("--organization-id", type=int, default=None)
    @click.option("--sort", default="name", show_default=True)
    @with_appcontext
    def export_command(fmt, vcard_version, raw, out, as_email, q, status, type_, organization_id, sort):
        """Export contacts as CSV or vCards, filtered like the contacts list."""
        from .services import csv_export, vcard_export

        try:
            actor = _actor(as_email)
            count = {"rows": 0}

            def counted(n):
                count["rows"] += n

            filters = {"q": q, "status": status, "type": type_, "organization_id": organization_id, "sort": sort}
            if (fmt or ("vcard" if str(getattr(out, "name", "")).lower().endswith(".vcf") else "csv")) == "vcard":
                cards = vcard_export.stream_vcards(actor, vcard_version, **filters)  # checks the filters now
                chunks = (card for card in cards if counted(1) is None)  # one card a chunk
            else:
                chunks = csv_export.stream(actor, raw=raw, progress=counted, filters=filters)
            with click.progressbar(chunks, label="Exporting", file=sys.stderr,
                                   item_show_func=lambda _chunk: f"{count['rows']:,} contacts") as bar:
                for chunk in bar:
                    out.write(chunk)
            click.echo(f"exported {count['rows']:,} contact{'' if count['rows'] == 1 else 's'}", err=True)
        except ServiceError as exc:
            _fail(exc)
