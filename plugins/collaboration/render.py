"""Markdown to safe HTML: markdown-it-py without raw HTML, then nh3 with an explicit allow-list.

Two layers on purpose: markdown-it escapes raw HTML and refuses dangerous link schemes, and nh3
removes anything that still is not on the list (tags, attributes, URL schemes). Images become
plain links, so a note never makes the reader's browser fetch an outside resource.

Both load with the first note rendered, not when a web worker starts (``render_markdown`` is a
template global, so this module is imported at start-up).
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup

TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol",
    "p", "pre", "strong", "ul",
}
# "*": no generic attributes (ammonia would otherwise keep `title` and `lang` everywhere).
ATTRIBUTES = {"*": set(), "a": {"href"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"
_URL_ATTRIBUTES = {"href", "src", "cite", "action", "formaction"}


def _linkify() -> bool:
    try:  # linkify needs the optional linkify-it-py package
        import linkify_it  # noqa: F401
    except ImportError:  # pragma: no cover - depends on what is installed
        return False
    return True


def _image_as_link(renderer, tokens, idx, options, env):
    from markdown_it.common.utils import escapeHtml

    token = tokens[idx]
    src = token.attrGet("src") or ""
    alt = "".join(child.content for child in (token.children or [])) or src
    return f'<a href="{escapeHtml(src)}">{escapeHtml(alt)}</a>'


def _only_absolute_urls(tag: str, attribute: str, value: str):
    """Keep URL attributes only with an allowed scheme (no relative or scheme-relative URLs)."""
    if attribute in _URL_ATTRIBUTES:
        scheme = value.split(":", 1)[0].lower() if ":" in value else ""
        return value if scheme in URL_SCHEMES else None
    return value


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    linkify = _linkify()
    md = MarkdownIt("commonmark", {"html": False, "linkify": linkify, "typographer": False})
    if linkify:  # pragma: no cover
        md.enable("linkify")
    md.add_render_rule("image", _image_as_link)
    return md


def clean_html(html: str) -> str:
    import nh3

    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=_only_absolute_urls,
    )


@lru_cache(maxsize=256)
def _render(source: str) -> str:
    return clean_html(_parser().render(source))


def render_markdown(source: str | None) -> Markup:
    """Render a note's Markdown to HTML that is safe to put on the page as is.

    Cached per process by source text: markdown-it-py needs up to about a second for a
    pathological 20,000-character note, which should cost that once, not on every page view.
    """
    return Markup(_render(source or ""))  # noqa: S704 - nh3 cleaned it
