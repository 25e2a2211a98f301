"""`generate()`: one export folder per night, the manifest last, ground truth beside them."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from itw_radar.contract import MAX_LATE_DAYS
from itw_radar.generator import activity as act
from itw_radar.generator import encode
from itw_radar.generator import entities as ent
from itw_radar.generator import events as ev
from itw_radar.generator import scenarios as sc
from itw_radar.generator.population import DAY, build_population
from itw_radar.generator.writer import DEFAULT_VERSION, FORMATS, VERSIONS, NightWriter

Progress = Callable[[str, int, int], None]
LATE_SHARE = 0.035  # events that arrive 1 to 3 nights late
REDELIVERED_SHARE = 0.005  # events delivered again, identically, on a later night
_EPOCH = dt.date(1970, 1, 1)
V11_SERIALS = 1_000_000  # delivery serials of contract-1.1 batches (apart from 1.0's)


@dataclass
class GenerateSummary:
    out: Path
    nights: list[str]
    rows_per_night: dict[str, dict[str, int]]  # night -> table -> data rows written
    total_rows: int
    seconds: float
    rows_per_second: float
    accounts: int = 0
    dprk_accounts: int = 0
    labels_path: Path | None = None
    late_rows: int = 0  # rows written into a later night than their event day
    redelivered_rows: int = 0
    scenario_counts: dict[str, int] = field(default_factory=dict)


class _Delivery:
    """Holds back late and re-delivered event rows until the night that carries them."""

    def __init__(self, seed: int, days: int) -> None:
        self.seed = seed
        self.days = days
        self.pending: dict[int, list[tuple[str, pa.RecordBatch]]] = {}
        self.late_rows = 0
        self.redelivered_rows = 0

    def send(self, writer: NightWriter, day: int, table: str, batch: pa.RecordBatch,
             serial: int) -> None:
        k = batch.num_rows
        if not k:
            return
        rng = np.random.default_rng([self.seed, 20, day, serial])
        late = rng.random(k) < LATE_SHARE
        again = (rng.random(k) < REDELIVERED_SHARE) & ~late
        delay = rng.integers(1, MAX_LATE_DAYS + 1, size=k)
        writer.write(table, batch.filter(pa.array(~late)) if late.any() else batch)
        for mask, is_late in ((late, True), (again, False)):
            for d in range(1, MAX_LATE_DAYS + 1):
                sel = mask & (delay == d)
                if sel.any() and day + d < self.days:
                    self.pending.setdefault(day + d, []).append(
                        (table, batch.filter(pa.array(sel))))
                    if is_late:
                        self.late_rows += int(sel.sum())
                    else:
                        self.redelivered_rows += int(sel.sum())

    def flush(self, writer: NightWriter, day: int) -> None:
        for table, batch in self.pending.pop(day, []):
            writer.write(table, batch)


def _validate(out: Path, days: int, freelancers: int, clients: int, fmt: str,
              version: str = DEFAULT_VERSION) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if version not in VERSIONS:
        raise ValueError(f"unknown contract version {version!r}: use one of "
                         f"{', '.join(VERSIONS)}")
    if days < 1:
        raise ValueError(f"days must be at least 1 (got {days})")
    if freelancers < 20 or clients < 10:
        raise ValueError(
            f"need at least 20 freelancers and 10 clients (got {freelancers} and {clients}): "
            "pass larger --freelancers/--clients")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a directory: choose another --out")


def _write_truth(out: Path, pop) -> Path:
    truth = out / "_truth"
    truth.mkdir(parents=True, exist_ok=True)
    path = truth / "labels.csv"
    idx = np.arange(pop.n)
    names = pa.array(sc.SCENARIOS, pa.string())
    op = np.maximum(pop.op, 0).astype(np.int64)
    operation = encode.masked(encode.ids("op-", op + 1, 4), ~pop.is_dprk | (pop.op < 0))
    table = pa.table({
        "account_id": ent.account_ids(idx),
        "is_dprk": pa.array(pop.is_dprk.astype(np.int64)),
        "scenario": names.take(pa.array(pop.scenario.astype(np.int64))),
        "operation_id": operation,
    })
    opts = pacsv.WriteOptions(quoting_style="none")
    pacsv.write_csv(table, str(path), write_options=opts)
    # Which DPRK tradecraft each DPRK account carries (for evaluating indicators).
    dprk = np.flatnonzero(pop.is_dprk)
    traits = [";".join(name for bit, name in sc.TRAIT_NAMES.items() if (int(t) >> bit) & 1)
              for t in pop.traits[dprk]]
    pacsv.write_csv(pa.table({
        "account_id": ent.account_ids(dprk),
        "scenario": names.take(pa.array(pop.scenario[dprk].astype(np.int64))),
        "cell_id": pa.array(pop.cell[dprk].astype(np.int64)),
        "traits": pa.array(traits, pa.string()),
    }), str(truth / "dprk_traits.csv"))
    return path


def _entity_rows(world: ent.World, day: int) -> Iterator[tuple[str, pa.RecordBatch]]:
    p = world.pop
    end = world.start_sec + (day + 1) * DAY
    if day == 0:  # full: every entity row that exists at the end of the first night
        acc = np.flatnonzero(p.created < end)
        docs = np.flatnonzero(world.docs["submitted"] < end)
        pms = np.flatnonzero(world.pms["added"] < end)
        ctr = np.flatnonzero(world.contracts["created"] < end)
    else:  # delta: rows created or changed during the day
        acc = np.flatnonzero(p.changed_day == day)
        docs = np.flatnonzero(world.docs["changed"] == day)
        pms = np.flatnonzero(world.pms["changed"] == day)
        ctr = np.flatnonzero(world.contracts["changed"] == day)
    for b in ent.account_batches(p, acc):
        yield "accounts", b
    for b in ent.doc_batches(world, docs):
        yield "identity_documents", b
    for b in ent.pm_batches(world, pms):
        yield "payment_methods", b
    for b in ent.contract_batches(world, ctr):
        yield "contracts", b


def generate(out: Path, start: dt.date, days: int, freelancers: int = 2000, clients: int = 800,
             seed: int = 42, fmt: str = "csv", progress: Progress | None = None,
             contract_version: str = DEFAULT_VERSION) -> GenerateSummary:
    """Write `days` nightly export folders under `out`, starting with `start` (a full export),
    and the ground truth to `out/_truth/labels.csv`. Same arguments, same bytes.

    `contract_version` "1.1" (default) adds proposals, profile_changes and the 1.1 columns;
    "1.0" writes neither."""
    out = Path(out)
    _validate(out, days, freelancers, clients, fmt, contract_version)
    v11 = contract_version != "1.0"
    report = progress or (lambda stage, done, total: None)
    began = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    report("population", 0, 1)
    start_day = (start - _EPOCH).days
    pop = build_population(seed, freelancers, clients, start_day, days)
    world = ent.World(pop, seed)
    labels = _write_truth(out, pop)
    report("population", 1, 1)

    delivery = _Delivery(seed, days)
    rows_per_night: dict[str, dict[str, int]] = {}
    n_login_chunks = -(-pop.n // ev.CHUNK)
    n_session_chunks = -(-pop.n_freelancers // ev.CHUNK)
    steps = n_login_chunks + n_session_chunks + 3
    for day in range(days):
        night = start + dt.timedelta(days=day)
        stage = night.isoformat()
        done = 0
        report(stage, done, steps)
        changes = world.advance(day)
        world.mark(changes, day)
        writer = NightWriter(out, night, fmt, "full" if day == 0 else "delta", seed,
                             contract_version)
        ids = ev.IdCounter(start_day + day)
        for table, batch in _entity_rows(world, day):
            writer.write(table, batch)
        done += 1
        report(stage, done, steps)
        serial = 0
        streams = [("logins", ev.login_batches(world, day, ids, seed)),
                   ("work_sessions", ev.session_batches(world, day, ids, seed)),
                   ("work_sessions", act.multi_session_batches(world, day, ids, seed))]
        for table, stream in streams:
            for batch in stream:
                delivery.send(writer, day, table, batch, serial)
                serial += 1
                done += 1
                report(stage, min(done, steps - 2), steps)
        done = steps - 2
        report(stage, done, steps)
        de = ev.DayEvents(world, day, ids, seed, changes)
        interviews, excuses = de.interviews()
        for table, batches in (("interviews", interviews), ("messages", excuses),
                               ("messages", list(de.contract_messages())),
                               ("messages", de.off_platform()), ("reviews", de.reviews()),
                               ("transactions", de.transactions())):
            for batch in batches:
                delivery.send(writer, day, table, batch, serial)
                serial += 1
        if v11:  # last, with their own delivery serials: 1.0 tables come out the same
            serial = V11_SERIALS
            for table, stream in (
                    ("proposals", act.proposal_batches(world, day, ids, seed)),
                    ("profile_changes", act.profile_change_batches(world, day, ids, changes))):
                for batch in stream:
                    delivery.send(writer, day, table, batch, serial)
                    serial += 1
        delivery.flush(writer, day)
        done += 1
        report(stage, done, steps)
        rows_per_night[stage] = writer.close()
        report(stage, steps, steps)
        report("nights", day + 1, days)

    seconds = time.perf_counter() - began
    total = sum(sum(r.values()) for r in rows_per_night.values())
    names, counts = np.unique(pop.scenario, return_counts=True)
    return GenerateSummary(
        out=out, nights=list(rows_per_night), rows_per_night=rows_per_night, total_rows=total,
        seconds=seconds, rows_per_second=total / seconds if seconds > 0 else 0.0,
        accounts=pop.n, dprk_accounts=int(pop.is_dprk.sum()), labels_path=labels,
        late_rows=delivery.late_rows, redelivered_rows=delivery.redelivered_rows,
        scenario_counts={sc.SCENARIOS[int(i)]: int(c) for i, c in zip(names, counts,
                                                                      strict=True)},
    )
