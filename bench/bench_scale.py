"""The hub with 100,000 repos in SQLite (issue 2, "Speed"): latencies against fixed limits.

- `model_info` p50 < 2 ms, `list_models(search=…, limit=100)` p50 < 10 ms: measured through HTTP
  from a warm keep-alive client (httpx), as the round trip of the same requests huggingface_hub
  sends (GET /api/models/{id}; GET /api/models?search=…&limit=100).
- one commit of 1,000 small files < 3 s, through the real HTTP API (HfApi.create_commit: preupload,
  then the NDJSON commit), timed from the call to its return.

The database is populated fast: 100,000 repos with their accounts, tags and files are
bulk-inserted with SQLAlchemy into the hub's own schema (the listing reads nothing else; these
repos have no git repositories). The repos that `model_info` and the commit use are real ones,
created through the API. The baseline of each figure is its limit, so ratio = limit / ours.

Run: .venv/bin/python bench/bench_scale.py [--repos 100000] [--samples 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from common import (
    Figure,
    KiB,
    base_arguments,
    create_user,
    log,
    maybe_profile,
    median,
    percentile,
    report,
    running_hub,
    spread,
    workdir,
)
from sqlalchemy import create_engine, event, insert, text

# Repo names are "<family>-<variant>-<n>": searching a family finds a known share of the repos.
FAMILIES = [
    "bert",
    "roberta",
    "gpt2",
    "llama",
    "mistral",
    "qwen",
    "t5",
    "whisper",
    "vit",
    "resnet",
    "clip",
    "distilbert",
    "deberta",
    "bloom",
    "falcon",
    "phi",
    "gemma",
    "stablelm",
    "electra",
    "wav2vec2",
]
# A family rare enough (1 in 1000 repos) that a search for it walks the whole table.
RARE = "zephyrine"
VARIANTS = ["base", "large", "small", "tiny", "finetuned", "instruct", "chat", "lora", "squad", "imdb"]
LIBRARIES = ["transformers", "sentence-transformers", "diffusers", "timm", "peft", "gguf"]
PIPELINES = [
    "text-generation",
    "text-classification",
    "fill-mask",
    "automatic-speech-recognition",
    "image-classification",
    "feature-extraction",
]
LICENSES = ["mit", "apache-2.0", "cc-by-4.0", "openrail", "llama3"]
REPOS_PER_ACCOUNT = 100
INFO_REPOS = 5


def main() -> None:
    parser = base_arguments(__doc__ or "")
    parser.add_argument("--repos", type=int, default=100_000, help="Repos in the database (default 100,000).")
    parser.add_argument("--samples", type=int, default=1000, help="Timed requests per latency figure.")
    parser.add_argument("--commit-files", type=int, default=1000, help="Files in the timed commit.")
    parser.add_argument("--commit-runs", type=int, default=3, help="Timed commits (median reported).")
    parser.add_argument("--profile", type=Path, help="Record py-spy profiles of extra rounds here.")
    args = parser.parse_args()
    with workdir(args) as work:
        figures = run(args, work)
    report(figures, args.json)


def run(args: argparse.Namespace, work: Path) -> list[Figure]:
    data_dir = work / "hub-data"
    token = create_user(data_dir, "bench")  # the CLI creates and migrates the database
    started = time.perf_counter()
    expected = populate(data_dir / "hub.db", args.repos)
    log(f"bulk-inserted {args.repos:,} repos in {time.perf_counter() - started:.1f} s")

    from huggingface_hub import CommitOperationAdd, HfApi

    figures = []
    with running_hub(data_dir, workers=args.hub_workers) as hub:
        api = HfApi(endpoint=hub.url, token=token)
        info_repos = [make_real_repo(api, f"bench/info-{i}") for i in range(INFO_REPOS)]

        with httpx.Client(base_url=hub.url, timeout=60) as client:
            auth = {"Authorization": f"Bearer {token}"}
            # The floor: a route that touches no database, through the same stack and client.
            floor = median(latencies(client, ["/api/agent-harnesses"], {}, args.samples, check=ignore))
            floor_note = f"; floor (GET /api/agent-harnesses, no database) p50 {floor:.2f} ms"
            # model_info: the real repos, round-robin.
            info_paths = [f"/api/models/{repo}" for repo in info_repos]
            for label, headers in (("with a token", auth), ("anonymous", {})):
                times = latencies(client, info_paths, headers, args.samples, check=check_info)
                figures.append(latency_figure(f"model_info p50, {label}", times, 2, floor_note))

            # list_models(search=…, limit=100), as HfApi sends it.
            for term, label in ((FAMILIES[3], "common term"), (RARE, "rare term")):
                path = f"/api/models?search={term}&limit=100"
                want = min(100, expected[term])

                def check_list(response: httpx.Response, want: int = want) -> None:
                    found = len(response.json())
                    if found != want:
                        raise RuntimeError(f"the search found {found} repos, not {want}")

                times = latencies(client, [path], auth, args.samples, check=check_list)
                figures.append(
                    latency_figure(
                        f"list_models(search={term!r}, limit=100) p50, {label} "
                        f"({expected[term]:,} of {args.repos:,} match)",
                        times,
                        10,
                        floor_note,
                    )
                )

        # One commit of 1,000 small files, through the client's own create_commit.
        api.create_repo("bench/commit-target")
        durations = []
        for run_number in range(args.commit_runs):
            operations = [
                CommitOperationAdd(
                    path_or_fileobj=f"run {run_number} file {i} {secrets.token_hex(16)}\n".encode(),
                    path_in_repo=f"run-{run_number}/file-{i:05d}.txt",
                )
                for i in range(args.commit_files)
            ]
            start = time.perf_counter()
            api.create_commit("bench/commit-target", operations, commit_message=f"run {run_number}")
            durations.append(time.perf_counter() - start)
            log(f"commit {run_number + 1}/{args.commit_runs}: {durations[-1]:.2f} s")
        files = api.list_repo_files("bench/commit-target")
        if len(files) != args.commit_runs * args.commit_files + 1:  # + .gitattributes
            raise RuntimeError(f"the repo has {len(files)} files after the commits")
        figures.append(
            Figure(
                name=f"one commit of {args.commit_files:,} small files (HfApi.create_commit)",
                ours=median(durations),
                baseline=3.0,
                unit="s",
                goal=1.0,
                higher_is_better=False,
                baseline_label="the limit",
                detail=spread(durations, "s"),
            )
        )

        if args.profile:
            profile(args, hub, info_repos, token)
        hub.check_log()
    return figures


def latencies(
    client: httpx.Client,
    paths: list[str],
    headers: dict[str, str],
    samples: int,
    *,
    check: Any,
) -> list[float]:
    """Round-trip milliseconds of `samples` GETs over one warm keep-alive connection."""
    for path in paths:
        response = client.get(path, headers=headers)
        response.raise_for_status()
        check(response)
    for i in range(max(50, samples // 10)):  # warm-up: connection, caches, first-use imports
        client.get(paths[i % len(paths)], headers=headers)
    times = []
    for i in range(samples):
        path = paths[i % len(paths)]
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
        if times[-1] > 1000:  # rare on a quiet machine; worth knowing when it happens
            log(f"warning: GET {path} took {times[-1]:.0f} ms (request {i + 1} of {samples})")
    return times


def ignore(response: httpx.Response) -> None:
    pass


def latency_figure(name: str, times: list[float], limit_ms: float, note: str) -> Figure:
    return Figure(
        name=name,
        ours=median(times),
        baseline=limit_ms,
        unit="ms",
        goal=1.0,
        higher_is_better=False,
        baseline_label="the limit",
        detail=(
            f"{len(times)} requests: p50 {median(times):.2f}, p90 {percentile(times, 90):.2f}, "
            f"p99 {percentile(times, 99):.2f}, max {max(times):.2f} ms{note}"
        ),
    )


def check_info(response: httpx.Response) -> None:
    info = response.json()
    if not info.get("sha") or len(info.get("siblings", [])) < 4 or "license:mit" not in info.get("tags", []):
        raise RuntimeError(f"model_info is missing what was committed: {info}")


def make_real_repo(api: Any, repo_id: str) -> str:
    """A model repo created through the API, with a card, a config and an LFS weights file."""
    from huggingface_hub import CommitOperationAdd

    api.create_repo(repo_id)
    card = (
        "---\nlicense: mit\nlibrary_name: transformers\npipeline_tag: text-classification\n"
        "tags:\n- benchmark\nlanguage:\n- en\n---\n# A benchmark model\n"
    )
    config = {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "hidden_size": 32}
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd(path_or_fileobj=card.encode(), path_in_repo="README.md"),
            CommitOperationAdd(path_or_fileobj=json.dumps(config).encode(), path_in_repo="config.json"),
            CommitOperationAdd(path_or_fileobj=random.randbytes(64 * KiB), path_in_repo="model.safetensors"),
        ],
        commit_message="Add the model",
    )
    return repo_id


def populate(db_path: Path, count: int) -> dict[str, int]:
    """Bulk-insert `count` public-ish model repos with accounts, tags and files, in the hub's schema.

    Returns, for each searchable family, how many public repos have it in their name.
    """
    from commonshub.models import Account, Repo, RepoFile, RepoTag

    rng = random.Random(2)
    engine = create_engine(f"sqlite:///{db_path}")

    @event.listens_for(engine, "connect")
    def _fast(dbapi_connection: Any, _record: Any) -> None:
        # A one-off load: if it crashes, the benchmark starts over from an empty directory.
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    now = datetime.now(UTC)
    expected = dict.fromkeys([*FAMILIES, RARE], 0)
    with engine.begin() as conn:
        first_account = (conn.execute(text("SELECT coalesce(max(id), 0) FROM accounts")).scalar() or 0) + 1
        first_repo = (conn.execute(text("SELECT coalesce(max(id), 0) FROM repos")).scalar() or 0) + 1
        accounts = []
        for i in range((count + REPOS_PER_ACCOUNT - 1) // REPOS_PER_ACCOUNT):
            name = f"user{i:05d}"
            accounts.append(
                {
                    "id": first_account + i,
                    "uid": secrets.token_hex(12),
                    "kind": "user",
                    "name": name,
                    "name_key": name,
                    "fullname": f"User {i}",
                    "email": f"{name}@example.org",
                    "is_admin": False,
                    "created_at": now,
                }
            )
        conn.execute(insert(Account.__table__), accounts)

        repos: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        for i in range(count):
            repo_id = first_repo + i
            account = accounts[i // REPOS_PER_ACCOUNT]
            family = RARE if i % 1000 == 999 else rng.choice(FAMILIES)
            name = f"{family}-{rng.choice(VARIANTS)}-{i}"
            private = rng.random() < 0.01
            if not private:
                expected[family] += 1
            library, pipeline, license_ = rng.choice(LIBRARIES), rng.choice(PIPELINES), rng.choice(LICENSES)
            created = now - timedelta(days=rng.uniform(0, 1000))
            downloads = int(rng.paretovariate(1.2) * 10)
            repos.append(
                {
                    "id": repo_id,
                    "uid": secrets.token_hex(12),
                    "type": "model",
                    "namespace_id": account["id"],
                    "name": name,
                    "key": f"{account['name_key']}/{name}",
                    "private": private,
                    "gated": None,
                    "disabled": False,
                    "sdk": None,
                    "created_by_id": account["id"],
                    "created_at": created,
                    "last_modified": created + timedelta(days=rng.uniform(0, 30)),
                    "head_sha": secrets.token_hex(20),
                    "card_data": {"license": license_, "library_name": library, "pipeline_tag": pipeline},
                    "config": {"architectures": ["AutoModel"], "model_type": family},
                    "library_name": library,
                    "pipeline_tag": pipeline,
                    "downloads": downloads,
                    "downloads_all_time": downloads * 3,
                    "trending_score": int(downloads * rng.random()),
                    "likes": int(rng.paretovariate(1.5)) - 1,
                    "used_storage": 500_000_000,
                    "discussion_count": 0,
                }
            )
            tag_set = {library, pipeline, f"license:{license_}", "safetensors", "en", f"model_type:{family}"}
            tags += [{"repo_id": repo_id, "tag": tag} for tag in tag_set]
            for path, size, lfs in (
                (".gitattributes", 1519, False),
                ("README.md", 2048, False),
                ("config.json", 700, False),
                ("model.safetensors", 440_000_000, True),
            ):
                files.append(
                    {
                        "repo_id": repo_id,
                        "path": path,
                        "size": 135 if lfs else size,
                        "blob_id": secrets.token_hex(20),
                        "lfs_oid": secrets.token_hex(32) if lfs else None,
                        "lfs_size": size if lfs else None,
                    }
                )
            if len(repos) >= 10_000 or i == count - 1:
                conn.execute(insert(Repo.__table__), repos)
                conn.execute(insert(RepoTag.__table__), tags)
                conn.execute(insert(RepoFile.__table__), files)
                repos, tags, files = [], [], []
    engine.dispose()
    return expected


def profile(args: argparse.Namespace, hub: Any, info_repos: list[str], token: str) -> None:
    """py-spy profiles of extra rounds (not counted): py-spy slows what it watches."""
    from huggingface_hub import CommitOperationAdd, HfApi

    args.profile.mkdir(parents=True, exist_ok=True)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=hub.url, timeout=60) as client:
        with maybe_profile(True, hub, args.profile / "model-info.txt"):
            for i in range(3000):
                client.get(f"/api/models/{info_repos[i % len(info_repos)]}", headers=auth)
        with maybe_profile(True, hub, args.profile / "list-models-rare.txt"):
            for _ in range(300):
                client.get(f"/api/models?search={RARE}&limit=100", headers=auth)
    api = HfApi(endpoint=hub.url, token=token)
    operations = [
        CommitOperationAdd(path_or_fileobj=f"profile {i}\n".encode(), path_in_repo=f"profile/{i:05d}.txt")
        for i in range(args.commit_files)
    ]
    with maybe_profile(True, hub, args.profile / "commit.txt"):
        api.create_commit("bench/commit-target", operations, commit_message="profile")


if __name__ == "__main__":
    main()
