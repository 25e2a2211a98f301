"""docs/benchmarks.png: drawn with Pillow from the saved results after each section."""

from __future__ import annotations

from pathlib import Path

from benchmarks.dag_night import (
    _STAGE_TASKS,
)
from benchmarks.harness import (
    _median_run,
    _p95,
    _saved,
)


def _bars(draw: object, box: tuple[int, int, int, int], title: str,
          items: list[tuple[str, float]], unit: str, target: float | None = None) -> None:
    """Horizontal bars in `box` (x0, y0, x1, y1), labelled, with an optional target line."""
    from PIL import ImageDraw

    d: ImageDraw.ImageDraw = draw  # type: ignore[assignment]
    x0, y0, x1, y1 = box
    d.text((x0, y0), title, fill="black")
    if not items:
        d.text((x0, y0 + 20), "not measured", fill="gray")
        return
    label_w, top = 230, y0 + 22
    row = max(12, min(22, (y1 - top) // max(1, len(items))))
    vmax = max([v for _, v in items] + ([target] if target else [])) or 1.0
    scale = (x1 - x0 - label_w - 70) / vmax
    for i, (label, v) in enumerate(items):
        y = top + i * row
        d.text((x0, y + 1), label[:36], fill="black")
        d.rectangle((x0 + label_w, y + 2, x0 + label_w + max(1, int(v * scale)), y + row - 3),
                    fill="#4878a8")
        d.text((x0 + label_w + int(v * scale) + 4, y + 1), f"{v:.3g} {unit}", fill="black")
    if target:
        tx = x0 + label_w + int(target * scale)
        d.line((tx, top - 4, tx, top + len(items) * row), fill="#c03030", width=2)
        d.text((tx + 3, top - 14), f"target {target:g} {unit}", fill="#c03030")


def write_plot(work: Path, png: Path) -> Path:
    """docs/benchmarks.png from the saved results: large-night stages (and the steady night),
    history, dashboard, ratios.
    A section of repeated runs is drawn from its median run."""
    from PIL import Image, ImageDraw

    from benchmarks.steady import _steady_ratio_value  # not at the top: steady draws this plot

    saved = _saved(work)
    img = Image.new("RGB", (900, 1000), "white")
    d = ImageDraw.Draw(img)
    large = saved.get("large")
    steady = saved.get("steady")
    items: list[tuple[str, float]] = []
    if large:
        run = _median_run(large["runs"])
        full = saved.get("large_full")
        if full:
            items.append(("first export (full), whole night",
                          _median_run(full["runs"])["seconds"]))
        items.append(("regular night (delta), whole night", run["seconds"]))
        if steady:
            items.append(("steady state (1c), whole night",
                          _median_run(steady["runs"])["seconds"]))
        items += [(_STAGE_TASKS[t], run["tasks"][t]) for t in _STAGE_TASKS if t in run["tasks"]]
        items += [(k.split(".", 1)[1], v) for k, v in run["tasks"].items()
                  if k.startswith("dbt_build.") and "producer" in k]
        items += sorted(((f"  dbt {k}", v) for k, v in run["dbt"].items()),
                        key=lambda kv: -kv[1])[:6]
    _bars(d, (10, 10, 890, 400), f"1. {large['label'] if large else 'large night'}: seconds",
          items, "s", 180)
    hist = saved.get("history")
    h_items = ([(f"night {k} incremental", v["seconds"]) for k, v in hist["timed"].items()]
               + [("full refresh", hist["full"]["seconds"])]) if hist else []
    _bars(d, (10, 420, 890, 600), "3. history growth: seconds per night (whole night through "
          "the DAG; full refresh: dbt)", h_items, "s")
    dash = saved.get("dashboard")
    d_items: list[tuple[str, float]] = []
    if dash:
        per_page: dict[str, float] = {}
        for key, vals in dash["times"].items():
            page = key.split(":")[0]
            per_page[page] = max(per_page.get(page, 0.0), _p95(vals))
        d_items = [(f"{p} (slowest query p95)", v) for p, v in per_page.items()]
    _bars(d, (10, 620, 890, 800), "5. dashboard: p95 seconds of each page's slowest query",
          d_items, "s", 1.0)
    floor = saved.get("floor")
    f_items = ([(f"pipeline / floor, {k}", v) for k, v in floor.get("ratios", {}).items()]
               + [(f"pipeline / (floor + stack), {k}", v)
                  for k, v in floor.get("stack_ratios", {}).items()] if floor else [])
    if steady and steady.get("floors"):
        f_items.append(("pipeline / (floor + stack), steady", _steady_ratio_value(steady)))
        window = _steady_ratio_value(steady, window=True)
        if window is not None:
            f_items.append(("pipeline / (floor+win+stack), steady", window))
    tiny = saved.get("tiny")
    if tiny:
        f_items.append(("tiny night (fixed overhead) s", _median_run(tiny["runs"])["seconds"]))
    if floor and "stack_s" in floor:
        f_items.append(("stack floor (no data) s", floor["stack_s"]))
    _bars(d, (10, 820, 890, 990), "2. floor ratio and 4. fixed overhead", f_items, "", 10)
    png.parent.mkdir(parents=True, exist_ok=True)
    img.save(png)
    return png

