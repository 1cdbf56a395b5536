"""Reading a report's DOM (as chromium dumps it, or as written) back into facts to assert on."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest


@dataclass
class ReportDom:
    task_rows: list[dict[str, str | None]] = field(default_factory=list)
    scripts: int = 0
    images: list[dict[str, str | None]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    body_attrs: dict[str, str | None] = field(default_factory=dict)
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.dom = ReportDom()
        self._in_task_body = False
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "body":
            self.dom.body_attrs = attributes
        elif tag == "script":
            self.dom.scripts += 1
        elif tag == "img":
            self.dom.images.append(attributes)
        elif tag == "a" and attributes.get("href"):
            self.dom.links.append(str(attributes["href"]))
        elif tag == "table" and attributes.get("id") == "task-table":
            self._in_task_body = True
        elif tag == "tr" and self._in_task_body and "task" in (attributes.get("class") or ""):
            self.dom.task_rows.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_task_body = False

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def close(self) -> None:
        super().close()
        self.dom.text = "".join(self._text)


def read_dom(html: str) -> ReportDom:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.dom


# Layout is measured by a script, which the report's CSP forbids: the probe copy drops the
# CSP and appends a script that writes its measurements onto <body>. Only the copy runs it;
# the security tests load the real page.
_PROBE = """<script>
(() => {
  const all = (root, sel) => [...root.querySelectorAll(sel)];
  const table = document.getElementById('task-table');
  const box = document.getElementById('task-scroll');
  document.body.offsetHeight;  // forces layout of the whole page
  const facts = {
    viewport: innerWidth,
    page_width: document.documentElement.scrollWidth,
    layout_ms: performance.now(),
    box_client: box.clientWidth, box_scroll: box.scrollWidth,
    box_overflow_x: getComputedStyle(box).overflowX,
    table_width: table.getBoundingClientRect().width,
    output_widths: all(table, 'td.output').map(td => td.getBoundingClientRect().width),
    overflowing_cells: all(document, 'td').filter(td => td.scrollWidth > td.clientWidth + 1)
      .map(td => td.textContent.slice(0, 60)),
    clipped_headers: all(document, 'th').filter(th => th.scrollWidth > th.clientWidth + 1)
      .map(th => th.textContent),
    wrapped_links: all(document, 'a').filter(a => a.getClientRects().length > 1)
      .map(a => a.textContent),
    line_height_rows: all(table, 'tbody tr').map(tr => tr.getBoundingClientRect().height),
  };
  // Scrolled to the far right, the first row's task id must still be in view.
  box.scrollLeft = box.scrollWidth;
  const id = table.querySelector('tbody td.id');
  facts.id_offset_scrolled = id.getBoundingClientRect().left - box.getBoundingClientRect().left;
  box.scrollLeft = 0;
  document.body.setAttribute('data-layout', JSON.stringify(facts));
})();
</script>"""


def layout_probe(html: str) -> str:
    """A copy of a report that measures its own layout (see `read_layout`)."""
    head, csp, rest = html.partition('<meta http-equiv="Content-Security-Policy"')
    assert csp, "the report has no CSP to drop"
    rest = rest.split(">", 1)[1]
    return (head + rest).replace("</body>", _PROBE + "</body>")


def read_layout(dumped_dom: str) -> dict[str, Any]:
    body = read_dom(dumped_dom).body_attrs
    layout = body.get("data-layout")
    assert layout, "the layout probe did not run"
    return dict(json.loads(layout))


def chromium(profile_dir: Path, page: Path, *command: str, width: int = 1400) -> str:
    """Debian's chromium, headless, on `page`; its stdout (e.g. with `--dump-dom`)."""
    binary = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(binary).exists():
        pytest.fail("chromium is not installed: run `make install` (it installs Debian's chromium)")
    proc = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile_dir / 'chromium-profile'}",
            f"--window-size={width},1000",
            *command,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout
