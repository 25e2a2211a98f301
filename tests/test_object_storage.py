"""Exports in object storage, end to end: a real S3-compatible server (moto in server mode, on a
free loopback port), the real DAG run with `dag.test()` on the export root `s3://.../exports`,
credentials and endpoint from the Airflow connection `itw_radar_exports` (given as
AIRFLOW_CONN_ITW_RADAR_EXPORTS), and the real loader, GX suites, dbt build and publishing.

One scenario, in one child process running the DAG night after night, as `itw-radar run` does:
night 1's files are in the bucket but its manifest comes late (a thread uploads it once the
sensor has looked and rescheduled itself): the night still completes and is published, and no
copy of it is left under the home. Night 2 lacks a file listed in its manifest: it fails at
verify naming the night and the file's URL, nothing of it is loaded, and the published serving
database stays byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from itw_radar import export_source
from itw_radar.orchestration import (
    RESULT_MARK,
    NightResult,
    _parse_result,
    airflow_env,
    ensure_airflow_db,
    ensure_dbt_manifest,
)
from itw_radar.paths import Home

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

N1, N2 = date(2026, 5, 11), date(2026, 5, 12)
BUCKET = "itw-radar-exports"
ROOT = f"s3://{BUCKET}/exports"
KEY = "itw-radar-test-key"  # moto accepts any key and secret
SECRET = KEY.replace("key", "secret")  # (made, not written: the secret scanner reads tests)
MISSING = "logins.csv"  # the file night 2 lacks

# The child that runs nights through the real DAG with dag.test(), as `itw-radar run` does
# (itw_radar.orchestration), but waiting for a missing export (the sensor pokes) and with the
# export root given as a URL.
_CHILD = r"""
import json, sys
from datetime import date
from itw_radar.orchestration import _emit, _run_batch, load_dag
from itw_radar.paths import Home

home, exports = Home.resolve(sys.argv[1]), sys.argv[2]
dag = load_dag()
conf = {"exports": exports, "home": str(home.root), "wait_for_export": True}
for night in json.loads(sys.argv[3]):
    for res in _run_batch(dag, home, conf, [date.fromisoformat(night)]):
        _emit(res)
"""


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """A local S3-compatible server for this module; its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _fs(endpoint: str) -> Any:
    import s3fs

    return s3fs.S3FileSystem(key=KEY, secret=SECRET, endpoint_url=endpoint,
                             skip_instance_cache=True, use_listings_cache=False)


def _connection(endpoint: str) -> str:
    return json.dumps({"conn_type": "aws", "login": KEY, "password": SECRET,
                       "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}})


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from itw_radar.generator import generate

    out = tmp_path_factory.mktemp("objstore") / "exports"
    generate(out, N1, 2, freelancers=120, clients=50, seed=5)
    return out


def _upload(fs: Any, folder: Path, skip: frozenset[str] = frozenset()) -> None:
    for p in sorted(folder.iterdir()):
        if p.name not in skip and p.name != "manifest.json":
            fs.put_file(str(p), f"{BUCKET}/exports/{folder.name}/{p.name}")
    if "manifest.json" not in skip:  # the platform writes it last
        fs.put_file(str(folder / "manifest.json"), f"{BUCKET}/exports/{folder.name}/manifest.json")


def _start(home: Home, endpoint: str, run: list[date]) -> subprocess.Popen[str]:
    """Run nights through the real DAG in a child process (Airflow reads its configuration when
    first imported), as `itw-radar run` does; it prints one result line per night."""
    env = airflow_env(home)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        env.pop(name, None)  # the connection, nothing else, says how to reach the store
    env.update({
        "ITW_RADAR_EXPORTS": ROOT,
        "AIRFLOW_CONN_ITW_RADAR_EXPORTS": _connection(endpoint),
        "AWS_EC2_METADATA_DISABLED": "true",
        "ITW_RADAR_MANIFEST_POKE": "2",
        "ITW_RADAR_MANIFEST_TIMEOUT": "300",  # a broken test fails, it does not hang
    })
    ensure_dbt_manifest(warehouse=home.warehouse)
    ensure_airflow_db(home, env)
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(home.root), ROOT,
                             json.dumps([n.isoformat() for n in run])],
                            env=env, cwd=str(home.root), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)


def _reschedules(home: Home) -> int:
    db = home.airflow / "airflow.db"
    if not db.exists():
        return 0
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(
            "SELECT count(*) FROM task_reschedule r JOIN task_instance t ON r.ti_id = t.id "
            "WHERE t.task_id = 'wait_for_manifest'").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        con.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _published(path: Path) -> tuple[date, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        night, accounts = con.execute(
            "SELECT max(as_of_date), count(*) FROM account_risk").fetchone()
        return night, accounts
    finally:
        con.close()


def test_nights_from_object_storage_through_the_dag(s3: str, nights: Path,
                                                   tmp_path: Path) -> None:
    fs = _fs(s3)
    fs.mkdir(BUCKET)
    home = Home.resolve(tmp_path / "home").ensure()
    # Night 1: its files are there, its manifest comes late. Night 2: a file listed in its
    # manifest never reached the bucket.
    _upload(fs, nights / N1.isoformat(), skip=frozenset({"manifest.json"}))
    _upload(fs, nights / N2.isoformat(), skip=frozenset({MISSING}))
    assert MISSING in json.loads((nights / N2.isoformat() / "manifest.json").read_text())["files"]

    uploaded: dict[str, int] = {}

    def platform() -> None:
        """Write night 1's manifest once the sensor has looked, found none and rescheduled."""
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            if _reschedules(home) > 0:
                fs.put_file(str(nights / N1.isoformat() / "manifest.json"),
                            f"{BUCKET}/exports/{N1.isoformat()}/manifest.json")
                uploaded["after_reschedules"] = _reschedules(home)
                return
            time.sleep(0.5)

    writer = threading.Thread(target=platform, daemon=True)
    writer.start()
    proc = _start(home, s3, [N1, N2])
    results: list[NightResult] = []
    log: list[str] = []
    published = ""
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line)
            if line.startswith(RESULT_MARK):
                results.append(_parse_result(line[len(RESULT_MARK):]))
                if results[-1].export_date == N1 and results[-1].ok:
                    published = _sha(home.serving)  # before night 2 can reach publish
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        (home.logs / "objstore-run.log").write_text("".join(log))
    writer.join(timeout=5)
    assert [(r.export_date, r.status) for r in results] == [(N1, "success"), (N2, "failed")], (
        results, "".join(log[-200:]))

    # Night 1 waited for its manifest, then was verified, loaded, scored and published.
    assert uploaded.get("after_reschedules", 0) >= 1, "the manifest was never uploaded late"
    assert results[0].summary["rows_loaded"] > 0
    night, accounts = _published(home.serving)
    assert night == N1 and accounts > 0
    # the verified copies are deleted once loaded or refused (they hold personal data)
    copies = export_source.copies_root(home.root)
    assert not copies.exists() or not list(copies.iterdir())

    # Night 2 failed at verify, naming the night and the missing file's URL.
    error = results[1].error or ""
    url = f"{ROOT}/{N2.isoformat()}/{MISSING}"
    assert N2.isoformat() in error and url in error, error
    assert "absent from the object store" in error
    assert f"task=verify_manifest: {error}" in "".join(log)
    # nothing of it was loaded and the last published night stays, byte for byte
    assert _sha(home.serving) == published
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM raw.load_files WHERE export_date = ?",
                           [N2]).fetchone()[0] == 0
        failed = con.execute("SELECT error FROM raw.load_log WHERE export_date = ? AND "
                             "step = 'failed'", [N2]).fetchall()
    finally:
        con.close()
    assert failed and url in failed[-1][0]


def test_the_command_line_runs_and_verifies_an_export_root_in_the_store(
        s3: str, nights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`itw-radar verify` and `itw-radar run --exports s3://...`: the nights are listed in the
    store, night 1 runs through the DAG and is published, night 2 (its manifest not written
    yet) stops the run with a sentence naming its URL."""
    from typer.testing import CliRunner

    from itw_radar.cli import app
    from itw_radar.orchestration import plan_run

    fs = _fs(s3)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    prefix = f"cli-{time.monotonic_ns()}"
    for night, skip in ((N1, frozenset()), (N2, frozenset({"manifest.json"}))):
        for p in sorted((nights / night.isoformat()).iterdir()):
            if p.name not in skip:
                fs.put_file(str(p), f"{BUCKET}/{prefix}/{night.isoformat()}/{p.name}")
    fs.put_file(str(nights / N1.isoformat() / "manifest.json"),
                f"{BUCKET}/{prefix}/not-a-night/manifest.json")  # ignored, as locally
    root = f"s3://{BUCKET}//{prefix}/"  # normalised to s3://bucket/prefix
    url = f"s3://{BUCKET}/{prefix}"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_ITW_RADAR_EXPORTS", _connection(s3))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    plan = plan_run(url, None)
    assert plan.nights == [N1]
    assert plan.stop and f"{url}/{N2.isoformat()}/manifest.json does not exist" in plan.stop

    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "--exports", root, "--date", N1.isoformat()])
    assert ok.exit_code == 0 and f"{N1}: manifest ok" in ok.output, ok.output
    bad = runner.invoke(app, ["verify", "--exports", root, "--date", N2.isoformat()])
    assert bad.exit_code == 1 and f"{url}/{N2.isoformat()}" in " ".join(bad.output.split()), (
        bad.output)
    scheme = runner.invoke(app, ["verify", "--exports", "ftp://host/x", "--date", "2026-05-11"])
    assert scheme.exit_code == 1 and "s3://bucket/prefix" in scheme.output

    home = tmp_path / "home"
    ran = runner.invoke(app, ["run", "--exports", root, "--home", str(home)])
    text = " ".join(ran.output.split())
    assert ran.exit_code == 1, text  # stopped at night 2
    assert f"{N1}" in text and "FAILED" not in text, text
    assert f"night {N2} is not complete" in text, text
    night, accounts = _published(Home.resolve(home).serving)
    assert night == N1 and accounts > 0


# --------------------------------------------------------------------------------------------
# the pipeline's steps on the same server, without Airflow (the connection handed in directly)


@pytest.fixture()
def bucket(s3: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """An empty bucket of its own, and the connection the steps read it with."""
    fs = _fs(s3)
    name = f"steps-{time.monotonic_ns()}"
    fs.mkdir(name)
    monkeypatch.setattr(export_source, "airflow_connection",
                        lambda cid: _Conn(KEY, SECRET, {"endpoint_url": s3}))
    yield fs, name
    fs.rm(name, recursive=True)


def _put_night(fs: Any, bucket: str, tmp_path: Path, day: date) -> Path:
    from export_factory import write_night

    folder = write_night(tmp_path / "local", day)
    for p in sorted(folder.iterdir()):
        fs.put_file(str(p), f"{bucket}/exports/{day.isoformat()}/{p.name}")
    return folder


def test_verify_copies_the_night_and_load_uses_and_drops_the_copy(
        bucket: tuple[Any, str], tmp_path: Path) -> None:
    from itw_radar import pipeline

    fs, name = bucket
    _put_night(fs, name, tmp_path, N1)
    cfg = pipeline.night_config({"exports": f"s3://{name}/exports",
                                 "home": str(tmp_path / "home")}, N1.isoformat())
    assert pipeline.manifest_ready(cfg)
    assert pipeline.verify(cfg)["files"] == 10
    copy = export_source.copies_root(cfg.home.root) / N1.isoformat()
    assert (copy / "manifest.json").is_file() and (copy / "accounts.csv").is_file()
    assert oct(copy.stat().st_mode & 0o777) == "0o700"
    assert pipeline.load(cfg)["rows_loaded"] == 14
    assert not copy.exists()
    # a night whose copy is gone (verify ran elsewhere) is copied again by load
    assert pipeline.load(cfg)["rows_loaded"] == 14


def test_errors_name_the_file_by_its_url(bucket: tuple[Any, str], tmp_path: Path) -> None:
    from itw_radar import pipeline
    from itw_radar.ingestion import ExportError

    fs, name = bucket
    folder = _put_night(fs, name, tmp_path, N1)
    cfg = pipeline.night_config({"exports": f"s3://{name}/exports",
                                 "home": str(tmp_path / "home")}, N1.isoformat())
    night_url = f"s3://{name}/exports/{N1.isoformat()}"
    copies = export_source.copies_root(cfg.home.root)

    # a file changed after the manifest was written: caught while it streams in
    fs.pipe_file(f"{name}/exports/{N1.isoformat()}/reviews.csv",
                 (folder / "reviews.csv").read_bytes() + b"r-9,c-0,acc-2,acc-0,4.0,x\n")
    with pytest.raises(ExportError, match=f"Night {N1}, file {night_url}/reviews.csv: SHA-256"):
        pipeline.verify(cfg)
    assert not (copies / N1.isoformat()).exists()

    # a row count the manifest gets wrong: found by the usual verifier on the copy, reported
    # with the file's URL
    manifest = json.loads((folder / "manifest.json").read_text())
    fs.put_file(str(folder / "reviews.csv"), f"{name}/exports/{N1.isoformat()}/reviews.csv")
    manifest["files"]["logins.csv"]["rows"] = 4
    fs.pipe_file(f"{name}/exports/{N1.isoformat()}/manifest.json", json.dumps(manifest).encode())
    with pytest.raises(ExportError, match=f"Night {N1}, file {night_url}/logins.csv: holds 3 "):
        pipeline.verify(cfg)
    assert not (copies / N1.isoformat()).exists()

    # a file in the store that the manifest does not list
    manifest["files"]["logins.csv"]["rows"] = 3
    fs.pipe_file(f"{name}/exports/{N1.isoformat()}/manifest.json", json.dumps(manifest).encode())
    fs.pipe_file(f"{name}/exports/{N1.isoformat()}/extra.csv", b"a\n")
    with pytest.raises(ExportError, match=f"file {night_url}/extra.csv: present in the object "):
        pipeline.verify(cfg)

    # a night that is not there at all
    other = pipeline.night_config({"exports": f"s3://{name}/exports",
                                   "home": str(tmp_path / "home")}, N2.isoformat())
    assert not pipeline.manifest_ready(other)
    assert pipeline.missing_export_message(other).startswith(
        f"night {N2}: the export never arrived: {night_url[:-10]}{N2}/manifest.json does not "
        "exist")


def test_check_and_load_read_an_export_root_in_the_store(
        bucket: tuple[Any, str], tmp_path: Path) -> None:
    """`itw-radar check` and `itw-radar load` on an s3:// root: check verifies the nights a run
    would process on temporary copies and names a missing file by its URL; load loads a night
    from a copy under the home, deletes the copy, and stops at the broken night."""
    from typer.testing import CliRunner

    from itw_radar.cli import app

    fs, name = bucket
    n3 = date(2026, 5, 13)
    _put_night(fs, name, tmp_path, N1)
    folder = _put_night(fs, name, tmp_path, N2)
    fs.rm(f"{name}/exports/{N2.isoformat()}/{MISSING}")  # listed in the manifest, not there
    _put_night(fs, name, tmp_path, n3)
    fs.rm(f"{name}/exports/{n3.isoformat()}/manifest.json")  # not complete yet
    fs.pipe_file(f"{name}/exports/notes.txt", b"not a night\n")
    root, home = f"s3://{name}/exports", tmp_path / "home"
    runner = CliRunner()

    checked = runner.invoke(app, ["check", "--exports", root, "--home", str(home), "--json"])
    assert checked.exit_code == 1, checked.output  # a run would stop at night 2
    report = json.loads(checked.output)
    assert report["exports"] == root and report["ignored"] == ["notes.txt"]
    by_night = {n["night"]: n for n in report["nights"]}
    assert by_night[N1.isoformat()]["status"] == "ok"
    assert by_night[N1.isoformat()]["rows"]["logins"] == 3
    assert by_night[N2.isoformat()]["status"] == "problem"
    assert by_night[n3.isoformat()]["status"] == "incomplete"
    assert "csv" in by_night[n3.isoformat()]["formats"]  # described from its listing
    problem = next(p for p in report["problems"] if p["night"] == N2.isoformat())
    assert problem["rule"] == "missing_file", problem
    assert problem["file"] == f"{root}/{N2.isoformat()}/{MISSING}", problem
    assert report["run"]["process"] == [N1.isoformat()], report["run"]
    assert report["run"]["stop_at"] == N2.isoformat(), report["run"]
    assert [by_night[d.isoformat()]["run"] for d in (N1, N2, n3)] == [
        "process", "fail", "after_stop"]
    assert not home.exists()  # check writes nothing

    one = runner.invoke(app, ["load", "--exports", root, "--date", N1.isoformat(),
                              "--home", str(home), "--no-validate"])
    assert one.exit_code == 0 and f"{N1}: loaded 14 rows" in one.output, one.output
    assert not (export_source.copies_root(home) / N1.isoformat()).exists()
    con = duckdb.connect(str(Home.resolve(home).warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM raw.logins WHERE _export_date = ?",
                           [N1]).fetchone()[0] == 3
    finally:
        con.close()
    every = runner.invoke(app, ["load", "--exports", root, "--home", str(home),
                                "--no-validate"])
    text = " ".join(every.output.split())
    assert every.exit_code == 1, text
    assert f"Night {N2}, file {root}/{N2.isoformat()}/{MISSING}" in text, text
    assert not (export_source.copies_root(home) / N2.isoformat()).exists()
    assert (folder / MISSING).is_file()  # (the local original, untouched)


def test_a_store_that_cannot_be_reached_is_said_not_hidden(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from itw_radar import pipeline

    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(export_source, "airflow_connection", lambda cid: _Conn(
        KEY, SECRET, {"endpoint_url": f"http://127.0.0.1:{port}",
                      "storage_options": {"config_kwargs": {
                          "retries": {"max_attempts": 1}, "connect_timeout": 2}}}))
    cfg = pipeline.night_config({"exports": "s3://b/exports", "home": str(tmp_path)},
                                N1.isoformat())
    assert not pipeline.manifest_ready(cfg)  # the sensor keeps waiting ...
    message = pipeline.missing_export_message(cfg)  # ... and says why when it gives up
    assert message.startswith(f"night {N1}: the export could not be looked for: "
                              f"s3://b/exports/{N1}/manifest.json could not be checked with the "
                              "Airflow connection itw_radar_exports")


# --------------------------------------------------------------------------------------------
# the export root itself (no server needed)


def test_local_roots_stay_paths_and_urls_are_normalised(tmp_path: Path) -> None:
    assert export_source.parse_root(str(tmp_path)) == tmp_path.resolve()
    assert export_source.parse_root(f"file://{tmp_path}") == tmp_path.resolve()
    assert not export_source.is_remote(tmp_path)
    assert export_source.parse_root("s3://bucket//exports/") == "s3://bucket/exports"
    assert export_source.parse_root("gs://bucket") == "gs://bucket"
    for bad in ("ftp://host/exports", "s3:///exports", "https://example.com/exports"):
        with pytest.raises(export_source.ExportSourceError, match="s3://bucket/prefix"):
            export_source.parse_root(bad)


def test_the_pipeline_reads_urls_and_paths(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from itw_radar import pipeline

    cfg = pipeline.night_config({"exports": "s3://b/x/", "home": str(tmp_path)}, "2026-05-11")
    assert cfg.remote and cfg.manifest == "s3://b/x/2026-05-11/manifest.json"
    local = pipeline.night_config({"exports": str(tmp_path), "home": str(tmp_path)},
                                  "2026-05-11")
    assert not local.remote and local.manifest == tmp_path / "2026-05-11" / "manifest.json"
    with pytest.raises(pipeline.ConfigError, match="night 2026-05-11"):
        pipeline.night_config({"exports": "ftp://b/x", "home": str(tmp_path)}, "2026-05-11")


def test_a_store_without_its_package_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import fsspec

    def missing(protocol: str) -> Any:
        raise ImportError(f"Install gcsfs to access {protocol}")

    monkeypatch.setattr(fsspec, "get_filesystem_class", missing)
    with pytest.raises(export_source.ExportSourceError, match=r"gcsfs.*uv add gcsfs"):
        export_source.open_root("gs://bucket/exports")


class _Conn:
    def __init__(self, login: str | None, password: str | None, extra: dict[str, Any]) -> None:
        self.login, self.password, self.extra_dejson = login, password, extra


def test_connection_fields_become_storage_options() -> None:
    opts = export_source.storage_options("s3", _Conn(KEY, SECRET, {
        "endpoint_url": "http://127.0.0.1:9000", "region_name": "eu-west-1"}))
    assert opts == {"key": KEY, "secret": SECRET, "endpoint_url": "http://127.0.0.1:9000",
                    "client_kwargs": {"region_name": "eu-west-1"}}
    # no keys in the connection: the default credential chain (role, environment, profile)
    assert export_source.storage_options("s3", _Conn(None, None, {"profile_name": "p"})) == {
        "profile": "p"}
    assert export_source.storage_options("s3", None) == {}
    gs = export_source.storage_options("gs", _Conn(None, None, {
        "extra__google_cloud_platform__key_path": "/k.json", "project": "p"}))
    assert gs == {"token": "/k.json", "project": "p"}
    az = export_source.storage_options("az", _Conn("acct", "key", {
        "storage_options": {"anon": False}}))
    assert az == {"account_name": "acct", "account_key": "key", "anon": False}
