"""``partnerdata inbox``: partners check their files and deliver them, on a page or through a JSON API.

A partner signs in with its source's token (``partnerdata inbox token SOURCE_ID``), uploads a file and
gets at once what the nightly would decide about it (``run.trial``): the counts, the first examples, the
annotated workbook, rejected.csv and its letter. "Deliver" makes the checked file the source's next raw
snapshot, which the next nightly uses like a fetched file (a source entry says ``url: inbox``).

What it guarantees (README, "The partner inbox"):
- a token sees and delivers only its own source; the uploads and their reports live in <inbox>/uploads/,
  are served only to a holder of that source's token, and the uploaded file itself never is;
- every upload is bounded by the source's max_bytes before it is read, and read with the source's limits;
- at most ``max_validations`` checks run at a time (others wait, then get 503);
- the forms carry a CSRF token; tokens are never logged (they travel in a POST body or a header);
- it listens on 127.0.0.1 unless told otherwise; TLS belongs to the reverse proxy in front of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from partnerdata.collect.snapshots import deliver_snapshot
from partnerdata.config.sources import Source
from partnerdata.errors import ConfigError
from partnerdata.inbox.report import problem_groups
from partnerdata.inbox.tokens import TokenHolder, TokenStore
from partnerdata.inbox.trigger import Trigger
from partnerdata.readers.base import looks_like
from partnerdata.run.plan import RunPaths, load
from partnerdata.run.trial import ANNOTATED, Trial, try_file
from partnerdata.util.clock import utc_now, utc_text

LOG = logging.getLogger("partnerdata.inbox")
HERE = Path(__file__).parent
UPLOADS = "uploads"
SESSION_COOKIE = "partnerdata_session"
SIGN_IN_COOKIE = "partnerdata_sign_in"
UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{22}")
DOWNLOADS = {  # what of a check a partner may download (never the uploaded file itself)
    ANNOTATED: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "rejected.csv": "text/csv; charset=utf-8",
    "report.md": "text/markdown; charset=utf-8",
}
FORMAT_NEEDS = {  # what looks_like must say of a file for each format (None: anything but these)
    "xlsx": {"a zip archive (XLSX)"},
    "json": {"JSON"},
    "iati": {"XML"},
}
NOT_FOR = {"csv": {"a zip archive (XLSX)"}, "erasmus_plus": {"JSON", "XML"}}
STATUS_OF_REFUSAL = {"too-large": 413, "unreadable": 400, "limit": 422, "drift": 422, "threshold": 422}
CHUNK = 1 << 16
SLOT_POLL_SECONDS = 0.1
UPLOADS_PER_SOURCE = 2  # received or checked at a time
KEPT_CHECKS = 50  # per source: older uploads and their reports are removed (a delivered file is in raw/)
FORM_OVERHEAD = 64 * 1024  # bytes a multipart form adds around the file
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class InboxSettings:
    run: RunPaths
    inbox_dir: Path
    max_validations: int = 2  # checks at a time; each uses a core
    wait_seconds: float = 30.0  # how long an upload waits for a free slot before 503
    session_hours: float = 8.0
    trigger: Trigger | None = None  # a Prefect server to run refresh-sources on after each delivery


@dataclass
class Session:
    holder: TokenHolder
    csrf: str
    expires: float


@dataclass
class _State:
    settings: InboxSettings
    tokens: TokenStore
    slots: threading.BoundedSemaphore
    sessions: dict[str, Session] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delivering: threading.Lock = field(default_factory=threading.Lock)
    receiving: dict[str, int] = field(default_factory=dict)  # uploads being received or checked, per source


class Refused(Exception):
    """An HTTP error with a page (or a JSON body) that says what is wrong."""

    def __init__(self, status: int, message: str, report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.report = status, message, report


def make_app(settings: InboxSettings) -> FastAPI:
    state = _State(settings, TokenStore(settings.inbox_dir), threading.BoundedSemaphore(settings.max_validations))
    app = FastAPI(
        title="partnerdata inbox",
        version="1",
        description="Check a file as the nightly would, and deliver it. Authenticate with the source's token "
        "(`Authorization: Bearer TOKEN`); the body of a request is the file itself.",
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN: the OpenAPI document is at /openapi.json
        redoc_url=None,
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.inbox = state
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(ConfigError)
    async def broken(request: Request, error: ConfigError) -> Response:  # tokens.json, say: the maintainers'
        LOG.error("inbox: %s", error)
        return await refused(
            request, Refused(503, "The inbox cannot read its own files just now; the data team has to fix it.")
        )

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> Response:
        if request.url.path.startswith("/api/"):
            body = {"status": error.status, "message": error.message, "report": error.report}
            headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
            return JSONResponse(body, status_code=error.status, headers=headers)
        page = {"request": request, "status": error.status, "message": error.message}
        return templates.TemplateResponse(request, "error.html", page, status_code=error.status)

    _pages(app, state, templates)
    _api(app, state)
    return app


# ---------------------------------------------------------------------------------------------- the pages


def _pages(app: FastAPI, state: _State, templates: Jinja2Templates) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def sign_in_page(request: Request) -> Response:
        if _session(state, request, required=False) is not None:
            return RedirectResponse("/upload", status_code=303)
        csrf = secrets.token_urlsafe(24)
        response = templates.TemplateResponse(request, "sign_in.html", {"csrf": csrf})
        _cookie(response, request, SIGN_IN_COOKIE, csrf, 600)
        return response

    @app.post("/sign-in", include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        form = await _small_form(request)
        cookie = request.cookies.get(SIGN_IN_COOKIE, "")
        if not cookie or not secrets.compare_digest(cookie, str(form.get("csrf", ""))):
            raise Refused(403, "The sign-in form has expired or did not come from this site: open the page again.")
        holder = state.tokens.holder(str(form.get("token", "")))
        if holder is None:
            raise Refused(401, "This token is not valid (or was revoked). Ask the data team for a new one.")
        session_id = secrets.token_urlsafe(32)
        expires = time.time() + state.settings.session_hours * 3600
        with state.lock:
            now = time.time()
            for stale in [k for k, v in state.sessions.items() if v.expires < now]:
                del state.sessions[stale]
            state.sessions[session_id] = Session(holder, secrets.token_urlsafe(24), expires)
        LOG.info("inbox: %s signed in (token %s)", holder.source_id, holder.token_id)
        response = RedirectResponse("/upload", status_code=303)
        _cookie(response, request, SESSION_COOKIE, session_id, int(state.settings.session_hours * 3600))
        response.delete_cookie(SIGN_IN_COOKIE)
        return response

    @app.post("/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        session = _session(state, request)
        form = await _small_form(request)
        _check_csrf(session, form)
        with state.lock:
            state.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/upload", response_class=HTMLResponse, include_in_schema=False)
    async def upload_page(request: Request) -> Response:
        session = _session(state, request)
        source = _source(state, session.holder.source_id)
        page = {"source": source, "csrf": session.csrf, "recent": _recent(state, source.source_id),
                "max_bytes": source.max_bytes}  # fmt: skip
        return templates.TemplateResponse(request, "upload.html", page)

    @app.post("/upload", include_in_schema=False)
    async def upload(request: Request) -> Response:
        session = _session(state, request)
        source = _source(state, session.holder.source_id)
        _bounded_length(request, source.max_bytes + FORM_OVERHEAD, source)
        with _receiving(state, source.source_id):
            async with request.form(max_files=1, max_fields=4) as form:
                _check_csrf(session, form)
                part = form.get("file")
                if part is None or isinstance(part, str) or not part.filename:
                    raise Refused(400, "Choose a file to upload.")
                folder = _new_upload(state, source.source_id)
                with _removed_on_refusal(folder):
                    size = await _save_part(part, folder / "upload", source)
                    _check_format(source, folder / "upload")
            await _check(state, source, folder / "upload", folder, str(part.filename), size)
        return RedirectResponse(f"/uploads/{folder.name}", status_code=303)

    @app.get("/uploads/{upload_id}", response_class=HTMLResponse, include_in_schema=False)
    async def report_page(request: Request, upload_id: str) -> Response:
        session = _session(state, request)
        folder, record = _upload(state, session, upload_id)
        annotated = folder / "out" / ANNOTATED
        groups = problem_groups(record["report"], annotated if annotated.is_file() else None, record.get("annotated"))
        letter = (folder / "out" / "report.md").read_text(encoding="utf-8")
        page = {"record": record, "report": record["report"], "groups": groups, "upload_id": upload_id,
                "csrf": session.csrf, "letter": letter, "downloads": [n for n in DOWNLOADS if (folder / "out" / n).is_file()],
                "source": _source(state, session.holder.source_id)}  # fmt: skip
        return templates.TemplateResponse(request, "report.html", page)

    @app.get("/uploads/{upload_id}/{name}", include_in_schema=False)
    async def download(request: Request, upload_id: str, name: str) -> Response:
        session = _session(state, request)
        folder, record = _upload(state, session, upload_id)
        if name not in DOWNLOADS or not (folder / "out" / name).is_file():
            raise Refused(404, "There is no such file for this check.")
        stem = Path(record["file_name"]).stem or "file"
        return FileResponse(folder / "out" / name, media_type=DOWNLOADS[name], filename=f"{stem}.{name}")

    @app.post("/uploads/{upload_id}/deliver", include_in_schema=False)
    async def deliver_page(request: Request, upload_id: str) -> Response:
        session = _session(state, request)
        form = await _small_form(request)
        _check_csrf(session, form)
        folder, record = _upload(state, session, upload_id)
        await run_in_threadpool(_deliver, state, session.holder, folder)
        return RedirectResponse(f"/uploads/{upload_id}", status_code=303)


def _cookie(response: Response, request: Request, name: str, value: str, seconds: int) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(name, value, max_age=seconds, httponly=True, samesite="strict", secure=secure, path="/")


def _session(state: _State, request: Request, required: bool = True) -> Session:
    """The signed-in partner; 401 without a session (or when its token was revoked since)."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    with state.lock:
        session = state.sessions.get(session_id)
        if session is not None and (session.expires < time.time() or not state.tokens.valid(session.holder.digest)):
            state.sessions.pop(session_id, None)
            session = None
    if session is None and required:
        raise Refused(401, "Sign in with your source's token to see this page.")
    return session  # type: ignore[return-value]  # None only when not required


def _check_csrf(session: Session, form: Any) -> None:
    if not secrets.compare_digest(session.csrf, str(form.get("csrf", ""))):
        raise Refused(403, "This form has expired or did not come from this site: open the page again.")


async def _small_form(request: Request) -> Any:
    """A form without a file (sign-in, deliver): a few fields, a few KiB."""
    _bounded_length(request, 16 * 1024, None)
    return await request.form(max_files=0, max_fields=8)


def _bounded_length(request: Request, most: int, source: Source | None) -> None:
    """A body must say how long it is (browsers do), and be no longer than ``most``: 411, 413."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise Refused(411, "The request must say how long it is (Content-Length).")
    if int(length) > most:
        raise Refused(413, _too_large(int(length), source))


def _too_large(size: int, source: Source | None) -> str:
    if source is None:
        return f"The request has {size:,} bytes; this form takes a few KiB."
    return (f"The file has more than {source.max_bytes:,} bytes, the most we take for {source.title}. If the file is "
            "complete and genuine, tell the data team.")  # fmt: skip


async def _save_part(part: Any, body: Path, source: Source) -> int:
    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await part.read(CHUNK):
            yield chunk

    return await _save(chunks(), body, source, "The file is empty.")


async def _save(chunks: AsyncIterator[bytes], body: Path, source: Source, empty: str) -> int:
    """The upload written to ``body``; 413 as soon as it passes the source's max_bytes, 400 when it is empty."""
    size = 0
    with open(body, "wb") as out:
        async for chunk in chunks:
            size += len(chunk)
            if size > source.max_bytes:
                raise Refused(413, _too_large(size, source))
            out.write(chunk)
    if size == 0:
        raise Refused(400, empty)
    return size


# ---------------------------------------------------------------------------------------------- the API


def _api(app: FastAPI, state: _State) -> None:
    responses: dict[int | str, dict[str, Any]] = {
        400: {"description": "the file cannot be read as the source's format"},
        401: {"description": "no token, or not a valid one"},
        403: {"description": "the token is another source's"},
        413: {"description": "the file is larger than the source's max_bytes"},
        415: {"description": "not a format the source reads"},
        409: {"description": "deliveries: the source is fetched from its URL, or switched off; it takes checks only"},
        422: {"description": "the file would be refused: drift since the last good delivery, or a threshold"},
        429: {"description": "two uploads of the source are being received or checked already"},
        503: {"description": "too many checks at once; try again"},
    }
    body = {"requestBody": {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string",
            "format": "binary"}}}}}  # fmt: skip

    @app.post("/api/v1/sources/{source_id}/validate", responses=responses, openapi_extra=body,
              summary="Check a file as the nightly would; deliver nothing")  # fmt: skip
    async def validate(request: Request, source_id: str) -> JSONResponse:
        """The report of the check: the verdict, the counts, the problems by kind and field, each problem
        (where, field, value, rule, message) and the warnings."""
        _, folder, trial = await _api_check(state, request, source_id)
        return JSONResponse(_api_report(state, trial, folder))

    @app.post("/api/v1/sources/{source_id}/deliveries", responses=responses, openapi_extra=body, status_code=201,
              summary="Check a file and deliver it: it becomes the source's next snapshot")  # fmt: skip
    async def deliveries(request: Request, source_id: str) -> JSONResponse:
        """The report of the check, and the snapshot the file became; a file that would be refused is not
        delivered (the status says why)."""
        holder, folder, trial = await _api_check(state, request, source_id)
        delivered = await run_in_threadpool(_deliver, state, holder, folder, False)
        return JSONResponse({**_api_report(state, trial, folder), "delivery": delivered}, status_code=201)


def _bearer(state: _State, request: Request, source_id: str) -> TokenHolder:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    holder = state.tokens.holder(token) if scheme.lower() == "bearer" else None
    if holder is None:
        raise Refused(401, "send the source's token as 'Authorization: Bearer TOKEN'; this one is missing or not valid")
    if holder.source_id != source_id:
        raise Refused(403, f"this token is not for source '{source_id}'")
    return holder


async def _api_check(state: _State, request: Request, source_id: str) -> tuple[TokenHolder, Path, Trial]:
    """The file in the request's body checked: 401/403 before a byte of it is read, 413 as soon as it is too large."""
    holder = _bearer(state, request, source_id)
    source = _source(state, source_id)
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > source.max_bytes:
        raise Refused(413, _too_large(int(length), source))
    with _receiving(state, source_id):
        folder = _new_upload(state, source_id)
        body = folder / "upload"
        with _removed_on_refusal(folder):
            size = await _save(request.stream(), body, source, "the request has no body: send the file as the body")
            _check_format(source, body)
        name = request.headers.get("x-file-name") or request.query_params.get("name") or f"upload.{source.format}"
        trial = await _check(state, source, body, folder, name, size)
    if trial.verdict == "refused":
        status = STATUS_OF_REFUSAL.get(trial.refusal or "unreadable", 422)
        raise Refused(status, f"the file would be refused: {trial.why}", _api_report(state, trial, folder))
    return holder, folder, trial


@contextmanager
def _receiving(state: _State, source_id: str) -> Iterator[None]:
    """At most UPLOADS_PER_SOURCE uploads of one source are received and checked at a time (429 beyond): one
    token cannot fill the disk with parallel uploads, nor hold every check slot."""
    with state.lock:
        if state.receiving.get(source_id, 0) >= UPLOADS_PER_SOURCE:
            raise Refused(429, "Another upload of this source is still being received or checked: wait for it.")
        state.receiving[source_id] = state.receiving.get(source_id, 0) + 1
    try:
        yield
    finally:
        with state.lock:
            state.receiving[source_id] -= 1


@contextmanager
def _removed_on_refusal(folder: Path) -> Iterator[None]:
    """An upload refused before it was checked (too large, empty, the wrong format) is not kept."""
    try:
        yield
    except Refused:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _api_report(state: _State, trial: Trial, folder: Path) -> dict[str, Any]:
    report = trial.as_report()
    report["upload_id"] = folder.name
    return report


# ---------------------------------------------------------------------------------------------- checks and deliveries


def _source(state: _State, source_id: str) -> Source:
    try:
        config, _ = load(state.settings.run)
    except ConfigError as error:
        LOG.error("inbox: %s", error)
        raise Refused(503, "Our registry of sources cannot be read just now; the data team has to fix it.") from None
    try:
        return config.source(source_id)
    except ConfigError:
        raise Refused(403, "This source is not (or no longer) in our registry: ask the data team.") from None


def _check_format(source: Source, body: Path) -> None:
    """415 for a file that is not of the source's format (a workbook sent to a CSV source, say)."""
    seen = looks_like(body)
    needed = FORMAT_NEEDS.get(source.format)
    if (needed is not None and seen not in needed) or seen in NOT_FOR.get(source.format, set()):
        shown = "a text file" if seen == "other" else seen
        raise Refused(415, f"This source takes {source.format.upper()} files; this one looks like {shown}.")


def _new_upload(state: _State, source_id: str) -> Path:
    """A private folder for one upload; the source's oldest checks beyond KEPT_CHECKS go."""
    parent = state.settings.inbox_dir / UPLOADS / source_id
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    checks = sorted((p for p in parent.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in checks[KEPT_CHECKS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
    folder = parent / secrets.token_urlsafe(16)
    folder.mkdir(mode=0o700)
    return folder


async def _check(state: _State, source: Source, body: Path, folder: Path, name: str, size: int) -> Trial:
    """Run the nightly's checks on the upload, at most max_validations at a time; keep the report beside it."""

    deadline = time.monotonic() + state.settings.wait_seconds
    while not state.slots.acquire(blocking=False):  # waiting holds no worker thread
        if time.monotonic() > deadline:
            shutil.rmtree(folder, ignore_errors=True)
            raise Refused(503, "Too many files are being checked at the moment: try again in a minute.")
        await asyncio.sleep(SLOT_POLL_SECONDS)
    try:
        named = folder / "file" / _safe_name(name, source)  # a folder of its own: no name can clash
        named.parent.mkdir()
        body.rename(named)
        trial = await run_in_threadpool(try_file, state.settings.run, source.source_id, named, folder / "out")
    finally:
        state.slots.release()
    record = {"source_id": source.source_id, "file_name": _safe_name(name, source), "bytes": size,
              "checked_at": utc_text(utc_now()), "report": trial.as_report(), "annotated": trial.annotated,
              "delivery": None}  # fmt: skip
    (folder / "check.json").write_text(json.dumps(record, ensure_ascii=False, default=str), encoding="utf-8")
    LOG.info("inbox: %s checked %s: %s", source.source_id, folder.name, trial.verdict)
    return trial


def _safe_name(name: str, source: Source) -> str:
    """The uploaded file's name as a plain file name (no folders, no odd characters), for the downloads."""
    stem = re.sub(r"[^A-Za-z0-9._ -]", "_", Path(name.replace("\\", "/")).name).strip(". ") or "upload"
    return stem[:100]


def _upload(state: _State, session: Session, upload_id: str) -> tuple[Path, dict[str, Any]]:
    """An upload of the signed-in partner's source; another source's is 403, none 404."""
    if not UPLOAD_ID.fullmatch(upload_id):
        raise Refused(404, "There is no such check.")
    mine = state.settings.inbox_dir / UPLOADS / session.holder.source_id / upload_id
    if not (mine / "check.json").is_file():
        others = state.settings.inbox_dir / UPLOADS
        folders = others.iterdir() if others.is_dir() else iter(())
        if any((p / upload_id / "check.json").is_file() for p in folders if p.is_dir()):
            raise Refused(403, "This check belongs to another source.")
        raise Refused(404, "There is no such check.")
    return mine, json.loads((mine / "check.json").read_text(encoding="utf-8"))


def _deliver(state: _State, holder: TokenHolder, folder: Path, recheck: bool = True) -> dict[str, Any]:
    """The checked file becomes the source's next raw snapshot; a file that would be refused is not delivered.
    ``recheck``: judge it again first (the page delivers a check that may be hours old; the API one just made)."""
    with state.delivering:  # one at a time: a second click finds the first delivery made
        record = json.loads((folder / "check.json").read_text(encoding="utf-8"))
        if record.get("delivery"):
            return dict(record["delivery"])
        return _deliver_checked(state, holder, folder, record, recheck)


def _deliver_checked(
    state: _State, holder: TokenHolder, folder: Path, record: dict[str, Any], recheck: bool
) -> dict[str, Any]:
    source = _source(state, holder.source_id)
    if not source.is_inbox or not source.enabled:
        why = "is switched off" if not source.enabled else f"is fetched from its address ({source.url_template})"
        raise Refused(409, f"This source {why}, so a file cannot be delivered here; a check is all this page does "
                      "for it. Ask the data team to set it to deliver through the inbox.")  # fmt: skip
    body = folder / "file" / record["file_name"]
    # Since the check, a delivery, a release or sources.yaml may have changed the verdict.
    report = try_file(state.settings.run, source.source_id, body, None).as_report() if recheck else record["report"]
    if report["verdict"] == "refused":
        raise Refused(422, f"This file would be refused, so it was not delivered: {report['why']}", report)
    now = utc_now()
    delivery = {"via": "inbox", "by": f"token {holder.token_id}", "file_name": record["file_name"],
                "checked_at": record["checked_at"], "verdict": report["verdict"], "rows_read": report["rows_read"],
                "rows_rejected": report["rows_rejected"]}  # fmt: skip
    snapshot, outcome = deliver_snapshot(source, Path(state.settings.run.raw_dir), body, now, delivery)
    delivered = {"snapshot": snapshot.name, "sha256": snapshot.sha256, "outcome": outcome, "at": utc_text(now)}
    if state.settings.trigger is not None and outcome == "new-snapshot":
        delivered["run"] = state.settings.trigger.run_for(source.source_id)
    record["delivery"] = delivered
    (folder / "check.json").write_text(json.dumps(record, ensure_ascii=False, default=str), encoding="utf-8")
    LOG.info("inbox: %s delivered %s as snapshot %s (%s)", source.source_id, folder.name, snapshot.name, outcome)
    return delivered


def _recent(state: _State, source_id: str, most: int = 10) -> list[dict[str, Any]]:
    folder = state.settings.inbox_dir / UPLOADS / source_id
    if not folder.is_dir():
        return []
    records = []
    for check in folder.glob("*/check.json"):
        try:
            record = json.loads(check.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        records.append({**record, "upload_id": check.parent.name})
    return sorted(records, key=lambda r: r["checked_at"], reverse=True)[:most]


def listening_socket(host: str, port: int) -> socket.socket:
    """The inbox's socket, bound before the server starts, so that port 0 is known (and printed) at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def server(app: FastAPI) -> uvicorn.Server:
    """A uvicorn server for the app: its access log names paths, never a token (tokens travel in bodies and
    headers); X-Forwarded-* are trusted from a reverse proxy on this machine only."""
    config = uvicorn.Config(app, log_level="info", access_log=True, proxy_headers=True, forwarded_allow_ips="127.0.0.1")
    return uvicorn.Server(config)
