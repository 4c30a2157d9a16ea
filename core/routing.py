"""URL rules whose builders are compiled on first use.

werkzeug compiles two Python functions per rule (``url_for`` with and without unknown arguments)
when the rule is added: with ~250 rules that was ~0.11 CPU s of each web worker's start, 15 % of
it, for builders most of which a worker never calls before it is restarted. ``LazyRule`` compiles
each one the first time a URL is built with it; matching requests is unchanged.
"""

from __future__ import annotations

from werkzeug.routing import Rule


class LazyRule(Rule):
    def _compile_builder(self, append_unknown: bool = True):
        attribute = "_build_unknown" if append_unknown else "_build"

        def build_once(rule: Rule, *args, **kwargs):
            compiled = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, attribute, compiled)  # later calls skip this step
            return compiled(*args, **kwargs)

        return build_once
