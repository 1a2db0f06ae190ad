"""Cards: README.md's YAML front matter as `cardData`, and the tags listing and search filter on."""

from __future__ import annotations

import json

import pytest

from commonshub.repos.cards import Card, CardError, derive, parse_card, parse_config

LIMIT = 1024 * 1024


def card(front_matter: str, body: str = "# A model\n", repo_type: str = "model") -> Card:
    return parse_card(f"---\n{front_matter}---\n{body}", repo_type, max_bytes=LIMIT)


# --- parse_card ---


def test_front_matter_becomes_card_data() -> None:
    parsed = card("license: mit\nlanguage:\n- en\n- fr\ntags: [vision, demo]\nlibrary_name: timm\n")
    assert parsed.has_metadata
    assert parsed.data == {
        "license": "mit",
        "language": ["en", "fr"],
        "tags": ["vision", "demo"],
        "library_name": "timm",
    }


def test_card_without_front_matter_has_no_metadata() -> None:
    parsed = parse_card("# Just a title\n\nSome text.\n", "model", max_bytes=LIMIT)
    assert parsed == Card(data={}, has_metadata=False)


def test_empty_front_matter() -> None:
    assert parse_card("---\n---\nbody", "model", max_bytes=LIMIT).data == {}


def test_windows_line_endings() -> None:
    text = "---\r\nlicense: apache-2.0\r\n---\r\n# Title\r\n"
    assert parse_card(text, "model", max_bytes=LIMIT).data == {"license": "apache-2.0"}


def test_front_matter_at_the_very_end_without_body() -> None:
    assert parse_card("---\nlicense: mit\n---", "model", max_bytes=LIMIT).data == {"license": "mit"}


def test_dates_become_iso_text() -> None:
    # YAML reads these as dates; the API sends JSON, where dates are strings.
    parsed = card("released: 2024-01-02\nupdated: 2024-01-02 10:30:00\n")
    assert parsed.data == {"released": "2024-01-02", "updated": "2024-01-02T10:30:00"}
    json.dumps(parsed.data, allow_nan=False)


def test_values_without_a_json_form_are_made_json() -> None:
    parsed = card("score: .nan\nbest: .inf\nworst: -.inf\nbin: !!binary aGVsbG8=\nset: !!set {a: null}\n")
    assert parsed.data == {"score": None, "best": None, "worst": None, "bin": "aGVsbG8=", "set": ["a"]}
    json.dumps(parsed.data, allow_nan=False)  # what PostgreSQL's JSON column accepts


def test_nested_non_string_keys_become_strings() -> None:
    assert card("scores:\n  1: 0.5\n  2: 0.7\n").data == {"scores": {"1": 0.5, "2": 0.7}}


@pytest.mark.parametrize(
    ("front_matter", "message"),
    [
        ("license: [mit\n", "Invalid metadata in README.md"),
        ("- a\n- b\n", "should be a dict"),
        ("just a string\n", "should be a dict"),
        ("2024: results\n", "every key must be a string"),
        ("true: yes\n", "every key must be a string"),
        ("x: !!python/object/apply:os.system [ls]\n", "Invalid metadata in README.md"),
        ("key: value\n\tbad: tab\n", "Invalid metadata in README.md"),
    ],
)
def test_invalid_metadata_is_a_card_error(front_matter: str, message: str) -> None:
    with pytest.raises(CardError, match=message) as info:
        card(front_matter)
    assert "\n" not in str(info.value)  # the message travels in a header: one line


def test_yaml_alias_bomb_is_refused_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    with pytest.raises(CardError, match="too many entries"):
        card("\n".join(lines) + "\n")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(CardError, match="nested too deeply"):
        card("x: " + "[" * 5000 + "]" * 5000 + "\n")


def test_a_card_larger_than_the_limit_is_refused() -> None:
    text = "---\nlicense: mit\n---\n" + "x" * 2000
    assert parse_card(text, "model", max_bytes=len(text)).data == {"license": "mit"}
    with pytest.raises(CardError, match="larger than 2000 bytes"):
        parse_card(text, "model", max_bytes=2000)


def test_the_size_limit_counts_bytes_not_characters() -> None:
    text = "---\nlicense: mit\n---\n" + "é" * 1000  # 2019 bytes of UTF-8, 1019 characters
    with pytest.raises(CardError, match="larger than"):
        parse_card(text, "model", max_bytes=1500)


def test_model_index_is_checked_on_models_only() -> None:
    with pytest.raises(CardError, match="model-index"):
        card("model-index: foo\n")
    with pytest.raises(CardError, match="model-index"):
        card("model-index:\n- results: []\n")  # every entry needs a name
    assert card("model-index: foo\n", repo_type="dataset").data == {"model-index": "foo"}


def test_valid_model_index() -> None:
    parsed = card(
        "model-index:\n"
        "- name: tiny\n"
        "  results:\n"
        "  - task: {type: text-classification}\n"
        "    dataset: {name: imdb, type: imdb}\n"
        "    metrics: [{type: accuracy, value: 0.9}]\n"
    )
    assert parsed.data["model-index"][0]["results"][0]["metrics"] == [{"type": "accuracy", "value": 0.9}]


# --- parse_config ---


def test_config_keeps_what_the_hub_shows() -> None:
    raw = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": 32,
        "task_specific_params": {"summarization": {"max_length": 20}},
    }
    assert parse_config(json.dumps(raw).encode()) == {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "task_specific_params": {"summarization": {"max_length": 20}},
    }


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_config_that_is_not_a_json_object_is_none(raw: bytes) -> None:
    assert parse_config(raw) is None


def test_config_ignores_malformed_task_params() -> None:
    assert parse_config(b'{"task_specific_params": 3}') == {}


# --- derive: tags, library and pipeline tag ---


def test_model_tags_from_card_files_and_config() -> None:
    derived = derive(
        "model",
        {
            "license": "mit",
            "language": ["en", "fr"],
            "datasets": "squad",
            "base_model": ["org/base"],
            "tags": ["demo"],
            "pipeline_tag": "text-classification",
        },
        ["config.json", "model.safetensors", "pytorch_model.bin", "model.gguf", "onnx/model.onnx"],
        {"model_type": "bert"},
    )
    assert derived.library_name == "transformers"
    assert derived.pipeline_tag == "text-classification"
    assert set(derived.tags) == {
        "transformers",
        "demo",
        "safetensors",
        "pytorch",
        "gguf",
        "onnx",
        "bert",
        "text-classification",
        "en",
        "fr",
        "dataset:squad",
        "base_model:org/base",
        "license:mit",
    }


def test_library_from_the_card_wins_over_files() -> None:
    derived = derive("model", {"library_name": "peft"}, ["config.json", "adapter_model.safetensors"], None)
    assert derived.library_name == "peft"
    assert "peft" in derived.tags and "transformers" not in derived.tags


def test_sentence_transformers_is_recognised_by_its_files() -> None:
    for marker in ("modules.json", "config_sentence_transformers.json"):
        derived = derive("model", {}, ["config.json", marker, "model.safetensors"], None)
        assert derived.library_name == "sentence-transformers"
        assert "transformers" not in derived.tags


def test_a_model_without_config_or_card_has_no_library() -> None:
    derived = derive("model", {}, [".gitattributes", "weights.npz"], None)
    assert derived.library_name is None and derived.pipeline_tag is None
    assert derived.tags == []


def test_file_markers_count_in_subfolders() -> None:
    assert "pytorch" in derive("model", {}, ["checkpoints/pytorch_model.bin"], None).tags
    assert "pytorch" in derive("model", {}, ["checkpoint.pth"], None).tags
    assert "safetensors" in derive("model", {}, ["a/b/model.safetensors"], None).tags


def test_no_duplicate_tags() -> None:
    derived = derive(
        "model",
        {"tags": ["transformers", "en", "en", "license:mit"], "language": "en", "license": "mit"},
        ["config.json"],
        None,
    )
    assert sorted(derived.tags) == sorted(set(derived.tags))
    assert derived.tags.count("transformers") == 1


def test_wrongly_typed_card_values_are_ignored() -> None:
    derived = derive(
        "model",
        {"license": 3, "tags": ["ok", 5, "", "  ", None], "library_name": ["x"], "pipeline_tag": {"a": 1}},
        [],
        None,
    )
    assert derived.tags == ["ok"]
    assert derived.library_name is None and derived.pipeline_tag is None


def test_several_licenses() -> None:
    tags = derive("model", {"license": ["mit", "apache-2.0"]}, [], None).tags
    assert {"license:mit", "license:apache-2.0"} <= set(tags)


def test_dataset_tags_use_prefixes_and_file_formats() -> None:
    derived = derive(
        "dataset",
        {
            "license": "cc-by-4.0",
            "language": "en",
            "task_categories": ["text-classification"],
            "task_ids": ["sentiment-classification"],
            "size_categories": "1K<n<10K",
            "multilinguality": "monolingual",
            "pipeline_tag": "ignored-for-datasets",
        },
        ["data/train-00000-of-00001.parquet", "extra/a.csv", "b.jsonl", "notes.txt", "README.md"],
        None,
    )
    assert set(derived.tags) == {
        "license:cc-by-4.0",
        "language:en",
        "task_categories:text-classification",
        "task_ids:sentiment-classification",
        "size_categories:1K<n<10K",
        "multilinguality:monolingual",
        "format:parquet",
        "format:csv",
        "format:json",
        "format:text",
    }
    assert derived.library_name is None


def test_json_and_jsonl_are_one_format() -> None:
    tags = derive("dataset", {}, ["a.json", "b.jsonl"], None).tags
    assert tags == ["format:json"]


def test_a_dataset_does_not_get_model_tags() -> None:
    files = ["model.safetensors", "pytorch_model.bin", "model.gguf"]
    tags = derive("dataset", {"base_model": "x/y", "datasets": "z"}, files, None).tags
    assert tags == []


def test_space_tags_are_its_sdk_and_license() -> None:
    derived = derive("space", {"sdk": "gradio", "license": "mit", "language": "en"}, ["app.py"], None)
    assert derived.tags == ["gradio", "license:mit"]


def test_space_sdk_falls_back_to_the_one_it_was_created_with() -> None:
    assert derive("space", {}, ["app.py"], None, sdk="docker").tags == ["docker"]
    assert derive("space", {"sdk": "streamlit"}, [], None, sdk="docker").tags == ["streamlit"]
    assert derive("space", {}, [], None).tags == []
