"""Reading a report's DOM (as chromium dumps it, or as written) back into facts to assert on."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


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
