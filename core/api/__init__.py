"""The REST API under /api/v1 (flask-smorest, marshmallow, OpenAPI 3.1).

Personal API tokens authenticate (``Authorization: Bearer <token>``, loaded by the login
manager's request loader); cookies do not, so the API blueprints are exempt from CSRF.
Handlers are thin: parse with a schema, call one service, dump with a schema.

Errors stay inside /api/: flask-smorest's handler would turn every HTTP error of the whole app
into JSON and drop headers such as ``Allow``; ``ContactsApi`` answers JSON on /api/ paths only
(keeping the headers) and leaves the HTML error pages of the other routes alone.
"""

from __future__ import annotations

import functools
from functools import wraps

from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from .. import access
from ..errors import ServiceError
from ..extensions import csrf, login_manager
from . import (
    accounts,
    contact_data,
    contacts,
    details,
    imports,
    jobs,
    lists,
    merges,
    organizations,
    relations,
    taxonomy,
)
from .errors import http_error, is_api_request, service_error
from .schemas import ErrorSchema

BLUEPRINTS = (
    accounts.bp, contacts.bp, organizations.bp, jobs.bp, *contact_data.BLUEPRINTS, relations.bp, taxonomy.bp, details.bp,
    merges.bp, lists.bp, imports.bp,
)
API_URL_PREFIX = "/api/"

SPEC_OPTIONS = {
    "info": {
        "description": (
            "The Contacts REST API. Authenticate with a personal API token (create one on your "
            "account page or with `contacts token create`): `Authorization: Bearer <token>`. "
            "Lists are paged with cursors: pass `next_cursor` back as `cursor` until it is null. "
            "Updates need the record's ETag in `If-Match`. Errors are JSON and name the field: "
            '`{"code": 422, "status": "Unprocessable Entity", "errors": {"json": {"email": ["..."]}}}`. '
            "Unknown fields are refused (422)."
        ),
    },
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "A personal API token."}}
    },
    "security": [{"bearerAuth": []}],
}


class ContactsApi(Api):
    """flask-smorest's Api with its error handling scoped to /api/ paths, and its OpenAPI document
    built on first use (``spec``) instead of at start-up: documenting every operation was ~0.1 s of
    each web worker's start, for a document few requests ask for."""

    ERROR_SCHEMA = ErrorSchema

    @property
    def spec(self):
        pending, self._pending_docs = getattr(self, "_pending_docs", []), []
        for document in pending:  # in registration order; each reads ``spec`` again, with nothing pending
            document()
        return self.__dict__.get("_spec")

    @spec.setter
    def spec(self, value):
        self.__dict__["_spec"] = value

    def document(self, step) -> None:
        """Run ``step()`` (a change to the OpenAPI document) when the document is first read."""
        self._pending_docs = [*getattr(self, "_pending_docs", []), step]

    def register_blueprint(self, blp, *, parameters=None, **options):
        """``Api.register_blueprint`` (as in flask-smorest 0.45-0.47, the pinned range) with the documentation deferred."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)

        def document():
            blp.register_views_in_doc(self, self._app, self.spec, name=name, parameters=parameters)
            self.spec.tag({"name": name, "description": blp.description})

        self.document(document)

    def _register_error_handlers(self):
        app = self._app
        # Handlers registered earlier for one status (the HTML pages for 403/404/405/...) win over
        # a handler for all HTTPExceptions, so on API paths they hand over to the JSON one.
        for by_class in app.error_handler_spec[None].values():
            for exc_class, handler in list(by_class.items()):
                by_class[exc_class] = _api_first(handler)
        if ServiceError not in app.error_handler_spec[None][None]:
            app.register_error_handler(ServiceError, _api_first(_reraise))
        app.register_error_handler(HTTPException, self.handle_http_exception)

    def handle_http_exception(self, error):
        if not is_api_request():
            return error  # what Flask does with no handler: werkzeug's own page
        return http_error(error)


def _api_first(handler):
    @wraps(handler)
    def scoped(exc):
        if is_api_request():
            if isinstance(exc, HTTPException):
                return http_error(exc)
            if isinstance(exc, ServiceError):
                return service_error(exc)
        return handler(exc)

    return scoped


def _reraise(exc):
    raise exc


def _is_api_blueprint(bp) -> bool:
    return (bp.url_prefix or "").startswith(API_URL_PREFIX)


def init_api(app: Flask) -> ContactsApi:
    """Register the API on ``app`` (a new Api object per app; the blueprints are shared)."""
    api = ContactsApi(spec_kwargs=SPEC_OPTIONS)
    api.init_app(app)
    for bp in BLUEPRINTS:
        api.register_blueprint(bp)
    api.document(lambda: _name_tags(api))
    # Plugins' API blueprints (url_prefix /api/...) registered through contacts_blueprints get
    # the same treatment, and flask-smorest ones are added to the OpenAPI document.
    for name, bp in list(app.blueprints.items()):
        if not _is_api_blueprint(bp):
            continue
        if bp not in BLUEPRINTS and hasattr(bp, "register_views_in_doc"):
            api.document(functools.partial(_document_plugin, api, app, bp, name))
        csrf.exempt(bp)
        login_manager.blueprint_login_views[name] = None  # unauthenticated: 401, not a redirect to /login
    _make_spec_public(app)
    app.extensions["contacts_api"] = api
    return api


TAGS = {
    "contacts": "People and companies you deal with. Deletes go to the trash and can be restored.",
    "organizations": "Organizations that contacts belong to. Deletes go to the trash and can be restored.",
    "me": "The user the API token belongs to.",
    "vocabularies": "The admin-edited contact types and statuses.",
    "saved-views": "Saved views of the contacts list: a filter, a sort and columns, personal or shared with a team.",
    "jobs": "Background jobs (imports, bulk changes, scans): follow their progress, cancel them.",
    **contact_data.TAGS,
    "relationships": "Typed relationships between contacts, and between a contact and an organization.",
    "tags": "Free, coloured labels on contacts (renaming, recolouring and deleting them is for admins).",
    "groups": "Team-owned groups of contacts, and their members.",
    "categories": "The admin-managed category tree; a contact has at most one category.",
    "merges": "Duplicates and merges: the review queue, the duplicate scan, merging two contacts and undoing it.",
    "imports": "CSV import (a background job) and export of contacts.",
}


def _name_tags(api: ContactsApi) -> None:
    """Operations are tagged by resource; drop the tags flask-smorest names after our blueprints."""
    ours = {bp.name for bp in BLUEPRINTS}
    api.spec._tags[:] = [tag for tag in api.spec._tags if tag["name"] not in ours]
    for name, description in TAGS.items():
        api.spec.tag({"name": name, "description": description})


def _document_plugin(api: ContactsApi, app: Flask, bp, name: str) -> None:
    bp.register_views_in_doc(api, app, api.spec, name=name, parameters=None)
    _declare_new_tags(api, bp.description or "")


def _declare_new_tags(api: ContactsApi, description: str) -> None:
    """A plugin's operations name their tag (e.g. ``tags=["communications"]``); the document
    declares it, described by the first plugin blueprint that uses it."""
    declared = {tag["name"] for tag in api.spec._tags}
    used = {
        tag
        for operations in api.spec._paths.values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for tag in operation.get("tags", ())
    }
    for tag in sorted(used - declared):
        api.spec.tag({"name": tag, "description": description})


def _make_spec_public(app: Flask) -> None:
    """The OpenAPI document is readable without a token (it holds no data)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith("api-docs."):

            def public_view(*args, _view=view, **kwargs):
                return _view(*args, **kwargs)

            app.view_functions[endpoint] = access.public(wraps(view)(public_view))
