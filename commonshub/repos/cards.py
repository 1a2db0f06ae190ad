"""Model, dataset and Space cards: README.md's YAML front matter, and the tags it implies.

Parsing uses huggingface_hub's own card code, so the hub and the client agree on what a card
says. Pure functions: text in, data out.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml
from huggingface_hub import RepoCard
from huggingface_hub.repocard import REGEX_YAML_BLOCK
from huggingface_hub.repocard_data import model_index_to_eval_results

# cardData is sent as JSON in every listing; a YAML alias bomb would expand exponentially there.
MAX_NODES = 100_000
# JSON encoders stop at a few hundred levels (orjson: 255); a card nested deeper could be stored
# but never shown. Real cards (model-index included) nest a handful of levels.
MAX_DEPTH = 64
MISSING_METADATA = "Empty or missing yaml metadata in repo card"


class CardError(ValueError):
    """The card's metadata is invalid; the message says why, for the user."""


@dataclass(frozen=True)
class Card:
    data: dict[str, Any]
    has_metadata: bool


@dataclass(frozen=True)
class Derived:
    tags: list[str]
    library_name: str | None
    pipeline_tag: str | None


def parse_card(text: str, repo_type: str, *, max_bytes: int) -> Card:
    """The metadata of a README.md; raises CardError if it is invalid or too large."""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise CardError(f"README.md is larger than {max_bytes} bytes; its metadata cannot be read")
    if REGEX_YAML_BLOCK.search(text) is None:
        return Card(data={}, has_metadata=False)
    try:
        data: dict[str, Any] = RepoCard(text).data.to_dict()  # type: ignore[no-untyped-call]
    except (ValueError, yaml.YAMLError) as exc:
        raise CardError(f"Invalid metadata in README.md: {_one_line(exc)}") from exc
    except TypeError as exc:  # a key that is not a string (`2024: results`) cannot be a card field
        raise CardError("Invalid metadata in README.md: every key must be a string") from exc
    except RecursionError as exc:
        raise CardError("Invalid metadata in README.md: nested too deeply") from exc
    data = _jsonable(data, [MAX_NODES])
    if repo_type == "model" and "model-index" in data:
        try:
            model_index_to_eval_results(data["model-index"])
        except Exception as exc:  # the client's parser raises any of several types
            raise CardError(f"Invalid `model-index` in metadata: {_one_line(exc)}") from exc
    return Card(data=data, has_metadata=True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _check_text(text: str) -> str:
    """Text as it may be stored and sent: YAML's escapes allow what the database and JSON refuse."""
    if "\x00" in text:  # PostgreSQL refuses NUL in text
        raise CardError("Invalid metadata in README.md: it contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # "\ud800": a lone surrogate is no character at all
        raise CardError("Invalid metadata in README.md: it contains an unpaired surrogate") from exc
    return text


def _jsonable(value: Any, budget: list[int], depth: int = 0) -> Any:
    """The value with YAML-only types made JSON (dates as ISO text); raises past MAX_NODES."""
    budget[0] -= 1
    if budget[0] < 0:
        raise CardError("Invalid metadata in README.md: it has too many entries")
    if depth > MAX_DEPTH:
        raise CardError("Invalid metadata in README.md: nested too deeply")
    if isinstance(value, str):
        _check_text(value)
    if isinstance(value, dict):
        return {_check_text(str(k)): _jsonable(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v, budget, depth + 1) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return str(value)  # JSON encoders (orjson) stop at 64 bits; the digits survive as text
    if isinstance(value, float) and not math.isfinite(value):
        return None  # `.nan`/`.inf` have no JSON form (PostgreSQL refuses them); the Hub sends null
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def parse_config(text: bytes) -> dict[str, Any] | None:
    """The subset of a model's config.json that the Hub shows as `config`."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(raw, dict):
        return None
    config = {k: raw[k] for k in ("architectures", "model_type") if k in raw}
    if isinstance(raw.get("task_specific_params"), dict):
        config["task_specific_params"] = raw["task_specific_params"]
    try:
        # Any JSON may arrive; what is kept must be sendable and storable as JSON (depth, NaN, NUL).
        jsonable: dict[str, Any] = _jsonable(config, [MAX_NODES])
    except CardError:
        return None
    return jsonable


def derive(
    repo_type: str,
    card: dict[str, Any],
    paths: list[str],
    config: dict[str, Any] | None,
    *,
    sdk: str | None = None,
) -> Derived:
    """Tags, library and pipeline tag, from the card, the file names and config.json.

    A Space's `sdk` comes from its card, or else from the one it was created with.
    """
    tags: list[str] = []

    def add(tag: str) -> None:
        if tag and tag not in tags:
            tags.append(tag)

    names = {p.rsplit("/", 1)[-1] for p in paths}
    library = card.get("library_name") if isinstance(card.get("library_name"), str) else None
    if repo_type == "model" and library is None:
        if names & {"modules.json", "config_sentence_transformers.json"}:
            library = "sentence-transformers"
        elif "config.json" in names:
            library = "transformers"
    pipeline = card.get("pipeline_tag") if isinstance(card.get("pipeline_tag"), str) else None

    if library:
        add(library)
    for tag in _strings(card.get("tags")):
        add(tag)
    if repo_type == "model":
        if any(n.endswith(".safetensors") for n in names):
            add("safetensors")
        if names & {"pytorch_model.bin"} or any(n.endswith((".pt", ".pth")) for n in names):
            add("pytorch")
        if any(n.endswith(".gguf") for n in names):
            add("gguf")
        if any(n.endswith(".onnx") for n in names):
            add("onnx")
        if config and isinstance(config.get("model_type"), str):
            add(config["model_type"])
        if pipeline:
            add(pipeline)
        for language in _strings(card.get("language")):
            add(language)
        for dataset in _strings(card.get("datasets")):
            add(f"dataset:{dataset}")
        for base in _strings(card.get("base_model")):
            add(f"base_model:{base}")
    elif repo_type == "dataset":
        for key in ("task_categories", "task_ids", "size_categories", "language", "multilinguality"):
            for value in _strings(card.get(key)):
                add(f"{key}:{value}")
        formats = {n.rsplit(".", 1)[-1] for n in names if "." in n}
        for fmt in ("parquet", "csv", "json", "jsonl", "arrow", "text"):
            if fmt in formats or (fmt == "text" and "txt" in formats):
                add(f"format:{'json' if fmt == 'jsonl' else fmt}")
    elif repo_type == "space":
        card_sdk = card.get("sdk")
        add(card_sdk if isinstance(card_sdk, str) else sdk or "")
    for license_ in _strings(card.get("license")):
        add(f"license:{license_}")
    return Derived(tags=tags, library_name=library, pipeline_tag=pipeline)
