"""`python -m benchmarks`: measure speed and memory and write them into docs/benchmarks.md.

Run from the repository's root with the project's environment, e.g.
`.venv/bin/python -m benchmarks --sections large,steady,floor,history,tiny,dashboard --repeats 3
--work /tmp/bench` (docs/benchmarks.md, "Reproduce").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from benchmarks.sections import SECTIONS
from itw_radar.paths import DEFAULT_HOME, HOME_ENV, Home

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)
out = Console()


@app.command()
def bench(
    sections: Annotated[str, typer.Option(
        help=f"Comma list of {', '.join(SECTIONS)}.")] = "ingest",
    big: Annotated[bool, typer.Option(
        help="Full sizes (the million-account night); --no-big runs quick sizes.")] = True,
    repeats: Annotated[int, typer.Option(min=1)] = 3,
    doc: Annotated[Path, typer.Option(help="Markdown file to write.")] = Path(
        "docs/benchmarks.md"),
    work: Annotated[Path | None, typer.Option(help="Scratch folder, default <home>/bench.")] = None,
    history_accounts: Annotated[int, typer.Option(
        min=100, help="Accounts of the history section's platform.")] = 100_000,
    home: Annotated[Path, typer.Option(
        "--home", envvar=HOME_ENV, help="Its bench/ folder is the default scratch folder.")] = Path(
        DEFAULT_HOME),
) -> None:
    """Measure speed and memory and write them into docs/benchmarks.md."""
    from benchmarks import history

    if history_accounts != 100_000:
        history.HISTORY_PLATFORM = history.history_platform(history_accounts)

    scratch = work or Home.resolve(home).root / "bench"
    scratch.mkdir(parents=True, exist_ok=True)
    for section in [s.strip() for s in sections.split(",") if s.strip()]:
        if section in SECTIONS:
            out.print(SECTIONS[section](scratch, doc, repeats=repeats, quick=not big))
        else:
            console.print(f"[bold red]error:[/] unknown benchmark section {section!r}; known: "
                          f"{', '.join(SECTIONS)}", highlight=False, soft_wrap=True)
            raise typer.Exit(1)


if __name__ == "__main__":
    app(prog_name="python -m benchmarks")
