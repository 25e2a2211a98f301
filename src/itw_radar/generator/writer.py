"""Streaming writers for one night's folder: per-table files, then `manifest.json` last.

Batches arrive with logical Arrow types (timestamps as `timestamp[s, UTC]`, dates as `date32`,
decimals as `float64`); each sink encodes them for its format while streaming, so a night is
never held in memory. Checksums are computed over the bytes on disk after the files are closed.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from itw_radar.contract import CORE_TABLES, MANIFEST_NAME, TABLES
from itw_radar.generator import encode

PLATFORM = "itw-synthetic"
FORMATS = ("csv", "csv.gz", "parquet")
TS = pa.timestamp("s", tz="UTC")
_ARROW = {
    "string": pa.string(), "enum": pa.string(), "timestamp": TS, "date": pa.date32(),
    "decimal": pa.float64(), "integer": pa.int64(), "boolean": pa.bool_(),
}
# Contract versions the generator can write: 1.1 (default) or 1.0 (no 1.1 tables or columns).
VERSIONS = ("1.1", "1.0")
DEFAULT_VERSION = "1.1"
# Batches are built with every 1.1 column; a 1.0 sink drops the optional ones.
SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema([pa.field(c.name, _ARROW[c.type], nullable=c.nullable)
                     for c in TABLES[name].columns])
    for name in TABLES
}
SCHEMAS_10: dict[str, pa.Schema] = {
    name: pa.schema([pa.field(c.name, _ARROW[c.type], nullable=c.nullable)
                     for c in TABLES[name].columns if not c.optional])
    for name in CORE_TABLES
}


def version_tables(version: str) -> tuple[str, ...]:
    """The tables a night of `version` holds."""
    return CORE_TABLES if version == "1.0" else tuple(TABLES)


def _file_schema(schema: pa.Schema, fmt: str) -> pa.Schema:
    fields = []
    for f in schema:
        if fmt == "parquet":
            typ = pa.timestamp("us", tz="UTC") if f.type == TS else f.type
        else:
            typ = pa.string() if f.type in (TS, pa.date32()) else f.type
        fields.append(pa.field(f.name, typ, nullable=f.nullable))
    return pa.schema(fields)


def _encode_csv(col: pa.Array) -> pa.Array:
    if col.type == TS:
        secs = col.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        out = encode.iso_timestamps(secs)
    elif col.type == pa.date32():
        days = col.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
        out = encode.iso_dates(days)
    else:
        return col
    if col.null_count:
        out = encode.masked(out, np.asarray(col.is_null()))
    return out


class TableSink:
    """One table's file in one night folder."""

    def __init__(self, folder: Path, table: str, fmt: str, version: str = DEFAULT_VERSION
                 ) -> None:
        self.table = table
        self.fmt = fmt
        self.file_name = f"{table}.{fmt}"
        self.path = folder / self.file_name
        self.schema = SCHEMAS_10[table] if version == "1.0" else SCHEMAS[table]
        self.file_schema = _file_schema(self.schema, fmt)
        self.rows = 0
        if fmt == "parquet":
            self._pq = pq.ParquetWriter(str(self.path), self.file_schema, compression="zstd")
        else:
            self._raw = None
            if fmt == "csv.gz":
                # Python's gzip at level 6 (3x faster than Arrow's gzip stream), mtime 0 and no
                # file name in the header, so the bytes depend on the content only.
                self._raw = self.path.open("wb")
                gz = gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=self._raw,
                                   mtime=0)
                self._stream = pa.PythonFile(gz, mode="w")
            else:
                self._stream = pa.OSFile(str(self.path), "wb")
            self._csv = pacsv.CSVWriter(self._stream, self.file_schema,
                                        write_options=pacsv.WriteOptions(batch_size=65536))

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if len(batch.schema) != len(self.schema):  # a 1.0 file: drop the 1.1 columns
            batch = pa.RecordBatch.from_arrays(
                [batch.column(f.name) for f in self.schema], schema=self.schema)
        elif batch.schema != self.schema:
            batch = batch.cast(self.schema)
        if self.fmt == "parquet":
            cols = [c.cast(f.type) for c, f in zip(batch.columns, self.file_schema, strict=True)]
            self._pq.write_batch(pa.RecordBatch.from_arrays(cols, schema=self.file_schema))
        else:
            cols = [_encode_csv(c) for c in batch.columns]
            self._csv.write_batch(pa.RecordBatch.from_arrays(cols, schema=self.file_schema))
        self.rows += batch.num_rows

    def close(self) -> dict[str, object]:
        if self.fmt == "parquet":
            self._pq.close()
        else:
            self._csv.close()
            self._stream.close()
            if self._raw is not None:
                self._raw.close()
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return {"table": self.table, "rows": self.rows, "sha256": digest.hexdigest()}


class NightWriter:
    """Writes one export folder: every table of the contract version, then the manifest."""

    def __init__(self, out: Path, export_date: dt.date, fmt: str, mode: str, seed: int,
                 version: str = DEFAULT_VERSION) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
        if version not in VERSIONS:
            raise ValueError(f"unknown contract version {version!r}: use one of "
                             f"{', '.join(VERSIONS)}")
        self.version = version
        self.folder = out / export_date.isoformat()
        self.export_date = export_date
        self.mode = mode
        self.seed = seed
        self.folder.mkdir(parents=True, exist_ok=True)
        stale = self.folder / MANIFEST_NAME
        stale.unlink(missing_ok=True)  # the folder is incomplete until the new manifest lands
        for old in self.folder.iterdir():
            if old.is_file() and (old.name.split(".")[0] in TABLES
                                  or old.name == MANIFEST_NAME + ".tmp"):
                old.unlink()
        self.sinks = {t: TableSink(self.folder, t, fmt, version) for t in version_tables(version)}

    def write(self, table: str, batch: pa.RecordBatch) -> None:
        sink = self.sinks.get(table)
        if sink is not None:  # 1.0 nights have no 1.1 tables
            sink.write(batch)

    def rows(self) -> dict[str, int]:
        return {t: s.rows for t, s in self.sinks.items()}

    def close(self) -> dict[str, int]:
        files = {s.file_name: s.close() for s in self.sinks.values()}
        minute = int(encode.hash64(self.seed, np.array([self.export_date.toordinal()]))[0] % 3000)
        generated = dt.datetime.combine(self.export_date + dt.timedelta(days=1), dt.time(1, 0),
                                        tzinfo=dt.UTC) + dt.timedelta(seconds=minute)
        manifest = {
            "contract_version": self.version,
            "platform": PLATFORM,
            "export_date": self.export_date.isoformat(),
            "mode": self.mode,
            "generated_at": generated.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "files": files,
        }
        tmp = self.folder / (MANIFEST_NAME + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.folder / MANIFEST_NAME)
        return {t: s.rows for t, s in self.sinks.items()}
