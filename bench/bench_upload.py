"""LFS upload of 1 GiB against plain sha256-and-write in one Python process (issue 2, "Speed").

Ours: the client asks the LFS batch API for an upload URL, then PUTs the file to the signed URL,
streaming it from disk; the hub receives it, hashes it, stores it in the blob store. The time
runs from the start of the PUT to its 200 (the batch call and the verify call are not timed).
The hub runs with the multipart threshold above the file's size, so the upload is one PUT.

Baseline: this Python process reads the same file in 8 MiB pieces, feeds them to hashlib.sha256
and writes them to a new file in the hub's data directory (the same file system): the least work
a server must do for an upload. Goal: ours / baseline ≥ 0.6 (throughput).

Also reported, against the same kind of baseline: the same upload with the hub's default settings,
where a 1 GiB file goes in 64 MiB parts (sequential PUTs, as huggingface_hub sends them) and a completion
POST that joins them; the time runs from the first PUT to the completion's 200.

Each run uploads different bytes (the file's first bytes change), and the blob is deleted through
the API afterwards, so every run stores a new object.

Run: .venv/bin/python bench/bench_upload.py [--size-mib 1024] [--runs 3] [--no-multipart]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import httpx
from common import (
    Figure,
    Hub,
    MiB,
    base_arguments,
    create_user,
    log,
    maybe_profile,
    median,
    report,
    running_hub,
    sha256_file,
    spread,
    workdir,
    write_random_file,
)

REPO = "bench/uploads"
LFS_HEADERS = {"Accept": "application/vnd.git-lfs+json", "Content-Type": "application/vnd.git-lfs+json"}
BASELINE_PIECE = 8 * MiB


def main() -> None:
    parser = base_arguments(__doc__ or "")
    parser.add_argument("--size-mib", type=int, default=1024, help="Size of the upload (default 1024).")
    parser.add_argument("--runs", type=int, default=3, help="Uploads per figure (each with a new object).")
    parser.add_argument("--no-multipart", action="store_true", help="Skip the multipart figure.")
    parser.add_argument("--profile", type=Path, help="Record a py-spy profile of one extra upload here.")
    args = parser.parse_args()
    with workdir(args) as work:
        figures = run(args, work)
    report(figures, args.json)


def run(args: argparse.Namespace, work: Path) -> list[Figure]:
    data_dir = work / "hub-data"
    token = create_user(data_dir, "bench")
    size = args.size_mib * MiB
    source = work / "upload.bin"
    log(f"writing {args.size_mib} MiB of random bytes")
    write_random_file(source, size)
    figures = []

    one_put = {"COMMONSHUB_LFS_MULTIPART_THRESHOLD": str(size + 1)}
    with running_hub(data_dir, workers=args.hub_workers, extra_env=one_put) as hub:
        client = Client(hub, token)
        client.create_repo()
        results = measure(args, client, source, size, multipart=False)
        figures.append(
            figure(f"LFS upload of {args.size_mib} MiB, one PUT (receive, sha256, store)", results)
        )
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            oid = new_content(source)
            with maybe_profile(True, hub, args.profile / "upload-put.txt"):
                client.upload(source, oid, size, multipart=False)
            client.delete(oid)
        hub.check_log()

    if not args.no_multipart:
        # The default threshold (512 MiB) and part size (64 MiB); a smaller --size-mib still splits.
        multipart = {"COMMONSHUB_LFS_MULTIPART_THRESHOLD": str(min(512 * MiB, size))}
        with running_hub(data_dir, workers=args.hub_workers, extra_env=multipart) as hub:
            client = Client(hub, token)
            results = measure(args, client, source, size, multipart=True)
            figures.append(
                figure(
                    f"LFS upload of {args.size_mib} MiB, default settings: 64 MiB parts + completion",
                    results,
                )
            )
            hub.check_log()
    return figures


def figure(name: str, results: dict[str, list[float]]) -> Figure:
    return Figure(
        name=name,
        ours=median(results["ours"]),
        baseline=median(results["baseline"]),
        unit="MiB/s",
        goal=0.6,
        baseline_label="read + hashlib.sha256 + write, one Python process",
        detail=f"ours {spread(results['ours'], 'MiB/s')}; baseline {spread(results['baseline'], 'MiB/s')}",
    )


def measure(
    args: argparse.Namespace, client: Client, source: Path, size: int, *, multipart: bool
) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"ours": [], "baseline": []}
    kind = "multipart" if multipart else "one PUT"
    for i in range(args.runs):
        oid = new_content(source)
        seconds = plain_sha256_and_write(source, client.hub.data_dir / "baseline.bin", oid)
        results["baseline"].append(size / MiB / seconds)
        seconds = client.upload(source, oid, size, multipart=multipart)
        results["ours"].append(size / MiB / seconds)
        client.delete(oid)
        log(
            f"run {i + 1}/{args.runs} ({kind}): ours {results['ours'][-1]:.0f} MiB/s, "
            f"baseline {results['baseline'][-1]:.0f} MiB/s"
        )
    return results


def new_content(source: Path) -> str:
    """Change the file's first bytes, so that it is a new object; returns its sha256 (not timed)."""
    with source.open("r+b") as f:
        f.write(os.urandom(32))
    return sha256_file(source)


def plain_sha256_and_write(source: Path, dest: Path, oid: str) -> float:
    """The baseline: read, hash, write, in this one process. Returns the seconds it took."""
    start = time.perf_counter()
    hasher = hashlib.sha256()
    with source.open("rb") as f, dest.open("wb") as out:
        while piece := f.read(BASELINE_PIECE):
            hasher.update(piece)
            out.write(piece)
    seconds = time.perf_counter() - start
    if hasher.hexdigest() != oid:
        raise RuntimeError("the baseline computed another sha256")
    dest.unlink()
    return seconds


class _Slice:
    """`length` bytes of an open file from its current position, read the way http.client reads."""

    def __init__(self, f: BinaryIO, length: int) -> None:
        self.f, self.left = f, length

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        return data


@dataclass
class PutResult:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def put(url: str, source: Path, offset: int, length: int) -> PutResult:
    """PUT bytes [offset, offset+length) of `source` to `url`, streamed from disk in 1 MiB reads."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, blocksize=MiB)
    try:
        with source.open("rb") as f:
            f.seek(offset)
            connection.request(
                "PUT",
                f"{parts.path}?{parts.query}",
                body=_Slice(f, length),
                headers={"Content-Length": str(length), "Content-Type": "application/octet-stream"},
            )
            response = connection.getresponse()
            return PutResult(response.status, response.headers, response.read())
    finally:
        connection.close()


class Client:
    def __init__(self, hub: Hub, token: str) -> None:
        self.hub = hub
        self.http = httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=600)

    def create_repo(self) -> None:
        response = self.http.post("/api/repos/create", json={"name": REPO.split("/")[1], "type": "model"})
        response.raise_for_status()

    def upload(self, source: Path, oid: str, size: int, *, multipart: bool) -> float:
        """Upload `source` through the LFS batch API; the seconds from the first PUT to the last 200."""
        batch = self.http.post(
            f"/{REPO}.git/info/lfs/objects/batch",
            headers=LFS_HEADERS,
            json={
                "operation": "upload",
                "transfers": ["basic", "multipart"],
                "objects": [{"oid": oid, "size": size}],
                "hash_algo": "sha256",
                "ref": {"name": "refs/heads/main"},
            },
        )
        batch.raise_for_status()
        actions = batch.json()["objects"][0]["actions"]
        upload = actions["upload"]
        header = upload.get("header") or {}
        if multipart != ("chunk_size" in header):
            raise RuntimeError(f"expected a {'multipart' if multipart else 'single'} upload, got {upload}")

        start = time.perf_counter()
        if multipart:
            chunk = int(header["chunk_size"])
            numbers = sorted(int(k) for k in header if k.isdigit())
            parts = []
            for number in numbers:
                offset = (number - 1) * chunk
                result = put(header[str(number)], source, offset, min(chunk, size - offset))
                if result.status != 200:
                    raise RuntimeError(f"part {number}: {result.status} {result.body[:500]!r}")
                parts.append({"partNumber": number, "etag": result.headers["etag"]})
            done = httpx.post(
                upload["href"], json={"oid": oid, "parts": parts}, headers=LFS_HEADERS, timeout=600
            )
            status, body = done.status_code, done.content
        else:
            result = put(upload["href"], source, 0, size)
            status, body = result.status, result.body
        seconds = time.perf_counter() - start
        if status != 200:
            raise RuntimeError(f"upload: {status} {body[:500]!r}")

        verify = self.http.post(
            actions["verify"]["href"], headers=LFS_HEADERS, json={"oid": oid, "size": size}
        )
        verify.raise_for_status()
        if self.hub.blob_path(oid).stat().st_size != size:
            raise RuntimeError("the stored blob has the wrong size")
        return seconds

    def delete(self, oid: str) -> None:
        """Delete the object through the API, so that the next run stores a new one (not timed)."""
        response = self.http.post(
            f"/api/models/{REPO}/lfs-files/batch",
            json={"deletions": {"sha": [oid], "rewriteHistory": False}},
        )
        response.raise_for_status()
        if self.hub.blob_path(oid).exists():
            raise RuntimeError(f"the blob {oid} is still stored after its deletion")


if __name__ == "__main__":
    main()
