"""The wordllama embedding model (weights and tokenizer ship inside its wheel, so it runs
offline): loaded with downloads disabled. The catalog's semantic search and the embedding
provider process use the model; the gateway counts tokens with its tokenizer alone."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

TOKENIZER = "wordllama-l2"  # the name versions give as their `tokenizer`
EMBEDDING_DIM = 256


def _package_dir() -> Path:
    import wordllama

    return Path(wordllama.__file__).parent


@lru_cache(maxsize=1)
def model():
    """WordLlamaInference (256 dimensions); raises FileNotFoundError instead of downloading."""
    from wordllama import WordLlama

    return WordLlama.load(cache_dir=_package_dir(), disable_download=True, dim=EMBEDDING_DIM)


@lru_cache(maxsize=1)
def tokenizer():
    from tokenizers import Tokenizer

    files = sorted((_package_dir() / "tokenizers").glob("*_tokenizer_config.json"))
    if not files:
        raise FileNotFoundError("wordllama's tokenizer is not in its package")
    tok = Tokenizer.from_file(str(files[0]))
    tok.no_truncation()
    return tok


def texts_in(value: Any) -> list[str]:
    """Every string inside a JSON value (the text a call sends to the model)."""
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def count_tokens(value: Any) -> int:
    """Tokens of every string in `value` by the model's own tokenizer (no special tokens)."""
    texts = texts_in(value)
    if not texts:
        return 0
    return sum(len(e.ids) for e in tokenizer().encode_batch(texts, add_special_tokens=False))


def embed(texts: list[str]):
    """L2-normalized float32 embeddings, one row per text."""
    return model().embed(texts, norm=True)


# tokenizer name -> counter; a version names one of these (or none: priced per call only)
TOKEN_COUNTERS = {TOKENIZER: count_tokens}
