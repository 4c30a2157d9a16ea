"""The core's own hook implementations, registered before any plugin."""

import pluggy

from . import policy

hookimpl = pluggy.HookimplMarker("contacts")


@hookimpl(trylast=True)
def contacts_permission(user, action, obj):
    return policy.core_rule(user, action, obj)
