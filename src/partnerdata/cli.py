"""The ``partnerdata`` command: run the nightly flow in-process, check the configuration.

This module is the one place in the library that imports Prefect (through the
flows, and only for ``run``), so ``check`` and ``--version`` stay fast.

Exit statuses (DESIGN.md; the one table is ``partnerdata.errors.ExitStatus``): 0 a release
is current and every source is fresh; 3 published, but some sources failed and their last
good data was used; 1 no trustworthy release could be made; 2 configuration error; 4 another
run holds the lock. A failure raised on purpose brings its status with its class. The last
line on stderr says why, for every non-zero status.
"""

from __future__ import annotations

import argparse
import atexit
import getpass
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from partnerdata import __version__
from partnerdata.config.layout import SCHEMAS_DIR
from partnerdata.errors import ConfigError, ExitStatus, LockTimeout, PartnerdataError, UsageError
from partnerdata.run.places import check_locations, local_only
from partnerdata.run.plan import RunPaths, load, plan_sources
from partnerdata.run.summary import RunSummary, failed_partners
from partnerdata.storage.bucket import StorageError
from partnerdata.util.redaction import redact_urls

# Prefect defaults for this project (a user's own environment still wins):
PREFECT_DEFAULTS = {
    "DO_NOT_TRACK": "1",  # no client telemetry
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # no server telemetry
    # The ephemeral server needs about 15 s on a fresh database here; its default limit is 20 s.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the console script: a process of its own
        # Prefect stops its ephemeral server at interpreter exit and logs that to stderr. An exit
        # handler registered before Prefect's runs after it, so it repeats the reason as the last line.
        atexit.register(_repeat_final_line)
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args)
    if args.command == "run":
        return _run(args)
    if args.command == "accept":
        return _accept(args)
    if args.command == "release" and args.action == "withdraw":
        return _withdraw(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "fields":
        return _fields(args)
    if args.command == "profile":
        return _profile(args)
    if args.command == "validate":
        return _validate(args)
    if args.command == "catalogue" and args.action == "score":
        return _score(args)
    if args.command == "inbox":
        return _inbox_token(args) if args.action == "token" else _inbox(args)
    _parser().print_help()
    return ExitStatus.CONFIG


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="partnerdata", description="Collect, validate and publish partner records as open data."
    )
    parser.add_argument("--version", action="version", version=f"partnerdata {__version__}")
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser("run", help="run the nightly flow once, in-process, on sources.yaml")
    _common(run)
    run.add_argument("--raw", default="raw", metavar="DIR", help="raw snapshots folder (default: raw)")
    run.add_argument("--published", default="published", metavar="DIR", help="published folder (default: published)")
    run.add_argument("--reports", default="reports", metavar="DIR", help="private reports folder (default: reports)")
    run.add_argument(
        "--only",
        action="append",
        metavar="SOURCE_ID",
        help="re-fetch only this source (repeatable); the others contribute their last good snapshot",
    )
    run.add_argument(
        "--dry-run", action="store_true", help="collect, validate and write the private reports; publish nothing"
    )
    scale = run.add_mutually_exclusive_group()
    scale.add_argument(
        "--dask-address", metavar="tcp://HOST:PORT", help="run the per-source tasks on this Dask cluster"
    )
    scale.add_argument(
        "--dask-workers",
        type=_worker_count,
        metavar="N",
        help="run the per-source tasks on a local Dask cluster of N processes (1 to 64)",
    )
    run.add_argument(
        "--no-fetch",
        action="store_true",
        help="fetch nothing: publish again from the raw snapshots (after a schema or mapping fix)",
    )

    check = commands.add_parser("check", help="check sources.yaml and the schemas; fetch nothing")
    _common(check)

    accept = commands.add_parser(
        "accept", help="accept a snapshot that the thresholds refused (the drop is real); the next run publishes it"
    )
    _common(accept)
    accept.add_argument("source_id", metavar="SOURCE_ID")
    accept.add_argument("--snapshot", metavar="NAME", help="the snapshot folder name (default: the newest)")
    accept.add_argument("--raw", default="raw", metavar="DIR", help="raw snapshots folder (default: raw)")
    accept.add_argument("--by", default=None, metavar="NAME", help="who accepts it (default: the login name)")

    release = commands.add_parser("release", help="manage published releases")
    actions = release.add_subparsers(dest="action", required=True)
    withdraw = actions.add_parser(
        "withdraw",
        help="mark a bad release as withdrawn; latest and its v<MAJOR> move back to the newest good release",
    )
    _common(withdraw)
    withdraw.add_argument("version", metavar="VERSION")
    withdraw.add_argument("--reason", required=True, help="why, for data users (catalogue and feed show it)")
    withdraw.add_argument(
        "--purge", action="store_true", help="legal takedown: delete its data files too, leaving a tombstone"
    )
    withdraw.add_argument(
        "--published", default="published", metavar="DIR", help="published folder (default: published)"
    )
    withdraw.add_argument("--by", default=None, metavar="NAME", help="who withdraws it (default: the login name)")
    fields = commands.add_parser("fields", help="list the canonical fields a source entry maps columns to")
    fields.add_argument("resource", nargs="?", default=None, help="one resource (default: all four)")
    fields.add_argument("--schemas", default=str(SCHEMAS_DIR), metavar="DIR", help=argparse.SUPPRESS)
    profile = commands.add_parser(
        "profile", help="draft a sources.yaml entry for a partner's file (YAML on stdout, the reasons on stderr)"
    )
    profile.add_argument("file", metavar="FILE", help="the partner's file")
    profile.add_argument("--format", default=None, help="read it as this format (default: found from its content)")
    profile.add_argument("--sheet", default=None, metavar="NAME", help="the sheet of a workbook (default: the best)")
    profile.add_argument("--schemas", default=str(SCHEMAS_DIR), metavar="DIR", help=argparse.SUPPRESS)
    validate = commands.add_parser(
        "validate",
        help="check one file as its source's next delivery, as the nightly would; fetch, publish and record nothing",
    )
    _common(validate)
    validate.add_argument("file", metavar="FILE", help="the partner's file")
    validate.add_argument("--source", required=True, metavar="SOURCE_ID", help="the source whose entry reads it")
    validate.add_argument(
        "--out", metavar="DIR", help="where the report, rejected.csv and the annotated copy go "
        "(default: reports/validate/SOURCE_ID-<UTC time>)",
    )  # fmt: skip
    validate.add_argument(
        "--raw", default="raw", metavar="DIR", help="raw snapshots, for the drift check (default: raw)"
    )
    validate.add_argument(
        "--published", default="published", metavar="DIR", help="published folder, for keys and references "
        "across sources (default: published)",
    )  # fmt: skip
    validate.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    inbox = commands.add_parser("inbox", help="serve the partner inbox: partners check and deliver their files")
    _inbox_options(inbox)
    inbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    inbox.add_argument("--port", type=int, default=8100, help="port (default: 8100; 0 picks a free one)")
    inbox.add_argument(
        "--raw", default="raw", metavar="DIR", help="raw snapshots folder deliveries go to (default: raw)"
    )
    inbox.add_argument("--published", default="published", metavar="DIR", help="published folder (default: published)")
    inbox.add_argument(
        "--max-validations", type=_worker_count, default=2, metavar="N", help="checks at a time (default: 2)"
    )
    inbox.add_argument(
        "--trigger-refresh", action="store_true",
        help="after each delivery, run the refresh-sources deployment for the source on the Prefect server at PREFECT_API_URL",
    )  # fmt: skip
    inbox_actions = inbox.add_subparsers(dest="action")
    token = inbox_actions.add_parser("token", help="make a source's inbox token (printed once), or --revoke them")
    _inbox_options(token, inherited=True)
    token.add_argument("source_id", metavar="SOURCE_ID")
    token.add_argument("--revoke", action="store_true", help="revoke every token of the source instead")
    catalogue = commands.add_parser("catalogue", help="the catalogue that portals harvest")
    catalogue_actions = catalogue.add_subparsers(dest="action", required=True)
    score = catalogue_actions.add_parser(
        "score", help="score catalog.ttl as data.europa.eu's Metadata Quality Assessment does (405 points)"
    )
    score.add_argument("--published", default="published", metavar="DIR", help="published folder (default: published)")
    score.add_argument("--probe", action="store_true", help="ask every access and download URL whether it answers")
    score.add_argument(
        "--shapes", metavar="DIR", default=os.environ.get("PARTNERDATA_REFERENCE"),
        help="a folder with dcat-ap-3.0.1/ and dcat-ap-2.1.1/ (the official SHACL shapes; default: $PARTNERDATA_REFERENCE)",
    )  # fmt: skip
    serve = commands.add_parser("serve", help="serve published/ on a local port, to preview the catalogue")
    serve.add_argument("--published", default="published", metavar="DIR", help="published folder (default: published)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    return parser


def _worker_count(text: str) -> int:
    """--dask-workers: a whole number of processes a machine can start (argparse exits with status 2)."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of worker processes, got {text!r}") from None
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError(f"expected 1 to 64 worker processes, got {count}")
    return count


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sources", default="sources.yaml", metavar="FILE", help="source registry (default: sources.yaml)"
    )
    parser.add_argument("--schemas", default=str(SCHEMAS_DIR), metavar="DIR", help=argparse.SUPPRESS)


def _inbox_options(parser: argparse.ArgumentParser, inherited: bool = False) -> None:
    """--sources, --schemas and --inbox; ``inherited``: on ``inbox token``, where they may also come before
    ``token`` (argparse would let the sub-command's defaults overwrite what was given there)."""
    default = argparse.SUPPRESS if inherited else None
    parser.add_argument("--sources", default=default or "sources.yaml", metavar="FILE",
                        help="source registry (default: sources.yaml)")  # fmt: skip
    parser.add_argument("--schemas", default=default or str(SCHEMAS_DIR), metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--inbox", default=default or "inbox", metavar="DIR",
                        help="the inbox's tokens and uploads, private (default: inbox)")  # fmt: skip


def _inbox_token(args: argparse.Namespace) -> int:
    from partnerdata.inbox.tokens import TokenStore

    run = RunPaths(args.sources, "raw", "published", "reports", args.schemas)
    try:
        config, _ = load(run)
        source = config.source(args.source_id)
        store = TokenStore(Path(args.inbox))
        if args.revoke:
            count = store.revoke(source.source_id)
            print(f"{source.source_id}: {count} token(s) revoked; a partner signed in with one is signed out")
            return ExitStatus.OK
        token = store.create(source.source_id)
    except ConfigError as error:
        return _refused(error)
    if not source.is_inbox:
        print(f"note: {source.source_id} has url {source.url_template!r}; deliveries become its snapshots, but a run "
              "fetches its url again: set `url: inbox` for a partner that delivers through the inbox")  # fmt: skip
    print(f"{source.source_id}: a new inbox token; it is shown this once (only its hash is kept in {store.path}):")
    print(token, flush=True)
    return ExitStatus.OK


def _inbox(args: argparse.Namespace) -> int:
    from partnerdata.inbox.app import InboxSettings, listening_socket, make_app, server
    from partnerdata.inbox.trigger import Trigger

    try:
        local_only("--raw", args.raw, "inbox")
        local_only("--published", args.published, "inbox")
    except UsageError as error:
        return _refused(error)
    run = RunPaths(
        str(Path(args.sources).resolve()), str(Path(args.raw).resolve()), str(Path(args.published).resolve()),
        str(Path("reports").resolve()), args.schemas,
    )  # fmt: skip
    try:
        config, _ = load(run)
        if args.trigger_refresh and not os.environ.get("PREFECT_API_URL"):
            raise ConfigError("--trigger-refresh needs a Prefect server: set PREFECT_API_URL (make server prints it)")
    except ConfigError as error:
        return _refused(error)
    trigger = Trigger(os.environ["PREFECT_API_URL"]) if args.trigger_refresh else None
    inbox_dir = Path(args.inbox).resolve()
    try:
        sock = listening_socket(args.host, args.port)
    except OSError as error:
        return _fail(ExitStatus.CONFIG, f"cannot listen on {args.host}:{args.port}: {error.strerror}")
    host, port = sock.getsockname()[:2]
    inbox = [s.source_id for s in config.sources if s.is_inbox]
    print(f"partner inbox for {len(config.sources)} sources ({len(inbox)} with url: inbox) on http://{host}:{port}/ ; "
          f"tokens and uploads in {inbox_dir} (Ctrl-C stops)", flush=True)  # fmt: skip
    server(make_app(InboxSettings(run, inbox_dir, args.max_validations, trigger=trigger))).run(sockets=[sock])
    return ExitStatus.OK


def _check(args: argparse.Namespace) -> int:
    run = RunPaths(args.sources, "raw", "published", "reports", args.schemas)
    try:
        config, _ = load(run)
    except ConfigError as error:
        return _refused(error)
    enabled = len(config.enabled_sources)
    print(f"{config.path}: {len(config.sources)} sources ({enabled} enabled), schemas in {args.schemas}: all fine")
    return ExitStatus.OK


def _accept(args: argparse.Namespace) -> int:
    run = RunPaths(args.sources, args.raw, "published", "reports", args.schemas)
    by = args.by or os.environ.get("USER") or getpass.getuser()
    try:
        from partnerdata.run import steps  # here: validate, check and the inbox need none of publishing's imports

        check_locations(run)
        name = steps.accept(run, args.source_id, args.snapshot, by)
    except (ConfigError, UsageError, LockTimeout, StorageError) as error:
        return _refused(error, config_prefix="")
    print(f"{args.source_id}: snapshot {name} accepted by {by}; the next `partnerdata run` publishes it")
    return ExitStatus.OK


def _withdraw(args: argparse.Namespace) -> int:
    run = RunPaths(args.sources, "raw", args.published, "reports", args.schemas)
    by = args.by or os.environ.get("USER") or getpass.getuser()
    try:
        from partnerdata.run import steps

        check_locations(run)
        result = steps.withdraw(run, args.version, args.reason, args.purge, by)
    except (ConfigError, UsageError, LockTimeout, StorageError) as error:
        return _refused(error)
    what = "withdrawn and its data files deleted (tombstone kept)" if args.purge else "withdrawn"
    if result["redacted"]:
        counts = ", ".join(f"{version} ({count})" for version, count in sorted(result["redacted"].items()))
        what += f"; the values only it published were removed from the changelogs of {counts}, each re-sealed"
    latest = f"latest is now {result['latest']}" if result["latest"] else "no good release is left: latest was removed"
    print(f"release {args.version} {what} by {by}: {args.reason}; {latest}")
    return ExitStatus.OK


def _fields(args: argparse.Namespace) -> int:
    from partnerdata.onboard.fields import describe_fields
    from partnerdata.validate.configuration import load_schemas

    try:
        print(describe_fields(load_schemas(args.schemas), args.resource), end="", flush=True)
    except (ConfigError, UsageError) as error:
        return _refused(error)
    return ExitStatus.OK


def _profile(args: argparse.Namespace) -> int:
    """The draft entry on stdout, its reasons on stderr; a file no reader can read exits 5 (refused)."""
    from partnerdata.errors import PartnerFileError
    from partnerdata.onboard.profile import profile_file
    from partnerdata.validate.configuration import load_schemas

    try:
        profile = profile_file(Path(args.file), load_schemas(args.schemas), args.format, args.sheet)
    except (ConfigError, UsageError) as error:
        return _refused(error)
    except PartnerFileError as error:
        return _fail(ExitStatus.REFUSED, f"{args.file}: {error}")
    print(profile.reasons, end="", file=sys.stderr, flush=True)
    print(profile.yaml, end="", flush=True)
    return ExitStatus.OK


def _validate(args: argparse.Namespace) -> int:
    import json

    from partnerdata.run.trial import try_file
    from partnerdata.util.clock import utc_now

    run = RunPaths(args.sources, args.raw, args.published, "reports", args.schemas)
    out = Path(args.out) if args.out else Path("reports", "validate", f"{args.source}-{utc_now():%Y%m%dT%H%M%SZ}")
    try:
        local_only("--raw", args.raw, "validate")
        local_only("--published", args.published, "validate")
        trial = try_file(run, args.source, Path(args.file), out)
    except (ConfigError, UsageError) as error:
        return _refused(error)
    except OSError as error:  # the file, or --out, cannot be read or written
        return _fail(ExitStatus.CONFIG, f"{error.filename or args.file}: {error.strerror or error}")
    except Exception as error:  # noqa: BLE001 (a defect of partnerdata, not of the file: said, with its traceback)
        import traceback

        traceback.print_exception(error)
        return _fail(ExitStatus.NO_RELEASE, f"partnerdata defect while checking {args.file}: {type(error).__name__}: "
                     f"{error}; not the file's fault: please report it")  # fmt: skip
    if args.json:
        print(json.dumps(trial.as_report(), indent=2, ensure_ascii=False, default=str), flush=True)
    else:
        _print_trial(trial)
    if trial.verdict == "refused":
        return _fail(trial.exit_status, f"{args.file} would be refused as a whole: {trial.reason}")
    if trial.verdict == "rows-rejected":
        return _fail(trial.exit_status, f"{args.file}: {trial.rows_rejected} of {trial.rows_read} rows would be "
                     "rejected; the file would be used without them")  # fmt: skip
    return trial.exit_status


def _print_trial(trial: Any) -> None:
    lines = [f"{trial.file}: checked as a delivery of {trial.source.source_id}"]
    against = trial.against_release
    lines.append(f"  keys and references checked against release {against}" if against else
                 "  keys and references checked within the file (no release to check against)")  # fmt: skip
    lines.append(f"  read {trial.rows_read}  would be published {trial.rows_accepted}  rejected {trial.rows_rejected}")
    counts: dict[tuple[str, str], int] = {}
    for finding in trial.findings:
        counts[(finding.rule, finding.field)] = counts.get((finding.rule, finding.field), 0) + 1
    for (rule, name), count in sorted(counts.items()):
        lines.append(f"  {count:>6} x {rule:<14} {name or '(whole row)'}")
    lines += [f"  warning: {w['message']}" for w in trial.warnings]
    lines += [f"  note: {note}" for note in trial.notes]
    lines += [f"  {name}: {path}" for name, path in trial.outputs.items()]
    print("\n".join(lines), flush=True)


def _score(args: argparse.Namespace) -> int:
    from partnerdata.catalogue.report import score_report

    try:
        local_only("--published", args.published, "catalogue score")
        text, status = score_report(Path(args.published), args.probe, Path(args.shapes) if args.shapes else None)
    except UsageError as error:
        return _refused(error)
    print(text, flush=True)
    return status


def _serve(args: argparse.Namespace) -> int:
    from partnerdata.catalogue.serve import make_server
    from partnerdata.catalogue.serve_bucket import make_bucket_server
    from partnerdata.storage.bucket import is_url

    bucket = is_url(args.published)
    try:
        if bucket:
            server = make_bucket_server(args.published, args.host, args.port)
        else:
            server = make_server(Path(args.published), args.host, args.port)
    except (UsageError, StorageError) as error:
        return _refused(error)
    except (FileNotFoundError, OSError) as error:
        return _fail(ExitStatus.CONFIG, str(error))
    host, port = server.server_address[:2]
    host = host.decode() if isinstance(host, bytes) else host
    shown = args.published if bucket else Path(args.published).resolve()
    print(f"serving {shown} on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return ExitStatus.OK


def _run(args: argparse.Namespace) -> int:
    run = RunPaths(
        str(Path(args.sources).resolve()),
        _location(args.raw),
        _location(args.published),
        _location(args.reports),
        args.schemas,
    )
    try:  # configuration errors are reported before Prefect starts and before anything is fetched
        check_locations(run)
        if args.no_fetch and (args.only or args.dry_run):
            raise ConfigError("--no-fetch republishes every source from its snapshots: leave out --only and --dry-run")
        config, _ = load(run)
        plan_sources(config, args.only)
    except (ConfigError, UsageError) as error:
        return _refused(error)

    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    from flows import nightly as flows  # the one import of Prefect, here on purpose

    paths = {
        "sources_file": run.sources_file,
        "raw_dir": run.raw_dir,
        "published_dir": run.published_dir,
        "reports_dir": run.reports_dir,
        "schemas_dir": run.schemas_dir,
    }
    chosen: Any  # one of the flows (their parameters differ)
    parameters: dict[str, Any]
    if args.dry_run:
        chosen, parameters = flows.dry_run, {"sources": args.only}
    elif args.no_fetch:
        chosen, parameters = flows.republish, {}
    else:
        chosen, parameters = flows.nightly, {"only": args.only}
    with ExitStack() as cluster:
        cluster.enter_context(flows.run_settings())  # heartbeats or none, by the server configured
        address = args.dask_address
        if args.dask_workers and not address:  # a local cluster: started here, beside the Prefect server
            address = cluster.enter_context(flows.local_dask_cluster(local_cluster_kwargs(args.dask_workers)))
        state: Any = chosen(**parameters, **paths, dask_address=address, return_state=True)  # a State: synchronous
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        # The flow itself failed: the run may have changed published/ (tidied, switched a pointer) before it
        # stopped, so the status is "no release" (1) whatever the class, never "nothing changed" (2).
        return _fail(ExitStatus.NO_RELEASE, f"the run failed: {type(result).__name__}: {result}")
    _print_summary(result)
    status = result["exit_status"]
    if status == ExitStatus.DEGRADED:
        failing = failed_partners(result)
        if args.dry_run:
            lead = "dry run, nothing published; these sources failed and their last good data (or none) would be used"
        elif result.get("version"):
            lead = f"published release {result['version']}, but these sources failed and their last good data (or none) was used"
        else:
            lead = "no new release was made, and these sources failed: their last good data (or none) was used"
        return _fail(status, f"{lead}: {failing}")
    if status != ExitStatus.OK:
        return _fail(status, result["message"])
    return status


def _location(text: str) -> str:
    """A folder, made absolute; an s3:// location as typed (check_locations checks it)."""
    return text if "://" in text else str(Path(text).resolve())


def local_cluster_kwargs(workers: int) -> dict[str, Any]:
    """A local Dask cluster that listens on the loopback interface only, without a dashboard:
    the machine's neighbours have no business with a run's scheduler (Dask's default dashboard
    listens on every interface, on port 8787, for as long as the run lasts)."""
    return {
        "n_workers": workers,
        "processes": True,
        "threads_per_worker": 4,
        "host": "127.0.0.1",
        "scheduler_port": 0,
        "dashboard_address": None,
        "worker_dashboard_address": None,
    }


def _print_summary(result: RunSummary) -> None:
    lines = ["", "partnerdata run summary"]
    if any("rows_read" in source for source in result.get("sources", [])):
        lines.append("  (records of the resources a source fills, not lines of its file; rejected: by the source's own")
        lines.append(
            "   checks or by the checks across sources, keys and references; in brackets, how many by the latter)"
        )
    for source in result.get("sources", []):
        counts = ""
        if "rows_read" in source:
            across = source.get("rows_rejected_across", 0)
            counts = (
                f"  read {source['rows_read']:>5}  accepted {source['rows_accepted']:>5}  rejected {source['rows_rejected']:>4}"
                + (f" ({across} across sources)" if across else "")
            )
        error = f"  ({source['error']})" if source.get("error") else ""
        lines.append(f"  {source['source_id']:<28} {source['status']:<10}{counts}{error}")
    if "rows" in result:
        lines.append("  published rows: " + ", ".join(f"{name} {count}" for name, count in result["rows"].items()))
    if result.get("version"):
        lines.append(f"  release {result['version']}: {result['release_path']}")
    elif result.get("current_version"):
        lines.append(f"  no new release; latest is still {result['current_version']}")
    if result.get("reports"):
        lines.append(f"  rejected rows and partner reports (private): {result['reports']}")
    lines.append(f"  {result['message']}")
    if result.get("timings"):
        lines.append(
            "  seconds: " + ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in result["timings"].items())
        )
    for found in result.get("warnings", []):
        lines.append(f"  warning: {found['source_id']}: {found['message']}")
    if result.get("notified"):
        lines.append(f"  {result['notified']}")
    if result.get("catalogue_error"):  # last: the data is out, but what data users browse is behind
        lines.append(f"  warning: {result['catalogue_error']}")
    print("\n".join(lines), flush=True)


_final_line: list[str] = []


def _refused(error: PartnerdataError, config_prefix: str = "configuration error: ") -> int:
    """The last line for a failure partnerdata raised on purpose, with the exit status its class means."""
    prefix = config_prefix if isinstance(error, ConfigError) else ""
    return _fail(error.exit_status, f"{prefix}{error}")


def _fail(status: int, message: str) -> int:
    line = f"partnerdata: {' '.join(redact_urls(message).split())}"  # one line, and no credential in it
    print(line, file=sys.stderr, flush=True)
    _final_line[:] = [line]
    return status


def _repeat_final_line() -> None:
    if _final_line and "prefect" in sys.modules:  # Prefect may have written after it; else it is the last line already
        print(_final_line[0], file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
