#!/usr/bin/python3
"""End-to-end pipeline benchmark (issue 5): the whole analysis in the database
(ltv.import_csv_file + ltv.run_analysis) vs the same stages done the usual way in Python
(pandas read_csv + cleaning + groupby features at the same snapshots + quantile labels +
stratified split + scikit-learn RandomForestClassifier with the same hyper-parameters +
predictions written back with COPY), side by side, on the UCI Online Retail file and on a
synthetic dataset exported to the same CSV format.

Environment: BENCH_CUSTOMERS (synthetic size, default 1000000; 0 skips), BENCH_REPEATS
(default 1: each contender runs minutes on the large set), BENCH_TREES (default 200).
Targets: at least 3x faster end to end; the 1M-customer pipeline under 2 minutes.
"""
import os
import subprocess
import sys
import tempfile
import time

from common import data_file, median, psql, report, timed

REPEATS = int(os.environ.get("BENCH_REPEATS", "1"))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
TREES = int(os.environ.get("BENCH_TREES", "200"))
DB = "ltv_bench_pipeline"
NON_PRODUCT = {"POST", "DOT", "M", "C2", "CRUK", "D", "S", "PADS", "B", "BANK CHARGES",
               "AMAZONFEE", "ADJUST", "ADJUST2", "TEST001", "TEST002"}


def db_pipeline(path, name):
    psql(f"SELECT ltv.delete_dataset(dataset_id) FROM ltv.datasets WHERE name = '{name}'", DB)
    # (The synthetic export is over the default 1 GB import limit.)
    ds = psql(f"SET ltv.max_import_megabytes = 16384; SELECT ltv.import_csv_file('{name}', '{path}')", DB, True)
    run = psql(f"SELECT ltv.run_analysis({ds}, '{{\"forest\": {{\"n_trees\": {TREES}}}}}')", DB, True)
    status = psql(f"SELECT status || ' ' || coalesce(error, '') FROM ltv.runs WHERE run_id = {run}", DB, True)
    if not status.startswith("succeeded"):
        raise RuntimeError(f"run {run}: {status}")
    return run


def features(df, cutoff, horizon_days):
    """The 18 features of docs/features.md (same definitions, vectorised) plus the baseline
    window spend and the four ranks, for customers with a line before the cutoff."""
    import numpy as np
    import pandas as pd
    day = pd.Timedelta(days=1)
    past = df[df.invoice_time < cutoff]
    pos = past[past.amount > 0]
    neg = past[past.amount < 0]
    g, gp = past.groupby("customer_id"), pos.groupby("customer_id")
    out = pd.DataFrame({
        "monetary": g.amount.sum(),
        "gross": gp.amount.sum(),
        "frequency": gp.invoice.nunique(),
        "recency_days": (cutoff - gp.invoice_time.max()) / day,
        "tenure_days": (cutoff - gp.invoice_time.min()) / day,
        "distinct_products": gp.stock_code.nunique(),
        "returns_amount": -neg.groupby("customer_id").amount.sum(),
        "returns_count": neg.groupby("customer_id").invoice.nunique(),
    })
    for n in (30, 90, 180, 365):
        w = past[past.invoice_time >= cutoff - n * day]
        out[f"spend_{n}d"] = w.groupby("customer_id").amount.sum()
        out[f"orders_{n}d"] = w[w.amount > 0].groupby("customer_id").invoice.nunique()
    base = past[past.invoice_time >= cutoff - horizon_days * day]
    out["baseline_spend"] = base.groupby("customer_id").amount.sum()
    fut = df[(df.invoice_time >= cutoff) & (df.invoice_time < cutoff + horizon_days * day)]
    out["future_spend"] = fut.groupby("customer_id").amount.sum()
    filled = [c for c in out.columns if c not in ("recency_days", "tenure_days")]
    out[filled] = out[filled].fillna(0)
    out["avg_order_value"] = (out.gross / out.frequency.where(out.frequency > 0)).fillna(0)
    out["trend_90d"] = out.spend_90d - (out.spend_180d - out.spend_90d)
    firsts = gp.invoice_time.min().groupby(level=0).first()
    orders = pos.drop_duplicates(["customer_id", "invoice"]).groupby("customer_id").invoice_time.agg(["min", "max", "count"])
    out["mean_days_between"] = ((orders["max"] - orders["min"]) / day / (orders["count"] - 1).where(orders["count"] > 1))
    out = out.fillna({"recency_days": -1, "tenure_days": -1, "mean_days_between": -1})
    for col, rank in (("baseline_spend", "baseline_spend_rank"), ("monetary", "monetary_rank"),
                      ("frequency", "frequency_rank"), ("spend_90d", "spend_90d_rank")):
        out[rank] = (out[col].rank(method="min") - 1) / max(len(out) - 1, 1)
    del firsts
    return out.drop(columns=["gross"]).astype(np.float64)


FEATURES = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "spend_30d",
            "spend_90d", "spend_180d", "spend_365d", "orders_30d", "orders_90d", "orders_180d",
            "orders_365d", "trend_90d", "returns_amount", "returns_count", "distinct_products",
            "mean_days_between", "baseline_spend", "baseline_spend_rank", "monetary_rank",
            "frequency_rank", "spend_90d_rank"]


def buckets(values, cuts):
    import numpy as np
    return np.searchsorted(np.asarray(cuts), values, side="left")  # <= c1 -> 0, ... > c3 -> 3


def python_pipeline(path, result):
    """The same stages as ltv.run_analysis with default options, the way an analyst would."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import f1_score

    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str, "Description": str},
                     encoding="utf-8", encoding_errors="replace")
    df = df.rename(columns={"InvoiceNo": "invoice", "StockCode": "stock_code", "Quantity": "quantity",
                            "InvoiceDate": "invoice_time", "UnitPrice": "unit_price", "CustomerID": "customer_id"})
    df["invoice_time"] = pd.to_datetime(df.invoice_time, errors="coerce")
    df = df.dropna(subset=["customer_id", "invoice_time"])
    df["customer_id"] = df.customer_id.str.replace(r"\.0$", "", regex=True)
    df = df[~df.stock_code.str.upper().isin(NON_PRODUCT) & ~df.stock_code.str.startswith("gift_0001")]
    df = df[(df.quantity != 0) & (df.unit_price > 0)].drop_duplicates()
    df["amount"] = (df.quantity * df.unit_price).round(6)

    last = df.invoice_time.max()
    horizon = 182.5
    cutoff = last - pd.DateOffset(months=6)
    # The analysis' size-dependent defaults (README, "Analysis options"): up to 100,000
    # customers, 3 stacked monthly snapshots and every feature at every split; above, no
    # stacking and sqrt; above 100,000 training rows, 100,000-row samples and leaves of 10.
    small = df.customer_id.nunique() <= 100000
    snapshots = [cutoff] + ([cutoff - pd.DateOffset(months=k) for k in (1, 2, 3)] if small else [])
    frames = []
    for i, c in enumerate(snapshots):
        f = features(df, c, horizon)
        cuts = np.quantile(f.future_spend, [0.5, 0.8, 0.95], method="inverted_cdf")
        f["label"] = buckets(f.future_spend, cuts)
        f["baseline"] = buckets(f.baseline_spend, cuts)
        f["snapshot"] = i
        frames.append(f)
    main = frames[0]
    rng = np.random.default_rng(42)
    test_ids = []
    for _, grp in main.groupby("label"):
        ids = grp.index.to_numpy()
        rng.shuffle(ids)
        test_ids.extend(ids[: int(np.floor(len(ids) * 0.25 + 0.5))])
    test_ids = set(test_ids)
    train = pd.concat([f[~f.index.isin(test_ids)] for f in frames])
    test = main[main.index.isin(test_ids)]
    large_training = len(train) > 100000
    model = RandomForestClassifier(n_estimators=TREES, min_samples_leaf=10 if large_training else 3,
                                   max_features=None if small else "sqrt",
                                   max_samples=100000 if large_training else None,
                                   class_weight="balanced", n_jobs=2, random_state=42)
    model.fit(train[FEATURES].to_numpy(), train.label.to_numpy())
    pred = model.predict(test[FEATURES].to_numpy())
    result["macro_f1"] = f1_score(test.label, pred, average="macro")
    result["baseline_macro_f1"] = f1_score(test.label, test.baseline, average="macro")

    as_of = last.normalize() + pd.Timedelta(days=1)
    score = features(df, as_of, horizon)
    proba = model.predict_proba(score[FEATURES].to_numpy())
    out = pd.DataFrame(proba, index=score.index, columns=["p_low", "p_medium", "p_high", "p_vip"])
    out["bucket"] = np.array(["low", "medium", "high", "vip"])[proba.argmax(axis=1)]
    psql("DROP TABLE IF EXISTS py_predictions; CREATE TABLE py_predictions (customer_id text PRIMARY KEY, "
         "bucket text, p_low float8, p_medium float8, p_high float8, p_vip float8)", DB)
    csv = out[["bucket", "p_low", "p_medium", "p_high", "p_vip"]].to_csv(header=False)
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c",
                    "COPY py_predictions FROM STDIN WITH (FORMAT csv)"], input=csv, text=True, check=True)
    result["predictions"] = len(out)


def bench(title, path, name):
    runs = []
    rows = [("ltv: import_csv_file + run_analysis", timed(lambda: runs.append(db_pipeline(path, name)), REPEATS))]
    result = {}
    rows.append(("pandas + scikit-learn + COPY", timed(lambda: python_pipeline(path, result), REPEATS)))
    summary = psql(f"SELECT round(macro_f1::numeric, 4) || ' vs baseline ' || round(baseline_macro_f1::numeric, 4) "
                   f"|| ', ' || training_rows || ' training rows' FROM ltv.model_summary WHERE run_id = {runs[-1]}", DB, True)
    timings = psql(f"SELECT timings FROM ltv.runs WHERE run_id = {runs[-1]}", DB, True)
    report(f"{title} ({REPEATS} run(s) each, {TREES} trees)", rows, "ltv: import_csv_file + run_analysis")
    print(f"  python / ltv = {median(rows[1][1]) / median(rows[0][1]):.2f}x (target >= 3)")
    print(f"  ltv macro F1 {summary}; stage timings (ms) {timings}")
    print(f"  python macro F1 {result['macro_f1']:.4f} vs baseline {result['baseline_macro_f1']:.4f}; "
          f"{result['predictions']} predictions written back")


def main():
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    psql("CREATE EXTENSION retail_ltv", DB)
    work = tempfile.mkdtemp(prefix="ltv_bench_pipe_")
    os.chmod(work, 0o777)
    src = data_file()
    if src:
        dst = os.path.join(work, "online_retail.csv.gz")
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            fout.write(fin.read())
        os.chmod(dst, 0o644)
        bench("UCI Online Retail", dst, "uci")
    else:
        print("SKIP UCI part: ../shared/data/online_retail.csv.gz not found")
    if CUSTOMERS > 0:
        syn = psql(f"SELECT ltv.generate_dataset('gen', {CUSTOMERS}, 1)", DB, True)
        path = os.path.join(work, "synthetic.csv")
        psql(f"COPY (SELECT invoice AS \"InvoiceNo\", stock_code AS \"StockCode\", description AS \"Description\", "
             f"quantity AS \"Quantity\", to_char(invoice_time, 'YYYY-MM-DD HH24:MI:SS') AS \"InvoiceDate\", "
             f"unit_price AS \"UnitPrice\", customer_id AS \"CustomerID\", country AS \"Country\" "
             f"FROM ltv.transactions WHERE dataset_id = {syn}) TO '{path}' WITH (FORMAT csv, HEADER)", DB)
        psql(f"SELECT ltv.delete_dataset({syn})", DB)
        bench(f"Synthetic, {CUSTOMERS} customers", path, "synthetic")
    subprocess.run(["rm", "-rf", work], check=False)
    psql(f"DROP DATABASE IF EXISTS {DB}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
