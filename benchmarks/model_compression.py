"""Size and load time of a logged RandomForest pickle under joblib's compressors.

    python -m benchmarks.model_compression [--rows 100000] [--trees 100]

Prints one row per setting: file size (MB), dump and load seconds. Used to choose the
compression tracking.log_model applies (see tracking.models.COMPRESS).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier

SETTINGS = [0, ("zlib", 1), ("zlib", 3), ("zlib", 6), ("lzma", 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--trees", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, args.features))
    y = (X[:, 0] + rng.normal(scale=1.0, size=args.rows) > 0).astype(int)
    model = RandomForestClassifier(n_estimators=args.trees, n_jobs=1, random_state=0).fit(X, y)
    print(f"RandomForest {args.trees} trees on {args.rows} x {args.features}")
    print(f"{'compress':<14}{'MB':>10}{'dump s':>10}{'load s':>10}")
    with tempfile.TemporaryDirectory() as folder:
        for setting in SETTINGS:
            path = os.path.join(folder, "m.joblib")
            start = time.perf_counter()
            joblib.dump(model, path, compress=setting)
            dumped = time.perf_counter() - start
            start = time.perf_counter()
            joblib.load(path)
            loaded = time.perf_counter() - start
            size = os.path.getsize(path) / 1e6
            print(f"{setting!s:<14}{size:>10.1f}{dumped:>10.2f}{loaded:>10.2f}")


if __name__ == "__main__":
    main()
