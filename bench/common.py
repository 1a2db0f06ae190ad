"""What the benchmarks share: a real `commonshub serve`, an nginx baseline, timing and reporting.

Every figure is printed as `name: ours=… baseline=… ratio=… (goal ≥ …)`, where the baseline was
measured in the same run, on the same machine, alternately with our side (so that a slow phase of
a noisy machine hurts both sides alike). Ratios are "higher is better": for a throughput it is
ours / baseline, for a latency or a duration baseline / ours.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

# The clients read these once, when first imported: set them before anything imports them.
_HF_HOME = tempfile.mkdtemp(prefix="commonshub-bench-hf-home-")
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)
os.environ.update(
    {
        # The issue-2 benchmarks measure Git LFS and the blob store; bench_xet.py turns Xet on.
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HOME": _HF_HOME,
    }
)
os.environ.pop("HF_TOKEN", None)


# --- reporting ---


@dataclass
class Figure:
    """One benchmark figure: our value, the baseline's, and the goal on their ratio."""

    name: str
    ours: float
    baseline: float
    unit: str
    goal: float
    # True for throughputs (ratio = ours / baseline), False for times (ratio = baseline / ours).
    higher_is_better: bool = True
    baseline_label: str = ""
    detail: str = ""

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.ours / self.baseline if self.baseline else 0.0
        return self.baseline / self.ours if self.ours else float("inf")

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal

    def line(self) -> str:
        label = f" [{self.baseline_label}]" if self.baseline_label else ""
        verdict = "ok" if self.met else "BELOW GOAL"
        text = (
            f"{self.name}: ours={_fmt(self.ours)} {self.unit} "
            f"baseline={_fmt(self.baseline)} {self.unit}{label} "
            f"ratio={self.ratio:.2f} (goal ≥ {self.goal:g}) {verdict}"
        )
        return text + (f"\n    {self.detail}" if self.detail else "")


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:#.3g}" if value >= 0.01 else f"{value:.2e}"


def report(figures: list[Figure], json_path: Path | None) -> None:
    print("\n" + "\n".join(f.line() for f in figures), flush=True)
    if json_path is not None:
        json_path.write_text(json.dumps([asdict(f) | {"ratio": f.ratio} for f in figures], indent=1))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def spread(values: list[float], unit: str) -> str:
    """min / median / max, for the detail line of a figure."""
    low, mid, high = _fmt(min(values)), _fmt(median(values)), _fmt(max(values))
    return f"{len(values)} runs: min {low}, median {mid}, max {high} {unit}"


def base_arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--workdir", type=Path, help="Where data goes (default: a new temporary directory).")
    parser.add_argument("--keep", action="store_true", help="Keep the work directory afterwards.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    parser.add_argument(
        "--hub-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="Worker processes of `commonshub serve` (default: one per core, as nginx runs).",
    )
    return parser


@contextlib.contextmanager
def workdir(args: argparse.Namespace) -> Iterator[Path]:
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        path = args.workdir.resolve()
    else:
        path = Path(tempfile.mkdtemp(prefix="commonshub-bench-"))
    log(f"work directory: {path}")
    try:
        yield path
    finally:
        if args.keep:
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


# --- tools ---


def ensure_system_tools(*commands: str) -> None:
    """Install the Debian packages (nginx, wrk, curl) of any missing command, as
    scripts/install-system-deps.sh does for the test suite."""
    missing = [c for c in commands if shutil.which(c) is None and not Path(f"/usr/sbin/{c}").exists()]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    log(f"installing {' '.join(missing)}")
    install = [*sudo, "apt-get", "install", "-y", "-q", *missing]
    if subprocess.run(install, env=env).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(install, env=env, check=True)


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited:\n{log_path.read_text()[-5000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{log_path.read_text()[-5000:]}")


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a server: `sig` asks it (and its supervisor stops its workers); a hang is killed.

    Servers run in the caller's session, not a session of their own: Linux's scheduler shares
    the CPU fairly between sessions (autogroups), so a server in its own session would get at
    most half the CPU against wrk in ours, which measures the scheduler, not the server.
    """
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            subprocess.run(["pkill", "-KILL", "-P", str(process.pid)], check=False)
            process.kill()
            process.wait()


# --- the hub ---


def hub_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONSHUB_")}
    env["COMMONSHUB_DATA_DIR"] = str(data_dir)
    return env | (extra or {})


def hub_cli(data_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "commonshub"), *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=hub_env(data_dir),
    )
    if result.returncode != 0:
        raise RuntimeError(f"commonshub {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Hub:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def blob_path(self, oid: str) -> Path:
        """Where the local blob store keeps an LFS object (storage/local.py)."""
        return self.data_dir / "blobs" / "sha256" / oid[:2] / oid[2:4] / oid

    def check_log(self) -> None:
        text = self.log_path.read_text()
        if "Traceback" in text or " 500 " in text:
            raise RuntimeError(f"the hub logged errors:\n{text[-5000:]}")


def create_user(data_dir: Path, name: str) -> str:
    """A user with a write token on a (possibly new) data directory; returns the token."""
    hub_cli(data_dir, "user", "create", name, "--email", f"{name}@example.org")
    token = "hf_" + secrets.token_hex(20)
    hub_cli(data_dir, "token", "create", name, "--role", "write", "--value", token)
    return token


@contextlib.contextmanager
def running_hub(
    data_dir: Path, *, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[Hub]:
    """`commonshub serve` on a free loopback port, as a user would start it."""
    port = free_port()
    log_path = data_dir.parent / f"hub-{port}.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [
                str(BIN / "commonshub"),
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--workers",
                str(workers),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=hub_env(data_dir, extra_env),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/agent-harnesses", process, log_path)
        log(f"hub on {url} (pid {process.pid}, {workers} worker(s), log {log_path})")
        yield Hub(url, data_dir, process, log_path)
    finally:
        stop_process(process)


# --- nginx, the baseline for serving files ---

NGINX_CONF = """\
worker_processes {workers};
{user_line}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
{locations}
    }}
}}
"""


@dataclass
class Nginx:
    url: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def running_nginx(prefix: Path, aliases: dict[str, Path]) -> Iterator[Nginx]:
    """nginx serving each directory of `aliases` under its URL prefix ("/blobs/" → a directory):
    sendfile on, one worker per core, no access log."""
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    locations = "\n".join(
        f"        location {url_prefix} {{ alias {directory}/; }}"
        for url_prefix, directory in aliases.items()
    )
    # As root, nginx's workers would drop to `nobody`, who cannot read our private temp dirs.
    user_line = "user root;" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            workers=os.cpu_count() or 1, user_line=user_line, prefix=prefix, port=port, locations=locations
        )
    )
    log_path = prefix / "error.log"
    log_path.touch()
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(prefix), "-c", str(conf), "-e", str(log_path), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("ab"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/", process, log_path)
        log(f"nginx on {url} (pid {process.pid}, {os.cpu_count()} workers)")
        yield Nginx(url, process)
    finally:
        stop_process(process, signal.SIGQUIT)


# --- files and clients ---


def write_random_file(path: Path, size: int) -> str:
    """`size` random bytes at `path`; returns their sha256."""
    hasher = hashlib.sha256()
    piece = 16 * MiB
    with path.open("wb") as out:
        left = size
        while left > 0:
            data = os.urandom(min(piece, left))
            hasher.update(data)
            out.write(data)
            left -= len(data)
    return hasher.hexdigest()


def sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while data := f.read(16 * MiB):
            hasher.update(data)
    return hasher.hexdigest()


@dataclass
class CurlResult:
    status: int
    size: int
    seconds: float

    @property
    def mib_per_s(self) -> float:
        return self.size / MiB / self.seconds


def curl_get(url: str, *, byte_range: tuple[int, int] | None = None) -> CurlResult:
    """Download `url` to /dev/null with curl; the status, the bytes and the total time."""
    command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}"]
    if byte_range is not None:
        command += ["-r", f"{byte_range[0]}-{byte_range[1]}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout.split()
    return CurlResult(int(out[0]), int(out[1]), float(out[2]))


def alternate(sides: dict[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """Run each side `runs` times, interleaved (a, b, a, b, …), and collect what each returns."""
    results: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(runs):
        for name, run in sides.items():
            results[name].append(run())
    return results


_WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def wrk(
    url: str, *, seconds: float, connections: int, threads: int, headers: dict[str, str] | None = None
) -> float:
    """Requests per second that wrk gets from `url`; raises if any response was not a 2xx."""
    # A generous timeout: on a busy machine a request may stall for seconds without being an error.
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True)
    out = result.stdout
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} {url} failed:\n{out}\n{result.stderr}")
    if "Non-2xx or 3xx responses" in out:
        raise RuntimeError(f"wrk got error responses from {url}:\n{out}")
    errors = _WRK_ERRORS.search(out)
    if errors is not None:
        if any(int(n) for n in errors.groups()[:3]):
            raise RuntimeError(f"wrk had connection errors on {url}:\n{out}")
        log(f"warning: {errors[4]} request(s) to {url} took more than 10 s (a busy machine?)")
    match = _WRK_RPS.search(out)
    if match is None:
        raise RuntimeError(f"no requests/sec in wrk's output:\n{out}")
    return float(match[1])


def py_spy_available() -> str | None:
    return shutil.which("py-spy") or (str(BIN / "py-spy") if (BIN / "py-spy").exists() else None)


@contextlib.contextmanager
def maybe_profile(enabled: bool, hub: Hub, out: Path) -> Iterator[None]:
    """With `enabled`, record the hub's stacks with py-spy while the block runs, as collapsed stacks
    (one "frame;frame;… count" line per stack: grep it, or load it in speedscope or flamegraph.pl)."""
    spy = py_spy_available() if enabled else None
    if enabled and spy is None:
        log("py-spy is not installed (.venv/bin/pip install py-spy): no profile")
    if spy is None:
        yield
        return
    process = subprocess.Popen(
        [spy, "record", "--pid", str(hub.process.pid), "--subprocesses", "--format", "raw", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # py-spy attaches
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log(f"profile written to {out}")
