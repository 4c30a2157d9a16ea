"""The dashboard shows the widgets plugins add, each loading lazily."""

from core import create_app, hookimpl
from core.ui import Panel
from tests.conftest import test_config


def test_dashboard_shows_plugin_widgets(member_client):
    page = member_client.get("/dashboard")
    assert page.status_code == 200
    assert b"Recent activity" in page.data  # the monitoring plugin's widget
    assert b'hx-get="/monitoring/widget"' in page.data


def test_dashboard_calls_the_hook_with_the_user(app, member_client, member):
    seen = []

    class Widgets:
        @hookimpl
        def contacts_dashboard_widgets(self, user):
            seen.append(user.id)
            return [Panel("extra", "Extra widget", "/healthz", order=1)]

    pm = app.extensions["contacts_pm"]
    plugin = Widgets()
    pm.register(plugin, name="widgets-test")
    try:
        body = member_client.get("/dashboard").get_data(as_text=True)
    finally:
        pm.unregister(plugin)
    assert seen == [member.id]
    assert body.index("Extra widget") < body.index("Recent activity")


def test_dashboard_without_widgets_says_so(tmp_path_factory):
    from flask_login import FlaskLoginClient

    from core.extensions import db
    from tests import factories

    app = create_app(test_config(tmp_path_factory), plugins=[])
    app.test_client_class = FlaskLoginClient
    with app.app_context():
        db.create_all()
        user = factories.user("member", [factories.team("Solo")])
        client = app.test_client(user=user)
        body = client.get("/dashboard").get_data(as_text=True)
    assert "No widgets yet" in body
