"""Small tokenizers that exercise what the real ones in ../shared/models do not: unknown tokens (`fuse_unk`),
`ignore_merges`, byte fallback with unknowns, added tokens with `lstrip` / `rstrip` / `single_word`, Metaspace with
`prepend_scheme: first`, Split with MergedWithPrevious, Digits runs, ByteLevel with `add_prefix_space`,
Roberta and Template post-processors. Built and run with Hugging Face `tokenizers`; each tokenizer.json and the ids it
gives are written to scripts/reference/tiny_tokenizers/ (hermetic: the Swift tests need nothing from ../shared).

Run: /work/venv/bin/python scripts/reference/tiny_tokenizers.py
"""
import json
import os

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

OUT = os.path.join(os.path.dirname(__file__), "tiny_tokenizers")

TEXTS = [
    "", "a", "abc", "abcabc", "ab c", " ab", "xyz", "a\u00e9b\u4e2d", "\u4e2d\u4e2d\u4e2d",
    "a <mask> b", "a<mask>b", "<mask>", "  <mask>  ", "[X] a[X] [X]b [X]", "a zz b", "zzz", "AbC ABC",
    "123 4567 a1b2", "hello, world!! (ok)", "<s>a</s>", "\u2581a \u2581", "a\tb\nc",
]


def sentencepiece_like(byte_fallback, ignore_merges):
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for token in ["\u2581", *"abcxyz", "ab", "\u2581a", "\u2581ab", "abc", "\u2581abc", "bc"]:
        vocab[token] = len(vocab)
    merges = [("a", "b"), ("\u2581", "a"), ("\u2581a", "b"), ("ab", "c"), ("\u2581ab", "c")]
    tok = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=byte_fallback,
                               ignore_merges=ignore_merges))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.add_special_tokens([AddedToken("<s>", normalized=False), AddedToken("</s>", normalized=False),
                            AddedToken("<mask>", lstrip=True, rstrip=True, normalized=False)])
    tok.add_tokens([AddedToken("[X]", single_word=True, normalized=False), AddedToken("zz", normalized=True)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    return tok


def metaspace_words():
    vocab = {"<unk>": 0, "\u2581": 1, **{c: i + 2 for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")}}
    for token in ["\u2581a", "ab", "abc", "\u2581ab", "\u2581abc"]:
        vocab[token] = len(vocab)
    merges = [("a", "b"), ("\u2581", "a"), ("\u2581a", "b")]
    tok = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", fuse_unk=False, ignore_merges=True))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)
    tok.add_special_tokens([AddedToken("<mask>", normalized=False)])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first")
    return tok


def byte_level_split():
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {c: i for i, c in enumerate(sorted(alphabet))}
    for token in ["\u0120a", "ab", "\u0120ab", "12", "123", "ll", "he", "hell", "hello"]:
        vocab[token] = len(vocab)
    merges = [("\u0120", "a"), ("a", "b"), ("\u0120a", "b"), ("1", "2"), ("12", "3"), ("l", "l"), ("h", "e"),
              ("he", "ll"), ("hell", "o")]
    vocab["<s>"] = len(vocab)
    vocab["</s>"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex("[,!()]"), behavior="merged_with_previous"),
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
    ])
    tok.add_special_tokens([AddedToken("<s>", normalized=False), AddedToken("</s>", normalized=False)])
    tok.post_processor = processors.RobertaProcessing(("</s>", vocab["</s>"]), ("<s>", vocab["<s>"]))
    tok.decoder = decoders.ByteLevel()
    return tok


def main():
    os.makedirs(OUT, exist_ok=True)
    built = {
        "sentencepiece-byte-fallback": sentencepiece_like(True, False),
        "sentencepiece-unknown": sentencepiece_like(False, True),
        "metaspace-words": metaspace_words(),
        "byte-level-split": byte_level_split(),
    }
    with open(os.path.join(OUT, "expected.jsonl"), "w") as out:
        out.write(json.dumps({"generator": "scripts/reference/tiny_tokenizers.py", "tokenizers": tokenizers.__version__}) + "\n")
        for name, tok in built.items():
            folder = os.path.join(OUT, name)
            os.makedirs(folder, exist_ok=True)
            tok.save(os.path.join(folder, "tokenizer.json"))
            tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
            for text in TEXTS:
                plain = tok.encode(text, add_special_tokens=False).ids
                out.write(json.dumps({"tokenizer": name, "text": text,
                                      "ids": tok.encode(text, add_special_tokens=True).ids, "ids_plain": plain,
                                      "decoded": tok.decode(plain, skip_special_tokens=False)}, ensure_ascii=True) + "\n")
    print("wrote", OUT)


main()
