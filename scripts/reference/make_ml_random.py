"""Reference sequences for the MT19937 ports in Sources/Score/Random (NumPy RandomState, CPython random).

Writes Tests/ScoreTests/Fixtures/ml-random.json. Run: /work/venv/bin/python scripts/reference/make_ml_random.py
"""
import json
import platform
import random
from pathlib import Path

import numpy as np

out = {"versions": {"python": platform.python_version(), "numpy": np.__version__}}

rs = np.random.RandomState(42)
out["numpy_random_sample_seed42"] = rs.random_sample(5).tolist()
rs = np.random.RandomState(7)
out["numpy_randint_seed7"] = rs.randint(0, 1000, 20).tolist() + rs.randint(0, 16384, 10).tolist() + rs.randint(0, 1, 3).tolist() + rs.randint(0, 2**33, 5).tolist()
rs = np.random.RandomState(42)
x = list(range(50)); rs.shuffle(x)
out["numpy_shuffle50_seed42"] = x
rs = np.random.RandomState(0)
out["numpy_permutation20_seed0"] = rs.permutation(20).tolist()
rs = np.random.RandomState(42)
p = (np.ones(1536, dtype=np.float32) / np.float32(1536)).astype(np.float32)
out["numpy_choice_p_seed42"] = rs.choice(1536, 20, p=p, replace=True).tolist()
w = np.arange(1, 11, dtype=np.float64); w = w / w.sum()
out["numpy_choice_weighted_seed42"] = rs.choice(10, 30, p=w).tolist()
out["numpy_choice_noreplace_seed42"] = rs.choice(512, replace=False, size=7).tolist()
out["numpy_uniform_after_seed42"] = rs.uniform(size=3).tolist()
# a large seed (> 2^31) and the mixed call order of MiniBatchKMeans
rs = np.random.RandomState(4000000000)
out["numpy_random_sample_seed4e9"] = rs.random_sample(3).tolist()

r = random.Random(42)
out["python_random_seed42"] = [r.random() for _ in range(5)]
r = random.Random(42)
out["python_getrandbits_seed42"] = [r.getrandbits(k) for k in (1, 5, 13, 32, 40, 64)]
r = random.Random(42)
out["python_randbelow_seed42"] = [r._randbelow(n) for n in (1, 2, 3, 10, 1000, 2284, 2**31 + 5)]
r = random.Random(42)
out["python_sample_pool_seed42"] = r.sample(range(1004), 1004)[:40]
r = random.Random(42)
out["python_sample_set_seed42"] = r.sample(range(2284), 91)
out["python_choices_after_seed42"] = r.choices(range(91), k=30)
r = random.Random(2**40 + 3)
out["python_random_bigseed"] = [r.random() for _ in range(3)]
r = random.Random(0)
out["python_sample_small_seed0"] = r.sample(range(10), 4) + r.sample(range(100), 3) + r.sample(range(30), 6)

path = Path(__file__).resolve().parents[2] / "Tests/ScoreTests/Fixtures/ml-random.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print("wrote", path)
