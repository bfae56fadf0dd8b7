"""How a backend names one file of a torrent, read from what it answered (for `swarmspec init`).

A target's `[stream].file_url` (infra/suite/targets/README.md) is a template over
`{file_index}`, `{file_path}` or `{file_path_url}` and the stream flow's captures. A
control API that lists a torrent's `files[]`, each with its own `streamUrl`, beside a
`serverUrl`, shows its naming scheme: the template is what is left of each file's URL
once the server, the info hash and the file's index or path are named, and it counts
only when it rebuilds the URL of every listed file exactly. Nothing is guessed: a
listing that fits no single template gives none.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

#: Where a control answer may put the server every file is served from, and its files.
SERVER_KEYS = ("serverUrl", "server_url", "baseUrl")
FILE_URL_KEYS = ("streamUrl", "stream_url", "url", "href")


def path_url(path: str) -> str:
    """`{file_path_url}` as the suite renders it: each path segment percent-encoded."""
    return "/".join(quote(part, safe="") for part in path.split("/"))


def render(template: str, values: dict[str, Any]) -> str:
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", str(value))
    return out


def listed_files(document: Any) -> list[dict[str, Any]]:
    """The `files[]` of a control answer as (index, path, url) records; entries lacking one are left out."""
    files = document.get("files") if isinstance(document, dict) else None
    out = []
    for position, entry in enumerate(files if isinstance(files, list) else []):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        url = next((entry[k] for k in FILE_URL_KEYS if isinstance(entry.get(k), str) and entry[k]), None)
        if url:
            out.append({"index": entry.get("index", position), "path": entry["path"], "url": url})
    return out


def file_template(server: str, info_hash: str, files: list[dict[str, Any]]) -> str | None:
    """The part of `file_url` after `{serverUrl}` that rebuilds every listed file's URL, or None."""
    if not files or not server:
        return None
    candidates = []
    for file in files:
        if not file["url"].startswith(server):
            return None
        rest = file["url"][len(server):]
        for value, name in ((path_url(file["path"]), "file_path_url"), (file["path"], "file_path")):
            if value and value in rest:
                candidates.append(rest.replace(value, "{" + name + "}", 1))
        if rest.rstrip("/").endswith(f"/{file['index']}"):
            cut = rest.rstrip("/").rfind(f"/{file['index']}")
            candidates.append(rest[:cut] + "/{file_index}" + rest[cut + len(f"/{file['index']}"):])
    for candidate in dict.fromkeys(_with_hash(c, info_hash) for c in candidates):
        if all(server + render(candidate, _values(f, info_hash)) == f["url"] for f in files):
            return candidate
    return None


def _with_hash(rest: str, info_hash: str) -> str:
    if not info_hash:
        return rest
    at = rest.lower().find(info_hash.lower())
    return rest if at < 0 else rest[:at] + "{info_hash}" + rest[at + len(info_hash):]


def _values(file: dict[str, Any], info_hash: str) -> dict[str, Any]:
    return {"file_index": file["index"], "file_path": file["path"], "file_path_url": path_url(file["path"]),
            "info_hash": info_hash.lower()}
