"""Downloaded files against the simulator: hostile names, checksums, expiry, file://, caps."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from batchrun.client import RunResponse, SkyvernClient
from batchrun.export import download_artifacts, download_run_files
from batchrun.export.atomic import is_temp_file
from batchrun.sim import RunningSimulator

HOSTILE_FILES = [
    {"name": "../../escape.txt", "size": 100},
    {"name": "/etc/passwd", "size": 200},
    {"name": "..\\..\\windows\\evil.exe", "size": 300},
    {"name": "CON", "size": 10},
    {"name": "nul\x00byte.txt", "size": 20},
    {"name": "report.pdf", "size": 1500},
    {"name": "REPORT.PDF", "size": 1600},
    {"name": "report.pdf", "size": 1700},
    {"name": ".bashrc", "size": 30},
    {"name": "x" * 400 + ".csv", "size": 40},
    {"name": "...", "size": 50},
]


def _scenario(files: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    rule = {"match": {"title": "*"}, "duration": 0.05, "steps": 1, "files": files}
    return {"rules": [rule], **extra}


async def _finished_run(client: SkyvernClient) -> RunResponse:
    created = await client.run_task(
        {"prompt": "download the reports", "url": "https://example.com", "title": "files"}
    )
    with anyio.fail_after(20):
        while True:
            run = await client.get_run(created.run_id)
            if run.is_final:
                return run
            await anyio.sleep(0.02)


def _download(
    sim: RunningSimulator,
    batch_dir: Path,
    *,
    max_file_size: int = 10_000_000,
    before_download: Callable[[], None] = lambda: None,
) -> tuple[RunResponse, list[Any], list[str]]:
    refreshes: list[str] = []

    async def main() -> tuple[RunResponse, list[Any]]:
        async with SkyvernClient(sim.base_url, sim.api_key) as client:
            run = await _finished_run(client)
            before_download()

            async def refresh() -> RunResponse:
                refreshes.append(run.run_id)
                return await client.get_run(run.run_id)

            files = await download_run_files(
                client,
                run,
                batch_dir / "tasks" / "t1" / "files",
                results_root=batch_dir,
                max_file_size=max_file_size,
                refresh_run=refresh,
            )
            return run, files

    run, files = anyio.run(main)
    return run, files, refreshes


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_hostile_names_stay_inside_files_dir_unique_and_verified(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    sim = simulator(_scenario(HOSTILE_FILES))
    batch_dir = tmp_path / "results" / "spec" / "key"
    run, exported, _ = _download(sim, batch_dir)

    files_dir = batch_dir / "tasks" / "t1" / "files"
    assert len(exported) == len(HOSTILE_FILES)
    assert [(f.error, f.checksum_ok) for f in exported] == [(None, True)] * len(exported)
    paths = [f.path for f in exported]
    assert len({p.casefold() for p in paths}) == len(paths)
    for item, info in zip(exported, run.downloaded_files or [], strict=True):
        on_disk = batch_dir / item.path
        assert on_disk.resolve().parent == files_dir.resolve()
        assert hashlib.sha256(on_disk.read_bytes()).hexdigest() == info.checksum
        assert item.filename == info.filename  # the server's name, kept for reference
    # Nothing was written anywhere but files/.
    assert sorted(_all_files(tmp_path)) == sorted(batch_dir / p for p in paths)
    names = {Path(p).name for p in paths}
    assert {"escape.txt", "passwd", "evil.exe", "_CON", "bashrc"} <= names
    assert {"report.pdf", "REPORT (2).PDF", "report (3).pdf"} <= names
    # The API key never travels to the file host.
    requests = sim.file_requests()
    assert len(requests) == len(HOSTILE_FILES)
    assert all("x-api-key" not in r["headers"] for r in requests)


def test_corrupt_download_is_retried_then_reported_and_not_kept(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    files = [{"name": "good.bin", "size": 4000}, {"name": "bad.bin", "size": 5000, "corrupt": True}]
    sim = simulator(_scenario(files))
    batch_dir = tmp_path / "b"
    _, exported, _ = _download(sim, batch_dir)

    good, bad = exported
    assert good.error is None and good.checksum_ok is True and good.size == 4000
    assert bad.checksum_ok is False and bad.path == ""
    assert bad.error is not None and "checksum mismatch" in bad.error
    assert bad.size == 5000 and bad.sha256  # what was received, for the report
    # One try and two retries of the bad file; the good one once.
    fetched = [r["path"].rsplit("/", 1)[-1] for r in sim.file_requests()]
    assert fetched.count("bad.bin") == 3 and fetched.count("good.bin") == 1
    # Neither under its own name nor as a leftover temp file.
    assert [p.name for p in _all_files(batch_dir)] == ["good.bin"]


def test_expired_links_are_refreshed_by_fetching_the_run_again(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    files = [{"name": "a.txt", "size": 10}, {"name": "b.txt", "size": 20}]
    # Links minted under this scenario expire at once; after the switch they last 12 h.
    sim = simulator(_scenario(files, expires_after=0))
    batch_dir = tmp_path / "b"
    _, exported, refreshes = _download(
        sim, batch_dir, before_download=lambda: sim.set_scenario(_scenario(files))
    )
    assert [f.error for f in exported] == [None, None]
    assert [Path(f.path).name for f in exported] == ["a.txt", "b.txt"]
    assert len(refreshes) == 1  # one GET of the run re-signs every link
    # a.txt refused once, then a.txt and b.txt with the fresh links.
    assert len(sim.file_requests()) == 3


def test_links_that_keep_expiring_are_reported(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    sim = simulator(_scenario([{"name": "a.txt", "size": 10}], expires_after=0))
    _, exported, refreshes = _download(sim, tmp_path / "b")
    assert exported[0].error is not None and "expired" in exported[0].error
    assert len(refreshes) == 2
    assert _all_files(tmp_path) == []


def test_file_urls_are_fetched_through_the_content_endpoint(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    sim = simulator(_scenario([{"name": "local.csv", "size": 3000}], file_urls="file"))
    batch_dir = tmp_path / "b"
    run, exported, _ = _download(sim, batch_dir)
    assert (run.downloaded_files or [])[0].url.startswith("file://")
    assert exported[0].error is None and exported[0].checksum_ok is True
    assert (batch_dir / exported[0].path).stat().st_size == 3000
    assert sim.file_requests() == []  # served by the API's /v1/artifacts/{id}/content


def test_size_cap_stops_the_download_and_keeps_nothing(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    files = [{"name": "small.txt", "size": 500}, {"name": "huge.iso", "size": 50_000}]
    sim = simulator(_scenario(files))
    batch_dir = tmp_path / "b"
    _, exported, _ = _download(sim, batch_dir, max_file_size=10_000)
    small, huge = exported
    assert small.error is None
    assert huge.path == "" and huge.error is not None and "10000" in huge.error
    assert [p.name for p in _all_files(batch_dir)] == ["small.txt"]


def test_a_retried_task_keeps_only_its_last_attempts_files(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    batch_dir = tmp_path / "b"
    files_dir = batch_dir / "tasks" / "t1" / "files"
    files_dir.mkdir(parents=True)
    (files_dir / "from-attempt-1.txt").write_text("old")
    (files_dir / ".half.bin.tmp-0123456789ab").write_text("left by a crash")
    sim = simulator(_scenario([{"name": "new.txt", "size": 10}]))
    _download(sim, batch_dir)
    assert sorted(p.name for p in files_dir.iterdir()) == [
        ".half.bin.tmp-0123456789ab",  # only removed when no writer can be active
        "new.txt",
    ]


def test_artifacts_are_saved_when_asked(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    sim = simulator(_scenario([]))
    batch_dir = tmp_path / "b"

    async def main() -> list[Any]:
        async with SkyvernClient(sim.base_url, sim.api_key) as client:
            run = await _finished_run(client)
            return await download_artifacts(
                client,
                run.run_id,
                ["screenshot_final", "recording"],
                batch_dir / "tasks" / "t1" / "artifacts",
                results_root=batch_dir,
                max_file_size=1_000_000,
            )

    exported = anyio.run(main)
    assert sorted(f.path for f in exported) == [
        "tasks/t1/artifacts/recording-1.webm",
        "tasks/t1/artifacts/screenshot_final-1.png",
    ]
    assert all(f.error is None for f in exported)
    png = (batch_dir / "tasks/t1/artifacts/screenshot_final-1.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert not any(is_temp_file(p.name) for p in _all_files(batch_dir))


def test_expired_artifact_links_are_refreshed(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    sim = simulator(_scenario([], expires_after=0))
    batch_dir = tmp_path / "b"

    async def main() -> list[Any]:
        async with SkyvernClient(sim.base_url, sim.api_key) as client:
            run = await _finished_run(client)
            list_artifacts = client.get_run_artifacts

            async def list_then_stop_expiring(*args: Any, **kwargs: Any) -> Any:
                # The listing's links expire at once; the refreshed ones last 12 h.
                listed = await list_artifacts(*args, **kwargs)
                sim.set_scenario(_scenario([]))
                return listed

            client.get_run_artifacts = list_then_stop_expiring  # type: ignore[method-assign]
            return await download_artifacts(
                client,
                run.run_id,
                ["screenshot_final"],
                batch_dir / "art",
                results_root=batch_dir,
                max_file_size=1_000_000,
            )

    exported = anyio.run(main)
    assert [f.error for f in exported] == [None]
    assert (batch_dir / exported[0].path).read_bytes().startswith(b"\x89PNG")
    assert len(sim.file_requests()) == 2  # refused once, then fetched with the fresh link
    assert sim.stats()["requests_by_route"]["artifact"] == 1  # GET /v1/artifacts/{id}
