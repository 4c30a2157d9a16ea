"""Every hook is documented and tested (as Datasette checks its own hooks).

A hookspec in core/hookspecs.py needs a docstring with an ``Example::``, a section in
docs/plugins.md whose heading shows its signature, and a test under tests/ that calls it
(``hook.contacts_<name>(`` or ``.contacts_<name>(`` on a relay) or is named after it
(``def test_..contacts_<name>..``).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from core import hookspecs

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"
HOOKS = sorted(
    name for name, fn in vars(hookspecs).items()
    if name.startswith("contacts_") and callable(fn) and hasattr(fn, "contacts_spec")
)


def _test_sources() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py") if p.name != Path(__file__).name)


def test_hookspecs_are_found():
    assert len(HOOKS) >= 15
    assert "contacts_permission" in HOOKS and "contacts_contact_created" in HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring_with_an_example(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert "Example::" in doc, f"{name}'s docstring has no Example::"
    example = doc.split("Example::", 1)[1]
    assert f"def {name}(" in example, f"{name}'s example does not implement the hook"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_section_in_the_guide(name):
    signature = str(inspect.signature(getattr(hookspecs, name)))
    heading = re.compile(rf"^#{{2,5}} `{re.escape(name + signature)}`\s*$", re.M)
    assert heading.search(GUIDE.read_text()), f"docs/plugins.md needs a heading: #### `{name}{signature}`"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_test(name):
    source = _test_sources()
    called = re.search(rf"\.{name}\(", source)
    named = re.search(rf"def test_\w*{name}(?![a-z])", source)
    assert called or named, f"no test calls {name} or is named after it"


def test_the_guide_documents_no_hook_that_does_not_exist():
    documented = set(re.findall(r"^#{2,5} `(contacts_\w+)\(", GUIDE.read_text(), re.M))
    assert documented == set(HOOKS)


def test_the_check_would_catch_an_undocumented_hook(monkeypatch):
    """The guide check is not vacuous: a hook missing from the guide fails it."""

    def contacts_contact_craeted(contact):  # a new, undocumented hookspec
        """Nothing."""

    monkeypatch.setattr(hookspecs, "contacts_contact_craeted", contacts_contact_craeted, raising=False)
    with pytest.raises(AssertionError):
        test_hook_has_a_section_in_the_guide("contacts_contact_craeted")
    with pytest.raises(AssertionError):
        test_hook_has_a_docstring_with_an_example("contacts_contact_craeted")
