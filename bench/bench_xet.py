"""Xet through the official client (issue 3, "Speed" and "Dedup, measured").

All figures drive the real `huggingface_hub` (with `hf_xet`) in this process against a real
`commonshub serve`; the baseline is the same client with Xet switched off (the Git LFS path), on the
same bytes, in the same run, alternately.

- Upload: `HfApi.upload_file` of a new 1 GiB random file through Xet (chunking, xorbs, shard,
  commit) against the same call through LFS (multipart PUTs of the default settings, commit).
  Each run writes new random bytes, so nothing deduplicates. Goal: Xet / LFS ≥ 0.5 (throughput).
- Download: `hf_hub_download` of that file through Xet (reconstruction, signed xorb ranges) into an
  empty cache, against `hf_hub_download` of the same bytes from `/resolve` (the LFS-uploaded copy,
  served from the blob store). Both write into memory (/dev/shm), so that the disk's write-back
  does not decide the figure. Goal: Xet / `/resolve` ≥ 0.8 (throughput).
- Dedup: a 200 MB model (random bytes, as trained weights are), then a second version with 5 % of
  its bytes changed in place (ten 1 MB blocks overwritten) uploaded to another repo by the same
  client. Bytes sent are counted on the wire (a counting proxy between client and hub); storage is
  the size of the hub's xorb store. Limits: the second upload sends ≤ 15 % of the first's bytes
  and grows storage by ≤ 15 % of what the first stored. The detail line also gives a third
  version uploaded by a new client with an empty cache (global deduplication only).

Run: .venv/bin/python bench/bench_xet.py [--size-mib 1024] [--runs 3] [--model-mb 200]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from common import (
    Figure,
    Hub,
    MiB,
    base_arguments,
    create_user,
    log,
    median,
    report,
    running_hub,
    spread,
    workdir,
    write_random_file,
)

LIMIT_PERCENT = 15.0


def main() -> None:
    parser = base_arguments(__doc__ or "")
    parser.add_argument(
        "--size-mib", type=int, default=1024, help="File for the speed figures (default 1024)."
    )
    parser.add_argument("--runs", type=int, default=3, help="Uploads per side (each of new bytes).")
    parser.add_argument("--download-runs", type=int, default=7, help="Downloads per side.")
    parser.add_argument("--model-mb", type=int, default=200, help="Model size for the dedup figures (MB).")
    args = parser.parse_args()
    with workdir(args) as work:
        data_dir = work / "hub-data"
        token = create_user(data_dir, "bench")
        with running_hub(data_dir, workers=args.hub_workers) as hub:
            figures = speed(args, work, hub, token) + dedup(args, work, hub, token)
            hub.check_log()
    report(figures, args.json)


def use_xet(enabled: bool) -> None:
    """What HF_HUB_DISABLE_XET decides, switched between calls in this one process."""
    from huggingface_hub import constants

    constants.HF_HUB_DISABLE_XET = not enabled


def speed(args: argparse.Namespace, work: Path, hub: Hub, token: str) -> list[Figure]:
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi(endpoint=hub.url, token=token)
    size = args.size_mib * MiB
    source = work / "upload.bin"
    up: dict[str, list[float]] = {"xet": [], "lfs": []}
    down: dict[str, list[float]] = {"xet": [], "lfs": []}
    for run in range(args.runs):
        write_random_file(source, size)  # new bytes: nothing to deduplicate
        order = ("xet", "lfs") if run % 2 == 0 else ("lfs", "xet")
        for side in order:
            repo = f"bench/{side}-{run}"
            api.create_repo(repo)
            use_xet(side == "xet")
            started = time.perf_counter()
            api.upload_file(path_or_fileobj=str(source), path_in_repo="w.bin", repo_id=repo)
            up[side].append(size / MiB / (time.perf_counter() - started))
        log(f"upload {run + 1}/{args.runs}: xet {up['xet'][-1]:.0f} / lfs {up['lfs'][-1]:.0f} MiB/s")
    # Downloads of the last run's files go to memory (/dev/shm where there is one): the figure is
    # about the transfer, and a disk's write-back pauses would swamp it on both sides.
    memory = Path("/dev/shm") if Path("/dev/shm").is_dir() else work
    last = args.runs - 1
    for run in range(args.download_runs):
        for side in ("xet", "lfs") if run % 2 == 0 else ("lfs", "xet"):
            cache = Path(tempfile.mkdtemp(prefix="commonshub-bench-cache-", dir=memory))
            use_xet(side == "xet")
            try:
                started = time.perf_counter()
                path = hf_hub_download(
                    f"bench/{side}-{last}", "w.bin", endpoint=hub.url, token=token, cache_dir=cache
                )
                down[side].append(size / MiB / (time.perf_counter() - started))
                if Path(path).stat().st_size != size:
                    raise RuntimeError(f"the {side} download is {Path(path).stat().st_size} bytes")
            finally:
                shutil.rmtree(cache)
        log(
            f"download {run + 1}/{args.download_runs}: xet {down['xet'][-1]:.0f} / resolve {down['lfs'][-1]:.0f} MiB/s"
        )
    use_xet(True)
    return [
        Figure(
            name=f"Xet upload of {args.size_mib} MiB (HfApi.upload_file)",
            ours=median(up["xet"]),
            baseline=median(up["lfs"]),
            unit="MiB/s",
            goal=0.5,
            baseline_label="the same call through Git LFS",
            detail=f"xet {spread(up['xet'], 'MiB/s')}; lfs {spread(up['lfs'], 'MiB/s')}",
        ),
        Figure(
            name=f"Xet download of {args.size_mib} MiB (hf_hub_download, empty cache)",
            ours=median(down["xet"]),
            baseline=median(down["lfs"]),
            unit="MiB/s",
            goal=0.8,
            baseline_label="hf_hub_download from /resolve",
            detail=f"xet {spread(down['xet'], 'MiB/s')}; /resolve {spread(down['lfs'], 'MiB/s')}",
        ),
    ]


# --- dedup ---


class CountingProxy:
    """A TCP relay on loopback that counts the bytes clients send through it to the hub."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, dest: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(1 << 20):
                if counted:
                    with self._lock:
                        self.sent += len(data)
                dest.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, dest):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    @contextmanager
    def counting(self) -> Iterator[list[int]]:
        out: list[int] = []
        before = self.sent
        yield out
        time.sleep(0.2)  # the last bytes of the relay
        out.append(self.sent - before)

    def close(self) -> None:
        self._server.close()


def stored(hub: Hub) -> int:
    return sum(p.stat().st_size for p in (hub.data_dir / "xorbs" / "xorb").rglob("*") if p.is_file())


def changed(data: bytes, blocks: int, block: int, seed: int) -> bytes:
    """`data` with `blocks` evenly spread blocks of `block` bytes overwritten with new bytes."""
    out = bytearray(data)
    step = len(data) // blocks
    rng = random.Random(seed)
    for i in range(blocks):
        start = i * step + rng.randrange(step - block)
        out[start : start + block] = os.urandom(block)
    return bytes(out)


def dedup(args: argparse.Namespace, work: Path, hub: Hub, token: str) -> list[Figure]:
    from huggingface_hub import HfApi

    use_xet(True)
    size = args.model_mb * 1000 * 1000
    first = os.urandom(size)
    block = size // 200  # ten blocks of 0.5 %: 5 % of the bytes
    second = changed(first, 10, block, seed=1)
    third = changed(first, 10, block, seed=2)
    port = int(hub.url.rsplit(":", 1)[1])
    proxy = CountingProxy(port)
    api = HfApi(endpoint=proxy.url, token=token)
    results = {}
    try:
        for name, content in (("first", first), ("second", second)):
            repo = f"bench/model-{name}"
            api.create_repo(repo)
            before = stored(hub)
            with proxy.counting() as sent:
                api.upload_file(path_or_fileobj=content, path_in_repo="model.safetensors", repo_id=repo)
            results[name] = (sent[0], stored(hub) - before)
            log(f"{name} version: sent {sent[0] / 1e6:.1f} MB, storage +{results[name][1] / 1e6:.1f} MB")
        # A new client, with an empty cache: only the hub's global deduplication helps it.
        source = work / "third.bin"
        source.write_bytes(third)
        before = stored(hub)
        with proxy.counting() as sent:
            cold_client(proxy.url, token, work / "cold-home", source)
        results["cold"] = (sent[0], stored(hub) - before)
        log(
            f"third version, empty cache: sent {sent[0] / 1e6:.1f} MB, storage +{results['cold'][1] / 1e6:.1f} MB"
        )
    finally:
        proxy.close()
    first_sent, first_stored = results["first"]
    sent_pct = 100 * results["second"][0] / first_sent
    grown_pct = 100 * results["second"][1] / first_stored
    cold = (
        f"a new client with an empty cache sent {100 * results['cold'][0] / first_sent:.1f} % "
        f"and grew storage by {100 * results['cold'][1] / first_stored:.1f} %"
    )
    return [
        Figure(
            name=f"Xet dedup: bytes the second version of a {args.model_mb} MB model sends (5 % changed)",
            ours=sent_pct,
            baseline=LIMIT_PERCENT,
            unit="% of the first upload",
            goal=1.0,
            higher_is_better=False,
            baseline_label="the limit",
            detail=f"first {first_sent / 1e6:.1f} MB sent, second {results['second'][0] / 1e6:.1f} MB; {cold}",
        ),
        Figure(
            name="Xet dedup: storage growth for the second version",
            ours=grown_pct,
            baseline=LIMIT_PERCENT,
            unit="% of the first",
            goal=1.0,
            higher_is_better=False,
            baseline_label="the limit",
            detail=f"first stored {first_stored / 1e6:.1f} MB of xorbs, second added {results['second'][1] / 1e6:.1f} MB",
        ),
    ]


def cold_client(endpoint: str, token: str, home: Path, source: Path) -> None:
    script = (
        "import sys\nfrom huggingface_hub import HfApi\n"
        "api = HfApi(endpoint=sys.argv[1], token=sys.argv[2])\n"
        "api.create_repo('bench/model-third')\n"
        "api.upload_file(path_or_fileobj=sys.argv[3], path_in_repo='model.safetensors', repo_id='bench/model-third')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_XET", "HF_HOME")}
    env["HF_HOME"] = str(home)
    subprocess.run([sys.executable, "-c", script, endpoint, token, str(source)], env=env, check=True)


if __name__ == "__main__":
    main()
