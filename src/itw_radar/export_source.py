"""Where the nightly exports are read from: a local folder, or object storage.

The export root (ITW_RADAR_EXPORTS, the DAG param `exports`) is a local folder or a URL:
`s3://bucket/prefix` (AWS or any S3-compatible store), `gs://bucket/prefix` or
`az://container/prefix`. A local folder is read exactly as before (none of this module runs for
it). A URL is read through fsspec (s3fs, installed with ITW Radar; gcsfs or adlfs for gs:// and
az://, installed beside it by a deployment that needs them), with the credentials and endpoint
of the Airflow connection `itw_radar_exports` (another id: ITW_RADAR_EXPORTS_CONN_ID); without
that connection the store's own default credential chain applies (AWS_* environment variables,
~/.aws, an instance role, ...).

* The sensor asks the store whether `<root>/<night>/manifest.json` exists (`manifest_missing`).
* Verify copies the night into `<home>/export_copies/<night>/` (`copy_night`): it lists the
  night's folder in the store (a file listed in the manifest but absent, or present but not
  listed, stops the night), streams every listed file to disk computing its SHA-256 on the way
  and compares it with the manifest's, then writes the manifest. The usual verification
  (`itw_radar.ingestion.verify_night`: version, date, headers, row counts, checksums again)
  runs on that copy, and its errors name the files by their URL (`remote_errors`).
* Load loads the verified copy with the usual loader (`local_copy` re-copies it only when it is
  gone or the manifest in the store changed) and deletes it once the night is in the warehouse.

DuckDB reads only local files: no extension is downloaded at run time (machines without
internet cannot), and a night is parsed by exactly the code that parses a local export.
See docs/architecture.md, "Exports in object storage".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import posixpath
import re
import shutil
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from itw_radar.contract import MANIFEST_NAME
from itw_radar.ingestion import ExportError

log = logging.getLogger("itw_radar.export_source")

CONN_ID_ENV = "ITW_RADAR_EXPORTS_CONN_ID"
DEFAULT_CONN_ID = "itw_radar_exports"
COPIES_DIR = "export_copies"  # under the home: verified copies of nights read from a store
# URL scheme -> (fsspec protocol, the package that implements it)
SCHEMES: dict[str, tuple[str, str]] = {
    "s3": ("s3", "s3fs"), "s3a": ("s3", "s3fs"),
    "gs": ("gs", "gcsfs"), "gcs": ("gs", "gcsfs"),
    "az": ("az", "adlfs"), "abfs": ("abfs", "adlfs"), "abfss": ("abfs", "adlfs"),
}
_CHUNK = 8 << 20  # bytes read from the store at a time
_DOWNLOADS = 4  # files of a night copied at once (a store answers each request with latency)


class ExportSourceError(ExportError):
    """The export root cannot be read: a bad URL, a missing package, the store refused."""


def is_remote(root: str | os.PathLike[str]) -> bool:
    """Whether an export root is an object-storage URL (s3://, gs://, az://, ...)."""
    if isinstance(root, os.PathLike):
        return False
    text = str(root).strip()
    return "://" in text and urlsplit(text).scheme.lower() in SCHEMES


def parse_root(raw: str | os.PathLike[str]) -> Path | str:
    """An export root as given: a local folder (absolute Path) or a normalised URL (str).

    Raises ExportSourceError for a URL of a scheme ITW Radar cannot read.
    """
    if isinstance(raw, os.PathLike):
        return Path(raw).expanduser().resolve()
    text = str(raw).strip()
    if "://" not in text:
        return Path(text).expanduser().resolve()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return Path(parts.path).expanduser().resolve()
    if scheme not in SCHEMES or not parts.netloc:
        raise ExportSourceError(
            f"export root {text!r}: give a local folder or an s3://bucket/prefix, "
            "gs://bucket/prefix or az://container/prefix URL")
    path = re.sub("/+", "/", parts.path).strip("/")
    return f"{scheme}://{parts.netloc}" + (f"/{path}" if path else "")


def join(root: Path | str, *parts: str) -> Path | str:
    """`root/part/...` for a local folder (Path) or a URL (str)."""
    if isinstance(root, Path):
        return root.joinpath(*parts)
    return "/".join([root.rstrip("/"), *parts])


# --------------------------------------------------------------------------------------------
# credentials


def conn_id() -> str:
    return os.environ.get(CONN_ID_ENV, "").strip() or DEFAULT_CONN_ID


def airflow_connection(cid: str) -> Any | None:
    """The Airflow connection `cid` (secrets backends, AIRFLOW_CONN_* variables, the metadata
    database through the task's API), or None when it is not defined."""
    try:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:  # ITW Radar used without Airflow (library use)
        return None
    try:
        return Connection.get(cid)
    except AirflowNotFoundException:
        return None


def _extra(conn: Any) -> dict[str, Any]:
    extra = dict(conn.extra_dejson or {}) if conn is not None else {}
    # Older Airflow UIs prefix a provider's extras with extra__<conn_type>__.
    for key in list(extra):
        if key.startswith("extra__") and "__" in key[7:]:
            extra.setdefault(key[7:].split("__", 1)[1], extra[key])
    return extra


def storage_options(protocol: str, conn: Any | None) -> dict[str, Any]:
    """fsspec options for `protocol` from an Airflow connection (empty: the store's default
    credential chain).

    s3 (an `aws` connection): login/password or extra aws_access_key_id/aws_secret_access_key,
    extra aws_session_token, endpoint_url (an S3-compatible store), region_name, profile_name.
    gs (`google_cloud_platform`): extra key_path or keyfile_dict, project.
    az (`wasb`/`adls`): login (account name) and password (account key), or extra
    connection_string, sas_token, or tenant_id/client_id/client_secret.
    Any connection: extra `storage_options` (an object) is passed to fsspec as it is.
    """
    if conn is None:
        return {}
    extra = _extra(conn)
    opts: dict[str, Any] = {}
    if protocol == "s3":
        key = conn.login or extra.get("aws_access_key_id")
        secret = conn.password or extra.get("aws_secret_access_key")
        if key and secret:
            opts.update(key=key, secret=secret)
        if extra.get("aws_session_token"):
            opts["token"] = extra["aws_session_token"]
        endpoint = (extra.get("endpoint_url")
                    or (extra.get("service_config") or {}).get("s3", {}).get("endpoint_url"))
        if endpoint:
            opts["endpoint_url"] = endpoint
        if extra.get("region_name"):
            opts["client_kwargs"] = {"region_name": extra["region_name"]}
        if extra.get("profile_name"):
            opts["profile"] = extra["profile_name"]
    elif protocol == "gs":
        keyfile = extra.get("keyfile_dict")
        if isinstance(keyfile, str) and keyfile.strip():
            keyfile = json.loads(keyfile)
        token = keyfile or extra.get("key_path")
        if token:
            opts["token"] = token
        if extra.get("project"):
            opts["project"] = extra["project"]
    else:  # az / abfs
        if conn.login:
            opts["account_name"] = conn.login
        if conn.password:
            opts["account_key"] = conn.password
        for key in ("account_name", "connection_string", "sas_token", "tenant_id", "client_id",
                    "client_secret", "account_host"):
            if extra.get(key):
                opts[key] = extra[key]
    given = extra.get("storage_options")
    if isinstance(given, Mapping):
        opts.update(given)
    return opts


# --------------------------------------------------------------------------------------------
# the store


@dataclass(frozen=True)
class RemoteExports:
    """An export root in object storage and the fsspec filesystem that reads it."""

    url: str
    fs: Any  # fsspec.AbstractFileSystem
    conn_id: str | None  # the Airflow connection its credentials came from (None: defaults)

    def night_url(self, night: date) -> str:
        return f"{self.url}/{night.isoformat()}"

    def manifest_url(self, night: date) -> str:
        return f"{self.night_url(night)}/{MANIFEST_NAME}"

    def _key(self, url: str) -> str:
        return self.fs._strip_protocol(url)

    @property
    def credentials(self) -> str:
        return (f"the Airflow connection {self.conn_id}" if self.conn_id
                else f"the default credentials (no Airflow connection {conn_id()})")


def open_root(url: str) -> RemoteExports:
    """The filesystem for an export root URL, with the credentials of the Airflow connection.

    Raises ExportSourceError naming the package to install when fsspec has no implementation of
    the URL's scheme here (gcsfs for gs://, adlfs for az://).
    """
    import fsspec

    url = str(parse_root(url))
    scheme = urlsplit(url).scheme
    protocol, package = SCHEMES[scheme]
    try:
        cls = fsspec.get_filesystem_class(protocol)
    except (ImportError, ValueError) as exc:
        raise ExportSourceError(
            f"export root {url}: reading {scheme}:// needs the Python package {package}, which "
            f"is not installed; install it into ITW Radar's environment (`uv add {package}`) "
            f"({exc})") from exc
    cid = conn_id()
    conn = airflow_connection(cid)
    opts = storage_options(protocol if protocol in ("s3", "gs") else "az", conn)
    # Fresh answers at every look: the sensor asks again and again in one process (dag.test),
    # and a cached listing would hide the manifest once it arrives.
    fs = cls(**{"skip_instance_cache": True, "use_listings_cache": False, **opts})
    return RemoteExports(url=url, fs=fs, conn_id=cid if conn is not None else None)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def manifest_missing(remote: RemoteExports, night: date) -> str | None:
    """None when the night's manifest is in the store; else why not, for the sensor's log and
    its failure message ("does not exist", or the store's error: the sensor keeps waiting, so
    credentials or a network fixed in the meantime still let the night run)."""
    url = remote.manifest_url(night)
    try:
        remote.fs.invalidate_cache()
        if remote.fs.exists(remote._key(url)):
            return None
        return "does not exist"
    except Exception as exc:  # noqa: BLE001 - any failure of the store: said, not raised
        reason = (f"could not be checked with {remote.credentials} ({_describe(exc)}); check "
                  "that connection's endpoint and credentials, and the network")
        log.warning("night %s: %s %s", night, url, reason)
        return reason


def _list(remote: RemoteExports, url: str) -> list[tuple[str, bool]] | None:
    """(name, is a folder) of each entry under `url`, by name; None when nothing is there.
    Raises ExportSourceError when the store cannot be listed."""
    try:
        remote.fs.invalidate_cache()
        entries = remote.fs.ls(remote._key(url), detail=True)
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - any failure of the store, said in one sentence
        raise ExportSourceError(
            f"{url} could not be listed with {remote.credentials} ({_describe(exc)}); check "
            "that connection's endpoint and credentials, and the network") from exc
    return sorted((posixpath.basename(str(e.get("name", "")).rstrip("/")),
                   e.get("type") == "directory") for e in entries)


def root_entries(remote: RemoteExports) -> list[tuple[str, bool]] | None:
    """(name, is a folder) of each entry of the export root, by name; None when the root does
    not exist in the store. Raises ExportSourceError when the store cannot be listed."""
    return _list(remote, remote.url)


def night_entries(remote: RemoteExports, night: date) -> list[str]:
    """The names in a night's folder in the store (empty when the folder is not there)."""
    return [name for name, _ in _list(remote, remote.night_url(night)) or []]


def remote_nights(remote: RemoteExports) -> list[date]:
    """The nights under an export root in the store (folders named YYYY-MM-DD), oldest first,
    as `itw_radar.contract.night_folders` lists a local root. Raises ExportSourceError when the
    store cannot be listed."""
    from itw_radar.contract import nights_named

    return nights_named(name for name, is_dir in root_entries(remote) or [] if is_dir)


def read_remote_manifest(remote: RemoteExports, night: date) -> dict[str, Any]:
    """A night's manifest.json from the store (parsed; errors as the local reader's)."""
    url = remote.manifest_url(night)
    try:
        data = json.loads(remote.fs.cat_file(remote._key(url)).decode("utf-8-sig"))
    except FileNotFoundError:
        raise _fail(night, url, "no manifest in the store; the export is incomplete until the "
                    "platform writes manifest.json last") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(night, url, f"not valid JSON ({exc}); ask the platform to re-export the "
                    "night") from exc
    except Exception as exc:  # noqa: BLE001
        raise _store_error(night, url, remote, exc) from exc
    if not isinstance(data, dict):
        raise _fail(night, url, "the manifest is not a JSON object")
    return data


# --------------------------------------------------------------------------------------------
# copying a night


def copies_root(home_root: Path) -> Path:
    """Where verified copies of nights read from object storage are kept (`<home>/export_copies`,
    an export root of its own: `<night>/<files>`)."""
    return home_root / COPIES_DIR


def _fail(night: date, where: str, what: str) -> ExportError:
    from itw_radar.ingestion import _fail as fail

    return fail(night, where, what)


def _safe_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and posixpath.basename(name) == name \
        and "\\" not in name


def copy_night(remote: RemoteExports, night: date, dest_root: Path) -> Path:
    """Copy a night from the store into `dest_root/<night>/`, checking it on the way.

    Checks what only the store can tell (the night's folder and manifest exist; no file listed
    in the manifest is absent and none is there unlisted) and each file's SHA-256 while it is
    streamed to disk. The manifest is written last, as the platform does. Returns `dest_root`
    (an export root holding the night). Raises ExportError naming the night and the file's URL;
    a night that fails leaves no copy.
    """
    folder_url = remote.night_url(night)
    local = dest_root / night.isoformat()
    shutil.rmtree(local, ignore_errors=True)
    try:
        _copy(remote, night, folder_url, local)
    except BaseException:
        shutil.rmtree(local, ignore_errors=True)
        raise
    return dest_root


def _store_error(night: date, url: str, remote: RemoteExports, exc: BaseException) -> ExportError:
    return ExportSourceError(_fail(night, f"file {url}", (
        f"could not be read with {remote.credentials} ({_describe(exc)}); check that "
        "connection's endpoint, credentials and read access, then re-run the night")).args[0])


def _copy(remote: RemoteExports, night: date, folder_url: str, local: Path) -> None:
    fs = remote.fs
    fs.invalidate_cache()
    try:
        entries = fs.ls(remote._key(folder_url), detail=True)
    except FileNotFoundError:
        raise _fail(night, f"folder {folder_url}", "the export folder does not exist in the "
                    "object store; check the export root (ITW_RADAR_EXPORTS or the DAG param "
                    "exports) and the date, or wait for the platform's export") from None
    except Exception as exc:  # noqa: BLE001 - the store's own errors, named
        raise _store_error(night, folder_url, remote, exc) from exc
    present = {posixpath.basename(str(e["name"]).rstrip("/")) for e in entries}
    manifest_url = f"{folder_url}/{MANIFEST_NAME}"
    if MANIFEST_NAME not in present:
        raise _fail(night, MANIFEST_NAME, f"no manifest at {manifest_url}; the export is "
                    "incomplete until the platform writes manifest.json last")
    try:
        raw = fs.cat_file(remote._key(manifest_url))
    except Exception as exc:  # noqa: BLE001
        raise _store_error(night, manifest_url, remote, exc) from exc
    local.mkdir(parents=True, exist_ok=True)
    local.chmod(0o700)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        data = None
    files = data.get("files") if isinstance(data, dict) else None
    if isinstance(files, dict):
        for name in sorted(files):
            if not _safe_name(name):
                raise _fail(night, f"file {name}", "the manifest names a file outside the "
                            "night's folder; ask the platform to re-export the night")
        unlisted = sorted(present - set(files) - {MANIFEST_NAME})
        if unlisted:
            raise _fail(night, f"file {folder_url}/{unlisted[0]}", "present in the object store "
                        "but not listed in the manifest; the export is corrupt or another "
                        "night's file was copied in")
        absent = [n for n in sorted(files) if n not in present]
        if absent:
            raise _fail(night, f"file {folder_url}/{absent[0]}", "listed in the manifest but "
                        "absent from the object store; the export is incomplete: ask the "
                        "platform to re-export the night (nothing was loaded)")
        wanted = {name: (meta.get("sha256") if isinstance(meta, dict) else None)
                  for name, meta in files.items()}
        with ThreadPoolExecutor(max_workers=_DOWNLOADS, thread_name_prefix="export-copy") as pool:
            done = {name: pool.submit(_download, remote, night, f"{folder_url}/{name}",
                                      local / name, sha)
                    for name, sha in sorted(wanted.items())}
            for name in sorted(done):  # the first failing file in name order
                done[name].result()
    # Whatever the manifest says is for verify_night to judge, with the usual messages.
    part = local / f".{MANIFEST_NAME}.part"
    part.write_bytes(raw)
    part.replace(local / MANIFEST_NAME)


def _download(remote: RemoteExports, night: date, url: str, target: Path,
              expected: Any) -> None:
    """Stream one file to `target`, computing its SHA-256; raise when it differs from
    `expected` (a string from the manifest; anything else is left to verify_night)."""
    h = hashlib.sha256()
    part = target.with_name(f".{target.name}.part")
    try:
        with remote.fs.open(remote._key(url), "rb", block_size=_CHUNK) as src, \
                part.open("wb") as out:
            while chunk := src.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
    except FileNotFoundError:
        part.unlink(missing_ok=True)
        raise _fail(night, f"file {url}", "listed in the manifest but absent from the object "
                    "store; the export is incomplete: ask the platform to re-export the night "
                    "(nothing was loaded)") from None
    except Exception as exc:  # noqa: BLE001
        part.unlink(missing_ok=True)
        raise _store_error(night, url, remote, exc) from exc
    actual = h.hexdigest()
    if isinstance(expected, str) and actual != expected.lower():
        part.unlink(missing_ok=True)
        raise _fail(night, f"file {url}", f"SHA-256 differs from the manifest (manifest "
                    f"{expected[:12]}…, file {actual[:12]}…): the file is truncated or changed; "
                    "ask the platform to re-export the night")
    part.replace(target)


def local_copy(remote: RemoteExports, night: date, dest_root: Path) -> Path:
    """The night's verified copy under `dest_root` (made by verify); copied again when it is
    not there (verify ran on another machine) or the manifest in the store changed since."""
    local = dest_root / night.isoformat()
    manifest = local / MANIFEST_NAME
    if manifest.is_file():
        try:
            current = remote.fs.cat_file(remote._key(remote.manifest_url(night)))
        except Exception:  # noqa: BLE001 - copy again: copy_night names the problem
            current = None
        if current == manifest.read_bytes():
            return dest_root
    return copy_night(remote, night, dest_root)


def drop_copy(night: date, dest_root: Path) -> None:
    """Delete a night's copy (it holds personal data; the warehouse has the night now)."""
    shutil.rmtree(dest_root / night.isoformat(), ignore_errors=True)


def stand_in(remote: RemoteExports, night: date, names: list[str], folder: Path) -> None:
    """A local stand-in of a night's folder that is not copied: its files' names (empty files)
    and its manifest when the store has one, for describing the night without reading its data
    (itw-radar check on nights already published or incomplete)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if _safe_name(name) and name != MANIFEST_NAME:
            (folder / name).touch()
    if MANIFEST_NAME in names:
        # described without it when unreadable; verification names that problem
        with contextlib.suppress(Exception):
            (folder / MANIFEST_NAME).write_bytes(remote.fs.cat_file(
                remote._key(remote.manifest_url(night))))


@contextlib.contextmanager
def night_copy(remote: RemoteExports, night: date, dest_root: Path) -> Iterator[Path]:
    """A night copied from the store into `dest_root` (copy_night: checked on the way), as an
    export root to read it from; errors about the copy name the files by their URLs, and the
    copy is deleted afterwards (it holds personal data)."""
    copy_night(remote, night, dest_root)
    try:
        with remote_errors(remote, night, dest_root):
            yield dest_root
    finally:
        drop_copy(night, dest_root)


@contextlib.contextmanager
def remote_errors(remote: RemoteExports, night: date, dest_root: Path) -> Iterator[None]:
    """Errors about a night's local copy say where the file is in the store: the copy's folder
    becomes the night's URL, and `file NAME` becomes `file <URL of NAME>`."""
    try:
        yield
    except ExportError as exc:
        text = str(exc)
        local = str(dest_root / night.isoformat())
        folder_url = remote.night_url(night)
        text = text.replace(local, folder_url)
        m = re.match(r"(Night \S+, )(?:file )?([^,:]+)", text)
        if m and not text[m.start(2):].startswith(folder_url) and (
                m.group(2) == MANIFEST_NAME or text[m.start(2) - 5:m.start(2)] == "file "):
            text = f"{m.group(1)}file {folder_url}/{m.group(2)}{text[m.end():]}"
        if text == str(exc):
            raise
        raise type(exc)(text) from exc
