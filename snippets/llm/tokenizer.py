"""Byte-level byte-pair encoding (BPE): train, encode, decode.

Conventions (compared with ``tokenizers.models.BPE`` + ``trainers.BpeTrainer`` in the tests):

* the base vocabulary is the 256 byte values, ids ``0..255``; merge ``i`` creates id ``256 + i``,
  so any UTF-8 string can be encoded and decoded back, Chinese and emoji included;
* text is first split into pre-tokens with ``PRETOKEN_PATTERN`` (a word with its leading
  space, or a run of spaces); pairs are counted and merged only inside a pre-token;
* training counts every adjacent position (``"aaa"`` has the pair ``(a, a)`` twice, as in
  ``tokenizers``), picks the most frequent pair, and breaks ties by the smallest
  ``(left id, right id)``. ``tokenizers`` uses the same rule on ITS ids, which number the base
  symbols in code-point order of the GPT-2 byte-to-unicode characters (see the page);
* encoding applies the learned merges by rank (earliest learned first), never by how often a
  pair occurs in the input.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter

# A pre-token is an optional space followed by non-spaces (" world"), or a run of spaces.
# Only the ASCII space is special, so the same split is easy to reproduce with
# `tokenizers.pre_tokenizers.Split(Regex(PRETOKEN_PATTERN), "isolated")`.
PRETOKEN_PATTERN = r" ?[^ ]+| +"


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")


def _check_ids(ids: list[int], name: str = "ids") -> None:
    if not isinstance(ids, list | tuple):
        raise TypeError(f"{name} must be a list of int token ids, got {type(ids).__name__}")
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(f"{name} must be a list of int token ids, got an element {i!r}")


def _check_merges(merges: dict[tuple[int, int], int]) -> None:
    if not isinstance(merges, dict):
        raise TypeError(
            f"merges must be a dict {{(left_id, right_id): new_id}}, got {type(merges).__name__}"
        )
    if list(merges.values()) != list(range(256, 256 + len(merges))):
        raise ValueError(
            "merges must map (left_id, right_id) -> 256 + rank in learned order, "
            f"got new ids {list(merges.values())[:8]}..."
        )


# --8<-- [start:bytes_to_unicode]
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 bytes to 256 printable unicode characters.

    Returns:
        ``{byte: char}`` for every byte ``0..255``.

    Examples:
        >>> table = bytes_to_unicode()
        >>> table[ord("a")], table[ord(" ")], len(set(table.values()))
        ('a', 'Ġ', 256)
    """
    # Printable bytes keep their own character: '!'..'~', '¡'..'¬', '®'..'ÿ' (188 bytes).
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    keep += range(ord("®"), ord("ÿ") + 1)
    table = {b: chr(b) for b in keep}
    # The other 68 (control bytes, space, 0x7F-0xA0, 0xAD) get 256, 257, ... in byte order,
    # so a BPE library that works on strings never sees whitespace or control characters.
    shifted = [b for b in range(256) if b not in table]
    table.update({b: chr(256 + n) for n, b in enumerate(shifted)})
    return dict(sorted(table.items()))


# --8<-- [end:bytes_to_unicode]


# --8<-- [start:pretokenize]
def pretokenize(text: str) -> list[str]:
    """Split text into pre-tokens; merges never cross their boundaries.

    Args:
        text: any string.

    Returns:
        pre-tokens whose concatenation is ``text``.

    Examples:
        >>> pretokenize("hi  there 你好")
        ['hi', '  ', 'there', ' 你好']
    """
    _check_text(text)
    return re.findall(PRETOKEN_PATTERN, text)


# --8<-- [end:pretokenize]


# --8<-- [start:merge_step]
def get_pair_counts(ids: list[int]) -> dict[tuple[int, int], int]:
    """Count adjacent pairs of one pre-token (every position, overlaps too).

    Args:
        ids: token ids of one pre-token.

    Returns:
        ``{(left, right): count}`` in order of first occurrence.

    Examples:
        >>> get_pair_counts([97, 97, 97, 98])  # "aaab": (a, a) at positions 0 and 1
        {(97, 97): 2, (97, 98): 1}
    """
    _check_ids(ids)
    return dict(Counter(itertools.pairwise(ids)))


def merge_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace each occurrence of ``pair``, scanning left to right, by ``new_id``.

    Args:
        ids: token ids.
        pair: ``(left, right)`` to merge.
        new_id: id of the merged token.

    Returns:
        the new, shorter or equal, list of ids.

    Examples:
        >>> merge_pair([97, 97, 97], (97, 97), 256)  # "aaa" -> [aa, a], not [aa, aa]
        [256, 97]
    """
    _check_ids(ids)
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2  # both members are consumed: the right one cannot start another pair
        else:
            out.append(ids[i])
            i += 1
    return out


# --8<-- [end:merge_step]


# --8<-- [start:bpe_train]
def bpe_train(text: str, vocab_size: int) -> dict[tuple[int, int], int]:
    """Learn byte-level BPE merges, recounting all pairs at every step.

    Args:
        text: training corpus.
        vocab_size: 256 bytes + number of merges wanted (``>= 256``).

    Returns:
        ``{(left, right): new_id}`` in learned order; ``new_id = 256 + rank``.

    Examples:
        >>> bpe_train("aab aab", 258)  # (a,a), (a,b) tie at 2: smaller wins; then aa+b
        {(97, 97): 256, (256, 98): 257}
    """
    _check_text(text)
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 256:
        raise ValueError(f"vocab_size must be an int >= 256 (the bytes), got {vocab_size!r}")
    # Identical pre-tokens are trained once, weighted by how often they occur.
    words = Counter(pretokenize(text))
    chunks = [list(w.encode("utf-8")) for w in words]
    freqs = list(words.values())
    merges: dict[tuple[int, int], int] = {}
    for new_id in range(256, vocab_size):
        counts: Counter[tuple[int, int]] = Counter()
        for ids, freq in zip(chunks, freqs, strict=True):  # inside each pre-token only
            for pair, c in get_pair_counts(ids).items():
                counts[pair] += c * freq
        if not counts:
            break  # every pre-token is a single token: nothing left to merge
        best = min(counts, key=lambda p: (-counts[p], p))  # most frequent, then smallest
        merges[best] = new_id
        chunks = [merge_pair(ids, best, new_id) for ids in chunks]
    return merges


# --8<-- [end:bpe_train]


# --8<-- [start:bpe_encode]
def bpe_encode(text: str, merges: dict[tuple[int, int], int]) -> list[int]:
    """Encode text: bytes of each pre-token, then merges by rank (earliest learned first).

    Args:
        text: string to encode.
        merges: output of :func:`bpe_train`.

    Returns:
        token ids.

    Examples:
        >>> merges = {(97, 98): 256, (98, 99): 257}  # 'ab' was learned before 'bc'
        >>> bpe_encode("abc", merges)  # rank decides: [ab, c], whatever the counts in "abc"
        [256, 99]
    """
    _check_text(text)
    _check_merges(merges)
    out: list[int] = []
    for word in pretokenize(text):
        ids = list(word.encode("utf-8"))
        while len(ids) >= 2:
            # The present pair with the lowest rank; a pair never learned ranks last.
            pair = min(get_pair_counts(ids), key=lambda p: merges.get(p, float("inf")))
            if pair not in merges:
                break
            ids = merge_pair(ids, pair, merges[pair])
        out += ids
    return out


# --8<-- [end:bpe_encode]


# --8<-- [start:bpe_decode]
def build_vocab(merges: dict[tuple[int, int], int]) -> dict[int, bytes]:
    """Bytes of every token id: the 256 bytes, then each merge = left + right.

    Args:
        merges: output of :func:`bpe_train`.

    Returns:
        ``{id: bytes}`` with ``256 + len(merges)`` entries.

    Examples:
        >>> build_vocab({(97, 98): 256, (256, 99): 257})[257]
        b'abc'
    """
    _check_merges(merges)
    vocab = {i: bytes([i]) for i in range(256)}
    for (left, right), new_id in merges.items():  # learned order: parts exist already
        vocab[new_id] = vocab[left] + vocab[right]
    return vocab


def bpe_decode(ids: list[int], merges: dict[tuple[int, int], int]) -> str:
    """Decode ids: join ALL the bytes first, then decode UTF-8 once.

    Args:
        ids: token ids.
        merges: output of :func:`bpe_train`.

    Returns:
        the text; bytes that are not valid UTF-8 become U+FFFD, as in GPT-2.

    Examples:
        >>> bpe_decode([228, 189, 160], {})  # 你 = E4 BD A0: three byte tokens
        '你'
    """
    _check_ids(ids)
    vocab = build_vocab(merges)
    bad = [i for i in ids if i not in vocab]
    if bad:
        raise ValueError(f"ids must lie in [0, {len(vocab)}), got {bad[0]}")
    # A character may be split over several tokens: decoding token by token would break it.
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


# --8<-- [end:bpe_decode]
