"""Downloads through `/resolve` against nginx serving the same bytes (issue 2, "Speed"):

1. `/resolve` of a 1 GiB LFS file, warm, vs nginx serving the very blob file of the hub's blob
   store: a client's throughput (curl -o /dev/null), median of several runs. Goal ≥ 0.8.
2. One 100 MiB `Range` request from the middle of that file, vs the same request to nginx. Goal ≥ 0.7.
3. A regular (git-stored) 4 KiB file, requests per second with wrk and a few keep-alive
   connections, anonymous and with a token, vs nginx serving a 4 KiB file. Goal ≥ 0.3.

Run: .venv/bin/python bench/bench_resolve.py [--size-mib 1024] [--runs 5] [--profile DIR]
"""

from __future__ import annotations

import argparse
import os
import string
from pathlib import Path

import httpx
from common import (
    Figure,
    Hub,
    MiB,
    alternate,
    base_arguments,
    create_user,
    curl_get,
    ensure_system_tools,
    log,
    maybe_profile,
    median,
    report,
    running_hub,
    running_nginx,
    spread,
    workdir,
    write_random_file,
    wrk,
)

REPO = "bench/files"


def main() -> None:
    parser = base_arguments(__doc__ or "")
    parser.add_argument("--size-mib", type=int, default=1024, help="Size of the large file (default 1024).")
    parser.add_argument("--range-mib", type=int, default=100, help="Size of the Range request (default 100).")
    parser.add_argument("--runs", type=int, default=5, help="Downloads of the large file per side.")
    parser.add_argument("--range-runs", type=int, default=9, help="Range requests per side.")
    parser.add_argument("--wrk-seconds", type=float, default=5, help="Length of one wrk run.")
    parser.add_argument("--wrk-rounds", type=int, default=3, help="wrk runs per side, interleaved.")
    # Many clients at once, as a hub serves them: 64 keep-alive connections from two threads.
    parser.add_argument("--wrk-connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument(
        "--profile",
        type=Path,
        help="After measuring, record py-spy profiles of the hub in this directory.",
    )
    args = parser.parse_args()
    ensure_system_tools("nginx", "wrk", "curl")
    with workdir(args) as work:
        figures = run(args, work)
    report(figures, args.json)


def run(args: argparse.Namespace, work: Path) -> list[Figure]:
    from huggingface_hub import HfApi

    data_dir = work / "hub-data"
    token = create_user(data_dir, "bench")
    size = args.size_mib * MiB
    with running_hub(data_dir, workers=args.hub_workers) as hub:
        api = HfApi(endpoint=hub.url, token=token)
        api.create_repo(REPO, exist_ok=True)

        source = work / "big.bin"
        log(f"writing {args.size_mib} MiB of random bytes")
        oid = write_random_file(source, size)
        log("uploading it through the LFS batch API")
        api.upload_file(path_or_fileobj=str(source), path_in_repo="big.bin", repo_id=REPO)
        source.unlink()  # the hub has its own copy, the one both servers send
        blob = hub.blob_path(oid)
        if not blob.is_file() or blob.stat().st_size != size:
            raise RuntimeError(f"the uploaded file is not at {blob}")

        # Printable text, so the hub stores it in git as a regular file, not in LFS.
        small = "".join(string.ascii_letters[b % 52] for b in os.urandom(4096)).encode()
        api.upload_file(path_or_fileobj=small, path_in_repo="small.txt", repo_id=REPO)
        www = work / "www"
        www.mkdir()
        (www / "small.txt").write_bytes(small)

        ours_big = f"{hub.url}/{REPO}/resolve/main/big.bin"
        ours_small = f"{hub.url}/{REPO}/resolve/main/small.txt"
        with running_nginx(work / "nginx", {"/blobs/": data_dir / "blobs", "/www/": www}) as nginx:
            nginx_big = f"{nginx.url}/blobs/sha256/{oid[:2]}/{oid[2:4]}/{oid}"
            nginx_small = f"{nginx.url}/www/small.txt"
            check_same_bytes(ours_big, nginx_big, ours_small, nginx_small, small, size)

            figures = [
                whole_file(args, ours_big, nginx_big, size),
                range_request(args, ours_big, nginx_big, size),
                *small_files(args, ours_small, nginx_small, token),
            ]
            if args.profile:
                profile(args, hub, ours_big, ours_small, token, size)
        hub.check_log()
    return figures


def check_same_bytes(
    ours_big: str, nginx_big: str, ours_small: str, nginx_small: str, small: bytes, size: int
) -> None:
    """Both sides serve the same bytes, with the status codes the figures assume."""
    with httpx.Client() as client:
        head = client.head(ours_big)
        assert head.status_code == 200 and int(head.headers["content-length"]) == size, head.headers
        assert "x-linked-etag" in head.headers, "big.bin should be an LFS file"
        middle = {"Range": f"bytes={size // 2}-{size // 2 + MiB - 1}"}
        a, b = client.get(ours_big, headers=middle), client.get(nginx_big, headers=middle)
        assert a.status_code == b.status_code == 206 and a.content == b.content, (
            a.status_code,
            b.status_code,
        )
        head = client.head(ours_small)
        assert "x-linked-etag" not in head.headers, "small.txt should be a regular (git) file"
        assert client.get(ours_small).content == small == client.get(nginx_small).content


def whole_file(args: argparse.Namespace, ours: str, nginx: str, size: int) -> Figure:
    def download(url: str) -> float:
        result = curl_get(url)
        if result.status != 200 or result.size != size:
            raise RuntimeError(f"GET {url}: {result}")
        return result.mib_per_s

    log("warming up: one whole download from each side")
    download(ours), download(nginx)
    log(f"whole file: {args.runs} downloads per side, alternately")
    results = alternate({"ours": lambda: download(ours), "nginx": lambda: download(nginx)}, args.runs)
    return Figure(
        name=f"resolve {args.size_mib} MiB LFS file, warm (curl throughput)",
        ours=median(results["ours"]),
        baseline=median(results["nginx"]),
        unit="MiB/s",
        goal=0.8,
        baseline_label="nginx, sendfile, same blob file",
        detail=f"ours {spread(results['ours'], 'MiB/s')}; nginx {spread(results['nginx'], 'MiB/s')}",
    )


def range_request(args: argparse.Namespace, ours: str, nginx: str, size: int) -> Figure:
    length = args.range_mib * MiB
    start = (size - length) // 2
    byte_range = (start, start + length - 1)

    def fetch(url: str) -> float:
        result = curl_get(url, byte_range=byte_range)
        if result.status != 206 or result.size != length:
            raise RuntimeError(f"GET {url} Range {byte_range}: {result}")
        return result.mib_per_s

    log(f"range: {args.range_runs} requests of {args.range_mib} MiB per side, alternately")
    fetch(ours), fetch(nginx)
    results = alternate({"ours": lambda: fetch(ours), "nginx": lambda: fetch(nginx)}, args.range_runs)
    return Figure(
        name=f"resolve one {args.range_mib} MiB Range from the middle (curl throughput)",
        ours=median(results["ours"]),
        baseline=median(results["nginx"]),
        unit="MiB/s",
        goal=0.7,
        baseline_label="nginx, same Range of the same file",
        detail=f"ours {spread(results['ours'], 'MiB/s')}; nginx {spread(results['nginx'], 'MiB/s')}",
    )


def small_files(args: argparse.Namespace, ours: str, nginx: str, token: str) -> list[Figure]:
    def load(url: str, headers: dict[str, str] | None = None) -> float:
        return wrk(
            url,
            seconds=args.wrk_seconds,
            connections=args.wrk_connections,
            threads=args.wrk_threads,
            headers=headers,
        )

    auth = {"Authorization": f"Bearer {token}"}
    log(
        f"4 KiB file: wrk -t{args.wrk_threads} -c{args.wrk_connections} -d{args.wrk_seconds:g}s, "
        f"{args.wrk_rounds} rounds, alternately"
    )
    load(ours), load(nginx)  # warm both (connections, caches, the JIT-less but cold Python paths)
    results = alternate(
        {
            "anonymous": lambda: load(ours),
            "nginx": lambda: load(nginx),
            "token": lambda: load(ours, auth),
        },
        args.wrk_rounds,
    )
    baseline = median(results["nginx"])
    return [
        Figure(
            name=f"resolve 4 KiB regular file, {label} (wrk requests/s)",
            ours=median(results[key]),
            baseline=baseline,
            unit="req/s",
            goal=0.3,
            baseline_label="nginx, 4 KiB static file",
            detail=f"ours {spread(results[key], 'req/s')}; nginx {spread(results['nginx'], 'req/s')}",
        )
        for key, label in (("anonymous", "anonymous"), ("token", "with a token"))
    ]


def profile(args: argparse.Namespace, hub: Hub, big: str, small: str, token: str, size: int) -> None:
    """py-spy profiles of the hub (not counted in the figures): py-spy slows what it watches."""
    args.profile.mkdir(parents=True, exist_ok=True)
    with maybe_profile(True, hub, args.profile / "resolve-whole.txt"):
        for _ in range(3):
            curl_get(big)
    length = args.range_mib * MiB
    start = (size - length) // 2
    with maybe_profile(True, hub, args.profile / "resolve-range.txt"):
        for _ in range(10):
            curl_get(big, byte_range=(start, start + length - 1))
    with maybe_profile(True, hub, args.profile / "resolve-small-token.txt"):
        wrk(
            small,
            seconds=10,
            connections=args.wrk_connections,
            threads=args.wrk_threads,
            headers={"Authorization": f"Bearer {token}"},
        )
    with maybe_profile(True, hub, args.profile / "resolve-small-anonymous.txt"):
        wrk(small, seconds=10, connections=args.wrk_connections, threads=args.wrk_threads)


if __name__ == "__main__":
    main()
