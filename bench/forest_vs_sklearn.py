#!/usr/bin/python3
"""Random forest: retail_ltv's C++ engine vs scikit-learn, side by side in one run.

Same data, same stratified 80/20 split, same settings (200 trees, sqrt features per split,
min_samples_leaf=3, bootstrap, 2 threads / n_jobs=2). Prints the median train time, batch
predict throughput on the held-out rows, macro F1, and our/sklearn ratios.

    /usr/bin/python3 bench/forest_vs_sklearn.py                       # synthetic 4 classes
    /usr/bin/python3 bench/forest_vs_sklearn.py --csv features.csv --label bucket

Needs test/tools/forest_cli built:  cmake --build build-forest --target forest_cli
Targets (from the issue): training >= 10x faster, predict >= 5x faster, |dF1| <= 0.01.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(args, workdir):
    if args.csv:
        frame = pd.read_csv(args.csv)
        y = frame[args.label]
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            y = y.astype("category").cat.codes  # classes 0..K-1
        x = frame.drop(columns=[args.label]).select_dtypes("number").fillna(0.0)
        return x.to_numpy(dtype=float), y.to_numpy(dtype=int), list(x.columns)
    path = os.path.join(workdir, "synthetic.csv")
    subprocess.run([args.cli, "generate", str(args.rows), "19", "10", "4", "1", path], check=True)
    frame = pd.read_csv(path)
    y = frame.pop("label")
    return frame.to_numpy(dtype=float), y.to_numpy(dtype=int), list(frame.columns)


def write(path, x, y, names):
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(len(names))])
    frame["label"] = y
    frame.to_csv(path, index=False, float_format="%.17g")


def run_ours(args, train_path, test_path):
    params = {"n_trees": args.trees, "max_features": "sqrt", "min_samples_leaf": 3,
              "bootstrap": True, "threads": args.threads, "seed": 1}
    out = subprocess.run([args.cli, "bench", train_path, test_path, json.dumps(params),
                          str(args.repeats), str(args.threads)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def run_sklearn(args, x_train, y_train, x_test, y_test):
    train_times, predict_times = [], []
    for i in range(args.repeats):
        model = RandomForestClassifier(n_estimators=args.trees, max_features="sqrt",
                                       min_samples_leaf=3, bootstrap=True,
                                       n_jobs=args.threads, random_state=i)
        start = time.perf_counter()
        model.fit(x_train, y_train)
        train_times.append(time.perf_counter() - start)
    for _ in range(max(args.repeats, 3)):
        start = time.perf_counter()
        predicted = model.predict(x_test)
        predict_times.append(time.perf_counter() - start)
    predict_s = statistics.median(predict_times)
    return {"train_seconds": statistics.median(train_times), "predict_seconds": predict_s,
            "predict_rows_per_s": len(x_test) / predict_s,
            "macro_f1": f1_score(y_test, predicted, average="macro")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="a features CSV (numeric columns + a label column)")
    parser.add_argument("--label", default="label")
    parser.add_argument("--rows", type=int, default=50000, help="synthetic rows")
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cli", default=os.path.join(ROOT, "build-forest", "forest_cli"))
    args = parser.parse_args()
    if not os.path.exists(args.cli):
        sys.exit(f"{args.cli} not found: cmake --build build-forest --target forest_cli")

    with tempfile.TemporaryDirectory() as workdir:
        x, y, names = load(args, workdir)
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=0.2, random_state=0, stratify=y)
        train_path = os.path.join(workdir, "train.csv")
        test_path = os.path.join(workdir, "test.csv")
        write(train_path, x_train, y_train, names)
        write(test_path, x_test, y_test, names)
        ours = run_ours(args, train_path, test_path)
        theirs = run_sklearn(args, x_train, y_train, x_test, y_test)

    source = args.csv or f"synthetic {args.rows} rows x 19 features, 4 classes"
    print(f"data: {source}; train {len(y_train)} / test {len(y_test)} rows; "
          f"{args.trees} trees, sqrt features, min_samples_leaf=3, bootstrap, "
          f"{args.threads} threads; sklearn {sklearn.__version__}")
    print(f"{'':24}{'retail_ltv':>14}{'sklearn':>14}{'ratio':>10}")
    rows = [("median train s", "train_seconds", theirs["train_seconds"] / ours["train_seconds"]),
            ("predict rows/s", "predict_rows_per_s",
             ours["predict_rows_per_s"] / theirs["predict_rows_per_s"]),
            ("test macro F1", "macro_f1", ours["macro_f1"] - theirs["macro_f1"])]
    for label, key, ratio in rows:
        kind = "diff" if key == "macro_f1" else "x"
        print(f"{label:24}{ours[key]:>14.4f}{theirs[key]:>14.4f}{ratio:>9.3f}{kind}")
    print(f"our OOB macro F1 {ours['oob_macro_f1']:.4f} (tuned rule {ours['oob_macro_f1_tuned']:.4f}); "
          f"test macro F1 with the tuned rule {ours['macro_f1_tuned']:.4f}")
    print(json.dumps({"ours": ours, "sklearn": theirs}))


if __name__ == "__main__":
    main()
