"""A results directory as the exporter writes it, built by hand for the report tests."""

from __future__ import annotations

import json
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HOSTILE_OUTPUT = (
    "<script>document.body.setAttribute('data-pwned','script')</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
)
START = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def png_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real, solid-colour PNG (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    scanline = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(scanline * height))
        + chunk(b"IEND", b"")
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def task_line(index: int, status: str, output: Any = None, **extra: Any) -> dict[str, Any]:
    started = START + timedelta(seconds=20 * index)
    line = {
        "task": f"sku-{index}",
        "status": status,
        "output": output if output is not None else {"price": 10 + index, "currency": "EUR"},
        "output_verdict": "valid",
        "validation_error": None,
        "run_id": f"tsk_{index}",
        "attempts": 1,
        "step_count": 3 + index % 5,
        "failure_reason": None,
        "files": [],
        "file_errors": [],
        "started_at": _iso(started),
        "finished_at": _iso(started + timedelta(seconds=45 + 7 * (index % 4))),
        "app_url": f"https://app.skyvern.com/runs/tsk_{index}",
    }
    line.update(extra)
    return line


def build_results_dir(
    root: Path,
    lines: list[dict[str, Any]],
    summary: dict[str, Any] | None,
    *,
    task_dirs: bool = True,
) -> Path:
    results = root / "results" / "prices" / "run-7"
    results.mkdir(parents=True)
    for line in lines if task_dirs else []:
        task_dir = results / "tasks" / line["task"]
        task_dir.mkdir(parents=True)
        (task_dir / "output.json").write_text(json.dumps(line["output"]), encoding="utf-8")
        for relative in line["files"]:
            (results / relative).parent.mkdir(parents=True, exist_ok=True)
            (results / relative).write_bytes(b"%PDF-1.4 invoice\n")
    (results / "outputs.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
    )
    if summary is not None:
        (results / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return results


def small_batch(root: Path) -> Path:
    """Five tasks: successes with files and screenshots, a hostile output, a failure."""
    lines = [
        task_line(1, "succeeded", files=["tasks/sku-1/files/invoice.pdf"]),
        task_line(2, "succeeded", output=HOSTILE_OUTPUT),
        task_line(
            3,
            "failed",
            output=None,
            attempts=3,
            failure_reason="Page timed out </td></tr><tr class=task><td>forged row",
            app_url="javascript:alert(1)",
        ),
        task_line(4, "succeeded", output_verdict="empty"),
        task_line(5, "canceled", started_at=None, finished_at=None),
    ]
    lines[2]["output"] = None
    results = build_results_dir(root, lines, _summary(succeeded=3, failed=1, canceled=1))
    shots = results / "tasks" / "sku-1" / "artifacts"
    shots.mkdir(parents=True)
    (shots / "screenshot_action-1.png").write_bytes(png_bytes(32, 20, (200, 30, 30)))
    (shots / "screenshot_final-1.png").write_bytes(png_bytes(64, 40, (30, 160, 60)))
    (shots / "recording-1.webm").write_bytes(b"not an image")
    return results


def _summary(**counts: int) -> dict[str, Any]:
    total = sum(counts.values())
    return {
        "batch": "prices",
        "run_key": "run-7",
        "total": total,
        "pending": 0,
        "retries": 2,
        "runs": total + 2,
        "steps": 41,
        "wall_time_s": 312.5,
        "results_dir": "results/prices/run-7",
        "budget_exhausted": False,
        "interrupted": False,
        "failed_tasks": [],
        **counts,
    }


def large_batch(root: Path, count: int) -> Path:
    lines = [
        task_line(i, "succeeded" if i % 10 else "failed", output={"blob": "x" * 5000, "i": i})
        for i in range(1, count + 1)
    ]
    failed = sum(1 for line in lines if line["status"] == "failed")
    summary = _summary(succeeded=count - failed, failed=failed)
    return build_results_dir(root, lines, summary, task_dirs=False)


_REASONS = (
    "Navigation timed out after {n}ms on https://shop.example/item/{i}",
    "Element #buy-{i} not found (run tsk_{i}ab)",
    "Run terminated by the user",
)


def scale_line(index: int, count: int) -> str:
    """One realistic line of a big batch: every 7th task fails, every 50th is canceled."""
    status = "canceled" if index % 50 == 0 else "failed" if index % 7 == 0 else "succeeded"
    started = START + timedelta(seconds=index * 3600 / count)
    line: dict[str, Any] = {
        "task": f"sku-{index}",
        "status": status,
        "output": {
            "price": round(10 + index * 0.37, 2),
            "currency": "EUR",
            "in_stock": index % 3 != 0,
            "title": f"Product number {index} with a rather long marketing title",
            # One long value with no space to break at, as scraped URLs are.
            "url": f"https://shop.example/catalogue/{'very-long-path-segment-' * 6}{index}",
            "seller": {"name": f"Seller {index % 17}", "rating": index % 5},
            "tags": ["a", "b"],
        }
        if status == "succeeded"
        else None,
        "output_verdict": "valid" if status == "succeeded" else None,
        "validation_error": None,
        "run_id": f"tsk_{index}",
        "attempts": 1 + (index % 7 == 0),
        "step_count": 3 + (index * 7919) % 40,
        "failure_reason": _REASONS[index % 3].format(n=1000 + index, i=index)
        if status == "failed"
        else None,
        "end_status": "timed_out" if status == "failed" and index % 3 == 0 else None,
        "files": [],
        "file_errors": [],
        "started_at": _iso(started),
        "finished_at": _iso(started + timedelta(seconds=30 + (index * 104729) % 600)),
        "app_url": f"https://app.skyvern.com/runs/tsk_{index}",
    }
    return json.dumps(line) + "\n"


def scale_batch(root: Path, count: int, *, summary: bool = True) -> Path:
    """A results directory of `count` tasks written straight to disk (no task directories)."""
    results = root / "results" / "prices" / "run-7"
    results.mkdir(parents=True)
    with (results / "outputs.jsonl").open("w", encoding="utf-8") as handle:
        for index in range(1, count + 1):
            handle.write(scale_line(index, count))
    (results / "outputs.csv").write_text("task,status\n", encoding="utf-8")
    if summary:
        canceled = count // 50
        failed = sum(1 for i in range(1, count + 1) if i % 7 == 0 and i % 50)
        (results / "summary.json").write_text(
            json.dumps(
                _summary(succeeded=count - failed - canceled, failed=failed, canceled=canceled)
                | {"active_time_s": 3500.0, "file_errors": 0, "finished": True}
            ),
            encoding="utf-8",
        )
    return results
