"""transformers' default config of each MoE model type issue 12 names, as config.json would hold it
(`to_json_string`), so `inspect-model` can be checked on them without a download.

Usage: /tmp/venv/bin/python scripts/reference/default_configs.py [--out Tests/Fixtures/configs/transformers-defaults]
Recorded with transformers 5.25.0. Each default mirrors one released model (the class docstrings say which).
"""
import argparse
from pathlib import Path

import transformers

CLASSES = {
    "deepseek_v2": "DeepseekV2Config",
    "deepseek_v3": "DeepseekV3Config",
    "gpt_oss": "GptOssConfig",
    "granitemoe": "GraniteMoeConfig",
    "ernie4_5_moe": "Ernie4_5_MoeConfig",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="Tests/Fixtures/configs/transformers-defaults")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for model_type, name in CLASSES.items():
        config = getattr(transformers, name)()
        assert config.model_type == model_type, (name, config.model_type)
        (out / f"{model_type}.json").write_text(config.to_json_string(use_diff=False))
        print(model_type, "->", out / f"{model_type}.json")


if __name__ == "__main__":
    main()
