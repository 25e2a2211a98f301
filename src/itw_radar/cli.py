"""`itw-radar`: the command line (see docs/contract/OUTPUT_CONTRACT.md).

Every command takes `--home` (env ITW_RADAR_HOME, default ./var). A command that fails prints one
sentence naming what was wrong and exits non-zero. Heavy libraries are imported inside commands so
that `--help` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from itw_radar.paths import DEFAULT_HOME, HOME_ENV, Home

app = typer.Typer(
    name="itw-radar",
    help="Find accounts operated by DPRK IT workers in a freelance platform's nightly exports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)
out = Console()

HomeOpt = Annotated[
    Path,
    typer.Option("--home", envvar=HOME_ENV, help="Where the warehouse, serving database, "
                 "reviews and logs live."),
]
ExportsOpt = Annotated[Path, typer.Option("--exports", help="Root folder of the nightly exports.")]
ExportRootOpt = Annotated[str, typer.Option(
    "--exports", help="Root of the nightly exports: a folder, or an s3://, gs:// or az:// URL "
    "read with the Airflow connection itw_radar_exports (docs/architecture.md).")]


def _export_root(text: str) -> Path | str:
    """--exports as given: a local folder (Path) or a normalised object-storage URL."""
    from itw_radar.export_source import ExportSourceError, parse_root

    try:
        return parse_root(text)
    except ExportSourceError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{what} must be a date like 2026-11-23, not {value!r}") from None


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def _progress(description: str) -> Iterator:
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn(
            "{task.completed}/{task.total}"), TimeElapsedColumn(), console=console,
            transient=False, disable=not console.is_terminal and os.environ.get("CI") == "true",
    ) as prog:
        task = prog.add_task(description, total=1)

        def update(stage: str, done: int, total: int) -> None:
            prog.update(task, description=f"{description}: {stage}", completed=done,
                        total=max(total, 1))

        yield update
        prog.update(task, completed=prog.tasks[0].total)


def _nights(date_from: str | None, date_to: str | None, single: str | None,
            exports: Path | str, remote: Any = None) -> list[date]:
    """The nights a command names (--date, or --from/--to), else every night under the root
    (`remote`: the root's itw_radar.export_source.RemoteExports when it is a URL)."""
    if single:
        return [_date(single, "--date")]
    if date_from is None and date_to is None:
        from itw_radar.contract import night_folders
        from itw_radar.export_source import remote_nights

        found = remote_nights(remote) if remote is not None else night_folders(Path(exports))
        if not found:
            _fail(f"no night folders (YYYY-MM-DD) under {exports}; run `itw-radar generate` first "
                  "or point --exports at the platform's export root")
        return found
    start = _date(date_from or date_to or "", "--from")
    end = _date(date_to or date_from or "", "--to")
    if end < start:
        _fail(f"--to {end} is before --from {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write export nights into.")],
    start: Annotated[str, typer.Option(help="First night, YYYY-MM-DD.")] = "2026-11-01",
    days: Annotated[int, typer.Option(min=1, help="Number of nights.")] = 14,
    freelancers: Annotated[int, typer.Option(min=1)] = 2000,
    clients: Annotated[int, typer.Option(min=1)] = 800,
    seed: Annotated[int, typer.Option()] = 42,
    fmt: Annotated[str, typer.Option("--format", help="csv, csv.gz or parquet")] = "csv",
    contract_version: Annotated[str, typer.Option(
        "--contract-version",
        help="1.1 (proposals, profile_changes and the 1.1 columns) or 1.0 (none of them).")]
    = "1.1",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Write synthetic export folders (and ground truth in OUT/_truth/labels.csv)."""
    from itw_radar.generator import generate as run_generate

    if fmt not in ("csv", "csv.gz", "parquet"):
        _fail(f"--format must be csv, csv.gz or parquet, not {fmt!r}")
    if contract_version not in ("1.0", "1.1"):
        _fail(f"--contract-version must be 1.0 or 1.1, not {contract_version!r}")
    with _progress("generate") as progress:
        summary = run_generate(out_dir, _date(start, "--start"), days, freelancers=freelancers,
                               clients=clients, seed=seed, fmt=fmt, progress=progress,
                               contract_version=contract_version)
    out.print(f"wrote {days} nights to {out_dir} ({summary.total_rows:,} rows, "
              f"{summary.rows_per_second:,.0f} rows/s); ground truth in "
              f"{out_dir / '_truth' / 'labels.csv'}")


@app.command()
def verify(
    exports: ExportRootOpt,
    date_: Annotated[str, typer.Option("--date", help="The night, YYYY-MM-DD.")],
) -> None:
    """Check a night's folder against its manifest without loading anything.

    A night in object storage is streamed into a temporary folder (checksums on the way),
    verified there, and the copy deleted."""
    import tempfile

    from itw_radar import export_source
    from itw_radar.ingestion import ExportError, verify_night

    root, night = _export_root(exports), _date(date_, "--date")
    try:
        if isinstance(root, Path):
            m = verify_night(root, night)
        else:
            remote = export_source.open_root(root)
            with tempfile.TemporaryDirectory(prefix="itw-radar-verify-") as tmp, \
                    export_source.night_copy(remote, night, Path(tmp)) as copy:
                m = verify_night(copy, night)
    except ExportError as exc:
        _fail(str(exc))
    rows = sum(f.rows for f in m.files)
    out.print(f"{m.export_date}: manifest ok ({m.mode}, {len(m.files)} files, {rows:,} rows)")


@app.command()
def check(
    exports: ExportRootOpt,
    skip_missing: Annotated[bool, typer.Option(
        "--skip-missing", help="Predict `run --skip-missing` (go around missing nights).")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Pre-flight an export root without loading: nights, gaps, versions, formats, every
    problem, and what `run` would do. Exits non-zero when a `run` would fail."""
    import json

    from itw_radar.preflight import check_exports, print_report

    exports = _export_root(exports)
    if as_json:
        report = check_exports(exports, Home.resolve(home), skip_missing=skip_missing)
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        with _progress("check") as progress:
            report = check_exports(exports, Home.resolve(home), skip_missing=skip_missing,
                                   progress=progress)
        print_report(report, out)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def load(
    exports: ExportRootOpt,
    date_: Annotated[str | None, typer.Option("--date", help="One night, YYYY-MM-DD.")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First night.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last night.")] = None,
    validate: Annotated[bool, typer.Option(help="Run the Great Expectations suites.")] = True,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Verify and load nights into the warehouse's raw layer, then validate them with GX.

    Without --date/--from/--to every night folder under --exports is loaded in date order. A
    night in object storage is copied under the home (checksums on the way), loaded from the
    copy, and the copy deleted.
    """
    from itw_radar import export_source
    from itw_radar.ingestion import ExportError, load_night

    root, h = _export_root(exports), Home.resolve(home)
    try:
        remote = None if isinstance(root, Path) else export_source.open_root(root)
        nights = _nights(date_from, date_to, date_, root, remote)
    except ExportError as exc:
        _fail(str(exc))
    for night in nights:
        try:
            with _progress(f"load {night}") as progress:
                if remote is None:
                    res = load_night(h, root, night, progress=progress)
                else:
                    copies = export_source.copies_root(h.ensure().root)
                    with export_source.night_copy(remote, night, copies) as copy:
                        res = load_night(h, copy, night, progress=progress)
            line = (f"{night}: loaded {res.rows_loaded:,} rows, quarantined "
                    f"{res.rows_quarantined:,} in {res.seconds:.1f} s")
            if validate:
                from itw_radar.validation import ValidationError, validate_night

                try:
                    validate_night(h, night)
                except ValidationError as exc:
                    _fail(str(exc))
                line += ", validated"
            out.print(line)
        except ExportError as exc:
            _fail(str(exc))


@app.command()
def validate(
    date_: Annotated[str, typer.Option("--date", help="The night, YYYY-MM-DD.")],
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Run the Great Expectations suites on a loaded night."""
    from itw_radar.validation import ValidationError, validate_night

    try:
        report = validate_night(Home.resolve(home), _date(date_, "--date"))
    except ValidationError as exc:
        _fail(str(exc))
    out.print(f"{date_}: every expectation passed; Data Docs in {report.data_docs}")


@app.command()
def run(
    exports: ExportRootOpt,
    date_from: Annotated[str | None, typer.Option("--from", help="First night, YYYY-MM-DD.")]
    = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last night, YYYY-MM-DD.")] = None,
    skip_missing: Annotated[bool, typer.Option(
        help="Go around missing or incomplete nights instead of stopping at the first.")]
    = False,
    batch_nights: Annotated[int | None, typer.Option(
        min=1, help="Nights per DAG run when catching up (env ITW_RADAR_CATCHUP_NIGHTS; "
        "default: sized from the nights' logins and the DuckDB memory limit; 1: night by "
        "night).")] = None,
    engine: Annotated[str | None, typer.Option(
        help="duckdb or spark: the engine that builds the dbt project (env ITW_RADAR_ENGINE, "
        "default duckdb; spark runs pyspark locally and needs Java 17).")] = None,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Process nights in date order through the Airflow DAG and publish them.

    Without --from/--to: every night under --exports that is not yet published. A backlog is
    caught up a batch of nights per DAG run (one dbt build each, same results as night by
    night). Stops at the first failing or missing night with one sentence; the last published
    night stays in place.
    """
    from itw_radar.engines import ENGINE_ENV, EngineError, check_engine
    from itw_radar.orchestration import (
        OrchestrationError,
        catchup_batch_size,
        plan_run,
        run_nights,
    )
    from itw_radar.publishing import published_night

    try:
        if engine is not None:  # the Airflow process run_nights starts inherits it
            os.environ[ENGINE_ENV] = engine.strip().lower()
        check_engine()
    except EngineError as exc:
        _fail(str(exc))

    root = _export_root(exports)
    h = Home.resolve(home)
    try:
        published = published_night(h.serving) if h.serving.exists() else None
    except Exception:  # noqa: BLE001 - an unreadable serving file is replaced by the next night
        published = None
    try:
        plan = plan_run(root, published,
                        _date(date_from, "--from") if date_from else None,
                        _date(date_to, "--to") if date_to else None, skip_missing=skip_missing)
        if not plan.nights:
            if plan.stop:
                _fail(plan.stop)
            out.print(plan.summary)
            return
        size = batch_nights or catchup_batch_size(root, plan.nights)
        how = "night by night" if size == 1 or len(plan.nights) == 1 else f"up to {size} a run"
        then = f"; then it stops: {plan.stop}" if plan.stop else ""
        out.print(f"processing {plan.summary} ({how}){then}", highlight=False, soft_wrap=True)
        results = run_nights(h, root, plan.nights[0], plan.nights[-1], nights=plan.nights,
                             batch_nights=size,
                             echo=lambda line: out.print(line, highlight=False, soft_wrap=True))
    except OrchestrationError as exc:
        _fail(str(exc))
    failed = [r for r in results if not r.ok]
    if failed:
        _fail(failed[0].error or f"night {failed[0].export_date} failed")
    if plan.stop:
        _fail(plan.stop)


@app.command("eval")
def eval_(
    exports: ExportsOpt,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Score the published results against EXPORTS/_truth/labels.csv (synthetic data only)."""
    from itw_radar.evaluation import EvaluationError, evaluate_home, format_report

    try:
        report = evaluate_home(exports, Home.resolve(home))
    except (EvaluationError, FileNotFoundError) as exc:
        _fail(str(exc))
    # plain text: tables stay whole and a met target's "[x]" is not read as Rich markup
    out.print(format_report(report), highlight=False, markup=False, soft_wrap=True)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port for the dashboard.")] = 8501,
    demo: Annotated[bool, typer.Option(help="Enable the demo login (analyst / radar-demo).")]
    = False,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Start the Streamlit dashboard on <home>/serving/radar.duckdb."""
    from itw_radar.serve import serve as run_serve

    h = Home.resolve(home)
    if not h.serving.exists():
        console.print(f"[yellow]note:[/] no serving database at {h.serving} yet; the dashboard "
                      "will show it once `itw-radar run` publishes a night")
    try:
        run_serve(h, port=port, demo=demo)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))


@app.command()
def backtest(
    vars_file: Annotated[Path, typer.Option(
        "--vars", help="Change file (YAML) with any of weights:, thresholds:, tiers:.")],
    nights: Annotated[int, typer.Option(min=1, help="Compare the last N loaded nights.")] = 30,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Try a weight, threshold or tier change on past nights before it ships.

    Rebuilds every loaded night with the change in a scratch copy (<home>/backtest/<stamp>/;
    the warehouse and the serving database are only read) and prints, per night and tier, the
    accounts that would enter or leave it with their reasons, and precision and
    recall against the analysts' decisions before and after.
    """
    from itw_radar import backtest as bt
    from itw_radar.dbt_runner import DbtError

    h = Home.resolve(home)
    try:
        change = bt.load_change(vars_file)
        result = bt.run_backtest(h, change, nights)
    except (bt.BacktestError, DbtError) as exc:
        _fail(str(exc))
    out.print(bt.format_result(result), highlight=False, markup=False, soft_wrap=True)
    out.print(f"\nTo propose it: itw-radar rules propose --vars {vars_file} --backtest "
              f"{result.scratch} --reason \"...\"", highlight=False, markup=False,
              soft_wrap=True)


rules_app = typer.Typer(
    help="Weights, thresholds and tiers: the active configuration, its history, and changes "
    "proposed, reviewed by a second admin and applied from the next night (docs/dashboard.md, "
    "Backtest).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
UserOpt = Annotated[str, typer.Option("--user", envvar="USER", help="Who proposes or decides "
                                      "(recorded; default: $USER).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded).")]


@rules_app.command("show")
def rules_show(
    all_: Annotated[bool, typer.Option("--all", help="Every setting, not only the changed "
                                       "ones.")] = False,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """The active configuration: each value and where it came from (a default, or the
    approved change that set it)."""
    from itw_radar import rules

    h = Home.resolve(home)
    act = rules.active(h)
    pending = [p for p in rules.history(h) if p.status == "pending"]
    out.print(f"rules version {act.version} ({act.version} approved change(s)); "
              f"{len(pending)} pending", highlight=False, markup=False)
    rows = [r for r in rules.settings(h) if all_ or r["changed"] or "#" in r["source"]]
    if not rows:
        out.print("every weight, threshold and tier is the project's default (--all lists "
                  "them)", highlight=False, markup=False)
    for r in rows:
        out.print(f"{r['setting']} = {r['value']:g} (default {r['default']:g}): {r['source']}",
                  highlight=False, markup=False, soft_wrap=True)
    for key in act.ignored:
        out.print(f"ignored: {key}: the project no longer has this setting", highlight=False,
                  markup=False)


@rules_app.command("history")
def rules_history(home: HomeOpt = Path(DEFAULT_HOME)) -> None:
    """Every proposal, oldest first: the change, who proposed it, when and why, its backtest,
    and who approved or rejected it, when and why."""
    from itw_radar import rules

    proposals = rules.history(Home.resolve(home))
    if not proposals:
        out.print("no rule change proposed yet")
    for p in proposals:
        lines = [f"#{p.proposal_id} {p.status}: {rules.describe(p.change)}",
                 f"  proposed by {p.proposed_by} {p.proposed_at:%Y-%m-%d %H:%M} UTC on version "
                 f"{p.based_on_version}: {p.reason}",
                 f"  backtest: {p.backtest_dir or 'none'}"]
        if p.decision:
            lines.append(f"  {p.decision} by {p.decided_by} {p.decided_at:%Y-%m-%d %H:%M} UTC: "
                         f"{p.decision_reason}")
        out.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)


@rules_app.command("propose")
def rules_propose(
    reason: ReasonOpt,
    vars_file: Annotated[Path | None, typer.Option(
        "--vars", help="Change file (YAML: weights:, thresholds:, tiers:), as for backtest.")]
    = None,
    revert: Annotated[int | None, typer.Option(
        "--revert", help="Propose putting back what approved change ID changed.")] = None,
    backtest_dir: Annotated[Path | None, typer.Option(
        "--backtest", help="The scratch folder of the backtest that tried this change.")]
    = None,
    user: UserOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Propose a change; it applies once another admin approves it."""
    from itw_radar import rules

    h = Home.resolve(home)
    if (vars_file is None) == (revert is None):
        _fail("give the change: --vars change.yml, or --revert ID")
    try:
        if vars_file is not None:
            try:
                text = vars_file.read_text()
            except OSError as exc:
                _fail(f"{vars_file}: cannot read the change file ({exc})")
            where = str(vars_file)
        else:
            text = rules.revert_change(h, int(revert or 0)).to_yaml()
            where = f"the revert of #{revert}"
        pid = rules.propose(h, text, reason, user, backtest_dir, where=where)
    except (rules.RulesError, rules.BacktestError) as exc:
        _fail(str(exc))
    note = "" if backtest_dir else " (no backtest given: `itw-radar backtest` first is advised)"
    out.print(f"proposed #{pid}{note}; another admin approves it with `itw-radar rules approve "
              f"{pid} --reason ...`", highlight=False, markup=False, soft_wrap=True)


def _decide(proposal_id: int, decision: str, reason: str, user: str, home: Path,
            stale_ok: bool = False) -> None:
    from itw_radar import rules

    try:
        p = rules.decide(Home.resolve(home), proposal_id, decision, reason, user, stale_ok)
    except rules.RulesError as exc:
        _fail(str(exc))
    tail = (": it scores from the next night; `itw-radar rebuild` re-scores the history"
            if decision == "approved" else "")
    out.print(f"#{p.proposal_id} {decision} by {p.decided_by}{tail}", highlight=False,
              markup=False, soft_wrap=True)


@rules_app.command("approve")
def rules_approve(
    proposal_id: Annotated[int, typer.Argument(help="The proposal (rules history).")],
    reason: ReasonOpt,
    stale_ok: Annotated[bool, typer.Option(
        "--stale-ok", help="Approve although another change was approved since it was "
        "proposed.")] = False,
    user: UserOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Approve a pending proposal (not your own): it becomes part of the active
    configuration."""
    _decide(proposal_id, "approved", reason, user, home, stale_ok)


@rules_app.command("reject")
def rules_reject(
    proposal_id: Annotated[int, typer.Argument(help="The proposal (rules history).")],
    reason: ReasonOpt,
    user: UserOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Reject a pending proposal (your own: withdraw it)."""
    _decide(proposal_id, "rejected", reason, user, home)


@app.command()
def rebuild(
    date_to: Annotated[str | None, typer.Option(
        "--to", help="Last night to rebuild, YYYY-MM-DD (default: the latest loaded).")] = None,
    batch_nights: Annotated[int | None, typer.Option(
        min=1, help="Nights per dbt build (env ITW_RADAR_REBUILD_BATCH_NIGHTS; default: sized "
        "from the largest night's logins and the DuckDB memory limit, at most 15).")]
    = None,
    publish: Annotated[bool, typer.Option(help="Publish the last night afterwards.")] = True,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Recompute every result from the loaded raw rows (full refresh), a batch of nights a build.

    Use after changing a threshold or a model, or after a rule change was approved (it scores
    with the active rules, `itw-radar rules show`). Each batch is one `dbt build` (models and data
    tests): `--full-refresh` for the first, incremental for the rest, so months of history fit
    in memory. Stop the nightly DAG first: the warehouse takes one writer.
    """
    from itw_radar import rules
    from itw_radar.dbt_runner import DbtError, loaded_nights, rebuild_batch_size
    from itw_radar.dbt_runner import rebuild as rebuild_nights
    from itw_radar.pipeline import dbt_target
    from itw_radar.publishing import PublishError
    from itw_radar.publishing import publish as publish_serving

    h = Home.resolve(home)
    if not h.warehouse.exists():
        _fail(f"no warehouse at {h.warehouse}: load and run a night first (`itw-radar run`)")
    until = _date(date_to, "--to") if date_to else None
    try:
        nights = loaded_nights(h.warehouse, until)
        if batch_nights is None:
            size = rebuild_batch_size(h.warehouse)
            batch_nights = size.nights
            out.print(f"rebuilding {len(nights)} nights, {batch_nights} a build ({size.reason})")
        target = dbt_target(h)

        def report(i: int, n: int, result: object) -> None:
            out.print(f"batch {i}/{n} built (as of {getattr(result, 'as_of', '?')})")

        active = rules.active(h)
        out.print(f"scoring with rules version {active.version}" + (
            f" ({rules.describe(active.overrides)})" if active.overrides
            else " (the project's defaults)"), highlight=False, markup=False, soft_wrap=True)
        with rules.applied(active.overrides):
            rebuild_nights("build --exclude resource_type:unit_test", warehouse=h.warehouse,
                           nights=nights, batch_nights=batch_nights, on_batch=report,
                           target_path=target, log_path=target / "logs")
        if publish and nights:
            out.print(f"published {publish_serving(h, nights[-1], incremental=False)}")
    except (DbtError, PublishError, ValueError) as exc:
        _fail(str(exc))


watchlist_app = typer.Typer(
    help="Analyst-managed watchlists (IP ranges, ASNs, e-mail domains and hashes, phone hashes, "
    "payment fingerprints, wallets, devices): a hit is the indicator `watchlist` "
    "(docs/watchlists.md).", no_args_is_help=True)
app.add_typer(watchlist_app, name="watchlist")
ByOpt = Annotated[str, typer.Option("--by", envvar="USER", help="Who makes the change (audit "
                                    "log; default: $USER).")]


@watchlist_app.command("list")
def watchlist_list(
    all_: Annotated[bool, typer.Option("--all", help="Also expired and removed entries.")]
    = False,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Print the entries (active ones by default)."""
    from itw_radar.watchlists import entries

    frame = entries(Home.resolve(home), include_inactive=all_)
    if frame.empty:
        out.print("no watchlist entries")
        return
    cols = ["entry_id", "list_type", "value", "added_by", "added_at", "expires_at", "source"]
    if all_:
        cols.insert(6, "removed_at")
    out.print(frame[cols].to_string(index=False, max_colwidth=60), highlight=False,
              soft_wrap=True)


@watchlist_app.command("import")
def watchlist_import(
    file: Annotated[Path, typer.Argument(help="CSV: list_type,value,source,reason[,added_by,"
                                         "added_at,expires_at].")],
    by: ByOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Import a watchlist CSV: every row or none (a bad row is named by line and column);
    importing the same file again changes nothing."""
    from itw_radar.watchlists import WatchlistError, import_csv

    try:
        res = import_csv(Home.resolve(home), file, by or "cli")
    except WatchlistError as exc:
        _fail(str(exc))
    out.print(f"{file}: {res.added} added, {res.updated} updated, {res.unchanged} unchanged; "
              "run `itw-radar watchlist rescore` to re-score the published night now")


@watchlist_app.command("export")
def watchlist_export(
    file: Annotated[Path | None, typer.Option("--out", help="Write here (default: stdout).")]
    = None,
    all_: Annotated[bool, typer.Option("--all", help="Also expired entries.")] = False,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Write the entries as CSV in the format `import` reads."""
    from itw_radar.watchlists import export_csv

    text = export_csv(Home.resolve(home), file, include_inactive=all_)
    if file is None:
        typer.echo(text, nl=False)
    else:
        out.print(f"wrote {max(text.count(chr(10)) - 1, 0)} entries to {file}")


@watchlist_app.command("add")
def watchlist_add(
    list_type: Annotated[str, typer.Argument(help="ip_cidr, asn, email_domain, email_hash, "
                                             "phone_hash, payment_fingerprint, wallet_address "
                                             "or device_id.")],
    value: Annotated[str, typer.Argument()],
    source: Annotated[str, typer.Option(help="Where the value comes from.")],
    reason: Annotated[str, typer.Option(help="Why it belongs on the list.")],
    expires: Annotated[str | None, typer.Option(help="Stops counting then (YYYY-MM-DD).")]
    = None,
    by: ByOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Add one entry."""
    from itw_radar.watchlists import WatchlistError, add_entry

    try:
        entry_id = add_entry(Home.resolve(home), list_type, value, source, reason, by or "cli",
                             expires)
    except WatchlistError as exc:
        _fail(str(exc))
    out.print(f"added {entry_id}")


@watchlist_app.command("expire")
def watchlist_expire(
    entry_id: Annotated[str, typer.Argument()],
    remove: Annotated[bool, typer.Option("--remove", help="Mark it removed (added by "
                                         "mistake) instead of ending it now.")] = False,
    note: Annotated[str | None, typer.Option(help="Why (audit log).")] = None,
    by: ByOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """End an entry now (or remove it with --remove)."""
    from itw_radar.watchlists import WatchlistError, expire_entry, remove_entry

    try:
        (remove_entry if remove else expire_entry)(Home.resolve(home), entry_id, by or "cli",
                                                    note)
    except WatchlistError as exc:
        _fail(str(exc))
    out.print(f"{'removed' if remove else 'expired'} {entry_id}")


@watchlist_app.command("audit")
def watchlist_audit(
    limit: Annotated[int, typer.Option(min=1)] = 100,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Print the audit log of the lists (newest first)."""
    from itw_radar.watchlists import audit_log

    out.print(audit_log(Home.resolve(home), limit).to_string(index=False, max_colwidth=60),
              highlight=False, soft_wrap=True)


@watchlist_app.command("rescore")
def watchlist_rescore(
    whole_night: Annotated[bool, typer.Option(
        "--whole-night", help="Build every model of the night, not only the watchlist models "
        "and what depends on them.")] = False,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Re-score the latest published night with the current lists (incremental dbt build of
    that night, then an atomic re-publish). Stop the nightly DAG first."""
    from itw_radar.dbt_runner import DbtError
    from itw_radar.publishing import PublishError
    from itw_radar.watchlists import WatchlistError, rescore

    try:
        res = rescore(Home.resolve(home), whole_night=whole_night,
                      echo=lambda line: out.print(line, highlight=False, soft_wrap=True))
    except (WatchlistError, DbtError, PublishError) as exc:
        _fail(str(exc))
    out.print(f"night {res.night} re-scored in {res.seconds:.1f} s ({res.scope}: dbt "
              f"{res.dbt_seconds:.1f} s, publish {res.publish_seconds:.1f} s)")


def duckdb_shell() -> str | None:
    """The DuckDB CLI beside this Python (the duckdb-cli package in .venv), else the one on PATH."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / ("duckdb.exe" if os.name == "nt" else "duckdb")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("duckdb")


@app.command()
def sql(
    command: Annotated[str | None, typer.Option(
        "-c", "--command", help="Run this SQL, print the result and exit (default: an "
        "interactive shell).")] = None,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Open the serving database read-only in the DuckDB shell (tables: docs/serving_schema.md)."""
    import subprocess

    h = Home.resolve(home)
    if not h.serving.exists():
        _fail(f"no serving database at {h.serving} yet: `itw-radar run` publishes one (or pass "
              "--home)")
    shell = duckdb_shell()
    if shell is None:
        _fail("no `duckdb` command beside this Python or on PATH: run `./dev setup` (it installs "
              "the duckdb-cli package into .venv) or `uv pip install duckdb-cli`")
    args = [shell, "-readonly", str(h.serving)]
    if command is not None:
        args += ["-c", command]
    raise typer.Exit(subprocess.run(args, check=False).returncode)


@app.command()
def alert(
    night: Annotated[str | None, typer.Option(
        help="YYYY-MM-DD of a published night (default: the latest).")] = None,
    send: Annotated[bool, typer.Option(
        "--send", help="Deliver it as the DAG does (ITW_RADAR_ALERT_URLS or the Airflow "
        "connection itw_radar_alerts), e.g. to try the alert set-up.")] = False,
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Print a published night's alert digest (what the DAG's `alert` task sends: new high-risk
    accounts, tier escalations, new watchlist hits; no personal data), or send it again."""
    from itw_radar import alerts

    h = Home.resolve(home)
    if not h.serving.exists():
        _fail(f"no serving database at {h.serving}: run `itw-radar run` first")
    when = _date(night, "--night") if night else None
    digest = alerts.night_digest(h.serving, when)
    title, body = alerts.format_digest(digest)
    out.print(title, highlight=False, markup=False)
    out.print(body, highlight=False, markup=False, soft_wrap=True)
    if send:
        try:
            sent = alerts.send(title, body)
        except Exception as exc:  # noqa: BLE001 - any delivery error, said in one line
            _fail(f"the digest was not sent: {exc}")
        if not sent:
            _fail(f"alerts are not set up: set {alerts.ALERT_URLS_ENV} (Apprise URLs) or the "
                  f"Airflow connection {alerts.ALERT_CONN_ID} (docs/dashboard.md, Alerts)")
        out.print("sent", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()


case_app = typer.Typer(
    help="Cases: accounts worked to a decision, with an audit trail and an evidence bundle "
    "(docs/dashboard.md, Cases).", no_args_is_help=True)
app.add_typer(case_app, name="case")


@case_app.command("list")
def case_list(
    queue: Annotated[str, typer.Option(help="mine, unassigned, overdue, open, closed or all.")]
    = "open",
    by: ByOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Print a queue of cases (`mine` is the cases assigned to --by)."""
    from itw_radar import cases

    try:
        frame = cases.queue(Home.resolve(home), queue, by)
    except cases.CaseError as exc:
        _fail(str(exc))
    if frame.empty:
        out.print(f"no case in queue {queue}")
        return
    out.print(frame.to_string(index=False, max_colwidth=60), highlight=False, soft_wrap=True)


@case_app.command("open")
def case_open(
    title: Annotated[str, typer.Option(help="What the case is about.")],
    accounts: Annotated[list[str], typer.Argument(help="Account ids.")],
    assignee: Annotated[str | None, typer.Option(help="Who works it.")] = None,
    due: Annotated[str | None, typer.Option(help="Due date, YYYY-MM-DD.")] = None,
    by: ByOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Open a case on the accounts given; prints its id."""
    from itw_radar import cases

    try:
        due_date = date.fromisoformat(due) if due else None
        cid = cases.create_case(Home.resolve(home), title, accounts, by, assignee, due_date)
    except ValueError as exc:  # CaseError, or a due date that is not YYYY-MM-DD
        _fail(str(exc))
    out.print(cid)


@case_app.command("close")
def case_close(
    case_id: Annotated[str, typer.Argument(help="The case, e.g. CASE-000001.")],
    decision: Annotated[str, typer.Option(help="confirmed, false_positive or no_action.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    by: ByOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Close a case with its decision (confirmed / false_positive reach every account's review)."""
    from itw_radar import cases, reviews

    h = Home.resolve(home)
    try:
        if note:
            cases.add_note(h, case_id, by, note)
        cases.update_case(h, case_id, by, status="closed", decision=decision)
    except (cases.CaseError, reviews.ReviewError) as exc:
        _fail(str(exc))
    out.print(f"{case_id} closed: {decision}")


@case_app.command("update")
def case_update(
    case_id: Annotated[str, typer.Argument(help="The case, e.g. CASE-000001.")],
    status: Annotated[str | None, typer.Option(
        help="open, investigating or waiting (close with `case close`).")] = None,
    assignee: Annotated[str | None, typer.Option(help="Who works it now.")] = None,
    due: Annotated[str | None, typer.Option(help="Due date, YYYY-MM-DD; 'none' clears it.")]
    = None,
    note: Annotated[str | None, typer.Option(help="A note for the trail.")] = None,
    add: Annotated[list[str] | None, typer.Option(
        "--add", help="An account id to add; repeat for several.")] = None,
    by: ByOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Work a case: status, assignee, due date, a note, more accounts (each one a trail row)."""
    from itw_radar import cases, reviews

    h = Home.resolve(home)
    if status == "closed":
        _fail("close a case with `itw-radar case close CASE --decision ...`: closing needs one")
    if not any((status, assignee, due, note, add)):
        _fail("nothing to change: give --status, --assignee, --due, --note or --add")
    try:
        clear = (due or "").lower() == "none"
        due_date = None if clear or not due else date.fromisoformat(due)
        if add:
            cases.add_accounts(h, case_id, add, by)
        if status or assignee or due:
            cases.update_case(h, case_id, by, status=status, assignee=assignee, due=due_date,
                              clear_due=clear)
        if note:
            cases.add_note(h, case_id, by, note)
    except (ValueError, reviews.ReviewError) as exc:  # CaseError, or a bad due date
        _fail(str(exc))
    out.print(f"{case_id} updated")


@case_app.command("export")
def case_export(
    case_id: Annotated[str, typer.Argument(help="The case, e.g. CASE-000001.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The zip to write.")],
    reveal: Annotated[bool, typer.Option(help="Personal data in clear (logged per account); "
                                               "masked by default.")] = False,
    by: ByOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Write a case's evidence bundle (accounts, hits, links, logins, decisions, trail)."""
    from itw_radar import cases, reviews

    h = Home.resolve(home)
    if not h.serving.exists():
        _fail(f"no serving database at {h.serving}: `itw-radar run` publishes one")
    try:
        if reveal:
            for account in cases.detail(h, case_id)[1]:
                reviews.log_reveal(h, account, "profile", by or "cli")
        output.write_bytes(cases.export_bundle(h, case_id, h.serving, reveal))
    except cases.CaseError as exc:
        _fail(str(exc))
    out.print(f"wrote {output}")


user_app = typer.Typer(
    help="Local dashboard users in <home>/auth/users.json, the same as the dashboard's Users "
    "page (docs/dashboard.md, Logging in); ITW_RADAR_USERS users are not changed here.",
    no_args_is_help=True)
app.add_typer(user_app, name="user")
RoleOpt = Annotated[list[str] | None, typer.Option("--role", help="viewer, analyst, lead or admin; "
                                            "repeat for several (none: viewer).")]


def _env_user_names() -> set[str]:
    text = os.environ.get("ITW_RADAR_USERS", "").replace(";", ",").replace("\n", ",")
    return {e.split(":", 1)[0].strip() for e in text.split(",") if e.strip()}


def _new_password() -> str:
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _user_change(change: Callable[..., None], home: Path, name: str, value: object, by: str,
                 done: str) -> None:
    """One change to the users file (`users.set_disabled`, `reset_password`, ...), audited as
    `by` (default "cli"); a refused change exits with its reason."""
    from itw_radar import users

    try:
        change(Home.resolve(home), name, value, by or "cli")
    except users.UserError as exc:
        _fail(str(exc))
    out.print(done)


@user_app.command("list")
def user_list(home: HomeOpt = Path(DEFAULT_HOME)) -> None:
    """Print the local users of the users file (never a hash)."""
    from itw_radar import users

    try:
        kept = users.load(Home.resolve(home))
    except users.UserError as exc:
        _fail(str(exc))
    if not kept:
        out.print("no local users in the users file")
        return
    for u in kept.values():
        out.print(f"{u.name}  {'+'.join(u.roles) or 'viewer'}  "
                  f"{'disabled' if u.disabled else 'active'}  changed {u.updated_at} by "
                  f"{u.updated_by}", highlight=False, markup=False)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Lower-case letters, digits and . _ @ + -")],
    role: RoleOpt = None,
    by: ByOpt = "",
    home: HomeOpt = Path(DEFAULT_HOME),
) -> None:
    """Add a local user; asks for the password twice (at least 10 characters)."""
    from itw_radar import users

    try:
        users.add_user(Home.resolve(home), name, _new_password(), role or [], by or "cli",
                       reserved=_env_user_names())
    except users.UserError as exc:
        _fail(str(exc))
    out.print(f"added {name}")


@user_app.command("disable")
def user_disable(name: str, by: ByOpt = "", home: HomeOpt = Path(DEFAULT_HOME)) -> None:
    """Disable a local user: their logins end at once."""
    from itw_radar import users

    _user_change(users.set_disabled, home, name, True, by, done=f"disabled {name}")


@user_app.command("enable")
def user_enable(name: str, by: ByOpt = "", home: HomeOpt = Path(DEFAULT_HOME)) -> None:
    """Enable a disabled local user."""
    from itw_radar import users

    _user_change(users.set_disabled, home, name, False, by, done=f"enabled {name}")


@user_app.command("passwd")
def user_passwd(name: str, by: ByOpt = "", home: HomeOpt = Path(DEFAULT_HOME)) -> None:
    """Set a new password (asked twice); the user's current logins end."""
    from itw_radar import users

    _user_change(users.reset_password, home, name, _new_password(), by,
                 done=f"new password set for {name}")


@user_app.command("roles")
def user_roles(name: str, role: RoleOpt = None,
               by: ByOpt = "", home: HomeOpt = Path(DEFAULT_HOME)) -> None:
    """Set a local user's roles (no --role: a viewer)."""
    from itw_radar import users

    _user_change(users.set_roles, home, name, role or [], by,
                 done=f"{name}: {'+'.join(users.clean_roles(role or [])) or 'viewer'}")
