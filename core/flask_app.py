"""The application class: Flask, with what it works out again on every request worked out once."""

from __future__ import annotations

import types

import flask
from werkzeug.utils import cached_property

SYNC_KEPT = 512  # functions remembered as plain ``def``s: the app's hooks and views are a few dozen


class Request(flask.Request):
    @cached_property
    def cookies(self):
        """No ``Cookie`` header (an API call): no cookies, without the scan of every header werkzeug
        makes to join the Cookie ones (~45 Python calls; flask-login asks on every API request)."""
        if not self.environ.get("HTTP_COOKIE"):
            return self.dict_storage_class()
        return super().cookies


class Flask(flask.Flask):
    """``ensure_sync`` remembers the plain functions it was given. Flask asks it on every request
    for the view, each before- and after-request function, each context processor and teardown
    (~20 a list page), and each answer is an ``inspect`` check of the function's code flags."""

    request_class = Request

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_functions: set = set()

    def ensure_sync(self, func):
        # A method is checked through its function, as inspect does (a bound method may be new each time).
        plain = func.__func__ if type(func) is types.MethodType else func
        if type(plain) is not types.FunctionType:  # a partial, a callable object...: as Flask does
            return super().ensure_sync(func)
        if plain in self._sync_functions:
            return func
        made = super().ensure_sync(func)
        if made is func:
            if len(self._sync_functions) >= SYNC_KEPT:  # only the app's own functions come here: a bound anyway
                self._sync_functions.clear()
            self._sync_functions.add(plain)
        return made
