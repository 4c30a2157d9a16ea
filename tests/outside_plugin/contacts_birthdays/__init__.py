"""Birthdays: a plugin written outside the Contacts repository, as a third party would."""

from pathlib import Path

from core import hookimpl

__version__ = "0.2.0"


@hookimpl
def contacts_blueprints(app):
    from .views import bp

    return [bp]


@hookimpl
def contacts_migration_dirs():
    return [str(Path(__file__).parent / "migrations")]


@hookimpl
def contacts_contact_panels(contact, user):
    from flask import url_for

    from core.ui import Panel

    return [Panel("birthday", "Birthday", url_for("birthdays.panel", contact_id=contact.id), order=60)]



@hookimpl
def contacts_cli(group):
    import click

    @group.command("birthdays-today")
    def birthdays_today():
        """List the contacts whose birthday is today."""
        from datetime import date

        from .services import born_on

        for contact, day in born_on(date.today()):
            click.echo(f"{contact.id}\t{contact.full_name}\t{day.isoformat()}")


@hookimpl
def contacts_tasks(app, huey):
    from core.tasks import register

    from .services import count_born_today

    register(app, huey, count_born_today, name="birthdays.count_today")
