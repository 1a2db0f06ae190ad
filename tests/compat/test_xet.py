"""Xet with default clients (specs/xet-protocol.md): uploads and downloads through the hub's CAS,
with nothing configured. Every other compat test also runs through Xet now; these check that the
Xet path was really taken (the tree names each file's Xet hash, downloads go through `xet_get`),
and cover what only Xet has: sizes across chunk and xorb boundaries, the storage generation,
tokens scoped to one repo, and the LFS path kept for clients without Xet.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download, snapshot_download

from tests.compat.conftest import Client, LiveHub, start_server, stop_server
from tests.compat.test_hf_cli import hf
from tests.conftest import free_port

KiB = 1024
MiB = 1024 * KiB


def mixed_bytes(size: int, seed: int = 0) -> bytes:
    """Random runs and repeated runs, so chunks compress in all three ways (none, LZ4, BG4)."""
    rng = random.Random(seed)
    parts, total = [], 0
    while total < size:
        n = rng.randint(4 * KiB, 256 * KiB)
        kind = rng.randrange(3)
        if kind == 0:
            part = rng.randbytes(n)
        elif kind == 1:
            part = bytes([rng.randrange(256)]) * n
        else:  # float-like: low bytes vary, high bytes repeat (what BG4 is for)
            part = b"".join(rng.randbytes(2) + b"\x3f\x80" for _ in range(n // 4))
        parts.append(part)
        total += len(part)
    return b"".join(parts)[:size]


@pytest.fixture
def xet_downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Xet file hashes the client downloaded through Xet (a spy around the real `xet_get`)."""
    import huggingface_hub.file_download as file_download
    import huggingface_hub.hf_file_system as hf_file_system

    calls: list[str] = []
    real = file_download.xet_get

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["xet_file_data"].file_hash)
        return real(*args, **kwargs)

    monkeypatch.setattr(file_download, "xet_get", spy)
    monkeypatch.setattr(hf_file_system, "xet_get", spy)
    return calls


def xet_hashes(api: HfApi, repo: str, **kwargs: Any) -> dict[str, str | None]:
    """Each file's Xet hash as the tree lists it (None for files without one)."""
    out: dict[str, str | None] = {}
    for entry in api.list_repo_tree(repo, recursive=True, **kwargs):
        if getattr(entry, "lfs", None) is not None:
            out[entry.path] = getattr(entry, "xet_hash", None)
    return out


SIZES = [1, 7 * KiB, 8 * KiB + 1, 5 * MiB, 70 * MiB]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s}B")
def test_upload_file_and_download_through_xet(
    api: HfApi,
    repo_name: str,
    owner: Client,
    live_hub: LiveHub,
    tmp_path: Path,
    size: int,
    xet_downloads: list[str],
) -> None:
    api.create_repo(repo_name)
    data = mixed_bytes(size, seed=size)
    source = tmp_path / "weights.bin"
    source.write_bytes(data)
    api.upload_file(path_or_fileobj=str(source), path_in_repo="weights.bin", repo_id=repo_name)

    xet_hash = xet_hashes(api, repo_name)["weights.bin"]
    assert xet_hash is not None, "the upload did not go through Xet"
    path = hf_hub_download(repo_name, "weights.bin", cache_dir=tmp_path / "cache")
    assert Path(path).read_bytes() == data
    assert xet_downloads == [xet_hash]

    # Clients without Xet get the same bytes from /resolve, rebuilt from the chunks; Range too.
    url = f"{live_hub.url}/{repo_name}/resolve/main/weights.bin"
    headers = {"Authorization": f"Bearer {owner.token}"}
    head = httpx.head(url, headers=headers)
    assert head.headers["X-Xet-Hash"] == xet_hash
    assert head.headers["X-Linked-Size"] == str(size)
    assert 'rel="xet-auth"' in head.headers["Link"]
    assert httpx.get(url, headers=headers).content == data
    start, end = size // 3, size // 3 + min(size, 200 * KiB) - 1
    ranged = httpx.get(url, headers=headers | {"Range": f"bytes={start}-{end}"})
    assert ranged.status_code == 206
    assert ranged.content == data[start : end + 1]


def test_upload_folder_of_300_mb_and_snapshot_download(
    api: HfApi, repo_name: str, tmp_path: Path, xet_downloads: list[str]
) -> None:
    """The pipelined folder upload, with one file past several xorbs, then a whole snapshot."""
    folder = tmp_path / "model"
    (folder / "shards").mkdir(parents=True)
    files = {
        "model.safetensors": mixed_bytes(300 * 1000 * 1000, seed=1),
        "shards/part-1.bin": mixed_bytes(3 * MiB, seed=2),
        "shards/part-2.bin": mixed_bytes(12 * MiB, seed=3),
        "config.json": b'{"model_type": "none"}\n',
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    api.create_repo(repo_name)
    api.upload_folder(folder_path=folder, repo_id=repo_name)

    hashes = xet_hashes(api, repo_name)
    assert all(hashes[name] for name in files if name.endswith((".bin", ".safetensors")))
    local = Path(snapshot_download(repo_name, cache_dir=tmp_path / "cache"))
    for name, content in files.items():
        assert hashlib.sha256((local / name).read_bytes()).digest() == hashlib.sha256(content).digest(), name
    assert sorted(xet_downloads) == sorted(h for h in hashes.values() if h)


def test_hf_cli_upload_and_download(api: HfApi, repo_name: str, owner: Client, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    data = mixed_bytes(6 * MiB, seed=7)
    (source / "weights.bin").write_bytes(data)
    (source / "README.md").write_text("# model\n")
    api.create_repo(repo_name)
    hf("upload", repo_name, str(source), ".", token=owner.token)
    assert xet_hashes(api, repo_name)["weights.bin"] is not None

    out = tmp_path / "out"
    hf("download", repo_name, "--local-dir", str(out), token=owner.token)
    assert (out / "weights.bin").read_bytes() == data
    assert (out / "README.md").read_text() == "# model\n"


def test_hf_file_system_reads_through_xet(api: HfApi, repo_name: str, owner: Client) -> None:
    data = mixed_bytes(9 * MiB, seed=11)
    api.create_repo(repo_name)
    api.upload_file(path_or_fileobj=data, path_in_repo="w.bin", repo_id=repo_name)
    fs = HfFileSystem(token=owner.token, skip_instance_cache=True)
    info = fs.info(f"{repo_name}/w.bin")
    assert info["size"] == len(data)
    assert xet_hashes(api, repo_name)["w.bin"], "the upload did not go through Xet"
    with fs.open(f"{repo_name}/w.bin", "rb") as f:
        assert f.read(100) == data[:100]
        f.seek(5 * MiB + 3)
        assert f.read(70 * KiB) == data[5 * MiB + 3 : 5 * MiB + 3 + 70 * KiB]
        f.seek(len(data) - 10)
        assert f.read() == data[-10:]
    assert fs.cat_file(f"{repo_name}/w.bin", start=1000, end=2000) == data[1000:2000]
    assert fs.read_bytes(f"{repo_name}/w.bin") == data


def test_the_same_bytes_in_another_repo_are_stored_once(
    api: HfApi, owner: Client, live_hub: LiveHub, tmp_path: Path
) -> None:
    data = mixed_bytes(20 * MiB, seed=21)
    first, second = (f"{owner.name}/same-{os.urandom(4).hex()}" for _ in range(2))
    api.create_repo(first)
    api.upload_file(path_or_fileobj=data, path_in_repo="a.bin", repo_id=first)
    stored = xorb_bytes(live_hub)
    api.create_repo(second, private=True)
    api.upload_file(path_or_fileobj=data, path_in_repo="b.bin", repo_id=second)
    assert xorb_bytes(live_hub) == stored  # nothing new: the second upload only registered a shard
    assert xet_hashes(api, first)["a.bin"] == xet_hashes(api, second)["b.bin"]
    path = hf_hub_download(second, "b.bin", cache_dir=tmp_path / "cache", token=owner.token)
    assert Path(path).read_bytes() == data


def xorb_bytes(live_hub: LiveHub) -> int:
    return sum(p.stat().st_size for p in (live_hub.data_dir / "xorbs").rglob("*") if p.is_file())


def test_a_token_for_one_repo_reads_nothing_of_another(
    api: HfApi, repo_name: str, owner: Client, other: Client, live_hub: LiveHub
) -> None:
    """Xet hashes are global; access is per repo. `other`'s token for their own repo cannot
    rebuild a file of the owner's private repo, even knowing its hash."""
    api.create_repo(repo_name, private=True)
    secret = mixed_bytes(2 * MiB, seed=31)
    api.upload_file(path_or_fileobj=secret, path_in_repo="secret.bin", repo_id=repo_name)
    file_hash = xet_hashes(api, repo_name)["secret.bin"]

    mine = f"{other.name}/own-{os.urandom(4).hex()}"
    HfApi(token=other.token).create_repo(mine)
    token = httpx.get(
        f"{live_hub.url}/api/models/{mine}/xet-read-token/main",
        headers={"Authorization": f"Bearer {other.token}"},
    ).json()
    for version in ("v1", "v2"):
        answer = httpx.get(
            f"{token['casUrl']}/{version}/reconstructions/{file_hash}",
            headers={"Authorization": f"Bearer {token['accessToken']}", "Range": "bytes=0-99"},
        )
        assert answer.status_code == 404, answer.text
        assert answer.headers["X-Error-Code"] == "NotFound"
    # Nor can they get a token for the private repo itself.
    denied = httpx.get(
        f"{live_hub.url}/api/models/{repo_name}/xet-read-token/main",
        headers={"Authorization": f"Bearer {other.token}"},
    )
    assert denied.status_code == 404
    assert denied.headers["X-Error-Code"] == "RepoNotFound"


def run_client(script: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("HF_")} | env,
        timeout=300,
    )
    assert result.returncode == 0, f"client failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


UPLOAD = """
    import os, sys
    from huggingface_hub import HfApi
    api = HfApi()
    api.create_repo(os.environ["REPO"], exist_ok=True)
    api.upload_file(path_or_fileobj=os.environ["FILE"], path_in_repo=os.environ.get("PATH_IN_REPO", "w.bin"), repo_id=os.environ["REPO"])
"""


@pytest.fixture
def replaceable_hub() -> Iterator[dict[str, Any]]:
    port = free_port()
    state: dict[str, Any] = {"port": port, "servers": []}
    yield state
    for server in state["servers"]:
        if server.process.poll() is None:
            stop_server(server)


def test_a_warm_client_cache_survives_a_replaced_storage(
    replaceable_hub: dict[str, Any], tmp_path: Path
) -> None:
    """The client remembers which xorbs it uploaded, per CAS URL (spec §2.6). A hub whose storage
    was replaced by an empty one must not be reached at the old CAS URL, or every later upload of
    the same bytes would refer to xorbs that are gone."""
    port = replaceable_hub["port"]
    home = tmp_path / "hf-home"
    data = tmp_path / "w.bin"
    data.write_bytes(mixed_bytes(4 * MiB, seed=41))
    token = "hf_" + "a" * 34
    env = {
        "HF_ENDPOINT": f"http://127.0.0.1:{port}",
        "HF_HOME": str(home),
        "HF_TOKEN": token,
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "REPO": "keeper/model",
        "FILE": str(data),
    }
    for generation in ("first", "second"):
        server = start_server(tmp_path / generation, port, tmp_path / f"{generation}.log")
        replaceable_hub["servers"].append(server)
        server.cli("user", "create", "keeper", "--email", "keeper@example.org")
        server.cli("token", "create", "keeper", "--value", token)
        run_client(UPLOAD, env)
        assert list((tmp_path / generation / "xorbs").rglob("*")), "no xorb reached this hub"
        stop_server(server)
    assert (home / "xet").exists(), "the client kept no cache: the test would prove nothing"

    # And a client with an empty cache downloads from the second hub.
    server = start_server(tmp_path / "second", port, tmp_path / "second.log")
    replaceable_hub["servers"].append(server)
    fresh = env | {"HF_HOME": str(tmp_path / "fresh-home")}
    out = run_client(
        """
        import os
        from huggingface_hub import hf_hub_download
        print(hf_hub_download(os.environ["REPO"], "w.bin"))
        """,
        fresh,
    )
    assert Path(out.strip()).read_bytes() == data.read_bytes()


def test_clients_without_xet_still_upload_and_download_by_lfs(
    repo_name: str, owner: Client, live_hub: LiveHub, tmp_path: Path
) -> None:
    """HF_HUB_DISABLE_XET=1 (or a client without hf_xet): the Git LFS batch API, as before."""
    data = tmp_path / "w.bin"
    data.write_bytes(mixed_bytes(3 * MiB, seed=51))
    env = {
        "HF_ENDPOINT": live_hub.url,
        "HF_HOME": str(tmp_path / "home"),
        "HF_TOKEN": owner.token,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "REPO": repo_name,
        "FILE": str(data),
    }
    run_client(UPLOAD, env)
    api = HfApi(token=owner.token)
    assert xet_hashes(api, repo_name) == {"w.bin": None}
    head = httpx.head(
        f"{live_hub.url}/{repo_name}/resolve/main/w.bin", headers={"Authorization": f"Bearer {owner.token}"}
    )
    assert "X-Xet-Hash" not in head.headers
    # A default client (with Xet) downloads it too, over plain HTTP.
    path = hf_hub_download(repo_name, "w.bin", cache_dir=tmp_path / "cache")
    assert Path(path).read_bytes() == data.read_bytes()


def test_a_new_version_stores_only_what_changed(
    api: HfApi, owner: Client, live_hub: LiveHub, tmp_path: Path
) -> None:
    """Issue 3's dedup goal at test scale (bench/bench_xet.py measures it at 200 MB): a second
    version with 5 % of its bytes changed in place, in another repo, grows storage by ≤ 15 %. A
    client with an empty cache that uploads the first version again stores nothing new: the hub's
    global deduplication tells it which xorbs are already there."""
    size = 40 * 1000 * 1000
    first = os.urandom(size)
    second = bytearray(first)
    block = size // 200
    for i in range(10):  # ten blocks of 0.5 %, spread over the file
        start = i * (size // 10) + 12_345
        second[start : start + block] = os.urandom(block)
    repos = [f"{owner.name}/v-{os.urandom(4).hex()}" for _ in range(3)]
    for repo in repos:
        api.create_repo(repo)

    before = xorb_bytes(live_hub)
    api.upload_file(path_or_fileobj=first, path_in_repo="model.safetensors", repo_id=repos[0])
    first_stored = xorb_bytes(live_hub) - before
    assert first_stored >= size  # random bytes do not compress
    before = xorb_bytes(live_hub)
    api.upload_file(path_or_fileobj=bytes(second), path_in_repo="model.safetensors", repo_id=repos[1])
    assert xorb_bytes(live_hub) - before <= 0.15 * first_stored

    source = tmp_path / "first.bin"
    source.write_bytes(first)
    before = xorb_bytes(live_hub)
    env = {
        "HF_ENDPOINT": live_hub.url,
        "HF_HOME": str(tmp_path / "empty-home"),
        "HF_TOKEN": owner.token,
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "REPO": repos[2],
        "FILE": str(source),
        "PATH_IN_REPO": "model.safetensors",
    }
    run_client(UPLOAD, env)
    assert xorb_bytes(live_hub) == before
    for repo, content in zip(repos, (first, bytes(second), first), strict=True):
        got = hf_hub_download(repo, "model.safetensors", cache_dir=tmp_path / "cache", token=owner.token)
        assert hashlib.sha256(Path(got).read_bytes()).digest() == hashlib.sha256(content).digest()

    # The second version is built from ranges of the first's xorbs with gaps between them: with
    # multi-range fetching on, the client asks for several ranges in one request and reads the
    # hub's multipart/byteranges answer.
    out = run_client(
        """
        import os
        from huggingface_hub import hf_hub_download
        print(hf_hub_download(os.environ["REPO"], "model.safetensors"))
        """,
        env
        | {
            "REPO": repos[1],
            "HF_HOME": str(tmp_path / "multirange-home"),
            "HF_XET_CLIENT_ENABLE_MULTIRANGE_FETCHING": "1",
        },
    )
    assert hashlib.sha256(Path(out.strip()).read_bytes()).digest() == hashlib.sha256(second).digest()


def test_concurrent_uploads_of_the_same_bytes_all_land_and_store_them_once(
    owner: Client, live_hub: LiveHub, tmp_path: Path
) -> None:
    """Four clients, each with its own cache, upload the same new file to four repos at once:
    the same xorbs arrive concurrently. Every commit lands, every repo serves the bytes, and the
    hub keeps one copy."""
    data = tmp_path / "same.bin"
    data.write_bytes(os.urandom(24 * MiB))  # incompressible: one copy takes its size
    repos = [f"{owner.name}/race-{os.urandom(4).hex()}" for _ in range(4)]
    before = xorb_bytes(live_hub)
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(UPLOAD)],
            env={k: v for k, v in os.environ.items() if not k.startswith("HF_")}
            | {
                "HF_ENDPOINT": live_hub.url,
                "HF_HOME": str(tmp_path / f"home-{i}"),
                "HF_TOKEN": owner.token,
                "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                "REPO": repo,
                "FILE": str(data),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i, repo in enumerate(repos)
    ]
    for client in clients:
        out, _ = client.communicate(timeout=300)
        assert client.returncode == 0, out.decode()
    stored = xorb_bytes(live_hub) - before
    assert 24 * MiB <= stored < 25 * MiB  # one copy, plus chunk headers
    api = HfApi(token=owner.token)
    hashes = {xet_hashes(api, repo)["w.bin"] for repo in repos}
    assert len(hashes) == 1 and None not in hashes
    for repo in repos:
        got = hf_hub_download(repo, "w.bin", cache_dir=tmp_path / "cache", token=owner.token)
        assert Path(got).read_bytes() == data.read_bytes()


def test_copy_a_file_from_another_repo(
    api: HfApi, owner: Client, other: Client, live_hub: LiveHub, tmp_path: Path
) -> None:
    """`CommitOperationCopy` with `src_repo_id`: the client asks the source repo to duplicate its
    LFS files into the target (`lfs-files/duplicate`, which needs their Xet hashes), then commits.
    No byte moves; the target holds the file as if uploaded to it."""
    from huggingface_hub import CommitOperationCopy
    from huggingface_hub.errors import HfHubHTTPError

    data = mixed_bytes(3 * MiB, seed=71)
    source, target = (f"{owner.name}/copy-{os.urandom(4).hex()}" for _ in range(2))
    api.create_repo(source, private=True)
    api.create_repo(target)
    api.upload_file(path_or_fileobj=data, path_in_repo="weights.bin", repo_id=source)
    before = xorb_bytes(live_hub)
    copy = CommitOperationCopy(
        src_path_in_repo="weights.bin",
        path_in_repo="copied/weights.bin",
        src_repo_id=source,
        src_repo_type="model",
    )
    api.create_commit(target, operations=[copy], commit_message="copy from the private repo")
    assert xorb_bytes(live_hub) == before
    assert xet_hashes(api, target)["copied/weights.bin"] == xet_hashes(api, source)["weights.bin"]
    got = hf_hub_download(target, "copied/weights.bin", cache_dir=tmp_path / "cache")
    assert Path(got).read_bytes() == data

    # Someone who cannot read the source cannot copy from it, even into their own repo.
    theirs = f"{other.name}/copy-{os.urandom(4).hex()}"
    their_api = HfApi(token=other.token)
    their_api.create_repo(theirs)
    with pytest.raises(HfHubHTTPError) as refused:
        their_api.create_commit(theirs, operations=[copy], commit_message="steal")
    assert refused.value.response.status_code == 404
    # Nor into a repo they cannot write, from a source they can read (both public).
    third = f"{owner.name}/copy-{os.urandom(4).hex()}"
    api.create_repo(third)
    from_public = CommitOperationCopy(
        src_path_in_repo="copied/weights.bin", path_in_repo="w.bin", src_repo_id=target, src_repo_type="model"
    )
    with pytest.raises(HfHubHTTPError) as refused:
        their_api.create_commit(third, operations=[from_public], commit_message="not theirs")
    assert refused.value.response.status_code == 403
    assert "copied/weights.bin" not in api.list_repo_files(third) and "w.bin" not in api.list_repo_files(
        third
    )
