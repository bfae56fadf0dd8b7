"""Secrets never reach a log or a report: Authorization headers, tokens in URLs and
token/password fields in JSON bodies are replaced before anything is attached."""

from __future__ import annotations

import json
import re

REDACTED = "<redacted>"
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-session-id", "x-session", "x-auth-token"}
SECRET_KEYS = re.compile(r"token|password|secret|jwt", re.IGNORECASE)
SECRET_QUERY = re.compile(r"([?&](?:token|access_token|jwt|api_key|password)=)[^&#\s\"]*", re.IGNORECASE)


def headers(values: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, value in values.items():
        if key.lower() in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[key] = f"{scheme} {REDACTED}".strip()
        else:
            out[key] = text(value)
    return out


def text(value: str) -> str:
    """Redact token-bearing query parameters and JWT-looking strings inside free text."""
    value = SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, value)
    return re.sub(r"eyJ[\w-]+\.[\w-]+\.[\w-]*", REDACTED, value)


def json_body(raw: bytes) -> str | None:
    """A redacted rendering of a JSON body, or None if it is not JSON."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None

    def walk(node):
        if isinstance(node, dict):
            return {k: (REDACTED if SECRET_KEYS.search(k) and isinstance(v, str) else walk(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return text(node)
        return node

    return json.dumps(walk(data), indent=2)
