"""Downloaded files: signed links on a second origin that never sees the API key."""

from __future__ import annotations

import hashlib
import time

import httpx
from sim_helpers import api_client, wait_for

HOSTILE = ["../../etc/passwd", "/abs", "a\u0000b", "CON", "x" * 300, "résumé «final».pdf"]


def scenario(**extra: object) -> dict:
    files = [
        {"name": "invoice.pdf", "size": 20000},
        {"name": "bad.bin", "size": 64, "corrupt": True},
    ]
    return {"rules": [{"match": {}, "duration": 0, "files": files}], **extra}


def finished_run(client: httpx.Client, **body: object) -> dict:
    run_id = client.post("/v1/run/tasks", json={"prompt": "download", **body}).json()["run_id"]
    return wait_for(client, run_id)


def test_files_come_from_the_second_origin_with_matching_checksums(simulator):
    sim = simulator(scenario())
    with api_client(sim) as client:
        run = finished_run(client)
    good, corrupt = run["downloaded_files"]
    assert good["filename"] == "invoice.pdf" and good["file_size"] == 20000
    assert good["url"].startswith(sim.files_base_url + "/")
    assert not good["url"].startswith(sim.base_url)
    with httpx.Client() as plain:  # a downloader that (correctly) sends no key
        data = plain.get(good["url"]).content
        bad = plain.get(corrupt["url"]).content
    assert hashlib.sha256(data).hexdigest() == good["checksum"] and len(data) == 20000
    assert hashlib.sha256(bad).hexdigest() != corrupt["checksum"]  # corrupt: true
    assert len(bad) == corrupt["file_size"]


def test_the_file_origin_records_every_requests_headers(simulator):
    sim = simulator(scenario())
    with api_client(sim) as client:
        url = finished_run(client)["downloaded_files"][0]["url"]
        # A careless client that leaks its key to the storage host: the origin sees it.
        client.get(url, headers={"x-api-key": sim.api_key})
    seen = sim.file_requests()
    assert len(seen) == 1
    assert seen[0]["headers"]["x-api-key"] == sim.api_key
    with httpx.Client(base_url=sim.base_url) as admin:
        assert admin.get("/_sim/file-requests").json() == seen


def test_links_are_unguessable_and_expire_and_a_fresh_get_mints_a_new_one(simulator):
    sim = simulator(scenario(expires_after=0.3))
    with api_client(sim) as client, httpx.Client() as plain:
        run = finished_run(client)
        url = run["downloaded_files"][0]["url"]
        assert plain.get(url).status_code == 200
        tampered = url.replace("sig=", "sig=A")
        assert plain.get(tampered).status_code == 403
        time.sleep(0.35)
        expired = plain.get(url)
        assert (expired.status_code, expired.json()) == (
            403,
            {"detail": "Invalid or expired artifact URL"},
        )
        fresh = client.get(f"/v1/runs/{run['run_id']}").json()["downloaded_files"][0]["url"]
        assert fresh != url and plain.get(fresh).status_code == 200


def test_hostile_file_names_pass_through_unchanged(simulator):
    files = [{"name": name, "size": 10} for name in HOSTILE]
    sim = simulator({"rules": [{"match": {}, "duration": 0, "files": files}]})
    with api_client(sim) as client, httpx.Client() as plain:
        run = finished_run(client)
        assert [f["filename"] for f in run["downloaded_files"]] == HOSTILE
        for info in run["downloaded_files"]:
            assert plain.get(info["url"]).status_code == 200


def test_self_hosted_file_urls_are_fetched_through_the_content_endpoint(simulator):
    sim = simulator(scenario(file_urls="file"))
    with api_client(sim) as client:
        run = finished_run(client)
        info = run["downloaded_files"][0]
        assert info["url"].startswith("file:///")
        content = client.get(f"/v1/artifacts/{info['artifact_id']}/content")
        assert hashlib.sha256(content.content).hexdigest() == info["checksum"]
        assert content.headers["content-type"] == "application/octet-stream"
        assert content.headers["content-disposition"].startswith(
            'attachment; filename="invoice.pdf"'
        )
        assert content.headers["accept-ranges"] == "bytes"
        without_key = client.get(
            f"/v1/artifacts/{info['artifact_id']}/content", headers={"x-api-key": ""}
        )
        assert without_key.status_code == 403
        assert client.get("/v1/artifacts/a_1/content").json() == {
            "detail": "Artifact not found a_1"
        }


def test_content_supports_single_ranges(simulator):
    sim = simulator(scenario())
    with api_client(sim) as client:
        info = finished_run(client)["downloaded_files"][0]
        path = f"/v1/artifacts/{info['artifact_id']}/content"
        whole = client.get(path).content
        part = client.get(path, headers={"range": "bytes=10-19"})
        assert (part.status_code, part.content) == (206, whole[10:20])
        assert part.headers["content-range"] == "bytes 10-19/20000"
        tail = client.get(path, headers={"range": "bytes=-5"})
        assert tail.content == whole[-5:]
        beyond = client.get(path, headers={"range": "bytes=20000-"})
        assert (beyond.status_code, beyond.headers["content-range"]) == (416, "bytes */20000")
        multi = client.get(path, headers={"range": "bytes=0-1,5-6"})
        assert (multi.status_code, len(multi.content)) == (200, 20000)


def test_artifacts_hold_a_png_screenshot_a_recording_and_the_downloads(simulator):
    sim = simulator(scenario())
    with api_client(sim) as client:
        run = finished_run(client)
        artifacts = client.get(f"/v1/runs/{run['run_id']}/artifacts").json()
        kinds = [a["artifact_type"] for a in artifacts]
        assert sorted(kinds) == ["download", "download", "recording", "screenshot_final"]
        shot = next(a for a in artifacts if a["artifact_type"] == "screenshot_final")
        png = client.get(f"/v1/artifacts/{shot['artifact_id']}/content")
        assert png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
        only = client.get(
            f"/v1/runs/{run['run_id']}/artifacts", params={"artifact_type": "recording"}
        ).json()
        assert [a["artifact_type"] for a in only] == ["recording"]
        assert client.get("/v1/runs/tsk_unknown/artifacts").json() == []
        bad_filter = client.get(
            f"/v1/runs/{run['run_id']}/artifacts", params={"artifact_type": "nope"}
        )
        assert bad_filter.status_code == 422
        one = client.get(f"/v1/artifacts/{shot['artifact_id']}").json()
        assert one["artifact_id"] == shot["artifact_id"]
        missing = client.get("/v1/artifacts/a_42")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Artifact not found a_42"})
