"""datasets against the hub: load_dataset on repos of CSV and Parquet files, and push_to_hub round trips.

Every load gets a fresh `cache_dir`, so the rows compared came from the hub, not from a cache.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import Dataset, DatasetDict, load_dataset
from datasets.exceptions import DatasetNotFoundError
from huggingface_hub import HfApi

from tests.compat.conftest import Client

pytestmark = pytest.mark.usefixtures("loopback_only")

TRAIN = [{"id": i, "text": f"train sentence {i}", "label": i % 3} for i in range(10)]
TEST = [{"id": 100 + i, "text": f"test sentence {i}", "label": i % 2} for i in range(4)]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def data_files(api: HfApi, repo_id: str) -> list[str]:
    return sorted(f for f in api.list_repo_files(repo_id, repo_type="dataset") if f.startswith("data/"))


def test_load_dataset_on_a_csv_repo_takes_splits_from_file_names(
    api: HfApi, repo_name: str, tmp_path: Path
) -> None:
    folder = tmp_path / "repo"
    write_csv(folder / "data" / "train-00000-of-00002.csv", TRAIN[:6])
    write_csv(folder / "data" / "train-00001-of-00002.csv", TRAIN[6:])
    write_csv(folder / "data" / "test-00000-of-00001.csv", TEST)
    api.create_repo(repo_name, repo_type="dataset")
    api.upload_folder(folder_path=folder, repo_id=repo_name, repo_type="dataset")

    loaded = load_dataset(repo_name, cache_dir=str(tmp_path / "cache"))
    assert isinstance(loaded, DatasetDict)
    assert sorted(loaded) == ["test", "train"]
    assert loaded["train"].to_list() == TRAIN
    assert loaded["test"].to_list() == TEST
    assert loaded["train"].features["id"].dtype == "int64"


def test_load_dataset_on_a_parquet_repo_in_memory_and_streaming(
    api: HfApi, repo_name: str, tmp_path: Path
) -> None:
    api.create_repo(repo_name, repo_type="dataset")
    shards = {
        "data/train-00000-of-00002.parquet": TRAIN[:5],
        "data/train-00001-of-00002.parquet": TRAIN[5:],
        "data/test-00000-of-00001.parquet": TEST,
    }
    for name, rows in shards.items():
        write_parquet(tmp_path / name, rows)
        api.upload_file(
            path_or_fileobj=tmp_path / name, path_in_repo=name, repo_id=repo_name, repo_type="dataset"
        )

    loaded = load_dataset(repo_name, cache_dir=str(tmp_path / "cache"))
    assert isinstance(loaded, DatasetDict)
    assert sorted(loaded) == ["test", "train"]
    assert loaded["train"].to_list() == TRAIN
    assert loaded["test"].to_list() == TEST

    # Streaming reads the Parquet files through HfFileSystem (ranged reads), nothing cached.
    streamed = load_dataset(repo_name, split="test", streaming=True, cache_dir=str(tmp_path / "stream"))
    assert list(streamed) == TEST
    only_test = load_dataset(repo_name, split="test", cache_dir=str(tmp_path / "cache-test"))
    assert only_test.num_rows == len(TEST)


def test_push_to_hub_then_load_dataset_round_trips_and_a_second_push_replaces_the_shards(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    first = DatasetDict({"train": Dataset.from_list(TRAIN), "test": Dataset.from_list(TEST)})
    first.push_to_hub(repo_name, token=owner.token)
    assert data_files(api, repo_name) == [
        "data/test-00000-of-00001.parquet",
        "data/train-00000-of-00001.parquet",
    ]
    # The shards went up through Xet (which `push_to_hub` cannot do without on huggingface.co).
    shards = api.get_paths_info(repo_name, data_files(api, repo_name), repo_type="dataset")
    assert all(shard.xet_hash for shard in shards)
    loaded = load_dataset(repo_name, cache_dir=str(tmp_path / "cache-1"))
    assert isinstance(loaded, DatasetDict)
    assert {split: loaded[split].to_list() for split in loaded} == {"train": TRAIN, "test": TEST}
    assert loaded["train"].features == first["train"].features

    new_train = [{"id": i, "text": f"revised {i}", "label": 0} for i in range(7)]
    new_test = [{"id": 200, "text": "revised test", "label": 1}]
    second = DatasetDict({"train": Dataset.from_list(new_train), "test": Dataset.from_list(new_test)})
    second.push_to_hub(repo_name, token=owner.token, num_shards={"train": 2})
    # The old train shard is gone: the new two-shard split does not mix with the first push's rows.
    assert data_files(api, repo_name) == [
        "data/test-00000-of-00001.parquet",
        "data/train-00000-of-00002.parquet",
        "data/train-00001-of-00002.parquet",
    ]
    reloaded = load_dataset(repo_name, cache_dir=str(tmp_path / "cache-2"))
    assert isinstance(reloaded, DatasetDict)
    assert {split: reloaded[split].to_list() for split in reloaded} == {"train": new_train, "test": new_test}


def test_a_private_dataset_loads_with_its_owners_token_only(
    api: HfApi, repo_name: str, owner: Client, other: Client, tmp_path: Path
) -> None:
    Dataset.from_list(TEST).push_to_hub(repo_name, token=owner.token, private=True)
    assert api.dataset_info(repo_name).private

    # Strangers first: datasets fetches README.md into the shared hub cache whatever `cache_dir` says,
    # and huggingface_hub answers from that cache when the hub refuses, as it would with huggingface.co.
    with pytest.raises(DatasetNotFoundError):
        load_dataset(repo_name, cache_dir=str(tmp_path / "anonymous"))
    with pytest.raises(DatasetNotFoundError):
        load_dataset(repo_name, token=other.token, cache_dir=str(tmp_path / "other"))
    loaded = load_dataset(repo_name, split="train", token=owner.token, cache_dir=str(tmp_path / "owner"))
    assert loaded.to_list() == TEST
