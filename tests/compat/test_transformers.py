"""transformers against the hub: push a tiny model built here, load it back by repo id, same outputs.

Every load uses a fresh cache directory, so what is compared came through HF_ENDPOINT, not from a
cache. The models are built from configs with a seeded torch: no weights are fetched from anywhere.
"""

from __future__ import annotations

import string
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoTokenizer,
    BertConfig,
    BertModel,
    BertTokenizerFast,
    GPT2Config,
    GPT2LMHeadModel,
)

from tests.compat.conftest import Client

pytestmark = pytest.mark.usefixtures("loopback_only")

TEXT = "the hub serves models to everyone, and everyone may share theirs."

_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORD_LIST = (
    "the hub serves models to everyone and may share theirs a an of in on for with by from at "
    "community data set sets model train test split token tokens weight weights layer layers "
    "open source free people use build learn vote decide commit branch tag revision file files"
)
_WORDS = _WORD_LIST.split()


_CHARS = list(string.ascii_lowercase + string.digits + string.punctuation)
_SYLLABLES = [c + v for c in "bcdfghklmnprstvw" for v in "aeiou"]
# A WordPiece vocabulary of a few hundred entries: specials, characters, suffixes, words, syllables.
VOCAB = list(
    dict.fromkeys(
        [
            *_SPECIALS,
            *_CHARS,
            *(f"##{c}" for c in string.ascii_lowercase + string.digits),
            *(f"##{s}" for s in ["s", "ing", "ed", *_SYLLABLES]),
            *_WORDS,
            *_SYLLABLES,
        ]
    )
)
VOCAB_SIZE = len(VOCAB)


def write_vocab(directory: Path) -> Path:
    path = directory / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n")
    return path


def tiny_bert(vocab_size: int, seed: int) -> BertModel:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    return BertModel(config).eval()


def hidden_states(model: torch.nn.Module, tokenizer: BertTokenizerFast) -> torch.Tensor:
    with torch.no_grad():
        return model(**tokenizer(TEXT, return_tensors="pt")).last_hidden_state


@dataclass
class Pushed:
    repo_id: str
    tokenizer: BertTokenizerFast
    model: BertModel
    outputs: torch.Tensor


@pytest.fixture(scope="module")
def pushed(owner: Client, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    """A tiny BERT and its tokenizer, pushed once with transformers' own `push_to_hub`."""
    repo_id = f"{owner.name}/tiny-bert-{uuid.uuid4().hex[:8]}"
    tokenizer = BertTokenizerFast(vocab=str(write_vocab(tmp_path_factory.mktemp("vocab"))))
    model = tiny_bert(VOCAB_SIZE, seed=0)
    model.push_to_hub(repo_id, token=owner.token)
    tokenizer.push_to_hub(repo_id, token=owner.token)
    return Pushed(repo_id, tokenizer, model, hidden_states(model, tokenizer))


def test_auto_classes_load_the_pushed_model_by_repo_id(pushed: Pushed, tmp_path: Path) -> None:
    files = set(HfApi().list_repo_files(pushed.repo_id))
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= files
    # The weights went up through Xet, as on huggingface.co (paths-info names their Xet file).
    [weights] = HfApi().get_paths_info(pushed.repo_id, ["model.safetensors"])
    assert weights.xet_hash

    cache = tmp_path / "cache"
    config = AutoConfig.from_pretrained(pushed.repo_id, cache_dir=cache)
    assert (config.model_type, config.hidden_size, config.num_hidden_layers) == ("bert", 32, 2)
    assert config.vocab_size == len(pushed.tokenizer) == VOCAB_SIZE

    tokenizer = AutoTokenizer.from_pretrained(pushed.repo_id, cache_dir=cache)
    assert tokenizer.tokenize(TEXT) == pushed.tokenizer.tokenize(TEXT)
    assert tokenizer(TEXT).input_ids == pushed.tokenizer(TEXT).input_ids
    assert "[UNK]" not in tokenizer.tokenize(TEXT)

    model = AutoModel.from_pretrained(pushed.repo_id, cache_dir=cache)
    assert type(model) is BertModel
    assert torch.allclose(hidden_states(model, tokenizer), pushed.outputs)
    # The bytes came from the hub into this test's own cache, not from anywhere else.
    assert list(cache.glob("models--*/snapshots/*/model.safetensors"))


def test_from_pretrained_at_a_tag_a_branch_and_a_commit(
    pushed: Pushed, owner: Client, tmp_path: Path
) -> None:
    api = HfApi(token=owner.token)
    first_commit = api.model_info(pushed.repo_id).sha
    assert first_commit is not None
    api.create_tag(pushed.repo_id, tag="v1")
    retrained = tiny_bert(VOCAB_SIZE, seed=1)
    retrained.push_to_hub(pushed.repo_id, token=owner.token, revision="dev")
    new_outputs = hidden_states(retrained, pushed.tokenizer)
    assert not torch.allclose(new_outputs, pushed.outputs)
    assert api.model_info(pushed.repo_id).sha == first_commit  # pushing to a branch left main alone

    def outputs_at(revision: str) -> torch.Tensor:
        model = AutoModel.from_pretrained(
            pushed.repo_id, revision=revision, cache_dir=tmp_path / f"cache-{revision}"
        )
        return hidden_states(model, pushed.tokenizer)

    assert torch.allclose(outputs_at("dev"), new_outputs)
    assert torch.allclose(outputs_at("v1"), pushed.outputs)
    assert torch.allclose(outputs_at(first_commit), pushed.outputs)
    assert torch.allclose(outputs_at("main"), pushed.outputs)
    tokenizer = AutoTokenizer.from_pretrained(pushed.repo_id, revision="dev", cache_dir=tmp_path / "tok")
    assert tokenizer(TEXT).input_ids == pushed.tokenizer(TEXT).input_ids


def test_a_model_without_its_optional_files_still_loads(owner: Client, tmp_path: Path) -> None:
    """No generation_config.json, vocab.txt, special_tokens_map.json, added_tokens.json or chat
    template: the hub answers EntryNotFound for each, and transformers carries on with its defaults."""
    repo_id = f"{owner.name}/tiny-gpt2-{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "folder"
    BertTokenizerFast(vocab=str(write_vocab(tmp_path))).save_pretrained(folder)
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=VOCAB_SIZE, n_embd=32, n_layer=2, n_head=2, n_positions=64, bos_token_id=2, eos_token_id=3
    )
    model = GPT2LMHeadModel(config).eval()
    model.save_pretrained(folder)
    (folder / "generation_config.json").unlink()

    api = HfApi(token=owner.token)
    api.create_repo(repo_id)
    api.upload_folder(folder_path=folder, repo_id=repo_id)
    assert set(api.list_repo_files(repo_id)) == {
        ".gitattributes",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    }
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "generation_config.json", cache_dir=tmp_path / "probe")

    cache = tmp_path / "cache"
    loaded = AutoModelForCausalLM.from_pretrained(repo_id, cache_dir=cache)
    assert type(loaded) is GPT2LMHeadModel
    tokenizer = AutoTokenizer.from_pretrained(repo_id, cache_dir=cache)
    ids = AutoTokenizer.from_pretrained(folder)(TEXT, return_tensors="pt").input_ids
    assert tokenizer(TEXT, return_tensors="pt").input_ids.tolist() == ids.tolist()
    with torch.no_grad():
        assert torch.allclose(loaded(ids).logits, model(ids).logits)
    # generate() runs on the defaults transformers built for the missing generation_config.json.
    generated = loaded.generate(ids, max_new_tokens=3, do_sample=False, pad_token_id=0)
    assert generated.shape == (1, ids.shape[1] + 3)


def test_a_private_model_loads_with_its_owners_token_only(
    owner: Client, other: Client, tmp_path: Path
) -> None:
    repo_id = f"{owner.name}/tiny-private-{uuid.uuid4().hex[:8]}"
    model = tiny_bert(VOCAB_SIZE, seed=2)
    model.push_to_hub(repo_id, token=owner.token, private=True)
    assert HfApi(token=owner.token).model_info(repo_id).private

    # transformers turns the hub's RepositoryNotFound into this message, for strangers as for anonymous.
    with pytest.raises(OSError, match="not a valid model identifier"):
        AutoConfig.from_pretrained(repo_id, cache_dir=tmp_path / "anonymous")
    with pytest.raises(OSError, match="not a valid model identifier"):
        AutoConfig.from_pretrained(repo_id, token=other.token, cache_dir=tmp_path / "other")
    loaded = AutoModel.from_pretrained(repo_id, token=owner.token, cache_dir=tmp_path / "owner")
    ids = torch.tensor([[2, 40, 41, 42, 3]])
    with torch.no_grad():
        assert torch.allclose(loaded(ids).last_hidden_state, model(ids).last_hidden_state)
