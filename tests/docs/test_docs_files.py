"""The README and docs/ stay navigable: links (and their #anchors) resolve, README is short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# [text](target) links, and <img src> / reference-style targets are not used in these files.
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def _relative_links(text: str) -> list[str]:
    text = _CODE_SPAN.sub("", _FENCE.sub("", text))
    links = []
    for target in _LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # an absolute URL (https:, mailto:) or an anchor in the same page
        links.append(target)
    return links


def _anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file (first occurrence only)."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", _FENCE.sub("", text), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def _has_anchor(path: Path, anchor: str) -> bool:
    if path.suffix != ".md":
        return True  # only Markdown headings are checked
    return anchor in _anchors(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_existing_files(doc: Path) -> None:
    broken = []
    for target in _relative_links(doc.read_text(encoding="utf-8")):
        path, _, anchor = target.partition("#")
        linked = (doc.parent / path) if path else doc
        if not linked.exists() or (anchor and not _has_anchor(linked, anchor)):
            broken.append(target)
    assert not broken, f"{doc.relative_to(ROOT)} has links to missing files or headings: {broken}"


def test_link_checker_sees_links() -> None:
    # Guard the guard: the README links to the docs pages, so the checker must find them.
    assert "docs/spec.md" in _relative_links((ROOT / "README.md").read_text(encoding="utf-8"))


def test_readme_stays_short() -> None:
    size = len((ROOT / "README.md").read_text(encoding="utf-8"))
    assert size < 12_000, (
        f"README.md is {size:,} characters; keep it under 12,000 and put reference in docs/"
    )


def test_readme_names_the_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("make install", "make test", "make demo"):
        assert command in readme, f"README.md must name `{command}`"


def test_skyvern_api_sections_keep_their_numbers() -> None:
    # Code comments cite "docs/skyvern-api.md §N": every §1..§18 must stay a heading.
    text = (ROOT / "docs" / "skyvern-api.md").read_text(encoding="utf-8")
    numbers = re.findall(r"^## §(\d+) ", text, re.MULTILINE)
    assert numbers == [str(n) for n in range(1, 19)]
    for sub in ("8.1", "8.2", "8.3"):
        assert re.search(rf"^### §{re.escape(sub)} ", text, re.MULTILINE), sub
