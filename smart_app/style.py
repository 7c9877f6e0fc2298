"""The EHR's style (SMART App Launch 2.x, "Styling"): `smart_style_url` from the launch context,
applied to the page as CSS custom properties in a stylesheet the app serves itself
(`GET /app/style.css`), so the Content-Security-Policy (`style-src 'self'`) stays as it is.

Safely, or not at all:

- fetched server-side only, and only from the origin of the session's FHIR server (which is on
  the allowlist): any other URL is never requested;
- through the one HTTP client (`immunotox.fhir_client.FhirClient`: its deadline, its size limit,
  no redirects), without the access token;
- only the SMART style keys, and only values that match strict patterns (hex and rgb colours;
  px, em and rem sizes; font family names of letters, digits, spaces, commas, hyphens and
  quotes), each written out by this module: nothing else of the document reaches the page.

Any failure (a URL off that origin, no answer, not JSON, no usable key) leaves the default style
and one log line naming the reason, never the URL, the patient or the token.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from immunotox import fhir_client
from immunotox.config import allowlist
from immunotox.fhir_client import FhirClient, FhirError

log = logging.getLogger("immunotox.app")

# The style parameters SMART App Launch 2.x lists (section "Styling").
KEYS = (
    "color_background",
    "color_error",
    "color_highlight",
    "color_modal_backdrop",
    "color_success",
    "color_text",
    "dim_border_radius",
    "dim_font_size",
    "dim_spacing_size",
    "font_family_body",
    "font_family_heading",
)
MAX_BYTES = 16 * 1024  # a style document is a few hundred bytes
TIMEOUT_S = 3.0  # at most; never longer than the app's FHIR timeout
CACHE_S = 600.0  # one fetch per style URL per worker in ten minutes
_CACHE_MAX = 64

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_CH = r"\s*(?:\d{1,3}(?:\.\d+)?%?)\s*"
_ALPHA = r"\s*(?:0|1|0?\.\d+|\d{1,3}%)\s*"
_RGB = re.compile(rf"rgba?\({_CH},{_CH},{_CH}(?:,{_ALPHA})?\)")
_SIZE = re.compile(r"\d{1,3}(?:\.\d{1,3})?(?:px|em|rem)")
_FONTS = re.compile(r"[A-Za-z0-9 ,'\"-]{1,200}")

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, str]]] = {}


def clean_value(key: str, value: Any) -> str | None:
    """The value when it is safe to write into a stylesheet for `key`, else None."""
    if not isinstance(value, str):
        return None
    v = value.strip().removesuffix(";").strip()  # the SMART example ends one value with ";"
    if not v or len(v) > 200:
        return None
    if key.startswith("color_"):
        ok = _HEX.fullmatch(v) or _RGB.fullmatch(v)
    elif key.startswith("dim_"):
        ok = _SIZE.fullmatch(v)
    else:
        ok = _FONTS.fullmatch(v) and v.count("'") % 2 == 0 and v.count('"') % 2 == 0
    return v if ok else None


def clean(doc: Any) -> dict[str, str]:
    """The SMART style keys of `doc` whose values pass `clean_value`."""
    if not isinstance(doc, Mapping):
        return {}
    out = {}
    for key in KEYS:
        v = clean_value(key, doc.get(key))
        if v is not None:
            out[key] = v
    return out


# The page's own variables (smart_app/static/app.css) each style key sets, and the rules for
# what has no variable there.
_VARIABLES = {
    "color_text": ("--fg",),
    "color_highlight": ("--accent",),
    "color_error": ("--urgent",),
    "color_success": ("--ok",),
}
_RULES = {
    "color_background": "body { background: var(--smart-color-background); }",
    "dim_font_size": "body { font-size: var(--smart-dim-font-size); }",
    "font_family_body": "body { font-family: var(--smart-font-family-body); }",
    "font_family_heading": "h1, h2, h3, h4 { font-family: var(--smart-font-family-heading); }",
    "dim_border_radius": (
        ".glance, .system, .ice, .alert, .error-box, button, .button "
        "{ border-radius: var(--smart-dim-border-radius); }"
    ),
}


def stylesheet(style: Mapping[str, str]) -> str:
    """CSS for the cleaned style, on screen only: `--smart-<key>` custom properties on :root
    (every key given, `color_modal_backdrop` and `dim_spacing_size` included though the page has
    no modal and keeps its spacing), the page's own variables pointed at them, and a rule for
    each key the page has no variable for."""
    if not style:
        return "/* the EHR's style was not applied: the app's default style */\n"
    props = [f"  --smart-{k.replace('_', '-')}: {v};" for k, v in style.items()]
    for key, names in _VARIABLES.items():
        if key in style:
            props += [f"  {n}: var(--smart-{key.replace('_', '-')});" for n in names]
    rules = [_RULES[k] for k in _RULES if k in style]
    head = "/* the EHR's style (smart_style_url), SMART style keys only; screen only: */"
    note = "/* the printout keeps the app's print stylesheet (two pages, greyscale badges) */"
    body = [":root {", *props, "}", *rules]
    return "\n".join([head, note, "@media screen {", *body, "}"]) + "\n"


def _refuse(reason: str) -> dict[str, str]:
    log.info("SMART style not applied: %s; the default style is used", reason)
    return {}


def load_style(
    cfg: Mapping[str, Any],
    iss: Any,
    url: Any,
    *,
    http_get: Any = None,
) -> dict[str, str]:
    """The cleaned style at `url`, or {} (logged) when it may not be fetched or is unusable."""
    if not isinstance(url, str) or not url.strip():
        return {}
    if not isinstance(iss, str) or iss.rstrip("/") not in allowlist(cfg):
        return _refuse("the session's FHIR server is not on the allowlist")
    u = urlsplit(iss)
    origin = f"{u.scheme}://{u.netloc}"
    if urlsplit(url.strip()).scheme not in ("https", "http"):
        return _refuse("the style URL is not http(s)")
    rule = fhir_client.outside_base(url, origin)
    if rule is not None:
        return _refuse(f"the style URL is not on the FHIR server's origin ({rule})")
    now = time.monotonic()
    with _lock:
        hit = _cache.get(url)
        if hit is not None and hit[0] > now:
            return dict(hit[1])
    timeout = min(TIMEOUT_S, float(cfg.get("FHIR_TIMEOUT_S") or TIMEOUT_S))
    try:
        with FhirClient(
            origin,
            deadline=now + timeout,
            timeout_s=timeout,
            max_page_bytes=MAX_BYTES,
            http_get=http_get,
        ) as client:
            doc = client.get_json(url.strip())
    except FhirError as e:
        return _refuse(f"fetch failed ({e.code})")
    if not isinstance(doc, Mapping):
        return _refuse("the answer is not a JSON object")
    style = clean(doc)
    dropped = sorted(k for k in KEYS if k in doc and k not in style)
    if dropped:
        log.info("SMART style: values not used (not a colour, size or font list): %s", dropped)
    if not style:
        return _refuse("no SMART style key with a usable value")
    with _lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[url] = (now + CACHE_S, dict(style))
    return style
