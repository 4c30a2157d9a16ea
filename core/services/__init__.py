"""The use cases. The only place that changes data: the UI, the API, the CLI and tasks call these.

A service checks permission, writes the change and its audit entry in one transaction,
invalidates cached data and, after commit, calls the event hooks.
"""
