"""Run from outside the source tree, in a fresh venv with only the built wheel installed:
proves the wheel alone works (extension, stubs, CLI entry point, default store)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import modeltap
from modeltap import _native

here = Path.cwd()
assert "site-packages" in modeltap.__file__, f"modeltap came from {modeltap.__file__}, not the installed wheel"
assert (Path(modeltap.__file__).parent / "py.typed").exists() and (
    Path(_native.__file__).parent / "_native.pyi"
).exists()

inputs = modeltap.Collector("smoke", designation="inputs", feature_names=["a", "b"])
corr = inputs.collect(np.array([[1.5, 2.5], [3.5, 4.5]]))
assert modeltap.flush(), modeltap.stats()
(path,) = sorted((here / "modeldata").rglob("data.csv"))
rows = list(csv.reader(path.open()))
assert rows[0] == ["a", "b", "$correlation_id", "$scoring_timestamp", "$request_id", "$row"], rows[0]
assert [r[:2] for r in rows[1:]] == [["1.5", "2.5"], ["3.5", "4.5"]] and rows[1][2] == corr.id

from modeltap.azureml import ModelDataCollector  # noqa: E402

assert ModelDataCollector("smoke", designation="inputs", feature_names=["a"]).collect([1.0])
assert modeltap.close()
script = Path(sys.executable).parent / ("modeltap.exe" if os.name == "nt" else "modeltap")
cli = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
assert "demo" in cli.stdout
print(f"smoke test passed: modeltap {modeltap.__version__} from {Path(modeltap.__file__).parent}")
