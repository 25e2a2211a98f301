"""`itw-radar check`: a pre-flight of an export root, for a platform's data engineer.

It reads the export root and nothing else is written: no warehouse, no serving database, no
home folder is created. The serving database, when it exists, is opened read-only to learn the
last published night. The report says which nights are present, the gaps between them, which
nights have no manifest yet, what each night holds (contract version, mode, formats, rows per
table, the 1.1 additions) and every problem `ingestion.verify_night` finds, one per night (it
stops at a night's first problem; every night is checked). From these it predicts what
`itw-radar run --exports ROOT` without dates would do:

* it processes, in date order, every night present after the last published night (every
  night when nothing is published); nights on or before it are not processed (re-processing
  needs ITW_RADAR_REPROCESS=1 and --from/--to);
* a missing night between two of them, or between the last published night and the first new
  one, stops the run at the missing night unless `--skip-missing` is given;
* a night folder without manifest.json stops the run there (the export is not complete);
* a night that fails verification stops the run with that night's error.

The contract checks are ingestion's (`verify_night`); this module only classifies their
sentences into file, column and rule. It does not read values: row-level rules (quarantine)
and the Great Expectations suites run when the night is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from itw_radar.contract import FILE_FORMATS, MANIFEST_NAME, SUPPORTED_CONTRACT_VERSIONS, TABLES
from itw_radar.paths import Home

Progress = Callable[[str, int, int], None]

TRUTH_FOLDER = "_truth"  # a generator's ground truth beside the nights (contract): not a night

# Export contract 1.1 additions: optional tables and nullable columns that may be absent.
V11_TABLES: tuple[str, ...] = ("proposals", "profile_changes")
V11_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("profile_text", "referred_by_account_id"),
    "identity_documents": ("verified_at",),
}
# Every table the contract (1.1) names, in its order.
CONTRACT_TABLES: tuple[str, ...] = tuple(TABLES) + tuple(t for t in V11_TABLES if t not in TABLES)
CORE_TABLES: tuple[str, ...] = tuple(t for t in CONTRACT_TABLES if t not in V11_TABLES)

NightStatus = Literal["ok", "problem", "incomplete", "published"]
RunAction = Literal["process", "published", "stop", "fail", "after_stop"]


class PreflightError(Exception):
    """The export root cannot be read at all."""


@dataclass(frozen=True)
class Problem:
    """One problem: where (night, file, column) and which rule, with ingestion's sentence."""

    night: date | None
    file: str | None
    column: str | None
    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"night": _iso(self.night), "file": self.file, "column": self.column,
                "rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class Gap:
    """Missing nights `first`..`last` (inclusive) between two present nights."""

    first: date
    last: date

    @property
    def nights(self) -> int:
        return (self.last - self.first).days + 1

    def __str__(self) -> str:
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first} to {self.last} ({self.nights:,} nights)"

    def to_dict(self) -> dict[str, Any]:
        return {"first": self.first.isoformat(), "last": self.last.isoformat(),
                "nights": self.nights}


@dataclass
class NightReport:
    night: date
    status: NightStatus
    contract_version: str | None = None
    platform: str | None = None
    mode: str | None = None
    formats: list[str] = field(default_factory=list)  # "csv", "csv.gz", "parquet"
    files: dict[str, str] = field(default_factory=dict)  # table -> file name
    rows: dict[str, int] = field(default_factory=dict)  # table -> the manifest's row count
    absent_tables: list[str] = field(default_factory=list)  # core contract tables not delivered
    optional_tables: list[str] = field(default_factory=list)  # 1.1 tables delivered
    v11_columns: list[str] = field(default_factory=list)  # "accounts.profile_text", ...
    extra_tables: list[str] = field(default_factory=list)  # not in the contract (ignored)
    verified: bool = False  # verify_night passed
    problem: Problem | None = None
    run: RunAction = "after_stop"

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "night": self.night.isoformat(), "status": self.status,
            "contract_version": self.contract_version, "platform": self.platform,
            "mode": self.mode, "formats": self.formats, "files": self.files, "rows": self.rows,
            "total_rows": self.total_rows, "absent_tables": self.absent_tables,
            "optional_tables": self.optional_tables, "v11_columns": self.v11_columns,
            "extra_tables": self.extra_tables, "verified": self.verified,
            "problem": self.problem.to_dict() if self.problem else None, "run": self.run,
        }


@dataclass
class RunPlan:
    """What `itw-radar run --exports ROOT [--skip-missing]` without dates would do."""

    process: list[date] = field(default_factory=list)
    stop_at: date | None = None
    stop_rule: str | None = None  # missing_night, incomplete, no_nights or a verify rule
    stop_reason: str | None = None
    missing: Gap | None = None  # the missing nights the run stops at
    skipped: list[Gap] = field(default_factory=list)  # gaps --skip-missing goes around
    not_processed: list[date] = field(default_factory=list)  # on or before the last published

    @property
    def ok(self) -> bool:
        return self.stop_rule is None

    @property
    def summary(self) -> str:
        """One sentence, e.g. "run would process 21 nights, 2026-09-01 to 2026-09-21"."""
        n = len(self.process)
        if n == 0:
            done = ""
        elif n == 1:
            done = f"run would process 1 night, {self.process[0]}"
        else:
            done = f"run would process {n} nights, {self.process[0]} to {self.process[-1]}"
        skipped = sum(g.nights for g in self.skipped)
        if done and skipped:
            done += f", going around {skipped:,} missing night{'s' * (skipped != 1)}"
        if self.ok:
            if not done:
                return ("run would process no night: every night present is already published "
                        "(re-processing needs ITW_RADAR_REPROCESS=1 with --from/--to)")
            return done
        verb = "fail" if self.stop_rule not in ("missing_night", "incomplete") else "stop"
        at = f" at {self.stop_at}" if self.stop_at else ""
        head = f"{done}, then {verb}" if done else f"run would {verb}"
        return f"{head}{at}: {self.stop_reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "summary": self.summary, "nights": len(self.process),
            "first": _iso(self.process[0]) if self.process else None,
            "last": _iso(self.process[-1]) if self.process else None,
            "process": [d.isoformat() for d in self.process], "stop_at": _iso(self.stop_at),
            "stop_rule": self.stop_rule, "stop_reason": self.stop_reason,
            "skipped_missing": [g.to_dict() for g in self.skipped],
            "not_processed": [d.isoformat() for d in self.not_processed],
        }


@dataclass
class PreflightReport:
    exports: Path | str  # a folder, or an object-storage URL
    home: Path
    skip_missing: bool
    last_published: date | None
    nights: list[NightReport]
    ignored: list[str]  # entries of the root that are not night folders (not `_truth`)
    gaps: list[Gap]
    run: RunPlan
    notes: list[str] = field(default_factory=list)
    root_problem: Problem | None = None

    @property
    def ok(self) -> bool:
        """True when a `run` would succeed: the exit code is 0."""
        return self.run.ok

    @property
    def first_night(self) -> date | None:
        return self.nights[0].night if self.nights else None

    @property
    def last_night(self) -> date | None:
        return self.nights[-1].night if self.nights else None

    @property
    def incomplete(self) -> list[date]:
        return [n.night for n in self.nights if n.status == "incomplete"]

    @property
    def problems(self) -> list[Problem]:
        """Every problem: the root's, each missing night and each night's."""
        found = [self.root_problem] if self.root_problem else []
        gaps = list(self.gaps)
        for g in [*self.run.skipped, *([self.run.missing] if self.run.missing else [])]:
            if not any(x.first <= g.first <= x.last for x in gaps):
                gaps.append(g)  # between the last published night and the first new one
        found += [_gap_problem(g) for g in gaps]
        found += [n.problem for n in self.nights if n.problem]
        return sorted(found, key=lambda p: (p.night or date.min, p.rule != "missing_night"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "exports": str(self.exports), "home": str(self.home),
            "skip_missing": self.skip_missing, "last_published": _iso(self.last_published),
            "first_night": _iso(self.first_night), "last_night": _iso(self.last_night),
            "nights_present": len(self.nights),
            "gaps": [g.to_dict() for g in self.gaps],
            "missing_nights": sum(g.nights for g in self.gaps),
            "incomplete": [d.isoformat() for d in self.incomplete], "ignored": self.ignored,
            "run": self.run.to_dict(), "problems": [p.to_dict() for p in self.problems],
            "notes": self.notes, "nights": [n.to_dict() for n in self.nights],
        }


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _gap_problem(gap: Gap) -> Problem:
    what = ("the night is missing" if gap.nights == 1
            else f"{gap.nights:,} nights are missing, {gap.first} to {gap.last}")
    return Problem(gap.first, None, None, "missing_night",
                   f"Night {gap.first}: {what}; no folder for it under the export root")


# --------------------------------------------------------------------------------------------
# ingestion's sentences -> night, file, column, rule

_SENTENCE = re.compile(r"^Night (?P<night>\d{4}-\d{2}-\d{2}), (?P<where>.*?): (?P<what>.*)$",
                       re.S)
_RULES: tuple[tuple[str, str], ...] = (  # (substring of the sentence, rule), first match wins
    ("SHA-256 differs", "checksum"),
    ("rows but the manifest says", "row_count"),
    ("required column missing", "required_column"),
    ("more than once in the header", "duplicate_column"),
    ("Parquet type", "parquet_type"),
    ("not listed in the manifest", "unlisted_file"),
    ("absent from the folder", "missing_file"),
    ("absent from the object store", "missing_file"),
    ("delivered twice", "duplicate_table"),
    ("contract_version", "contract_version"),
    ("export_date", "export_date"),
    ("is neither 'full' nor 'delta'", "mode"),
    ("no manifest in", "incomplete"),
    ("unknown file format", "file_format"),
    ("export folder does not exist", "missing_folder"),
    ("could not be read with", "object_store"),
    ("empty file", "unreadable"),
    ("unreadable", "unreadable"),
    ("not a readable", "unreadable"),
    ("truncated or malformed", "unreadable"),
    ("not valid JSON", "manifest"),
    ("manifest", "manifest"),
)


def classify(night: date, message: str) -> Problem:
    """Night, file, column and rule of one of ingestion's ExportError sentences."""
    file = column = None
    m = _SENTENCE.match(message)
    if m:
        where = m["where"]
        if where == MANIFEST_NAME:
            file = MANIFEST_NAME
        elif where.startswith("file "):
            parts = where[len("file "):].split(", ")
            file = parts[0]
            for part in parts[1:]:
                if part.startswith("column "):
                    column = part[len("column "):]
    rule = next((r for text, r in _RULES if text in message), "export")
    return Problem(night, file, column, rule, message)


# --------------------------------------------------------------------------------------------
# reading


def _format_of(name: str) -> str | None:
    for suffix in FILE_FORMATS:
        if name.endswith(suffix):
            return suffix[1:]
    return None


def _header(path: Path) -> tuple[str, ...] | None:
    """Column names of a data file (CSV header or Parquet schema); None when unreadable."""
    from itw_radar.ingestion import _read_csv_header

    fmt = _format_of(path.name)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return tuple(pq.read_schema(path).names)
        if fmt in ("csv", "csv.gz"):
            return _read_csv_header(path, "." + fmt)
    except Exception:  # verify_night names what is wrong with the file
        return None
    return None


def _describe(exports: Path, night: date, folder: Path, report: NightReport) -> None:
    """Fill what the night holds from its manifest and its files' headers (no verification)."""
    from itw_radar.contract import table_for_file
    from itw_radar.ingestion import ExportError, read_manifest

    names = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST_NAME)
    manifest: dict[str, Any] = {}
    if report.status != "incomplete":
        try:
            manifest = read_manifest(exports, night)
        except ExportError:
            manifest = {}
    listed = manifest.get("files")
    if isinstance(listed, dict) and listed:
        names = sorted(str(n) for n in listed)
    if manifest:
        report.contract_version = str(manifest.get("contract_version", "")) or None
        report.platform = str(manifest.get("platform", "")) or None
        report.mode = str(manifest.get("mode", "")) or None
    for name in names:
        tf = table_for_file(name)
        if tf is None:
            continue
        table, suffix = tf
        report.files.setdefault(table, name)
        if suffix[1:] not in report.formats:
            report.formats.append(suffix[1:])
        meta = listed.get(name) if isinstance(listed, dict) else None
        rows = meta.get("rows") if isinstance(meta, dict) else None
        if isinstance(rows, int) and not isinstance(rows, bool):
            report.rows[table] = rows
    report.formats.sort(key=lambda f: [s[1:] for s in FILE_FORMATS].index(f))
    report.absent_tables = [t for t in CORE_TABLES if t not in report.files]
    report.optional_tables = [t for t in V11_TABLES if t in report.files]
    report.extra_tables = sorted(t for t in report.files if t not in CONTRACT_TABLES)
    for table, columns in V11_COLUMNS.items():
        if table in report.files and (path := folder / report.files[table]).is_file():
            header = _header(path) or ()
            report.v11_columns += [f"{table}.{c}" for c in columns if c in header]


def _last_published(home: Home, notes: list[str]) -> date | None:
    """The serving database's last night, opened read-only; None when there is none.

    An unreadable serving file counts as nothing published, as the DAG's guard does.
    """
    if not home.serving.is_file():
        return None
    import duckdb

    from itw_radar.publishing import published_night

    try:
        return published_night(home.serving)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        notes.append(f"could not read the serving database {home.serving} ({first}); counted "
                     "as nothing published, as run does")
        return None


def _gaps(nights: list[date]) -> list[Gap]:
    return [Gap(a + timedelta(days=1), b - timedelta(days=1))
            for a, b in zip(nights, nights[1:], strict=False) if (b - a).days > 1]


def plan_run(nights: list[NightReport], last_published: date | None,
             skip_missing: bool) -> RunPlan:
    """What `run` without dates would do with these nights (sets each night's `run`)."""
    plan = RunPlan()
    expected = last_published + timedelta(days=1) if last_published else None
    stopped = False
    for n in nights:
        if last_published is not None and n.night <= last_published:
            n.run = "published"
            plan.not_processed.append(n.night)
            continue
        if stopped:
            n.run = "after_stop"
            continue
        if expected is not None and n.night > expected:
            gap = Gap(expected, n.night - timedelta(days=1))
            if not skip_missing:
                plan.stop_at, plan.stop_rule, plan.missing = expected, "missing_night", gap
                plan.stop_reason = ("the night is missing (pass --skip-missing to go around it)"
                                    if gap.nights == 1 else
                                    f"the night is missing ({gap.nights:,} nights to {gap.last}; "
                                    "pass --skip-missing to go around them)")
                stopped = True
                n.run = "after_stop"
                continue
            plan.skipped.append(gap)
        if n.status == "incomplete":
            plan.stop_at, plan.stop_rule = n.night, "incomplete"
            plan.stop_reason = "no manifest.json yet, the export is not complete"
            n.run, stopped = "stop", True
        elif n.problem is not None:
            plan.stop_at, plan.stop_rule = n.night, n.problem.rule
            plan.stop_reason = n.problem.message
            n.run, stopped = "fail", True
        else:
            n.run = "process"
            plan.process.append(n.night)
            expected = n.night + timedelta(days=1)
    return plan


def check_exports(exports: Path | str, home: Home, *, skip_missing: bool = False,
                  progress: Progress | None = None, today: date | None = None) -> PreflightReport:
    """Read the export root (a folder, or an s3://, gs:// or az:// URL) and the serving database
    read-only, and report; writes nothing. A night in object storage that `run` would process
    is checked on a temporary copy (checksums on the way), deleted as soon as it is checked."""
    from itw_radar.export_source import is_remote

    if is_remote(exports):
        return _check_remote(str(exports), home, skip_missing=skip_missing, progress=progress,
                             today=today)
    from itw_radar.ingestion import verify_night

    exports = Path(exports)
    if not exports.is_dir():
        what = "does not exist" if not exports.exists() else "is not a folder"
        return _root_problem(exports, home, skip_missing, "exports_root",
                             f"the export root {exports} {what}; point --exports at the folder "
                             "that holds the YYYY-MM-DD night folders")
    notes: list[str] = []
    last_published = _last_published(home, notes)
    folders: dict[date, Path] = {}
    ignored: list[str] = []
    for entry in sorted(exports.iterdir()):
        night = _night_of(entry.name, entry.is_dir())
        if night is None:
            if entry.name != TRUTH_FOLDER:
                ignored.append(entry.name + ("/" if entry.is_dir() else ""))
        else:
            folders[night] = entry

    def check_night(night: date) -> NightReport:
        folder = folders[night]
        report = _new_report(night, (folder / MANIFEST_NAME).is_file(), last_published)
        if report.status == "ok":
            _verify(report, lambda: verify_night(exports, night))
        _describe_into(exports, night, folder, report, notes)
        return report

    return _finish(exports, home, skip_missing, last_published, sorted(folders), check_night,
                   ignored, notes, progress, today)


def _check_remote(url: str, home: Home, *, skip_missing: bool, progress: Progress | None,
                  today: date | None) -> PreflightReport:
    """check_exports for an export root in object storage (itw_radar.export_source)."""
    import tempfile

    from itw_radar import export_source as es
    from itw_radar.ingestion import ExportError, verify_night

    try:
        remote = es.open_root(url)
        entries = es.root_entries(remote)
    except ExportError as exc:
        return _root_problem(url, home, skip_missing, "exports_root", str(exc))
    if entries is None:
        return _root_problem(url, home, skip_missing, "exports_root",
                             f"the export root {url} does not exist in the object store; point "
                             "--exports at the prefix that holds the YYYY-MM-DD night folders")
    notes: list[str] = []
    last_published = _last_published(home, notes)
    nights: list[date] = []
    ignored: list[str] = []
    for name, is_dir in entries:
        night = _night_of(name, is_dir)
        if night is not None:
            nights.append(night)
        elif name != TRUTH_FOLDER:
            ignored.append(name + ("/" if is_dir else ""))

    with tempfile.TemporaryDirectory(prefix="itw-radar-check-") as tmp:
        copies = Path(tmp)

        def check_night(night: date) -> NightReport:
            try:
                names = es.night_entries(remote, night)
            except ExportError as exc:
                report = NightReport(night, "problem")
                report.problem = classify(night, str(exc))
                return report
            report = _new_report(night, MANIFEST_NAME in names, last_published)
            if report.status == "ok":
                def verify() -> None:
                    es.copy_night(remote, night, copies)
                    with es.remote_errors(remote, night, copies):
                        verify_night(copies, night)
                _verify(report, verify)
            folder = copies / night.isoformat()
            if not folder.is_dir():  # not copied (published, incomplete or refused): its names
                es.stand_in(remote, night, names, folder)
            try:
                _describe_into(copies, night, folder, report, notes)
            finally:
                es.drop_copy(night, copies)
            return report

        return _finish(url, home, skip_missing, last_published, sorted(nights), check_night,
                       ignored, notes, progress, today)


def _night_of(name: str, is_dir: bool) -> date | None:
    """The night a root entry's name stands for (a folder named YYYY-MM-DD), or None."""
    from itw_radar.contract import nights_named

    return next(iter(nights_named([name])), None) if is_dir else None


def _root_problem(exports: Path | str, home: Home, skip_missing: bool, rule: str,
                  message: str) -> PreflightReport:
    problem = Problem(None, None, None, rule, message)
    plan = RunPlan(stop_rule=rule, stop_reason=message)
    return PreflightReport(exports, home.root, skip_missing, None, [], [], [], plan, [], problem)


def _new_report(night: date, complete: bool, last_published: date | None) -> NightReport:
    """A night's report before verification: ok, incomplete (no manifest) or published."""
    report = NightReport(night, "ok" if complete else "incomplete")
    if not complete:
        report.problem = Problem(night, MANIFEST_NAME, None, "incomplete",
                                 f"Night {night}, {MANIFEST_NAME}: no manifest yet; the export "
                                 "is incomplete until the platform writes manifest.json last")
    if last_published is not None and night <= last_published:
        report.status = "published" if complete else "incomplete"
    return report


def _verify(report: NightReport, verify: Callable[[], object]) -> None:
    """Run a night's verification into its report (the first problem, as a run would stop)."""
    from itw_radar.ingestion import ExportError

    night = report.night
    try:
        verify()
        report.verified = True
    except ExportError as exc:
        report.status, report.problem = "problem", classify(night, str(exc))
    except Exception as exc:  # the run would stop here too; keep checking the others
        report.status = "problem"
        report.problem = Problem(night, None, None, "error", f"Night {night}: verification "
                                 f"failed ({type(exc).__name__}: {exc})")


def _describe_into(exports: Path, night: date, folder: Path, report: NightReport,
                   notes: list[str]) -> None:
    try:
        _describe(exports, night, folder, report)
    except OSError as exc:
        notes.append(f"night {night}: could not read its folder ({exc})")


def _finish(exports: Path | str, home: Home, skip_missing: bool, last_published: date | None,
            dates: list[date], check_night: Callable[[date], NightReport], ignored: list[str],
            notes: list[str], progress: Progress | None, today: date | None) -> PreflightReport:
    """Check every night in date order, then the notes, gaps and the run's plan."""
    reports: list[NightReport] = []
    for i, night in enumerate(dates):
        if progress:
            progress(night.isoformat(), i, len(dates))
        reports.append(check_night(night))
    if progress:
        progress("done", len(dates), len(dates))

    today = today or datetime.now(UTC).date()
    future = [d for d in dates if d > today]
    if future:
        notes.append(f"{len(future)} night folder(s) dated after today ({today}), from "
                     f"{future[0]}: a night's export covers a day that has ended")
    unsupported = sorted({r.contract_version for r in reports if r.contract_version
                          and r.contract_version not in SUPPORTED_CONTRACT_VERSIONS})
    if unsupported:
        notes.append(f"contract version(s) {', '.join(unsupported)} present; this ITW Radar "
                     f"reads {', '.join(sorted(SUPPORTED_CONTRACT_VERSIONS))}")

    root_problem = None
    if not dates:
        root_problem = Problem(None, None, None, "no_nights",
                               f"no night folders (YYYY-MM-DD) under {exports}; run `itw-radar "
                               "generate` first or point --exports at the platform's export "
                               "root")
        plan = RunPlan(stop_rule="no_nights", stop_reason=root_problem.message)
    else:
        plan = plan_run(reports, last_published, skip_missing)
    return PreflightReport(exports, home.root, skip_missing, last_published, reports, ignored,
                           _gaps(dates), plan, notes, root_problem)


# --------------------------------------------------------------------------------------------
# text output

_MAX_NIGHT_COLUMNS = 10  # rows per table: one column per night up to this many nights

_RUN_LABEL: dict[str, str] = {
    "process": "[green]process[/]", "published": "[dim]published[/]", "stop": "[red]stop[/]",
    "fail": "[red]fail[/]", "after_stop": "[yellow]not reached[/]",
}


def print_report(report: PreflightReport, console: Any) -> None:
    """The report as rich text (tables) on `console`."""
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]exports[/] {escape(str(report.exports))}   [bold]home[/] "
                  f"{escape(str(report.home))}", highlight=False)
    published = report.last_published.isoformat() if report.last_published else "none"
    console.print(f"[bold]last published night[/] {published}", highlight=False)
    if report.nights:
        gaps = ", ".join(str(g) for g in report.gaps) or "none"
        incomplete = ", ".join(d.isoformat() for d in report.incomplete) or "none"
        console.print(f"[bold]nights[/] {len(report.nights):,} present, {report.first_night} "
                      f"to {report.last_night}", highlight=False)
        console.print(f"[bold]missing nights[/] {gaps}", highlight=False)
        console.print(f"[bold]without manifest[/] {incomplete}", highlight=False)
    if report.ignored:
        console.print(f"[bold]ignored[/] (not YYYY-MM-DD night folders): "
                      f"{escape(', '.join(report.ignored))}", highlight=False)

    if report.nights:
        t = Table(title="nights", title_justify="left", show_lines=False)
        for col in ("night", "version", "mode", "formats", "rows", "1.1 added", "absent",
                    "run"):
            t.add_column(col, justify="right" if col == "rows" else "left",
                         no_wrap=col in ("night", "version", "mode", "rows", "run"))
        for n in report.nights:
            additions = ", ".join(n.optional_tables + n.v11_columns) or "-"
            absent = ", ".join(n.absent_tables) or "-"
            rows = f"{n.total_rows:,}" if n.rows else "-"
            if n.status == "incomplete":
                absent = "(no manifest)"
            t.add_row(n.night.isoformat(), n.contract_version or "-", n.mode or "-",
                      ", ".join(n.formats) or "-", rows, escape(additions),
                      escape(absent), _RUN_LABEL[n.run])
        console.print(t)
        console.print(_rows_table(report, Table))

    problems = report.problems
    if problems:
        t = Table(title=f"problems ({len(problems)})", title_justify="left")
        for col in ("night", "file", "column", "rule", "what"):
            t.add_column(col, overflow="fold", no_wrap=col in ("night", "rule"))
        for p in problems:
            t.add_row(_iso(p.night) or "-", escape(p.file or "-"), escape(p.column or "-"),
                      p.rule, escape(p.message))
        console.print(t)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    style = "bold green" if report.ok else "bold red"
    console.print(f"[{style}]{escape(report.run.summary)}[/]", highlight=False)


def _rows_table(report: PreflightReport, table_cls: Any) -> Any:
    """Rows per table: one column per night for a few nights, else min/max/total."""
    tables = [t for t in CONTRACT_TABLES if any(t in n.files for n in report.nights)]
    tables += sorted({t for n in report.nights for t in n.extra_tables})
    complete = [n for n in report.nights if n.status != "incomplete"]
    if len(complete) <= _MAX_NIGHT_COLUMNS:
        t = table_cls(title="rows per table (manifest counts)", title_justify="left")
        t.add_column("table", no_wrap=True)
        for n in complete:
            t.add_column(n.night.isoformat()[5:] if len({x.night.year for x in complete}) == 1
                         else n.night.isoformat(), justify="right")
        for name in tables:
            t.add_row(name, *[f"{n.rows[name]:,}" if name in n.rows else "-" for n in complete])
        return t
    t = table_cls(title=f"rows per table, {len(complete):,} nights (--json: each night)",
                  title_justify="left")
    for col in ("table", "nights", "min", "max", "total"):
        t.add_column(col, justify="left" if col == "table" else "right")
    for name in tables:
        counts = [n.rows[name] for n in complete if name in n.rows]
        if counts:
            t.add_row(name, f"{len(counts):,}", f"{min(counts):,}", f"{max(counts):,}",
                      f"{sum(counts):,}")
        else:
            t.add_row(name, "0", "-", "-", "-")
    return t
