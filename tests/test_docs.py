"""The documentation stands on its own in a plain clone.

- docs/contract/ holds the export and output contracts, byte for byte the ones in the steering
  repository's `shared/contract/` (checked when that folder sits beside the clone, as it does on
  the development machines and in CI; a plain clone has none and skips the comparison).
- Every relative Markdown link in README.md and docs/**/*.md resolves to a file inside the clone,
  and a `#anchor` on a Markdown target names one of its headings.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_DIR = ROOT / "docs" / "contract"
SHARED_CONTRACT_DIR = ROOT.parent / "shared" / "contract"
CONTRACTS = ("EXPORT_CONTRACT.md", "OUTPUT_CONTRACT.md")

# [text](target "title") and ![alt](target); the text may hold `code` but no nested brackets.
INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target  (reference definitions)
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _strip_code(text: str) -> str:
    """Drop fenced blocks and inline code spans (links inside them are not links)."""
    text = FENCE.sub("", text)
    # Inline code can wrap a link's text ([`X.md`](path)): keep the brackets, drop the span.
    return INLINE_CODE.sub("code", text)


def relative_links(text: str) -> list[str]:
    """Relative link targets of a Markdown text (no URLs, no mailto:, no bare #anchors)."""
    body = _strip_code(text)
    targets = INLINE_LINK.findall(body) + REFERENCE_DEF.findall(body)
    return [t for t in targets if not SCHEME.match(t) and not t.startswith("#")]


def github_anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in FENCE.sub("", text).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """Relative links of `path` that leave `root`, name no file, or name no heading."""
    problems = []
    for target in relative_links(path.read_text(encoding="utf-8")):
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve()
        where = f"{path.relative_to(root)}: {target}"
        if not resolved.is_relative_to(root):
            problems.append(f"{where} points outside the clone ({resolved})")
        elif not resolved.is_file():
            problems.append(f"{where} does not resolve to a file")
        elif anchor and resolved.suffix == ".md" and anchor not in github_anchors(
                resolved.read_text(encoding="utf-8")):
            problems.append(f"{where}: {resolved.name} has no heading #{anchor}")
    return problems


def test_contracts_are_in_the_repository() -> None:
    for name in CONTRACTS:
        assert (CONTRACT_DIR / name).is_file(), f"docs/contract/{name} is missing"


def test_contract_copies_match_the_shared_contracts() -> None:
    if not SHARED_CONTRACT_DIR.is_dir():
        reason = (f"no {SHARED_CONTRACT_DIR} beside this clone (a plain clone has none): "
                  "docs/contract/ is not compared with the shared contracts")
        print(reason)
        pytest.skip(reason)
    shared = sorted(p.name for p in SHARED_CONTRACT_DIR.glob("*.md"))
    ours = sorted(p.name for p in CONTRACT_DIR.glob("*.md"))
    assert ours == shared, "docs/contract/ must hold exactly the shared contracts"
    for name in shared:
        assert (CONTRACT_DIR / name).read_bytes() == (SHARED_CONTRACT_DIR / name).read_bytes(), (
            f"docs/contract/{name} differs from {SHARED_CONTRACT_DIR / name}; copy it again "
            "(byte-identical)")


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_inside_the_clone(path: Path) -> None:
    assert broken_links(path) == []


def test_the_link_check_sees_broken_and_escaping_links(tmp_path: Path) -> None:
    text = ("See [the contract](../shared/contract/OUTPUT_CONTRACT.md), [ok](README.md),\n"
            "[`code text`](nowhere.md#x), [web](https://example.org/a.md), [top](#top)\n"
            "```\n[in a fence](fenced.md)\n```\n`[inline code](inline.md)`\n"
            "[ref]: missing/ref.md\n![figure](docs/benchmarks.png)\n")
    assert relative_links(text) == ["../shared/contract/OUTPUT_CONTRACT.md", "README.md",
                                    "nowhere.md#x", "docs/benchmarks.png", "missing/ref.md"]
    assert github_anchors("# Storage version (v1.0.0)\n## For analysts\n## For analysts\n") == {
        "storage-version-v100", "for-analysts", "for-analysts-1"}
    clone = tmp_path / "clone"
    (clone / "docs").mkdir(parents=True)
    (clone / "README.md").write_text("# Title\n\n## For analysts\n")
    (clone / "docs" / "a.md").write_text(
        "[up](../README.md#for-analysts) [gone](../README.md#nope) [out](../../x.md) "
        "[none](b.md)\n")
    (tmp_path / "x.md").write_text("outside the clone\n")
    assert broken_links(clone / "docs" / "a.md", clone) == [
        "docs/a.md: ../README.md#nope: README.md has no heading #nope",
        f"docs/a.md: ../../x.md points outside the clone ({tmp_path / 'x.md'})",
        "docs/a.md: b.md does not resolve to a file",
    ]
