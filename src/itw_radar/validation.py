"""Great Expectations: the second, independent gate over a loaded night (see docs/validation.md).

`validate_night` reads each contract table's rows of one night from the warehouse
(`raw.<table> WHERE _export_date = D`) in chunks, runs the table's committed Expectation Suite
(`itw_radar.gx_suites`) on each chunk through a GX Checkpoint over a pandas dataframe asset,
combines the chunk results, records one row per expectation in `raw.gx_results`, renders GX Data
Docs under `<home>/gx/data_docs/`, and raises `ValidationError` if any expectation failed.

Chunks are hash partitions of the key (`hash(key) % n`), so every row of one key lands in the
same chunk and the per-chunk uniqueness expectation sees every duplicate of the night.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from itw_radar.contract import TABLES, Table
from itw_radar.gx_suites import LATEST_TIME_PARAMETER, load_suite, suite_name
from itw_radar.paths import Home
from itw_radar.warehouse import connect, ensure_raw_schema

log = logging.getLogger(__name__)

DATASOURCE = "raw_night"
BATCH_DEFINITION = "night"
DOCS_SITE = "itw_radar"
SAMPLE_SIZE = 5  # unexpected values kept per expectation
RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
_LIST_KWARGS_SHOWN = 20  # longer value sets are summarised by their size in raw.gx_results
_ARROW_TO_PANDAS = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


class ValidationError(Exception):
    """A loaded night broke at least one expectation; the night must stop."""

    def __init__(self, message: str, report: ValidationReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation's outcome over a whole night (all chunks combined)."""

    expectation: str  # GX expectation type, e.g. expect_column_values_to_match_regex
    column: str | None  # the column (or "a, b" for multi-column expectations)
    rule: str  # contract rule from the suite's meta, e.g. format_ip
    success: bool
    unexpected_count: int
    element_count: int
    sample: tuple[str, ...] = ()  # a few unexpected values, as text
    observed: str | None = None  # aggregate expectations (types): the observed value
    error: str | None = None  # GX raised instead of evaluating
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteReport:
    table: str
    suite: str
    rows: int
    chunks: int
    results: tuple[ExpectationResult, ...]
    source_files: tuple[str, ...] = ()

    @property
    def skipped(self) -> bool:
        return self.rows == 0

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    @property
    def failures(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.success)


@dataclass(frozen=True)
class ValidationReport:
    export_date: date
    success: bool
    suites: dict[str, SuiteReport]
    data_docs: Path | None = None  # index.html of the Data Docs site (None: not built)
    seconds: float = 0.0

    def failures(self) -> list[tuple[SuiteReport, ExpectationResult]]:
        return [(s, r) for s in self.suites.values() for r in s.failures]


# --------------------------------------------------------------------------------------------
# GX context


def _quiet_gx() -> None:
    """GX logs progress at INFO/WARNING and warns about pandas internals: keep our output clean."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    for name in ("great_expectations", "posthog"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def _gx_warnings_silenced() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _configure(context: Any) -> None:
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every dataframe batch smaller than HASH_THRESHOLD bytes (a hash of all
    # cells, kept only as a batch marker in the result's meta); for a 500,000-row chunk that is
    # about a third of the run time. A threshold of 0 skips it.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)


class _Runner:
    """GX objects for the raw layer: pandas datasource, one dataframe asset, suite,
    validation definition and checkpoint per contract table."""

    def __init__(self, context: Any) -> None:
        import great_expectations as gx

        self.context = context
        try:
            datasource = context.data_sources.get(DATASOURCE)
        except (KeyError, ValueError, LookupError):
            datasource = context.data_sources.add_pandas(DATASOURCE)
        self.checkpoints: dict[str, Any] = {}
        for table in TABLES:
            name = suite_name(table)
            try:
                asset = datasource.get_asset(table)
            except LookupError:
                asset = datasource.add_dataframe_asset(table)
            try:
                batch_def = asset.get_batch_definition(BATCH_DEFINITION)
            except (KeyError, ValueError, LookupError):
                batch_def = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
            suite = context.suites.add_or_update(load_suite(table))
            vd = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=name, data=batch_def, suite=suite)
            )
            self.checkpoints[table] = context.checkpoints.add_or_update(
                gx.Checkpoint(
                    name=name,
                    validation_definitions=[vd],
                    actions=[],
                    result_format=RESULT_FORMAT,
                )
            )

    def run(self, table: str, df: pd.DataFrame, export_date: date, run_id: Any) -> tuple[Any, Any]:
        """Validate one frame; returns (ValidationResultIdentifier, suite validation result)."""
        with _gx_warnings_silenced():
            result = self.checkpoints[table].run(
                batch_parameters={"dataframe": df},
                expectation_parameters={LATEST_TIME_PARAMETER: latest_allowed_time(export_date)},
                run_id=run_id,
            )
        ((key, suite_result),) = result.run_results.items()
        return key, suite_result


def _file_context(home: Home) -> Any:
    """The GX File Data Context rooted at `<home>/gx`, Data Docs site at `<home>/gx/data_docs`."""
    import great_expectations as gx

    home.gx.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", context_root_dir=str(home.gx))
    _configure(context)
    context.variables.config.data_docs_sites = {
        DOCS_SITE: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": "data_docs/",  # relative to the context root, <home>/gx
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    }
    context.variables.save()
    return context


_EPHEMERAL: _Runner | None = None


def _ephemeral_runner() -> _Runner:
    global _EPHEMERAL
    if _EPHEMERAL is None:
        import great_expectations as gx

        context = gx.get_context(mode="ephemeral")
        _configure(context)
        _EPHEMERAL = _Runner(context)
    return _EPHEMERAL


# --------------------------------------------------------------------------------------------
# frames


def latest_allowed_time(export_date: date) -> str:
    """No timestamp of night D may be at or after D + 2 days 00:00 UTC (the day after D, ended)."""
    moment = dt.datetime.combine(export_date + dt.timedelta(days=2), dt.time(), dt.UTC)
    return moment.isoformat()


def conform_frame(table: Table, df: pd.DataFrame) -> pd.DataFrame:
    """Give a frame the dtypes the warehouse reader gives, where that changes no value.

    Nullable integer and boolean columns become `Int64` / `boolean`, object columns of text
    become `str`, integer decimals become float, tz-aware timestamps are put in UTC. Anything
    else is left as it is, so that the suite's type expectations see it.
    """
    out = df.copy()
    for col in table.columns:
        if col.name not in out.columns:
            continue
        s = out[col.name]
        try:
            if col.type == "integer" and pd.api.types.is_integer_dtype(s.dtype):
                out[col.name] = s.astype("Int64")
            elif col.type == "boolean" and pd.api.types.is_bool_dtype(s.dtype):
                out[col.name] = s.astype("boolean")
            elif col.type == "decimal" and pd.api.types.is_integer_dtype(s.dtype):
                out[col.name] = s.astype("float64")
            elif col.type == "timestamp" and isinstance(s.dtype, pd.DatetimeTZDtype):
                out[col.name] = s.dt.tz_convert("UTC")
            elif s.dtype == object and s.map(lambda v: v is None or isinstance(v, str)).all():
                out[col.name] = s.astype("str")
        except (TypeError, ValueError):
            pass
    return out


def _night_count(con: Any, table: str, export_date: date) -> int:
    row = con.execute(
        f"SELECT count(*) FROM raw.{table} WHERE _export_date = ?", [export_date]
    ).fetchone()
    return int(row[0]) if row else 0


def _select_list(con: Any, table: Table) -> str:
    """Contract columns raw.<table> has; decimals as DOUBLE (pandas float64, like `.df()`)."""
    items = []
    for name in _present_columns(con, table):
        col = table.column(name)
        quoted = f'"{name}"'
        items.append(f"CAST({quoted} AS DOUBLE) AS {quoted}" if col.type == "decimal" else quoted)
    return ", ".join(items)


def _frame(con: Any, sql: str, params: list[Any], table: Table) -> pd.DataFrame:
    """Run a query into pandas through Arrow (faster and leaner than `.df()` for text):
    BIGINT -> Int64, BOOLEAN -> boolean, VARCHAR -> str, TIMESTAMPTZ -> datetime64[us, UTC]."""
    arrow = con.sql(sql, params=params).to_arrow_table()
    df = arrow.to_pandas(types_mapper=_ARROW_TO_PANDAS.get, date_as_object=False)
    del arrow
    return conform_frame(table, df)


def _night_chunks(
    con: Any, table: Table, export_date: date, chunks: int
) -> Iterator[pd.DataFrame]:
    base = f"SELECT {_select_list(con, table)} FROM raw.{table.name} WHERE _export_date = ?"
    if chunks == 1:
        yield _frame(con, base, [export_date], table)
        return
    for i in range(chunks):
        sql = f'{base} AND hash("{table.key}") % ? = ?'
        yield _frame(con, sql, [export_date, chunks, i], table)


def _present_columns(con: Any, table: Table) -> list[str]:
    """The contract columns raw.<table> has (a missing one is for the suite to report)."""
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'raw' AND table_name = ?",
        [table.name],
    ).fetchall()
    have = {r[0] for r in rows}
    return [c for c in table.column_names if c in have]


# --------------------------------------------------------------------------------------------
# results


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={_text(v)}" for k, v in value.items()) + ")"
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _config_key(config: Any) -> str:
    if config.id:
        return str(config.id)
    return json.dumps({"t": config.type, "k": config.kwargs}, sort_keys=True, default=str)


def _column_of(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return None


def _shown_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for k, v in kwargs.items():
        if k in ("column", "column_list", "batch_id"):
            continue
        if isinstance(v, list | tuple) and len(v) > _LIST_KWARGS_SHOWN:
            shown[f"{k}_size"] = len(v)
        else:
            shown[k] = v
    return shown


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


@dataclass
class _Acc:
    """One expectation's running totals over the chunks of a night."""

    config: Any
    success: bool = True
    unexpected: int = 0
    elements: int = 0
    missing: int = 0
    sample: list[Any] = field(default_factory=list)  # raw unexpected values (for Data Docs)
    distinct: list[str] = field(default_factory=list)  # distinct ones, as text (for reports)
    observed: str | None = None
    error: str | None = None

    def add(self, evr: Any) -> None:
        res = evr.result or {}
        self.success = self.success and bool(evr.success)
        self.unexpected += int(res.get("unexpected_count") or 0)
        self.elements += int(res.get("element_count") or 0)
        self.missing += int(res.get("missing_count") or 0)
        for v in res.get("partial_unexpected_list") or []:
            if len(self.sample) < RESULT_FORMAT["partial_unexpected_count"]:
                self.sample.append(v)
            if _text(v) not in self.distinct and len(self.distinct) < SAMPLE_SIZE:
                self.distinct.append(_text(v))
        if not evr.success and "observed_value" in res and self.observed is None:
            self.observed = _text(res["observed_value"])
        info = evr.exception_info or {}
        if info.get("raised_exception") and self.error is None:
            self.error = str(info.get("exception_message"))

    def outcome(self) -> ExpectationResult:
        cfg = self.config
        return ExpectationResult(
            expectation=cfg.type,
            column=_column_of(cfg.kwargs),
            rule=str((cfg.meta or {}).get("rule", cfg.type)),
            success=self.success,
            unexpected_count=self.unexpected,
            element_count=self.elements,
            sample=tuple(self.distinct),
            observed=self.observed,
            error=self.error,
            kwargs=_shown_kwargs(dict(cfg.kwargs)),
        )

    def apply_to(self, evr: Any) -> None:
        """Write the night's totals into a chunk's GX result (the one Data Docs render)."""
        evr.success = self.success
        res = evr.result
        if res is None or "unexpected_count" not in res:
            return
        nonmissing = self.elements - self.missing
        counts: dict[str, int] = {}
        for v in self.sample:
            counts[_text(v)] = counts.get(_text(v), 0) + 1
        res.update(
            {
                "unexpected_count": self.unexpected,
                "element_count": self.elements,
                "missing_count": self.missing,
                "missing_percent": _pct(self.missing, self.elements),
                "unexpected_percent": _pct(self.unexpected, nonmissing),
                "unexpected_percent_nonmissing": _pct(self.unexpected, nonmissing),
                "unexpected_percent_total": _pct(self.unexpected, self.elements),
                "partial_unexpected_list": list(self.sample),
                "partial_unexpected_counts": [{"value": v, "count": n} for v, n in counts.items()],
            }
        )
        res.pop("partial_unexpected_index_list", None)  # row numbers of one chunk: meaningless


class _Combiner:
    """Adds up the chunk results of one suite, expectation by expectation."""

    def __init__(self) -> None:
        self.acc: dict[str, _Acc] = {}
        self.first: Any = None  # the first chunk's suite result, template for Data Docs

    def add(self, suite_result: Any) -> None:
        if self.first is None:
            self.first = copy.deepcopy(suite_result)
        for evr in suite_result.results:
            key = _config_key(evr.expectation_config)
            if key not in self.acc:
                self.acc[key] = _Acc(evr.expectation_config)
            self.acc[key].add(evr)

    def results(self, suite_order: list[str]) -> tuple[ExpectationResult, ...]:
        rank = {k: i for i, k in enumerate(suite_order)}
        keys = sorted(self.acc, key=lambda k: rank.get(k, len(rank)))
        return tuple(self.acc[k].outcome() for k in keys)

    def merged_result(self, rows: int, chunks: int) -> Any:
        """One GX suite result for the whole night (what Data Docs render)."""
        merged = self.first
        for evr in merged.results:
            self.acc[_config_key(evr.expectation_config)].apply_to(evr)
        n_ok = sum(1 for evr in merged.results if evr.success)
        n_all = len(merged.results)
        merged.success = n_ok == n_all
        merged.statistics.update(
            {
                "evaluated_expectations": n_all,
                "successful_expectations": n_ok,
                "unsuccessful_expectations": n_all - n_ok,
                "success_percent": _pct(n_ok, n_all) if n_all else None,
            }
        )
        merged.meta["itw_radar"] = {"rows": rows, "chunks": chunks}
        return merged


def _validate_chunks(
    runner: _Runner,
    table: Table,
    frames: Iterator[pd.DataFrame],
    export_date: date,
    run_id: Any,
) -> tuple[_Combiner, Any, int]:
    combiner = _Combiner()
    key = None
    n = 0
    for df in frames:
        if df.empty:
            continue
        key, suite_result = runner.run(table.name, df, export_date, run_id)
        combiner.add(suite_result)
        n += 1
    return combiner, key, n


def _suite_order(runner: _Runner, table: str) -> list[str]:
    suite = runner.context.suites.get(suite_name(table))
    return [_config_key(e.configuration) for e in suite.expectations]


def _run_id(export_date: date) -> Any:
    """Fixed per night, so validating a night again replaces its stored results and docs."""
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(
        run_name=f"night-{export_date.isoformat()}",
        run_time=dt.datetime.combine(export_date, dt.time(), dt.UTC),
    )


# --------------------------------------------------------------------------------------------
# public API


def build_suites() -> dict[str, Any]:
    """One GX ExpectationSuite per contract table (see itw_radar.gx_suites)."""
    from itw_radar.gx_suites import build_suites as _build

    return _build()


def validate_frame(table: str, df: pd.DataFrame, export_date: date) -> ValidationReport:
    """Run one table's committed suite on a whole frame (no warehouse, no Data Docs)."""
    if table not in TABLES:
        raise KeyError(f"{table!r} is not a contract table; use one of {', '.join(TABLES)}")
    _quiet_gx()
    started = time.monotonic()
    spec = TABLES[table]
    runner = _ephemeral_runner()
    frame = conform_frame(spec, df)
    combiner, _, chunks = _validate_chunks(
        runner, spec, iter([frame]), export_date, _run_id(export_date)
    )
    suite = SuiteReport(
        table=table,
        suite=suite_name(table),
        rows=len(frame),
        chunks=chunks,
        results=combiner.results(_suite_order(runner, table)),
    )
    return ValidationReport(
        export_date=export_date,
        success=suite.success,
        suites={table: suite},
        seconds=time.monotonic() - started,
    )


def validate_night(home: Home, export_date: date, *, chunk_rows: int = 500_000) -> ValidationReport:
    """Validate every contract table's rows of one loaded night; raise ValidationError on failure.

    Results replace the night's rows in `raw.gx_results` and its Data Docs pages, so running it
    twice gives the same state as running it once.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    _quiet_gx()
    started = time.monotonic()
    con = connect(home.warehouse)
    try:
        ensure_raw_schema(con)
        with _gx_warnings_silenced():
            context = _file_context(home)
            runner = _Runner(context)
        run_id = _run_id(export_date)
        suites: dict[str, SuiteReport] = {}
        for name, table in TABLES.items():
            rows = _night_count(con, name, export_date)
            if rows == 0:
                suites[name] = SuiteReport(name, suite_name(name), 0, 0, ())
                continue
            chunks = max(1, math.ceil(rows / chunk_rows))
            t0 = time.monotonic()
            combiner, key, done = _validate_chunks(
                runner, table, _night_chunks(con, table, export_date, chunks), export_date, run_id
            )
            files = tuple(
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT _source_file FROM raw.{name} WHERE _export_date = ? "
                    "AND _source_file IS NOT NULL ORDER BY 1",
                    [export_date],
                ).fetchall()
            )
            suites[name] = SuiteReport(
                table=name,
                suite=suite_name(name),
                rows=rows,
                chunks=done,
                results=combiner.results(_suite_order(runner, name)),
                source_files=files,
            )
            if key is not None and done > 1:
                context.validation_results_store.store_validation_results(
                    suite_validation_result=combiner.merged_result(rows, done),
                    suite_validation_result_identifier=key,
                )
            log.debug("validated %s rows of %s in %.1fs", rows, name, time.monotonic() - t0)
        _record(con, export_date, suites)
    finally:
        con.close()
    with _gx_warnings_silenced():
        sites = context.build_data_docs(site_names=[DOCS_SITE])
    docs = home.data_docs / "index.html" if DOCS_SITE in sites else None
    report = ValidationReport(
        export_date=export_date,
        success=all(s.success for s in suites.values()),
        suites=suites,
        data_docs=docs,
        seconds=time.monotonic() - started,
    )
    if not report.success:
        raise ValidationError(failure_message(report), report)
    return report


def _record(con: Any, export_date: date, suites: dict[str, SuiteReport]) -> None:
    rows = []
    for s in suites.values():
        for r in s.results:
            details = {
                "rule": r.rule,
                "kwargs": r.kwargs,
                "element_count": r.element_count,
                "unexpected_sample": list(r.sample),
                "observed": r.observed,
                "error": r.error,
                "rows": s.rows,
                "chunks": s.chunks,
                "source_files": list(s.source_files),
            }
            rows.append(
                (
                    export_date,
                    s.suite,
                    r.expectation,
                    r.column,
                    r.success,
                    r.unexpected_count,
                    json.dumps(details, default=str, sort_keys=True),
                )
            )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM raw.gx_results WHERE export_date = ?", [export_date])
        if rows:
            con.executemany("INSERT INTO raw.gx_results VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def failure_message(report: ValidationReport) -> str:
    """One sentence: night, table (file), column, rule, count and a sample, and what to do."""
    failures = report.failures()
    if not failures:
        return f"Night {report.export_date} passed every expectation."
    suite, r = failures[0]
    files = ", ".join(suite.source_files) if suite.source_files else "file unknown"
    where = f"table {suite.table} (file {files})"
    if r.column:
        where += f", column{'s' if ', ' in r.column else ''} {r.column}"
    if r.error:
        what = f"could not be checked ({r.error.splitlines()[0][:200]})"
    elif r.unexpected_count:
        plural = "s" if r.unexpected_count != 1 else ""
        what = f"found {r.unexpected_count} unexpected value{plural}"
        if r.sample:
            what += f", e.g. {r.sample[0]!r}"
    elif r.observed is not None:
        what = f"observed {r.observed!r}"
    else:
        what = "failed"
    more = failures[1:]
    also = ""
    if more:
        named = "; ".join(f"{s.table}.{x.column or '-'} {x.rule}" for s, x in more[:3])
        also = (
            f", and {len(more)} more expectation{'s' if len(more) != 1 else ''} failed"
            f" ({named}{'; ...' if len(more) > 3 else ''})"
        )
    docs = f" and the Data Docs at {report.data_docs}" if report.data_docs else ""
    return (
        f"Night {report.export_date} failed Great Expectations validation: {where}, "
        f"rule {r.rule} ({r.expectation}) {what}{also}; fix the export (or the loader's row "
        f"checks) and load and validate the night again (all results are in raw.gx_results"
        f"{docs})."
    )
