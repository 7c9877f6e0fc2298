"""Launch failures a clinician can read: each has a kind, a title, what happened and what to do.

The blueprint renders them as a page (never a traceback) with the HTTP status given here.
"""

from __future__ import annotations


class LaunchError(Exception):
    """A launch or session failure with a page to show."""

    def __init__(
        self,
        kind: str,
        title: str,
        detail: str,
        action: str,
        status: int = 400,
        reason: str | None = None,
    ):
        super().__init__(f"{kind}: {title}")
        self.kind = kind
        self.reason = reason or kind  # the rule that refused, for the log
        self.title = title
        self.detail = detail
        self.action = action
        self.status = status


RELAUNCH = "Open the app again from the patient's chart in the EHR."


def denied(description: str | None = None) -> LaunchError:
    return LaunchError(
        "access_denied",
        "Access was not granted",
        "The authorization server reported that access to this patient's record was denied"
        + (f" ({description})." if description else "."),
        "If this was a mistake, launch the app again and approve access.",
        403,
    )


def state_mismatch() -> LaunchError:
    return LaunchError(
        "state_mismatch",
        "This sign-in does not belong to this browser",
        "The answer from the authorization server carries a state value that no launch in this "
        "browser started. It may be a stale link or a forged request; nothing was accepted.",
        RELAUNCH,
        403,
    )


def expired() -> LaunchError:
    return LaunchError(
        "expired",
        "The session has expired",
        "The sign-in or the app session is no longer valid (it timed out, was already used, "
        "or its cookie is gone).",
        RELAUNCH,
        401,
    )


def cookie_missing(framed: bool, cross_site: bool, secure_cookies: bool) -> LaunchError:
    """The browser sent none of the app's cookies: name the likely cause from what the request
    says about itself (Sec-Fetch-Dest / Sec-Fetch-Site) and the configuration."""
    if framed and cross_site and not secure_cookies:
        cause = (
            "The app runs inside a frame of the EHR, which is another site, and it is configured "
            "without Secure cookies (IMMUNOTOX_SESSION_COOKIE_SECURE=false): browsers do not "
            "send such cookies inside another site's frame."
        )
        action = (
            "Open the app in a new window from the EHR for now; the administrator must serve "
            "the app over https with IMMUNOTOX_SESSION_COOKIE_SECURE on."
        )
    elif framed and cross_site:
        cause = (
            "The app runs inside a frame of the EHR, which is another site, and this browser "
            "did not send the app's cookie there: it blocks third-party cookies (a browser "
            "setting or policy), or does not support partitioned cookies."
        )
        action = (
            "Open the app in a new window from the EHR, or ask the administrator to allow "
            "cookies for the app's site in the EHR's browsers."
        )
    else:
        cause = (
            "This browser did not send the app's cookie: cookies are blocked for the app's site, "
            "or the launch began in another browser or profile."
        )
        action = "Allow cookies for the app's site, then " + RELAUNCH[0].lower() + RELAUNCH[1:]
    return LaunchError(
        "cookie_missing", "The browser did not send the app's cookie", cause, action, 401
    )


def fhir_unavailable(what: str) -> LaunchError:
    return LaunchError(
        "fhir_unavailable",
        "The FHIR server did not answer",
        f"{what} The assessment needs the patient's record and cannot be shown without it.",
        "Try again in a minute; if it persists, contact the EHR support team.",
        502,
    )


def missing_scope(missing: list[str]) -> LaunchError:
    return LaunchError(
        "missing_scope",
        "Access to required data was not granted",
        "The authorization server granted less than the app needs to grade toxicity. "
        "Missing: " + ", ".join(missing) + ".",
        "Launch again and approve access to the listed data, or ask the EHR administrator to "
        "allow these scopes for the app.",
        403,
    )


def missing_context(what: str) -> LaunchError:
    return LaunchError(
        "missing_context",
        "No patient was selected",
        f"The launch did not say which patient to open ({what}).",
        RELAUNCH,
        400,
    )


def bad_request(detail: str) -> LaunchError:
    return LaunchError("bad_request", "The launch request is not valid", detail, RELAUNCH, 400)


def unknown_server(iss: str) -> LaunchError:
    return LaunchError(
        "unknown_server",
        "This FHIR server is not registered with the app",
        f"The app only connects to FHIR servers its administrator listed; {iss} is not one.",
        "Ask the administrator to add the server to the app's allow-list.",
        400,
    )


def auth_server(detail: str) -> LaunchError:
    return LaunchError(
        "auth_server_error",
        "The authorization server refused the app",
        detail,
        "Try again; if it persists, the app's registration may need checking.",
        502,
    )
