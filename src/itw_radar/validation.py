"""Great Expectations: the second, independent gate over a loaded night (see docs/validation.md).

`validate_night` reads each contract table's rows of one night from the warehouse
(`raw.<table> WHERE _export_date = D`) in chunks, runs the table's committed Expectation Suite
(`itw_radar.gx_suites`) on each chunk with the batch definition and result format of the
table's GX Checkpoint (pandas dataframe asset), combines the chunk results, stores one GX result
per table, records one row per expectation in `raw.gx_results`, renders this night's GX Data
Docs pages under `<home>/gx/data_docs/`, and raises `ValidationError` if any expectation failed.

The GX objects (suites, validation definitions, checkpoints) are written to the File Data
Context only when the committed suites, the GX version or our settings changed, or a stored file
was changed by someone else; otherwise they are read as they are (see `_open_context`).

Chunks are hash partitions of the key (`hash(key) % n`), so every row of one key lands in the
same chunk and the per-chunk uniqueness expectation sees every duplicate of the night.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from itw_radar.contract import TABLES, Table
from itw_radar.gx_suites import (
    LATEST_TIME_PARAMETER,
    NIGHT_COLUMN,
    load_suite,
    suite_name,
    suite_path,
)
from itw_radar.paths import Home
from itw_radar.warehouse import connect, ensure_raw_schema

log = logging.getLogger(__name__)

DATASOURCE = "raw_night"
BATCH_DEFINITION = "night"
DOCS_SITE = "itw_radar"
SAMPLE_SIZE = 5  # unexpected values kept per expectation
# BASIC gives every count we record and up to 20 unexpected values; SUMMARY would add row
# indices and value counts of one chunk, which cost a pass per expectation and are not kept.
RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 20}
DOCS_INDEX_RESULTS = 300  # validation results listed on the Data Docs index (30 nights)
SETUP_STATE = "uncommitted/itw_radar_setup.json"  # what the last GX set-up wrote, see below
_SETUP_FOLDERS = ("expectations", "validation_definitions", "checkpoints")
_LIST_KWARGS_SHOWN = 20  # longer value sets are summarised by their size in raw.gx_results
_PART = "_itw_radar_part"  # hash partition column of a chunked read
_BATCH_ROWS = 122_880  # Arrow batch size of a chunked read (DuckDB's row group size)
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
    """One GX Checkpoint per contract table (pandas datasource, dataframe asset, suite and
    validation definition behind it)."""

    def __init__(self, context: Any, checkpoints: dict[str, Any]) -> None:
        self.context = context
        self.checkpoints = checkpoints

    @classmethod
    def build(cls, context: Any) -> _Runner:
        """Create or update every GX object from the committed suites (writes the stores)."""
        import great_expectations as gx

        try:
            datasource = context.data_sources.get(DATASOURCE)
        except (KeyError, ValueError, LookupError):
            datasource = context.data_sources.add_pandas(DATASOURCE)
        checkpoints: dict[str, Any] = {}
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
            checkpoints[table] = context.checkpoints.add_or_update(
                gx.Checkpoint(
                    name=name,
                    validation_definitions=[vd],
                    actions=[],
                    result_format=RESULT_FORMAT,
                )
            )
        return cls(context, checkpoints)

    @classmethod
    def load(cls, context: Any) -> _Runner:
        """The stored checkpoints, read as they are (raises if one is missing or unreadable)."""
        return cls(context, {t: context.checkpoints.get(suite_name(t)) for t in TABLES})

    def run(self, table: str, df: pd.DataFrame, export_date: date, run_id: Any) -> tuple[Any, Any]:
        """Validate one frame with the table's suite; returns (ValidationResultIdentifier, suite
        validation result). Nothing is stored: the caller stores one result per table and night.

        This is what the table's Checkpoint runs (its validation definition's batch definition
        and suite, the Checkpoint's result format, the same result meta and identifier), minus
        the per-run work `Checkpoint.run` adds: checking every stored object against the store
        (`_open_context` has already checked the files) and writing each chunk's result.
        """
        from great_expectations.constants import DATAFRAME_REPLACEMENT_STR
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        checkpoint = self.checkpoints[table]
        (definition,) = checkpoint.validation_definitions
        with _gx_warnings_silenced():
            batch = definition.batch_definition.get_batch(batch_parameters={"dataframe": df})
            result = batch.validate(
                definition.suite,
                result_format=checkpoint.result_format,
                expectation_parameters={LATEST_TIME_PARAMETER: latest_allowed_time(export_date)},
            )
        result.meta.update(
            {
                "validation_id": definition.id,
                "checkpoint_id": checkpoint.id,
                "run_id": run_id,
                "validation_time": run_id.run_time,
                "batch_parameters": {"dataframe": DATAFRAME_REPLACEMENT_STR},
            }
        )
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=definition.suite.name),
            run_id=run_id,
            batch_identifier=batch.id,
        )
        return key, result


def _docs_site_config() -> dict[str, Any]:
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": "data_docs/",  # relative to the context root, <home>/gx
        },
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            # the index reads every result it lists: keep it to the latest nights
            "validation_results_limit": DOCS_INDEX_RESULTS,
        },
        # GX copies the index's limit to the validation pages by default, which would leave
        # the pages of an older night unrendered when that night is validated again
        "site_section_builders": {"validations": {"validation_results_limit": None}},
    }


def _setup_inputs() -> str:
    """Hash of everything the stored GX objects are made from: GX version, our object names
    and settings, and the committed suite files. A change means: rebuild the objects."""
    import great_expectations as gx

    h = hashlib.sha256()
    settings = {
        "gx": gx.__version__,
        "datasource": DATASOURCE,
        "batch_definition": BATCH_DEFINITION,
        "result_format": RESULT_FORMAT,
        "docs": {DOCS_SITE: _docs_site_config()},
        "tables": list(TABLES),
    }
    h.update(json.dumps(settings, sort_keys=True).encode())
    for table in TABLES:
        path = suite_path(table)
        h.update(path.read_bytes() if path.exists() else b"missing")
    return h.hexdigest()


def _stored_files(root: Path) -> dict[str, str]:
    """sha256 of the GX files the set-up writes (config, suites, definitions, checkpoints)."""
    paths = [root / "great_expectations.yml"]
    for folder in _SETUP_FOLDERS:
        paths += sorted(p for p in (root / folder).rglob("*.json") if p.is_file())
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in paths
        if p.is_file()
    }


def _setup_is_current(root: Path, inputs: str) -> bool:
    state_file = root / SETUP_STATE
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return state.get("inputs") == inputs and state.get("files") == _stored_files(root)


def _open_context(home: Home) -> tuple[Any, _Runner, bool]:
    """The GX File Data Context at `<home>/gx` with its checkpoints; True if it was (re)built.

    Creating the GX objects rewrites every suite, validation definition and checkpoint, which
    costs seconds; so it happens only when their inputs changed (GX version, settings, the
    committed suites) or a stored file differs from what the last set-up wrote. Otherwise the
    stored checkpoints are used as they are.
    """
    import great_expectations as gx

    root = home.gx
    root.mkdir(parents=True, exist_ok=True)
    inputs = _setup_inputs()
    current = _setup_is_current(root, inputs)
    context = gx.get_context(mode="file", context_root_dir=str(root))
    _configure(context)
    if current:
        try:
            return context, _Runner.load(context), False
        except Exception as exc:  # a stored object GX cannot read: build them again
            log.warning("rebuilding the GX objects under %s: %s", root, exc)
    context.variables.config.data_docs_sites = {DOCS_SITE: _docs_site_config()}
    context.variables.save()
    runner = _Runner.build(context)
    state = {"inputs": inputs, "files": _stored_files(root)}
    (root / SETUP_STATE).write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
    return context, runner, True


_EPHEMERAL: _Runner | None = None


def _ephemeral_runner() -> _Runner:
    global _EPHEMERAL
    if _EPHEMERAL is None:
        import great_expectations as gx

        context = gx.get_context(mode="ephemeral")
        _configure(context)
        _EPHEMERAL = _Runner.build(context)
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
    else is left as it is, so that the suite's type expectations see it. The input frame is not
    changed (a shallow copy gets the converted columns; pandas copies on write).
    """
    out = df.copy(deep=False)
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


def _select_list(con: Any, table: Table) -> str:
    """Contract columns raw.<table> has, and the night of each row (NIGHT_COLUMN); decimals as
    DOUBLE (pandas float64, like `.df()`)."""
    items = [NIGHT_COLUMN]
    for name in _present_columns(con, table):
        col = table.column(name)
        quoted = f'"{name}"'
        items.append(f"CAST({quoted} AS DOUBLE) AS {quoted}" if col.type == "decimal" else quoted)
    return ", ".join(items)


def _pandas(arrow: pa.Table, table: Table) -> pd.DataFrame:
    df = arrow.to_pandas(types_mapper=_ARROW_TO_PANDAS.get, date_as_object=False)
    return conform_frame(table, df)


def _frame(con: Any, sql: str, params: list[Any], table: Table) -> pd.DataFrame:
    """Run a query into pandas through Arrow (faster and leaner than `.df()` for text):
    BIGINT -> Int64, BOOLEAN -> boolean, VARCHAR -> str, TIMESTAMPTZ -> datetime64[us, UTC].

    The Arrow columns are made contiguous first. DuckDB returns one Arrow chunk per ~120k
    rows, and GX filters the whole frame by a boolean mask for each column-map expectation on a
    column with nulls: on a chunked Arrow column every such filter re-joins the chunks, which
    made filtering 3-6x slower.
    """
    return _pandas(con.sql(sql, params=params).to_arrow_table().combine_chunks(), table)


def _night_chunks(
    con: Any, table: Table, export_date: date, chunks: int, last: date | None = None
) -> Iterator[pd.DataFrame]:
    """The night's rows (nights `export_date` to `last`) in `chunks` hash partitions of the
    key, one frame per non-empty one.

    One query reads the night sorted by partition and is streamed in Arrow batches, cut where
    the partition changes: the night is scanned and hashed once, not once per chunk (a
    filtered query per chunk cost about twice a full read, each). DuckDB holds the sorted
    rows (spilling to disk past its memory limit); Python holds one partition at a time.
    """
    select = _select_list(con, table)
    where = "_export_date BETWEEN ? AND ?"
    params = [export_date, last or export_date]
    if chunks == 1:
        sql = f"SELECT {select} FROM raw.{table.name} WHERE {where}"
        yield _frame(con, sql, params, table)
        return
    sql = (
        f'SELECT {select}, hash("{table.key}") % {int(chunks)} AS {_PART} '
        f"FROM raw.{table.name} WHERE {where} ORDER BY {_PART}"
    )
    reader = con.sql(sql, params=params).to_arrow_reader(_BATCH_ROWS)
    pieces: list[pa.RecordBatch] = []
    current: int | None = None
    for batch in reader:
        part = batch.column(batch.num_columns - 1).to_numpy()
        rows = batch.drop_columns([_PART])
        start = 0
        while start < len(part):
            value = int(part[start])
            end = int(np.searchsorted(part, value, side="right"))
            if value != current and pieces:
                yield _pandas(pa.Table.from_batches(pieces).combine_chunks(), table)
                pieces = []
            current = value
            pieces.append(rows.slice(start, end - start))
            start = end
    if pieces:
        yield _pandas(pa.Table.from_batches(pieces).combine_chunks(), table)


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
    if "column_list" in kwargs:  # the night column is every key's: not shown
        return ", ".join(c for c in kwargs["column_list"] if c != NIGHT_COLUMN)
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
            self.first = suite_result  # not stored by GX: ours to change in merged_result
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
    (definition,) = runner.checkpoints[table].validation_definitions
    suite = definition.suite
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
    if NIGHT_COLUMN not in frame.columns:  # a frame of one night
        frame = frame.assign(**{NIGHT_COLUMN: pd.Timestamp(export_date)})
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
    return validate_nights(home, [export_date], chunk_rows=chunk_rows)[0]


def validate_nights(home: Home, nights: Sequence[date], *,
                    chunk_rows: int = 500_000) -> list[ValidationReport]:
    """Validate several loaded nights (a catch-up batch) with one GX context and one Data Docs
    build; raise ValidationError at the first night that fails (its pages are still built).

    Opening the context and rendering the docs cost seconds whatever a night's size: once per
    batch instead of once per night (docs/orchestration.md, "Catch-up").
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    _quiet_gx()
    con = connect(home.warehouse)
    keys: list[Any] = []  # the stored GX results of these nights (the Data Docs pages to build)
    done: list[tuple[date, dict[str, SuiteReport], float]] = []
    try:
        ensure_raw_schema(con)
        # VARCHAR as Arrow large_string, the storage of pandas' `str` dtype: no copy of the
        # text when a chunk becomes a frame (with `string`, pandas casts every text column)
        con.execute("SET arrow_large_buffer_size = true")
        with _gx_warnings_silenced():
            context, runner, rebuilt = _open_context(home)
        together = _validate_together(con, context, runner, nights, chunk_rows, keys)
        for night in nights:
            started = time.monotonic()
            suites = _validate_tables(con, context, runner, night, chunk_rows, keys,
                                      done_together=together.get(night, {}))
            _record(con, night, suites)
            done.append((night, suites, time.monotonic() - started))
            if not all(s.success for s in suites.values()):
                break
    finally:
        con.close()
    docs = _build_data_docs(home, context, keys, rebuilt)
    _forget_gx_project()
    reports = [ValidationReport(export_date=night, success=all(s.success for s in suites.values()),
                                suites=suites, data_docs=docs, seconds=seconds)
               for night, suites, seconds in done]
    if not reports[-1].success:
        raise ValidationError(failure_message(reports[-1]), reports[-1])
    return reports


def _validate_tables(con: Any, context: Any, runner: _Runner, export_date: date,
                     chunk_rows: int, keys: list[Any],
                     done_together: dict[str, SuiteReport] | None = None
                     ) -> dict[str, SuiteReport]:
    """Each table's report for the night: from `done_together` (validated with the other
    nights of its batch) or by running the table's suite on the night's rows, storing one GX
    result per table (its key appended to `keys`)."""
    suites: dict[str, SuiteReport] = {}
    for name, table in TABLES.items():
        if done_together and name in done_together:
            suites[name] = done_together[name]
            continue
        suites[name] = _validate_table(con, context, runner, table, export_date, chunk_rows,
                                       keys)
    return suites


def _validate_table(con: Any, context: Any, runner: _Runner, table: Table, export_date: date,
                    chunk_rows: int, keys: list[Any], last: date | None = None,
                    rows: int | None = None) -> SuiteReport:
    """Run a table's suite on the rows of night `export_date` (to `last`: a batch, checked
    against the last night's time limit) and store one GX result for them."""
    name = table.name
    span = (export_date, last or export_date)
    if rows is None:
        rows = int(con.execute(f"SELECT count(*) FROM raw.{name} WHERE _export_date "
                               "BETWEEN ? AND ?", list(span)).fetchone()[0])
    if rows == 0:
        return SuiteReport(name, suite_name(name), 0, 0, ())
    chunks = max(1, math.ceil(rows / chunk_rows))
    t0 = time.monotonic()
    combiner, key, done = _validate_chunks(
        runner, table, _night_chunks(con, table, export_date, chunks, last), span[1],
        _run_id(span[1]))
    files = tuple(
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT _source_file FROM raw.{name} WHERE _export_date BETWEEN ? AND ? "
            "AND _source_file IS NOT NULL ORDER BY 1",
            list(span),
        ).fetchall()
    )
    report = SuiteReport(
        table=name,
        suite=suite_name(name),
        rows=rows,
        chunks=done,
        results=combiner.results(_suite_order(runner, name)),
        source_files=files,
    )
    if key is not None and (last is None or report.success):
        # one stored GX result per table and night (a batch that passed: its last night's)
        keys.append(key)
        merged = combiner.merged_result(rows, done)
        if last is not None:
            merged.meta["itw_radar"]["nights"] = [d.isoformat() for d in span]
        context.validation_results_store.store_validation_results(
            suite_validation_result=merged, suite_validation_result_identifier=key)
    log.debug("validated %s rows of %s in %.1fs", rows, name, time.monotonic() - t0)
    return report


def _validate_together(con: Any, context: Any, runner: _Runner, nights: Sequence[date],
                       chunk_rows: int, keys: list[Any]) -> dict[date, dict[str, SuiteReport]]:
    """A catch-up batch's tables validated in one frame each, where that gives each night the
    outcome it would get alone; {night: {table: report}} for those tables.

    GX's cost is mostly per expectation and call, not per row: a 10,000-account night's
    suites took about 1.3 s, nearly all of it GX's own bookkeeping. Validated together, a
    table of consecutive nights passes exactly when each night passes alone: no suite has a
    `mostly`, keys are unique per night (NIGHT_COLUMN is part of every key expectation), and
    the one rule that depends on the night, a timestamp before its night's limit
    (`latest_allowed_time`), is checked per night in SQL first; a table where that finds a row
    too late, or whose batch fails any expectation, is validated night by night, so that a
    failure is reported for its night exactly as before.
    """
    ordered = sorted(nights)
    if len(ordered) < 2 or ordered[-1] - ordered[0] != dt.timedelta(days=len(ordered) - 1):
        return {}
    first, last = ordered[0], ordered[-1]
    out: dict[date, dict[str, SuiteReport]] = {n: {} for n in ordered}
    for name, table in TABLES.items():
        per_night = {night: (n, tuple(sorted(files or ()))) for night, n, files in con.execute(
            f"SELECT _export_date, count(*), list(DISTINCT _source_file) FILTER "
            f"(WHERE _source_file IS NOT NULL) FROM raw.{name} WHERE _export_date BETWEEN ? "
            "AND ? GROUP BY 1", [first, last]).fetchall()}
        present = set(_present_columns(con, table))
        stamps = [c.name for c in table.columns if c.type == "timestamp" and c.name in present]
        if stamps:
            late = " OR ".join(f'"{c}" >= (_export_date + INTERVAL 2 DAY)::TIMESTAMPTZ'
                               for c in stamps)
            if con.execute(f"SELECT count(*) FROM raw.{name} WHERE _export_date BETWEEN ? AND ? "
                           f"AND ({late})", [first, last]).fetchone()[0]:
                continue
        report = _validate_table(con, context, runner, table, first, chunk_rows, keys,
                                 last=last, rows=sum(n for n, _ in per_night.values()))
        if not report.success:
            continue
        for night in ordered:
            n, files = per_night.get(night, (0, ()))
            out[night][name] = (
                SuiteReport(name, suite_name(name), 0, 0, ()) if n == 0 else
                dataclasses.replace(report, rows=n, source_files=files, results=tuple(
                    _for_night(r, night, n, report.rows) for r in report.results)))
    return out


def _for_night(result: ExpectationResult, night: date, rows: int,
               batch_rows: int) -> ExpectationResult:
    """A passed expectation of a batch as its night alone records it: its rows, and the
    night's own time limit."""
    kwargs = result.kwargs
    if result.rule == "time_not_after_next_day" and "max_value" in kwargs:
        limit = dt.datetime.combine(night + dt.timedelta(days=2), dt.time(), dt.UTC)
        kwargs = {**kwargs, "max_value": str(limit)}
    return dataclasses.replace(
        result, kwargs=kwargs,
        element_count=rows if result.element_count == batch_rows else result.element_count)


def _forget_gx_project() -> None:
    """Drop GX's process-wide reference to the last opened context.

    `gx.get_context` keeps the context as the "current project", and with it the execution
    engine's last batch of every table: 556 MB of Arrow buffers after a million-account first
    export, held for the rest of the process. Under `dag.test()` (`itw-radar run`) that process
    runs the dbt build next, so the whole night's peak carried them.
    """
    from great_expectations.data_context.data_context.context_factory import project_manager

    project_manager.set_project(None)


def _build_data_docs(home: Home, context: Any, keys: list[Any], rebuilt: bool) -> Path | None:
    """Render this night's validation pages, the suite pages when the suites were (re)stored
    or a page is missing, and the index; pages of other nights are left as they are."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    index = home.data_docs / "index.html"
    resources = list(keys)
    for table in TABLES:
        suite = suite_name(table)
        page = home.data_docs / "expectations" / Path(*suite.split(".")).with_suffix(".html")
        if rebuilt or not page.is_file() or not index.is_file():
            resources.append(ExpectationSuiteIdentifier(name=suite))
    if not resources:  # a night without rows, docs up to date: nothing to render
        return index
    with _gx_warnings_silenced():
        sites = context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=resources)
    return index if DOCS_SITE in sites else None


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
