"""Tests for snippets/llm/tokenizer.py: byte-level BPE training, encoding and decoding.

Reference: huggingface `tokenizers` 0.23.3 (`models.BPE`, `trainers.BpeTrainer`, the byte-level
pre-tokenizer and decoder) on seeded random corpora and strings, GPT-2's `bytes_to_unicode` as
shipped in `transformers`, and a brute-force BPE trainer written here whose tie rule is a
parameter (to pin down exactly where `tokenizers` and the snippet choose differently).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter

import numpy as np
import pytest
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers.convert_slow_tokenizer import bytes_to_unicode as gpt2_bytes_to_unicode

from tests.support import assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.llm.tokenizer")

PATTERN = r" ?[^ ]+| +"  # written again here: the snippet's PRETOKEN_PATTERN is under test
B2U = gpt2_bytes_to_unicode()
U2B = {c: b for b, c in B2U.items()}


# ---------------------------------------------------------------- helpers


# --8<-- [start:hf_reference]
def hf_pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def hf_train(text: str, vocab_size: int) -> Tokenizer:
    """BpeTrainer on the same pre-tokens, all 256 byte symbols in the initial alphabet."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = hf_pre_tokenizer()
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([text], trainer)
    return tok


# --8<-- [end:hf_reference]


def hf_from_merges(merges: dict) -> Tokenizer:
    """A tokenizers BPE model built from the snippet's merges (ids renamed to GPT-2 strings)."""
    vocab = impl.build_vocab(merges)
    name = {i: "".join(B2U[b] for b in v) for i, v in vocab.items()}
    model = models.BPE(
        vocab={name[i]: i for i in vocab}, merges=[(name[a], name[b]) for a, b in merges]
    )
    tok = Tokenizer(model)
    tok.pre_tokenizer = hf_pre_tokenizer()
    tok.decoder = decoders.ByteLevel()
    return tok


def to_bytes(token: str) -> bytes:
    return bytes(U2B[c] for c in token)


def hf_merges_as_bytes(tok: Tokenizer) -> list[tuple[bytes, bytes]]:
    merges = json.loads(tok.to_str())["model"]["merges"]
    return [(to_bytes(a), to_bytes(b)) for a, b in merges]


def merges_as_bytes(merges: dict) -> list[tuple[bytes, bytes]]:
    vocab = impl.build_vocab(merges)
    return [(vocab[a], vocab[b]) for a, b in merges]


def hf_rank(token: int) -> int:
    """tokenizers' id order: base bytes sorted by the code point of their GPT-2 character."""
    if token < 256:
        return sorted(range(256), key=lambda b: ord(B2U[b])).index(token)
    return token  # merged tokens get ids in creation order, after the 256 base symbols


HF_RANK = [hf_rank(b) for b in range(256)]


def reference_train(text: str, vocab_size: int, tokenizers_ties: bool) -> list[tuple[int, int]]:
    """BPE from its definition: recount, take the max count; ties by the smallest rank pair."""

    def rank(t: int) -> int:
        return HF_RANK[t] if tokenizers_ties and t < 256 else t

    words = Counter(re.findall(PATTERN, text))
    seqs = {w: list(w.encode("utf-8")) for w in words}
    merges: list[tuple[int, int]] = []
    while 256 + len(merges) < vocab_size:
        counts: Counter = Counter()
        for w, seq in seqs.items():
            for i in range(len(seq) - 1):
                counts[seq[i], seq[i + 1]] += words[w]
        if not counts:
            break
        top = max(counts.values())
        best = min((p for p, c in counts.items() if c == top), key=lambda p: tuple(map(rank, p)))
        new_id = 256 + len(merges)
        merges.append(best)
        for w, seq in seqs.items():
            out, i = [], 0
            while i < len(seq):
                if tuple(seq[i : i + 2]) == best:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            seqs[w] = out
    return merges


SYLLABLES = ["a", "b", "ab", "ba", "an", "na", "th", "e", "the", "x", "你", "好", "中", "文", "😀"]


def random_corpus(rng: np.random.Generator) -> str:
    """20-50 words from a few syllables: many repeated pairs, and many ties."""
    n = int(rng.integers(20, 51))
    words = ["".join(rng.choice(SYLLABLES, size=int(rng.integers(1, 4)))) for _ in range(n)]
    seps = rng.choice([" ", " ", " ", "  "], size=n)
    return "".join(w + s for w, s in zip(words, seps, strict=True))


POOLS = np.array(
    [
        (0x20, 0x7F),  # printable ASCII, space included
        (0x4E00, 0xA000),  # CJK unified ideographs (3 bytes)
        (0x1F300, 0x1FB00),  # emoji (4 bytes)
        (0x00A0, 0x0180),  # Latin-1 / Latin Extended (2 bytes)
        (0x00, 0x20),  # control characters, newline and tab included
    ]
)


POOL_CDF = np.cumsum([0.45, 0.25, 0.12, 0.1])  # the fifth pool takes the last 0.08


def random_string(rng: np.random.Generator) -> str:
    """0-24 characters: ASCII, spaces, CJK, emoji (4-byte UTF-8), Latin, control characters."""
    n = int(rng.integers(0, 25))
    pool = POOLS[np.searchsorted(POOL_CDF, rng.random(n), side="right")]
    codes = pool[:, 0] + (rng.random(n) * (pool[:, 1] - pool[:, 0])).astype(np.int64)
    return "".join(map(chr, codes.tolist()))


MIXED_CORPUS = (
    "the cat sat on the mat and the dog sat on the log "
    "我们 今天 学习 分词 ， 我们 明天 学习 模型 ， 分词 很 重要 "
    "😀😀 emoji 😀 hello hello world  world   "
) * 3


@functools.cache
def _mixed_merges(practice_file: str) -> dict:
    return impl.bpe_train(MIXED_CORPUS, 256 + 120)


def mixed_merges() -> dict:
    return dict(_mixed_merges(os.environ.get("HANDBOOK_PRACTICE_FILE", "")))


# ---------------------------------------------------------------- the merge step


def test_get_pair_counts_and_merge_pair_match_brute_force() -> None:
    """2,000 seeded lists over a 3-symbol alphabet (lots of runs like 'aaaa')."""
    rng = np.random.default_rng(0)
    for _ in range(cases(2000)):
        ids = [int(v) for v in rng.integers(0, 3, size=int(rng.integers(0, 12)))]
        expected_counts = {}
        for i in range(len(ids) - 1):
            key = (ids[i], ids[i + 1])
            expected_counts[key] = expected_counts.get(key, 0) + 1
        got = impl.get_pair_counts(ids)
        assert got == expected_counts, (
            f"get_pair_counts({ids}) must count every adjacent position (overlaps too): "
            f"expected {expected_counts}, got {got}"
        )
        pair = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        # Brute force: the leftmost occurrence first, then continue after it.
        expected, rest = [], list(ids)
        while rest:
            if len(rest) >= 2 and (rest[0], rest[1]) == pair:
                expected.append(99)
                rest = rest[2:]
            else:
                expected.append(rest.pop(0))
        got = impl.merge_pair(ids, pair, 99)
        assert got == expected, (
            f"merge_pair({ids}, {pair}, 99): expected {expected}, got {got}. Scan left to "
            "right; after a merge skip both members (no overlapping merges)"
        )


def test_merge_pair_overlapping_pair() -> None:
    # By hand: "aaa" = [a, a, a]; the pair at 0-1 is merged, the last 'a' is left alone.
    got = impl.merge_pair([97, 97, 97], (97, 97), 256)
    assert got == [256, 97], (
        "merge_pair: 'aaa' with the pair (a, a) must become [aa, a], not [aa, aa]. After a "
        f"merge, skip BOTH members: the right 'a' cannot start another pair. Got {got}"
    )
    got = impl.merge_pair([97, 97, 97, 97], (97, 97), 256)
    assert got == [256, 256], f"'aaaa' with (a, a) must become [aa, aa], got {got}"


def test_pair_counts_count_overlaps() -> None:
    # "aaa" has (a, a) at positions 0 and 1: 2, as in tokenizers' windows(2) count.
    assert impl.get_pair_counts([97, 97, 97]) == {(97, 97): 2}


# ---------------------------------------------------------------- byte level


def test_bytes_to_unicode_matches_gpt2() -> None:
    table = impl.bytes_to_unicode()
    assert table == B2U
    assert set(table.values()) == set(pre_tokenizers.ByteLevel.alphabet())
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ"


def test_pretokenize_matches_tokenizers_split() -> None:
    """1,000 seeded random strings: same pieces as tokenizers' Split(..., 'isolated')."""
    split = pre_tokenizers.Split(Regex(PATTERN), behavior="isolated")
    rng = np.random.default_rng(1)
    for _ in range(cases(1000)):
        s = random_string(rng)
        expected = [piece for piece, _ in split.pre_tokenize_str(s)]
        got = impl.pretokenize(s)
        assert got == expected, repr(s)
        assert "".join(got) == s


def test_round_trip_and_encode_match_tokenizers() -> None:
    """3,000 seeded strings (ASCII, Chinese, emoji, control bytes): decode(encode(s)) == s, and
    the ids equal a tokenizers BPE model loaded with the same merges."""
    merges = mixed_merges()
    hf = hf_from_merges(merges)
    rng = np.random.default_rng(2)
    for _ in range(cases(3000)):
        s = random_string(rng) if rng.random() < 0.8 else MIXED_CORPUS[: int(rng.integers(60))]
        ids = impl.bpe_encode(s, merges)
        assert_equal(np.array(ids), np.array(hf.encode(s).ids), inputs={"s": s})
        assert impl.bpe_decode(ids, merges) == s, repr(s)
        assert hf.decode(ids) == s


def test_encode_learned_corpus_is_shorter() -> None:
    merges = mixed_merges()
    ids = impl.bpe_encode(MIXED_CORPUS, merges)
    assert len(ids) < len(MIXED_CORPUS.encode("utf-8")) / 3


# ---------------------------------------------------------------- training vs tokenizers


def test_bpe_train_matches_brute_force_definition() -> None:
    """100 seeded corpora: same merges as the brute-force trainer with byte-order ties."""
    rng = np.random.default_rng(3)
    for _ in range(cases(100)):
        text = random_corpus(rng)
        vocab_size = 256 + int(rng.integers(1, 41))
        expected = reference_train(text, vocab_size, tokenizers_ties=False)
        assert list(impl.bpe_train(text, vocab_size)) == expected, repr(text)


def test_tokenizers_tie_rule() -> None:
    """150 seeded corpora: BpeTrainer == brute force with ties broken by the smallest pair of
    ranks, base bytes ranked by the code point of their GPT-2 character (the claim on the
    page). Checked through the brute-force trainer, independent of the snippet."""
    rng = np.random.default_rng(3)  # same corpora as above
    for _ in range(cases(150)):
        text = random_corpus(rng)
        vocab_size = 256 + int(rng.integers(1, 41))
        expected = reference_train(text, vocab_size, tokenizers_ties=True)
        vocab = {i: bytes([i]) for i in range(256)}
        for k, (a, b) in enumerate(expected):
            vocab[256 + k] = vocab[a] + vocab[b]
        assert hf_merges_as_bytes(hf_train(text, vocab_size)) == [
            (vocab[a], vocab[b]) for a, b in expected
        ], repr(text)


def zipf_corpus(rng: np.random.Generator) -> str:
    """5-11 distinct words with distinct counts 1..59: fewer ties than `random_corpus`."""
    n = int(rng.integers(5, 12))
    words = ["".join(rng.choice(SYLLABLES, size=int(rng.integers(1, 4)))) for _ in range(n)]
    counts = rng.choice(np.arange(1, 60), size=n, replace=False)
    seq = [w for w, c in zip(words, counts, strict=True) for _ in range(int(c))]
    rng.shuffle(seq)
    return " ".join(seq)


def test_bpe_train_matches_tokenizers_where_ties_agree() -> None:
    """150 seeded corpora. Up to the first merge where the two tie rules choose differently
    (found with the brute-force trainer), the snippet and BpeTrainer learn the same merges;
    when the rules never diverge, also the same vocabulary and the same corpus encoding."""
    rng = np.random.default_rng(4)
    agreed = compared = 0
    for trial in range(cases(150)):
        text = random_corpus(rng) if trial % 2 else zipf_corpus(rng)
        vocab_size = 256 + int(rng.integers(1, 25))
        merges = impl.bpe_train(text, vocab_size)
        hf = hf_train(text, vocab_size)
        assert len(hf.get_vocab()) == 256 + len(merges)
        ours, theirs = merges_as_bytes(merges), hf_merges_as_bytes(hf)
        by_hf = reference_train(text, vocab_size, tokenizers_ties=True)
        by_bytes = reference_train(text, vocab_size, tokenizers_ties=False)
        same = 0
        while same < len(by_hf) and by_hf[same] == by_bytes[same]:
            same += 1
        assert ours[:same] == theirs[:same], repr(text)
        compared += same
        if same == len(by_hf):
            agreed += 1
            vocab = impl.build_vocab(merges)
            assert {to_bytes(t) for t in hf.get_vocab()} == set(vocab.values())
            encoded = [vocab[i] for i in impl.bpe_encode(text, merges)]
            assert encoded == [to_bytes(t) for t in hf.encode(text).tokens], repr(text)
    assert agreed >= cases(150) // 10 and compared >= cases(150)  # not vacuous


def test_tie_break_constructed_corpora() -> None:
    # "xy zx": pre-tokens "xy", " zx"; pairs (x,y), (' ',z), (z,x) all occur once.
    # Snippet: smallest byte pair is (32, 122) = " z". tokenizers: ' ' is 'Ġ' (U+0120), ranked
    # after every printable ASCII character, so its smallest pair is (x, y).
    ours = merges_as_bytes(impl.bpe_train("xy zx", 257))
    assert ours == [(b" ", b"z")]
    assert hf_merges_as_bytes(hf_train("xy zx", 257)) == [(b"x", b"y")]
    # "你好" = E4 BD A0 | E5 A5 BD: five pairs, each once. Snippet: smallest bytes (A0, E5),
    # which straddles the two characters. tokenizers: A0 is remapped to U+0142 (ranked high),
    # A5 and BD keep their code points, so it takes (A5, BD), the tail of 好.
    assert merges_as_bytes(impl.bpe_train("你好", 257)) == [(b"\xa0", b"\xe5")]
    assert hf_merges_as_bytes(hf_train("你好", 257)) == [(b"\xa5", b"\xbd")]
    # Letters only (no remapped byte): both orders agree. "abba": (a,b), (b,b), (b,a) once.
    assert merges_as_bytes(impl.bpe_train("abba", 257)) == [(b"a", b"b")]
    assert hf_merges_as_bytes(hf_train("abba", 257)) == [(b"a", b"b")]


def test_training_stops_when_nothing_is_left_to_merge() -> None:
    # "ab ab": pre-tokens "ab", " ab" -> merges (a,b), then (' ', ab); then every pre-token is
    # a single token, so asking for 300 tokens returns only 2 merges (tokenizers does the same).
    merges = impl.bpe_train("ab ab", 300)
    assert merges_as_bytes(merges) == [(b"a", b"b"), (b" ", b"ab")]
    assert len(hf_train("ab ab", 300).get_vocab()) == 258
    assert impl.bpe_train("", 300) == {}
    assert impl.bpe_train("abc", 256) == {}


# ---------------------------------------------------------------- diagnoses


def test_encode_applies_merges_by_rank() -> None:
    # Learned: (a,b) first (rank 0), then (b,c). In "abcbc", (b,c) is the most frequent pair,
    # but rank decides: [ab, c, bc] by hand (ab first, then bc at the end).
    merges = {(97, 98): 256, (98, 99): 257}
    got = impl.bpe_encode("abcbc", merges)
    assert got == [256, 99, 257], (
        "bpe_encode must apply merges in the order they were LEARNED (lowest rank first), "
        "not by how often a pair occurs in the input: 'abcbc' with ranks ab < bc is "
        f"[ab, c, bc] = [256, 99, 257]; got {got}"
    )
    assert hf_from_merges(merges).encode("abcbc").ids == [256, 99, 257]


def test_training_never_crosses_pretoken_boundaries() -> None:
    text = "ab ab ab ab"  # pre-tokens "ab", " ab" x3: merges (a,b) then (' ', ab); then done
    merges = impl.bpe_train(text, 270)
    pieces = impl.pretokenize(text)
    for left, right in merges_as_bytes(merges):
        assert any((left + right) in p.encode("utf-8") for p in pieces), (
            f"the merge {left!r} + {right!r} spans a pre-token boundary: count and merge "
            "pairs inside each pre-token (pretokenize(text)), never across them"
        )
    assert merges_as_bytes(merges) == [(b"a", b"b"), (b" ", b"ab")]


def test_decode_joins_bytes_before_utf8() -> None:
    # 你 = E4 BD A0. With no merges each byte is its own token; decoding token by token would
    # give three U+FFFD replacement characters.
    got = impl.bpe_decode([228, 189, 160], {})
    assert got == "你", (
        "bpe_decode must join the bytes of ALL tokens first and decode UTF-8 once: a Chinese "
        f"character (3 bytes) can be split across tokens. Got {got!r} instead of '你'"
    )
    merges = {(228, 189): 256}  # token 256 = E4 BD: half of 你
    assert impl.bpe_decode([256, 160, 256, 160], merges) == "你你"


def test_decode_invalid_utf8_is_replaced() -> None:
    assert impl.bpe_decode([0xE4], {}) == "\ufffd"  # a lone lead byte, as GPT-2's errors="replace"
    assert Tokenizer(models.BPE()).decoder is None  # (tokenizers needs decoders.ByteLevel)


# ---------------------------------------------------------------- input errors


def test_bpe_train_input_errors() -> None:
    with raises_naming(TypeError, "text", "str"):
        impl.bpe_train(b"bytes", 300)
    with raises_naming(ValueError, "vocab_size", "256"):
        impl.bpe_train("abc", 100)
    with raises_naming(ValueError, "vocab_size"):
        impl.bpe_train("abc", 300.0)


def test_bpe_encode_input_errors() -> None:
    with raises_naming(TypeError, "text"):
        impl.bpe_encode(["a"], {})
    with raises_naming(TypeError, "merges", "dict"):
        impl.bpe_encode("abc", [((97, 98), 256)])
    with raises_naming(ValueError, "merges", "256 + rank"):
        impl.bpe_encode("abc", {(97, 98): 300})


def test_bpe_decode_input_errors() -> None:
    with raises_naming(TypeError, "ids", "list"):
        impl.bpe_decode(np.array([97]), {})
    with raises_naming(TypeError, "ids"):
        impl.bpe_decode([97.0], {})
    with raises_naming(ValueError, "ids", "[0, 257)"):
        impl.bpe_decode([257], {(97, 98): 256})


def test_merge_step_input_errors() -> None:
    with raises_naming(TypeError, "ids"):
        impl.merge_pair("aaa", (97, 97), 256)
    with raises_naming(TypeError, "ids"):
        impl.get_pair_counts(None)
    with raises_naming(TypeError, "text"):
        impl.pretokenize(None)


def test_tokenizers_special_tokens_are_split_out_before_bpe() -> None:
    """What the page says about special tokens, checked on tokenizers itself: an added special
    token is cut out of the text before pre-tokenisation (one id, never merged), and a string
    in user text that spells it IS turned into the control token unless the caller prevents it."""
    tok = hf_train("ab ab ab", 258)
    tok.add_special_tokens(["<|eot|>"])
    special = tok.token_to_id("<|eot|>")
    assert special == 258  # appended after the 256 bytes and the 2 merges
    enc = tok.encode("ab<|eot|> ab")
    assert enc.tokens == ["ab", "<|eot|>", "Ġab"] and enc.ids[1] == special
    assert tok.decode(enc.ids) == "ab ab"  # skip_special_tokens=True by default in decode
    assert tok.decode(enc.ids, skip_special_tokens=False) == "ab<|eot|> ab"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures_draw(lang: str) -> None:
    import matplotlib.figure

    from figures.llm import tokenizer as fig

    for draw in (fig.draw_merges, fig.draw_tokens_per_char):
        assert isinstance(draw(lang), matplotlib.figure.Figure)
