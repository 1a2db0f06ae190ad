"""Git's path patterns: which files `.gitattributes` sends to LFS, which `.gitignore` drops.

Expectations follow gitattributes(5) and gitignore(5), the rules a user's own `git` applies, and
the default `.gitattributes` every new repo starts with (specs/hf-protocol.md §4.2).
"""

from __future__ import annotations

import pytest

from commonshub.gitstore import default_gitattributes
from commonshub.uploads.patterns import compile_pattern, is_ignored, is_lfs

LFS_LINE = "filter=lfs diff=lfs merge=lfs -text"


def attributes(*patterns: str) -> str:
    return "".join(f"{p} {LFS_LINE}\n" for p in patterns)


# --- the default .gitattributes of new repos ---


@pytest.mark.parametrize("repo_type", ["model", "dataset", "space"])
@pytest.mark.parametrize(
    "path",
    [
        "model.bin",
        "pytorch_model.bin",
        "weights/shard-00001.bin",
        "lfs.pkl",
        "model.safetensors",
        "sub/dir/model-00001-of-00002.safetensors",
        "data/train-00000-of-00001.parquet",
        "model.gguf",
        "model.onnx",
        "checkpoint.pt",
        "archive.tar.gz",
        "archive.tar",
        "events.out.tfevents.1700000000.host",
        "saved_model/variables/variables.data-00000-of-00001",
    ],
)
def test_default_gitattributes_send_weights_and_archives_to_lfs(repo_type: str, path: str) -> None:
    assert is_lfs(default_gitattributes(repo_type).decode(), path)


@pytest.mark.parametrize("repo_type", ["model", "dataset", "space"])
@pytest.mark.parametrize(
    "path",
    [
        "README.md",
        "notes.txt",
        "config.json",
        "tokenizer.json",
        "data/train.csv",
        "data/train.jsonl",
        "app.py",
        ".gitattributes",
        "model.binary",  # `*.bin` is the whole suffix, not a prefix of it
        "bin",
        "MODEL.BIN",  # git patterns are case-sensitive
    ],
)
def test_default_gitattributes_keep_text_files_regular(repo_type: str, path: str) -> None:
    assert not is_lfs(default_gitattributes(repo_type).decode(), path)


@pytest.mark.parametrize("path", ["cat.png", "images/train/0001.png", "photo.jpg", "clip.wav", "movie.mp4"])
def test_images_audio_and_video_are_lfs_in_datasets_only(path: str) -> None:
    assert is_lfs(default_gitattributes("dataset").decode(), path)
    assert not is_lfs(default_gitattributes("model").decode(), path)
    assert not is_lfs(default_gitattributes("space").decode(), path)


def test_default_gitattributes_are_huggingface_format() -> None:
    for repo_type in ("model", "dataset", "space"):
        text = default_gitattributes(repo_type).decode()
        assert text.endswith("\n")
        rules = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert all(line.endswith(f" {LFS_LINE}") for line in rules), repo_type


# --- .gitattributes rules ---


def test_pattern_without_slash_matches_the_basename_at_any_depth() -> None:
    text = attributes("*.ckpt")
    assert is_lfs(text, "a.ckpt")
    assert is_lfs(text, "runs/1/a.ckpt")
    assert not is_lfs(text, "a.ckpt/readme.txt")


def test_pattern_with_a_slash_is_anchored_at_the_root() -> None:
    text = attributes("weights/*.npy")
    assert is_lfs(text, "weights/a.npy")
    assert not is_lfs(text, "other/weights/a.npy")
    assert not is_lfs(text, "weights/deeper/a.npy")  # `*` does not cross a slash


def test_leading_slash_anchors_a_plain_name() -> None:
    text = attributes("/big.dat")
    assert is_lfs(text, "big.dat")
    assert not is_lfs(text, "sub/big.dat")


def test_double_star_crosses_folders() -> None:
    text = attributes("data/**/*.arrow", "**/cache.db", "blobs/**")
    assert is_lfs(text, "data/x.arrow")
    assert is_lfs(text, "data/a/b/c/x.arrow")
    assert not is_lfs(text, "other/data/x.arrow")
    assert is_lfs(text, "cache.db")
    assert is_lfs(text, "deep/down/cache.db")
    assert is_lfs(text, "blobs/a")
    assert is_lfs(text, "blobs/a/b/c")
    assert not is_lfs(text, "blobs")


def test_question_mark_and_character_classes() -> None:
    text = attributes("shard-?.bin2", "part[0-9].dat", "x[!a].raw")
    assert is_lfs(text, "shard-1.bin2")
    assert not is_lfs(text, "shard-12.bin2")
    assert is_lfs(text, "part7.dat")
    assert not is_lfs(text, "partX.dat")
    assert is_lfs(text, "xb.raw")
    assert not is_lfs(text, "xa.raw")


def test_the_last_matching_line_wins() -> None:
    text = attributes("*.bin") + "small.bin -filter\n" + "keep/*.bin !filter\n"
    assert is_lfs(text, "model.bin")
    assert not is_lfs(text, "small.bin")
    assert not is_lfs(text, "sub/small.bin")
    assert not is_lfs(text, "keep/a.bin")
    assert is_lfs(text + attributes("keep/a.bin"), "keep/a.bin")


def test_other_filters_are_not_lfs() -> None:
    text = "*.bin filter=lfs\n*.bin filter=crypt\n"
    assert not is_lfs(text, "a.bin")


def test_comments_blank_lines_and_attributes_without_filter_are_ignored() -> None:
    text = "# *.txt filter=lfs\n\n   \n*.txt text eol=lf\n*.csv -text\n"
    assert not is_lfs(text, "a.txt")
    assert not is_lfs(text, "a.csv")


def test_quoted_pattern_with_a_space() -> None:
    text = '"my weights.bin" filter=lfs diff=lfs merge=lfs -text\n'
    assert is_lfs(text, "my weights.bin")
    assert is_lfs(text, "dir/my weights.bin")
    assert not is_lfs(text, "weights.bin")


def test_an_unbalanced_quote_is_skipped_not_fatal() -> None:
    text = '"broken filter=lfs\n*.bin filter=lfs\n'
    assert is_lfs(text, "a.bin")
    assert not is_lfs(text, '"broken')


def test_a_folder_pattern_never_matches_files_in_gitattributes() -> None:
    # gitattributes(5): patterns that match a folder do not apply to the files inside it.
    text = attributes("weights/")
    assert not is_lfs(text, "weights/a.bin")
    assert not is_lfs(text, "weights")


def test_crlf_gitattributes_written_on_windows() -> None:
    text = attributes("*.bin").replace("\n", "\r\n")
    assert is_lfs(text, "a.bin")


def test_empty_gitattributes_sends_nothing_to_lfs() -> None:
    assert not is_lfs("", "model.bin")


def test_special_characters_in_patterns_are_literal() -> None:
    text = attributes("v1.0+(final).bin", r"\#hash.bin")
    assert is_lfs(text, "v1.0+(final).bin")
    assert not is_lfs(text, "v1x0+(final).bin")  # `.` is a dot, not "any character"
    assert is_lfs(text, "#hash.bin")


# --- .gitignore rules ---


def test_ignore_basename_at_any_depth() -> None:
    assert is_ignored("*.log\n", "train.log")
    assert is_ignored("*.log\n", "runs/1/train.log")
    assert not is_ignored("*.log\n", "train.log.txt")


def test_ignore_anchored_pattern() -> None:
    assert is_ignored("/build\n", "build")
    assert is_ignored("/build\n", "build/out.bin")  # everything in an ignored folder
    assert not is_ignored("/build\n", "src/build")
    assert is_ignored("docs/*.tmp\n", "docs/a.tmp")
    assert not is_ignored("docs/*.tmp\n", "x/docs/a.tmp")


def test_ignore_folder_pattern_matches_folders_only() -> None:
    text = "checkpoints/\n"
    assert is_ignored(text, "checkpoints/step-1/model.bin")
    assert is_ignored(text, "runs/checkpoints/a.bin")  # no slash but the trailing one: any depth
    assert not is_ignored(text, "checkpoints")  # a file called checkpoints is kept


def test_ignore_double_star() -> None:
    text = "**/__pycache__\nlogs/**\n"
    assert is_ignored(text, "__pycache__/x.pyc")
    assert is_ignored(text, "a/b/__pycache__/x.pyc")
    assert is_ignored(text, "logs/a/b.txt")
    assert not is_ignored(text, "old/logs/a.txt")


def test_negation_re_includes_a_file() -> None:
    text = "*.json\n!config.json\n"
    assert is_ignored(text, "results.json")
    assert not is_ignored(text, "config.json")
    assert not is_ignored(text, "sub/config.json")


def test_negation_order_matters() -> None:
    assert is_ignored("!config.json\n*.json\n", "config.json")


def test_negation_cannot_re_include_a_file_inside_an_ignored_folder() -> None:
    # gitignore(5): "It is not possible to re-include a file if a parent directory is excluded."
    assert is_ignored("logs/\n!logs/keep.txt\n", "logs/keep.txt")
    # Ignoring the folder's contents, rather than the folder, leaves room to re-include.
    assert not is_ignored("logs/*\n!logs/keep.txt\n", "logs/keep.txt")
    assert is_ignored("logs/*\n!logs/keep.txt\n", "logs/other.txt")


def test_ignore_comments_blank_lines_and_escapes() -> None:
    text = "# a comment\n\n\\#literal\n\\!bang\n"
    assert not is_ignored(text, "# a comment")
    assert is_ignored(text, "#literal")
    assert is_ignored(text, "!bang")


def test_trailing_spaces_are_ignored() -> None:
    assert is_ignored("*.tmp   \n", "a.tmp")


def test_empty_gitignore_ignores_nothing() -> None:
    assert not is_ignored("", "anything")
    assert not is_ignored("\n# only a comment\n", "anything")


# --- compiled patterns ---


def test_compile_pattern_flags() -> None:
    plain = compile_pattern("*.bin")
    assert plain.basename_only and not plain.folder_only and not plain.negated
    anchored = compile_pattern("/a/b/")
    assert not anchored.basename_only and anchored.folder_only
    assert anchored.matches("a/b", is_folder=True)
    assert not anchored.matches("a/b")
    assert compile_pattern("!x").negated
