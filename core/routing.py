"""How requests reach views: URL rules whose builders are compiled on first use, and the app class.

werkzeug compiles two Python functions per rule (``url_for`` with and without unknown arguments)
when the rule is added: with ~250 rules that was ~0.11 CPU s of each web worker's start, 15 % of
it, for builders most of which a worker never calls before it is restarted. ``LazyRule`` compiles
each one the first time a URL is built with it; matching requests is unchanged.
"""

from __future__ import annotations

from flask import Flask
from flask import Request as FlaskRequest
from werkzeug.routing import Rule
from werkzeug.utils import cached_property


class LazyRule(Rule):
    def _compile_builder(self, append_unknown: bool = True):
        attribute = "_build_unknown" if append_unknown else "_build"

        def build_once(rule: Rule, *args, **kwargs):
            compiled = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, attribute, compiled)  # later calls skip this step
            return compiled(*args, **kwargs)

        return build_once


class Request(FlaskRequest):
    @cached_property
    def cookies(self):
        """No ``Cookie`` header (an API call): no cookies, without the scan of every header werkzeug
        makes to join the Cookie ones (~45 Python calls; flask-login asks on every API request)."""
        if not self.environ.get("HTTP_COOKIE"):
            return self.dict_storage_class()
        return super().cookies


class App(Flask):
    """Flask, with ``ensure_sync``'s answer kept per function. Flask asks it of every hook and of the
    view on every request (``inspect.iscoroutinefunction``, ~9 Python calls each: ~70 of an API
    request's); the hooks and views are the same few functions all along. Bounded, in case a caller
    hands it a new function each time."""

    request_class = Request
    _synced: dict | None = None

    def ensure_sync(self, func):
        synced = self._synced
        if synced is None:
            synced = self._synced = {}
        try:
            return synced[func]
        except KeyError:
            pass
        except TypeError:  # not hashable
            return super().ensure_sync(func)
        if len(synced) >= 1024:
            synced.clear()
        made = synced[func] = super().ensure_sync(func)
        return made
