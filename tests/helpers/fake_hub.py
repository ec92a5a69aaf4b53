"""A local stand-in for the Hugging Face Hub's HTTP API on 127.0.0.1, for tests (no network here).

It answers what huggingface_hub's ``HfApi`` asks when it pushes: create a repo (``/api/repos/create``) and a branch,
validate a card's metadata (``/api/validate-yaml``: the YAML must parse, and a model card's ``model-index`` must be
one ``huggingface_hub`` reads), ask which files are new (``preupload``: large files go through LFS, the rest in
the commit; a file the branch holds unchanged is reported with its oid, so the client leaves it out), take LFS
objects (the batch API, then a PUT of the content; an object it holds already gets no upload action), commit
(``/commit``: ndjson of the header, files, LFS files and deletions), tell a repo's info, and serve a file back
(``/resolve``, HEAD and GET). Point the client at it with ``HF_ENDPOINT=<url>`` and ``HF_HUB_DISABLE_XET=1`` (it
speaks LFS, not Xet).

Every call but the LFS content uploads (presigned URLs) and the card validation must carry ``Authorization: Bearer
<token>`` with the token it was made with, else 401; a repo may be
created under ``user`` or an organization in ``orgs``, else 403. ``fail_next(kind, status)`` makes the next call of
a kind (``create``, ``preupload``, ``lfs``, ``commit``) answer that status. It records every request (method, path,
Authorization header), the commits (message and the paths each changed) and the bytes each LFS object was sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".parquet", ".png")


def git_hash(data: bytes) -> str:
    """git's blob sha1, what the Hub reports as a regular file's oid."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    """One repo: its visibility and its branches (path -> (content, is LFS))."""

    private: bool | None
    branches: dict[str, dict[str, tuple[bytes, bool]]] = field(default_factory=lambda: {"main": {}})
    commits: list[dict[str, Any]] = field(default_factory=list)


class FakeHub:
    """See the module docstring. ``repos`` is keyed by ``(repo type, owner/name)``."""

    def __init__(self, token: str, user: str = "tester", orgs: tuple[str, ...] = ("deepcritic-org",)):
        self.token, self.user, self.orgs = token, user, orgs
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.lfs_puts: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self._fail: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    # -- what tests read ------------------------------------------------------------------------------------

    def files(self, repo_id: str, repo_type: str = "model", branch: str = "main") -> dict[str, bytes]:
        return {path: data for path, (data, _) in self.repos[(repo_type, repo_id)].branches[branch].items()}

    def commits(self, repo_id: str, repo_type: str = "model") -> list[dict[str, Any]]:
        return self.repos[(repo_type, repo_id)].commits

    def fail_next(self, kind: str, status: int) -> None:
        with self._lock:
            self._fail.setdefault(kind, []).append(status)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the API ----------------------------------------------------------------------------------------------

    def injected(self, kind: str) -> int | None:
        with self._lock:
            queue = self._fail.get(kind) or []
            return queue.pop(0) if queue else None

    def create(self, body: dict) -> tuple[int, dict]:
        owner = body.get("organization") or self.user
        kind = body.get("type") or "model"
        repo_id = f"{owner}/{body['name']}"
        url = self.url + ("" if kind == "model" else f"/{kind}s") + f"/{repo_id}"
        if owner not in (self.user, *self.orgs):
            return 403, {"error": f"You don't have the rights to create a {kind} under the namespace {owner!r}"}
        if (kind, repo_id) in self.repos:
            return 409, {"error": "You already created this repo", "url": url}
        self.repos[(kind, repo_id)] = Repo(private={"private": True, "public": False}.get(body.get("visibility", "")))
        return 200, {"url": url, "name": repo_id}

    def branch(self, repo: Repo, name: str) -> tuple[int, dict]:
        if name in repo.branches:
            return 409, {"error": "Reference already exists"}
        repo.branches[name] = dict(repo.branches["main"])
        return 200, {}

    def preupload(self, repo: Repo, rev: str, body: dict) -> tuple[int, dict]:
        held = repo.branches.get(rev, {})
        out = []
        for f in body["files"]:
            lfs = f["path"].endswith(LFS_SUFFIXES) and f["size"] > 0
            old = held.get(f["path"])
            oid = None if old is None else (hashlib.sha256(old[0]).hexdigest() if old[1] else git_hash(old[0]))
            out.append(
                {"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid}
            )
        return 200, {"files": out, "commitOid": "0" * 40}

    def lfs_batch(self, body: dict) -> tuple[int, dict]:
        objects = []
        for o in body["objects"]:
            entry = {"oid": o["oid"], "size": o["size"]}
            if o["oid"] not in self.lfs:
                entry["actions"] = {"upload": {"href": f"{self.url}/lfs-put/{o['oid']}"}}
            objects.append(entry)
        return 200, {"transfer": "basic", "objects": objects}

    def lfs_put(self, oid: str, data: bytes) -> tuple[int, dict]:
        if hashlib.sha256(data).hexdigest() != oid:
            return 400, {"error": "content does not match its oid"}
        self.lfs[oid] = data
        self.lfs_puts.append(oid)
        return 200, {}

    def commit(self, repo: Repo, where: str, rev: str, lines: list[dict]) -> tuple[int, dict]:
        files = repo.branches.get(rev)
        if files is None:
            return 404, {"error": f"Invalid rev id: {rev}"}
        changed, header = [], {}
        for line in lines:
            key, value = line["key"], line["value"]
            if key == "header":
                header = value
            elif key == "file":
                files[value["path"]] = (base64.b64decode(value["content"]), False)
                changed.append(value["path"])
            elif key == "lfsFile":
                if value["oid"] not in self.lfs:
                    return 422, {"error": f"LFS object {value['oid']} was not uploaded"}
                files[value["path"]] = (self.lfs[value["oid"]], True)
                changed.append(value["path"])
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                for path in [p for p in files if p.startswith(prefix)]:
                    del files[path]
            elif key == "deletedFile":
                files.pop(value["path"], None)
        oid = hashlib.sha1(json.dumps([header, changed, len(repo.commits)]).encode()).hexdigest()
        repo.commits.append({"message": header.get("summary"), "files": changed, "oid": oid, "revision": rev})
        return 200, {"commitUrl": f"{self.url}/{where}/commit/{oid}", "commitOid": oid, "success": True}

    def info(self, repo_id: str, repo: Repo, rev: str) -> tuple[int, dict]:
        sha = repo.commits[-1]["oid"] if repo.commits else "0" * 40
        siblings = [{"rfilename": p} for p in sorted(repo.branches.get(rev, {}))]
        return 200, {"id": repo_id, "sha": sha, "private": bool(repo.private), "siblings": siblings}


def validate_yaml(body: dict) -> tuple[int, dict]:
    """What the Hub checks of a card that we can check here: YAML that parses, a model-index huggingface_hub reads."""
    import yaml
    from huggingface_hub.repocard_data import model_index_to_eval_results

    match = re.match(r"^---\n(.*?)\n---", body.get("content", ""), re.S)
    try:
        meta = yaml.safe_load(match.group(1)) if match else {}
        if body.get("repoType") == "model" and isinstance(meta, dict) and meta.get("model-index"):
            model_index_to_eval_results(meta["model-index"])
    except Exception as exc:
        return 400, {"errors": [{"message": f"invalid metadata: {exc}"}]}
    return 200, {"errors": [], "warnings": []}


def point_huggingface_hub_at(hub: FakeHub, monkeypatch: Any, tmp_path: Any) -> None:
    """huggingface_hub in this process talks to ``hub`` (what a subprocess gets from ``HF_ENDPOINT`` and
    ``HF_HUB_DISABLE_XET=1``: the values it read when imported are replaced), with no token of its own (no
    ``HF_TOKEN``, no saved login) and a download cache under ``tmp_path``."""
    from huggingface_hub import constants, hf_api

    from tests.helpers.env import unset

    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-saved-token"))
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.setattr(hf_api.api, "endpoint", hub.url)  # the module-level client (metadata_update commits with it)
    unset(monkeypatch, "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


REPO = r"/api/(models|datasets)/([^/]+/[^/]+)"
# what the Hub answers without a token: LFS content uploads (presigned URLs) and the card validation
OPEN_PATHS = ("/lfs-put/", "/api/validate-yaml")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a client closing its keep-alive connection: not news
        pass


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output quiet
            pass

        def do_POST(self):
            self._serve("POST")

        def do_PUT(self):
            self._serve("PUT")

        def do_GET(self):
            self._serve("GET")

        def do_HEAD(self):
            self._serve("HEAD")

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while (size := int(self.rfile.readline().strip() or b"0", 16)) > 0:
                    data += self.rfile.read(size)
                    self.rfile.readline()
                self.rfile.readline()
                return data
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _serve(self, method: str) -> None:
            body = self._body() if method in ("POST", "PUT") else b""
            path = self.path.split("?")[0]
            auth = self.headers.get("Authorization")
            with hub._lock:
                hub.requests.append({"method": method, "path": path, "auth": auth})
            if auth != f"Bearer {hub.token}" and not path.startswith(OPEN_PATHS):
                return self._send(401, {"error": "Invalid credentials in Authorization header"})
            try:
                status, payload, headers = _route(hub, method, path, body)
            except NoRepo:
                status, payload, headers = 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
            self._send(status, payload, headers, head=method == "HEAD")

        def _send(self, status: int, payload: Any, headers: dict | None = None, head: bool = False) -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not head:
                self.wfile.write(data)

    return Handler


Route = tuple[int, Any, dict]


def _route(hub: FakeHub, method: str, path: str, body: bytes) -> Route:
    """The answer to one request (``KeyError``: an unknown repo)."""
    for kind, pattern, action in _ROUTES:
        match = re.fullmatch(pattern, path)
        if match and method == kind:
            status = hub.injected(action.__name__.strip("_")) if action.__name__ in _INJECTABLE else None
            if status is not None:
                return status, {"error": f"injected {status}"}, {}
            return action(hub, match, body)
    return 404, {"error": f"no route {method} {path}"}, {}


class NoRepo(Exception):
    """A request about a repo the fake does not hold."""


def _repo(hub: FakeHub, match: re.Match) -> Repo:
    return _held(hub, match.group(1)[:-1], match.group(2))


def _held(hub: FakeHub, kind: str, repo_id: str) -> Repo:
    if (kind, repo_id) not in hub.repos:
        raise NoRepo(repo_id)
    return hub.repos[(kind, repo_id)]


def _create(hub: FakeHub, m: re.Match, body: bytes) -> Route:
    return (*hub.create(json.loads(body)), {})


def _branch(hub: FakeHub, m: re.Match, body: bytes) -> Route:
    return (*hub.branch(_repo(hub, m), m.group(3)), {})


def _validate(hub: FakeHub, m: re.Match, body: bytes) -> Route:
    return (*validate_yaml(json.loads(body)), {})


def _preupload(hub: FakeHub, m: re.Match, body: bytes) -> Route:
    return (*hub.preupload(_repo(hub, m), m.group(3), json.loads(body)), {})


def _lfs(hub: FakeHub, m: re.Match, body: bytes) -> Route:
    _held(hub, "dataset" if m.group(1) else "model", m.group(2))
    return (*hub.lfs_batch(json.loads(body)), {})


def _lfs_put(hub: FakeHub, m: re.Match, body: bytes) -> Route:
    return (*hub.lfs_put(m.group(1), body), {})


def _commit(hub: FakeHub, m: re.Match, body: bytes) -> Route:
    lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
    where = ("" if m.group(1) == "models" else "datasets/") + m.group(2)
    return (*hub.commit(_repo(hub, m), where, m.group(3), lines), {})


def _info(hub: FakeHub, m: re.Match, body: bytes) -> Route:
    return (*hub.info(m.group(2), _repo(hub, m), m.group(3) or "main"), {})


def _resolve(hub: FakeHub, m: re.Match, body: bytes) -> Route:
    repo = _held(hub, "dataset" if m.group(1) else "model", m.group(2))
    held = repo.branches.get(m.group(3), {}).get(m.group(4))
    if held is None:
        return 404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"}
    sha = repo.commits[-1]["oid"] if repo.commits else "0" * 40
    return 200, held[0], {"X-Repo-Commit": sha, "ETag": f'"{git_hash(held[0])}"', "Content-Type": "text/plain"}


_ROUTES: list[tuple[str, str, Callable[[FakeHub, re.Match, bytes], Route]]] = [
    ("POST", r"/api/repos/create", _create),
    ("POST", r"/api/validate-yaml", _validate),
    ("POST", REPO + r"/branch/([^/]+)", _branch),
    ("POST", REPO + r"/preupload/([^/]+)", _preupload),
    ("POST", REPO + r"/commit/([^/]+)", _commit),
    ("POST", r"/(datasets/)?([^/]+/[^/]+)\.git/info/lfs/objects/batch", _lfs),
    ("PUT", r"/lfs-put/([0-9a-f]{64})", _lfs_put),
    ("GET", REPO + r"(?:/revision/([^/]+))?", _info),
    ("GET", r"/(datasets/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", _resolve),
    ("HEAD", r"/(datasets/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", _resolve),
]
_INJECTABLE = {"_create", "_preupload", "_lfs", "_commit"}
