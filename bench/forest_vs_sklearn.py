#!/usr/bin/python3
"""Random forest: retail_ltv's C++ engine vs scikit-learn (and XGBoost), side by side in one run.

This is the core-level benchmark (through test/tools/forest_cli, no Postgres). The SQL-level
one, which the issue's targets are about (ltv.rf_train, ltv.rf_predict_batch, ltv.rf_predict
on feature tables built in SQL), is bench/forest_bench.py (bench/run.sh forest).

Same data, same stratified 80/20 split, same settings (200 trees, sqrt features per split,
min_samples_leaf=3, bootstrap, 2 threads / n_jobs=2). Prints the median train time, batch
predict throughput on the held-out rows (class probabilities + argmax: sklearn's predict),
macro F1, peak memory, and our/sklearn ratios. XGBoost (gradient boosting, 200 rounds,
tree_method=hist, its default depth 6, n_jobs=2) is there for reference only: it is a
different model, not the same hyper-parameters.

    /usr/bin/python3 bench/forest_vs_sklearn.py                       # synthetic 4 classes
    /usr/bin/python3 bench/forest_vs_sklearn.py --rows 1000000 --sklearn-repeats 1
    /usr/bin/python3 bench/forest_vs_sklearn.py --retail              # UCI Online Retail
    /usr/bin/python3 bench/forest_vs_sklearn.py --csv features.csv --label bucket

--retail computes the customer feature table of docs/features.md with pandas from
../shared/data/online_retail.csv.gz (cutoff = last invoice - 6 months, customers with a
purchase before it, label = bucket of the spend in the next 6 months by rank: 50/30/15/5 %),
the same definitions as ltv.customer_features and the pipeline's default labels.

Needs test/tools/forest_cli built:  cmake --build build-forest --target forest_cli
Targets (from the issue): training >= 10x faster, predict >= 5x faster, |dF1| <= 0.01.
"""
import argparse
import json
import os
import resource
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


def retail_features(path):
    """The feature table of docs/features.md, as of cutoff = last invoice - 6 months."""
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str},
                     encoding="latin-1")
    df = df.dropna(subset=["CustomerID"])
    df["t"] = pd.to_datetime(df["InvoiceDate"])
    df["amount"] = (df["Quantity"] * df["UnitPrice"]).round(6)
    df = df[df["amount"] != 0]
    cutoff = df["t"].max() - pd.DateOffset(months=6)
    horizon_end = cutoff + pd.DateOffset(months=6)
    past = df[df["t"] < cutoff]
    future = df[(df["t"] >= cutoff) & (df["t"] < horizon_end)]
    day = pd.Timedelta(days=1)
    buy = past[past["amount"] > 0]
    ret = past[past["amount"] < 0]
    g = buy.groupby("CustomerID")
    f = pd.DataFrame({"recency_days": (cutoff - g["t"].max()) / day})
    f["frequency"] = g["InvoiceNo"].nunique()
    f["monetary"] = past.groupby("CustomerID")["amount"].sum()
    f["avg_order_value"] = g["amount"].sum() / f["frequency"]
    f["tenure_days"] = (cutoff - g["t"].min()) / day
    for n in (30, 90, 180, 365):
        w = past[past["t"] >= cutoff - pd.Timedelta(days=n)]
        f[f"spend_{n}d"] = w.groupby("CustomerID")["amount"].sum()
    inv_latest = buy.groupby(["CustomerID", "InvoiceNo"])["t"].max().reset_index()
    for n in (30, 90, 180, 365):
        w = inv_latest[inv_latest["t"] >= cutoff - pd.Timedelta(days=n)]
        f[f"orders_{n}d"] = w.groupby("CustomerID")["InvoiceNo"].nunique()
    f = f.fillna(0.0)
    f["trend_90d"] = f["spend_90d"] - (f["spend_180d"] - f["spend_90d"])
    f["returns_amount"] = -ret.groupby("CustomerID")["amount"].sum()
    f["returns_count"] = ret.groupby("CustomerID")["InvoiceNo"].nunique()
    f["distinct_products"] = g["StockCode"].nunique()
    span = (g["t"].max() - g["t"].min()) / day
    f["mean_days_between"] = np.where(f["frequency"] >= 2, span / (f["frequency"] - 1), -1.0)
    f = f.fillna(0.0).sort_index()
    spend = future.groupby("CustomerID")["amount"].sum().reindex(f.index).fillna(0.0)
    rank = spend.rank(method="first") / len(spend)  # ties in customer id order
    f["label"] = np.select([rank <= 0.5, rank <= 0.8, rank <= 0.95], [0, 1, 2], 3)
    return f.reset_index(drop=True), cutoff


def load(args, workdir):
    if args.retail:
        path = os.path.join(ROOT, "..", "shared", "data", "online_retail.csv.gz")
        frame, cutoff = retail_features(path)
        args.source = (f"UCI Online Retail customer features as of {cutoff} "
                       f"({len(frame)} customers, {frame.shape[1] - 1} features, 4 buckets)")
        y = frame.pop("label")
        return frame.to_numpy(dtype=float), y.to_numpy(dtype=int), list(frame.columns)
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


def peak_mb(who):
    return resource.getrusage(who).ru_maxrss / 1024.0


def time_python_model(make_model, args, x_train, y_train, x_test, y_test):
    """Median fit and predict times of make_model(seed) over the repeats, and its macro F1."""
    train_times, predict_times = [], []
    for i in range(args.sklearn_repeats or args.repeats):
        model = make_model(i)
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


def run_sklearn(args, x_train, y_train, x_test, y_test):
    result = time_python_model(
        lambda seed: RandomForestClassifier(n_estimators=args.trees, max_features="sqrt",
                                            min_samples_leaf=3, bootstrap=True,
                                            n_jobs=args.threads, random_state=seed),
        args, x_train, y_train, x_test, y_test)
    result["peak_rss_mb"] = peak_mb(resource.RUSAGE_SELF)
    return result


def run_xgboost(args, x_train, y_train, x_test, y_test):
    try:
        import xgboost
    except ImportError:
        return None
    result = time_python_model(
        lambda seed: xgboost.XGBClassifier(n_estimators=args.trees, tree_method="hist",
                                           n_jobs=args.threads, random_state=seed),
        args, x_train, y_train, x_test, y_test)
    result["version"] = xgboost.__version__
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retail", action="store_true",
                        help="UCI Online Retail customer features (../shared/data)")
    parser.add_argument("--csv", help="a features CSV (numeric columns + a label column)")
    parser.add_argument("--label", default="label")
    parser.add_argument("--rows", type=int, default=50000, help="synthetic rows")
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sklearn-repeats", type=int, default=0,
                        help="training repeats for sklearn and XGBoost (default: --repeats)")
    parser.add_argument("--no-xgboost", action="store_true")
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
        xgb = None if args.no_xgboost else run_xgboost(args, x_train, y_train, x_test, y_test)

    source = getattr(args, "source", None) or args.csv or \
        f"synthetic {args.rows} rows x 19 features, 4 classes"
    print(f"data: {source}; train {len(y_train)} / test {len(y_test)} rows; "
          f"{args.trees} trees, sqrt features, min_samples_leaf=3, bootstrap, "
          f"{args.threads} threads; sklearn {sklearn.__version__}")
    print(f"{'':24}{'retail_ltv':>14}{'sklearn':>14}{'ratio':>10}{'xgboost':>14}")
    rows = [("median train s", "train_seconds", theirs["train_seconds"] / ours["train_seconds"]),
            ("predict rows/s", "predict_rows_per_s",
             ours["predict_rows_per_s"] / theirs["predict_rows_per_s"]),
            ("test macro F1", "macro_f1", ours["macro_f1"] - theirs["macro_f1"]),
            ("peak RSS MB", "peak_rss_mb", theirs["peak_rss_mb"] / ours["peak_rss_mb"])]
    for label, key, ratio in rows:
        kind = "diff" if key == "macro_f1" else "x"
        ref = f"{xgb[key]:>14.4f}" if xgb and key in xgb else f"{'-':>14}"
        print(f"{label:24}{ours[key]:>14.4f}{theirs[key]:>14.4f}{ratio:>9.3f}{kind}{ref}")
    print("peak RSS: ours = the forest_cli process; sklearn = this Python process "
          "(includes the data frames), so it is an upper bound")
    print(f"our OOB macro F1 {ours['oob_macro_f1']:.4f} (tuned rule {ours['oob_macro_f1_tuned']:.4f}); "
          f"test macro F1 with the tuned rule {ours['macro_f1_tuned']:.4f}")
    print(json.dumps({"ours": ours, "sklearn": theirs, "xgboost": xgb}))


if __name__ == "__main__":
    main()
