"""Helpers for the launch tests: a requests-based browser and the error-page reader."""

from __future__ import annotations

import re
from html import unescape

import requests


class Browser:
    def __init__(self) -> None:
        self.http = requests.Session()

    def get(self, url: str, **kw) -> requests.Response:
        return self.http.get(url, timeout=30, **kw)

    def submit_consent(self, page: requests.Response, decision: str, patient: str | None):
        action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
        fields = {
            unescape(k): unescape(v)
            for k, v in re.findall(
                r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text
            )
        }
        if patient:
            fields["patient"] = patient
        fields["decision"] = decision
        base = re.match(r"https?://[^/]+", page.url).group(0)
        return self.http.post(base + action, data=fields, timeout=30)


def error_kind(resp: requests.Response) -> str | None:
    m = re.search(r'data-error-kind="([^"]+)"', resp.text)
    return m.group(1) if m else None
