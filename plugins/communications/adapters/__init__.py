"""Delivery adapters: each hands one outgoing message to the outside world (see base.py)."""
