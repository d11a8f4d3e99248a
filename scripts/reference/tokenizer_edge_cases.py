"""Reference ids for tokenizer edge cases beyond ../shared/fixtures/tokenizers (long texts, NUL, raw BOM,
case-folded contractions, special tokens next to text...), computed with Hugging Face `tokenizers`.

Same method as the shared fixtures: `Tokenizer.from_file(tokenizer.json)`; for a `tokenizer_config.json` naming a
Llama tokenizer class, the post-processor is replaced by `TemplateProcessing(bos $A)` from `add_bos_token` /
`add_eos_token`, as transformers 4.x `LlamaTokenizerFast.update_post_processor` does.

Run: /work/venv/bin/python scripts/reference/tokenizer_edge_cases.py   (writes tokenizer_edge_cases.jsonl beside it)
"""
import json
import os
import sys

import tokenizers
from tokenizers import Tokenizer
from tokenizers.processors import TemplateProcessing

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "models")
MODELS = [
    "allenai--OLMoE-1B-7B-0924",
    "Qwen--Qwen1.5-MoE-A2.7B",
    "deepseek-ai--deepseek-moe-16b-base",
    "mistralai--Mixtral-8x7B-v0.1",
]

TEXTS = [
    "",
    "\u0000",
    "a\u0000b\u0000\u0000c",
    "\ufeffBOM at the start and\ufeff inside",
    "\ufeff",
    "x" * 2500,
    " " * 1000,
    "ab" * 1000,
    "\n" * 300 + "end",
    "word " * 300,
    "1234567890" * 30,
    "'S 'T 'RE 'VE 'M 'LL 'D 's 't 're 've 'm 'll 'd",
    "IT'S DON'T WE'LL THEY'RE I'M YOU'VE HE'D",
    "\u017f'\u017f \u212a'\u212a it'\u017f",
    "<s></s><s>",
    " <s> a </s> ",
    "<|endoftext|><|endoftext|>x<|im_start|>user\nhi<|im_end|>",
    "<\uff5cbegin\u2581of\u2581sentence\uff5c>Hello<\uff5cend\u2581of\u2581sentence\uff5c>",
    "\u00fcber \u00dcber Gr\u00f6\u00dfe \u00f8 \u00f6\u00f6\u00f6",
    "a  b   c    d     e      f",
    "\t\t\ttabs\t \t",
    "\r\n\r\n\r",
    "trailing spaces    ",
    "\u2581already\u2581has\u2581metaspace",
    "\U0001F600\U0001F468\u200d\U0001F469\u200d\U0001F467 \U00020000\U0002A6D6",
    "e\u0301e\u0301e\u0301 \u00e9\u00e9\u00e9",
    "\u0085NEL\u000bVT\u000cFF\u2028LS\u2029PS\u00a0NBSP\u3000IDEO",
    "\U0010FFFF\U000E0001\uFFFF\uFFFE",
    "Mixed \u0627\u0644\u0639\u0631\u0628\u064a\u0629 and \u05e2\u05d1\u05e8\u05d9\u05ea 123 \u0967\u0968\u0969",
]


def load(folder):
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    config_path = os.path.join(folder, "tokenizer_config.json")
    if os.path.exists(config_path):
        config = json.load(open(config_path))
        if config.get("tokenizer_class") in ("LlamaTokenizer", "LlamaTokenizerFast"):
            def content(t):
                return t if isinstance(t, str) or t is None else t["content"]
            bos, eos = content(config.get("bos_token")), content(config.get("eos_token"))
            single = ""
            specials = []
            if config.get("add_bos_token", True):
                single += f"{bos}:0 "
                specials.append((bos, tok.token_to_id(bos)))
            single += "$A:0"
            if config.get("add_eos_token", False):
                single += f" {eos}:0"
                specials.append((eos, tok.token_to_id(eos)))
            tok.post_processor = TemplateProcessing(single=single, special_tokens=specials)
    return tok


def main():
    out_path = os.path.join(os.path.dirname(__file__), "tokenizer_edge_cases.jsonl")
    with open(out_path, "w") as out:
        out.write(json.dumps({"generator": "scripts/reference/tokenizer_edge_cases.py",
                              "tokenizers": tokenizers.__version__, "python": sys.version.split()[0]}) + "\n")
        for model in MODELS:
            tok = load(os.path.join(SHARED, model))
            for text in TEXTS:
                out.write(json.dumps({"model": model, "text": text,
                                      "ids": tok.encode(text, add_special_tokens=True).ids,
                                      "ids_plain": tok.encode(text, add_special_tokens=False).ids,
                                      "decoded": tok.decode(tok.encode(text, add_special_tokens=False).ids,
                                                            skip_special_tokens=False)},
                                     ensure_ascii=True) + "\n")
    print(out_path, os.path.getsize(out_path), "bytes")
    write_pre_tokenizer_cases()


# Single pre-tokenizer stages on their own: every Split behavior with and without invert, Digits, Metaspace.
PRE_TEXTS = ["Hello, world!  It's 2024-01-02...", "  a1b22c333  ", "", "xx--yy--", "▁a b▁▁c  "]


def write_pre_tokenizer_cases():
    from tokenizers import Regex, pre_tokenizers as pt
    stages = []
    for behavior in ["removed", "isolated", "merged_with_previous", "merged_with_next", "contiguous"]:
        for invert in [False, True]:
            stages.append(({"type": "Split", "pattern": {"Regex": "[,!.\\s-]"}, "behavior": camel(behavior), "invert": invert},
                           pt.Split(Regex("[,!.\\s-]"), behavior=behavior, invert=invert)))
            stages.append(({"type": "Split", "pattern": {"String": "-"}, "behavior": camel(behavior), "invert": invert},
                           pt.Split("-", behavior=behavior, invert=invert)))
    for individual in [False, True]:
        stages.append(({"type": "Digits", "individual_digits": individual}, pt.Digits(individual_digits=individual)))
    for scheme in ["always", "first", "never"]:
        for split in [True, False]:
            stages.append(({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": scheme, "split": split},
                           pt.Metaspace(replacement="\u2581", prepend_scheme=scheme, split=split)))
    for prefix in [False, True]:
        stages.append(({"type": "ByteLevel", "add_prefix_space": prefix, "use_regex": True},
                       pt.ByteLevel(add_prefix_space=prefix, use_regex=True)))
    out_path = os.path.join(os.path.dirname(__file__), "pre_tokenizer_cases.jsonl")
    with open(out_path, "w") as out:
        for config, stage in stages:
            for text in PRE_TEXTS:
                pieces = [piece for piece, _ in stage.pre_tokenize_str(text)]
                out.write(json.dumps({"pre_tokenizer": config, "text": text, "pieces": pieces}, ensure_ascii=True) + "\n")
    print(out_path, os.path.getsize(out_path), "bytes")


def camel(name):
    return "".join(part.capitalize() for part in name.split("_")).replace("Mergedwith", "MergedWith")




main()
