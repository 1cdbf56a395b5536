"""report.html in a real headless browser (Debian's chromium, installed by `make install`)."""

from __future__ import annotations

from pathlib import Path

from report_dom import chromium, read_dom
from results_fixture import small_batch

from batchrun.report import write_report

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_the_report_loads_in_chromium_with_one_row_per_task(tmp_path: Path) -> None:
    report = write_report(small_batch(tmp_path))
    dom = read_dom(chromium(tmp_path, report, "--dump-dom"))

    # Failed and canceled tasks lead the table, then the rest in spec order.
    order = [3, 5, 1, 2, 4]
    assert [row["id"] for row in dom.task_rows] == [f"task-sku-{i}" for i in order]
    # The hostile output is shown as text; nothing it carried ran or became an element.
    assert dom.scripts == 0
    assert "data-pwned" not in dom.body_attrs
    assert "<script>document.body.setAttribute('data-pwned','script')</script>" in dom.text
    assert all(image.get("src") != "x" for image in dom.images)
    assert not any(link.startswith("javascript:") for link in dom.links)
    # The final screenshot is embedded, so the page needs nothing beside it.
    (thumbnail,) = dom.images
    assert str(thumbnail["src"]).startswith("data:image/png;base64,")

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    chromium(tmp_path, report, f"--screenshot={screenshot}")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
