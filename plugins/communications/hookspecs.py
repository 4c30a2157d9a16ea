"""Hooks of the communications plugin, for other plugins (monitoring, planning, ...).

Registered through ``contacts_hookspecs``; implement them with ``core.hookimpl`` like any core
hook, without importing this plugin. Event hooks run after the change is committed, in the
process that made it (often the huey worker), and return nothing.
"""

import pluggy

hookspec = pluggy.HookspecMarker("contacts")


@hookspec
def communications_channels():
    """Return a list of channels to add: ``plugins.communications.channels.Channel`` objects or
    dicts with ``key``, ``label``, optional ``address`` ("email", "phone") and an ``adapter``
    (an object with ``send(message)``) or a ``send`` function. A channel without an adapter is
    recorded, not sent. Reusing a built-in key (``"sms"``) replaces the built-in channel.

    ``send(message)`` receives an ``OutgoingMessage`` (idempotency_key, to_address, subject,
    body, handover) and returns a ``DeliveryResult`` or raises ``TemporaryError`` /
    ``PermanentError`` from ``plugins.communications.adapters.base``. Pass the idempotency key
    to your provider so a retried send is not delivered twice.

    Example::

        @hookimpl
        def communications_channels():
            return [{"key": "sms", "label": "SMS", "address": "phone", "send": gateway.send}]
    """


@hookspec
def communications_status_changed(communication, old, new):
    """A send changed status (``old`` → ``new``; ``old`` is None for a new send). Statuses:
    draft, scheduled, sending, sent, failed, cancelled, blocked, delivered, bounced, logged.

    Example::

        @hookimpl
        def communications_status_changed(communication, old, new):
            if new == "failed":
                alert(f"email {communication.id} failed: {communication.last_error}")
    """


@hookspec
def communications_sent(communication):
    """A send was handed over for good (SMTP accepted it, or it was written to the outbox).

    Example::

        @hookimpl
        def communications_sent(communication):
            planning.mark_done(contact_id=communication.contact_id, when=communication.sent_at)
    """


@hookspec
def communications_failed(communication, error):
    """A send ended as failed (retries exhausted or a permanent error) or was blocked by the
    contact's preferences; ``error`` is the message the user sees.

    Example::

        @hookimpl
        def communications_failed(communication, error):
            log.warning("communication %s failed: %s", communication.id, error)
    """
