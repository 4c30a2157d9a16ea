"""Real-browser tests: Debian's chromium driven by Playwright against the app served from a
thread on 127.0.0.1. Skipped when chromium is missing, except under CI (CI=true), where a
missing browser fails the run."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from core import create_app
from core.extensions import db
from core.models import Team
from core.services import vocabulary
from tests import factories
from tests.conftest import ALL_PLUGINS, drop_everything, reset_database, test_config

CHROMIUM = os.environ.get("CONTACTS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT_MS = 10_000
# Set CONTACTS_E2E_SHOTS=/some/folder to keep a screenshot of each major step (see `shot`).
SHOTS = os.environ.get("CONTACTS_E2E_SHOTS")

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI is set but no chromium at {CHROMIUM}: install Debian's chromium package")
    skip = pytest.mark.skip(reason=f"chromium not found at {CHROMIUM}; apt-get install chromium")
    for item in items:
        if "e2e" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    app = create_app(test_config(tmp_path_factory, WTF_CSRF_ENABLED=True, TESTING=False), plugins=ALL_PLUGINS)
    with app.app_context():
        drop_everything()  # a reused PostgreSQL database may hold tables of an older schema
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def seeded(live_app):
    """A clean database with a team and a member whose password is factories.PASSWORD."""
    reset_database(live_app)
    with live_app.app_context():
        vocabulary.ensure_defaults()
        team = factories.team("Sales")
        user = factories.user("member", [team], email="member@example.org", name="Mia Member")
        return {"team_id": team.id, "email": user.email, "password": factories.PASSWORD}


@pytest.fixture(autouse=True)
def _no_server_errors(request):
    """Fail a browser test when any response (a lazily loaded panel, a background refresh) was a 5xx."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    failures = []
    page.on(
        "response",
        lambda response: failures.append(f"{response.status} {response.url}") if response.status >= 500 else None,
    )
    yield
    assert not failures, f"server errors during the test: {failures}"


@pytest.fixture
def make_contact(live_app, seeded):
    """Create a contact of the seeded team directly in the database; returns its id."""

    def make(first_name: str, last_name: str, **extra) -> int:
        with live_app.app_context():
            team = db.session.get(Team, seeded["team_id"])
            return factories.contact(team, first_name, last_name, **extra).id

    return make


@pytest.fixture
def shot(request):
    """``shot(page, "step")`` saves a full-page screenshot when CONTACTS_E2E_SHOTS names a folder."""

    def take(page, step: str) -> None:
        if SHOTS:
            os.makedirs(SHOTS, exist_ok=True)
            page.screenshot(path=os.path.join(SHOTS, f"{request.node.originalname}-{step}.png"), full_page=True)

    return take


@pytest.fixture
def logged_in(page, live_server, seeded):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill(seeded["email"])
    page.get_by_label("Password").fill(seeded["password"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server + "/")
    return page


SETTLE_COUNTER = (
    "document.addEventListener('htmx:afterSettle', () => { window.__htmxSettled = (window.__htmxSettled || 0) + 1 })"
)


@pytest.fixture
def settled(page):
    """Run a browser action and wait until htmx has swapped AND settled its answer.

    A response arriving is not enough: htmx swaps and settles after it, and until then the
    element that asked still counts as busy, so an immediate next action on it is dropped.
    """
    page.add_init_script(SETTLE_COUNTER)
    page.evaluate(SETTLE_COUNTER)  # for a page that is already open

    idle = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"

    def run(action):
        # Start from a quiet page (a lazy fragment settling now would be taken for the answer), and
        # end on one: new content only gets its htmx behaviour when it settles, 20 ms after the swap.
        page.wait_for_function(idle)
        before = page.evaluate("() => window.__htmxSettled || 0")
        action()
        page.wait_for_function(f"() => (window.__htmxSettled || 0) > {before}")
        page.wait_for_function(idle)

    return run
