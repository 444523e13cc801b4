#!/usr/bin/python3
"""Feature aggregation benchmark (issue 3): ltv.customer_features vs the equivalent plain SQL
GROUP BY with built-in aggregates vs pandas groupby (read excluded), serial and with 2
parallel workers, on the UCI Online Retail file and on a synthetic dataset.

Environment: BENCH_CUSTOMERS (synthetic size, default 1000000), BENCH_REPEATS (default 3),
BENCH_KEEP_DB=1 (keep the database and its datasets at the end, and reuse them when present:
generating a million customers takes a while).
Targets: at least as fast as plain SQL, at least 3x faster than pandas.
(count(s) over the whole row: a bare count(*) would let the planner drop the unused aggregates.)
"""
import os
import sys
import tempfile
import time

from common import data_file, median, psql, report, timed

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
KEEP_DB = os.environ.get("BENCH_KEEP_DB") == "1"
DB = "ltv_bench_features"

AGG_SQL = """SELECT count(s) FROM (
  SELECT customer_id, ltv.customer_features(invoice, stock_code, invoice_time, amount, '{c}') f
    FROM ltv.transactions WHERE dataset_id = {d} AND invoice_time < '{c}' GROUP BY customer_id) s"""

PLAIN_SQL = """SELECT count(s) FROM (
  SELECT customer_id,
    max(invoice_time) FILTER (WHERE amount > 0) AS last_purchase,
    min(invoice_time) FILTER (WHERE amount > 0) AS first_purchase,
    count(DISTINCT invoice) FILTER (WHERE amount > 0) AS frequency,
    sum(amount) AS monetary,
    sum(amount) FILTER (WHERE amount > 0) AS gross,
    sum(amount) FILTER (WHERE invoice_time >= '{c}'::timestamp - interval '30 days') AS s30,
    sum(amount) FILTER (WHERE invoice_time >= '{c}'::timestamp - interval '90 days') AS s90,
    sum(amount) FILTER (WHERE invoice_time >= '{c}'::timestamp - interval '180 days') AS s180,
    sum(amount) FILTER (WHERE invoice_time >= '{c}'::timestamp - interval '365 days') AS s365,
    count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= '{c}'::timestamp - interval '30 days') AS o30,
    count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= '{c}'::timestamp - interval '90 days') AS o90,
    count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= '{c}'::timestamp - interval '180 days') AS o180,
    count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= '{c}'::timestamp - interval '365 days') AS o365,
    sum(amount) FILTER (WHERE amount < 0) AS returns_amount,
    count(DISTINCT invoice) FILTER (WHERE amount < 0) AS returns_count,
    count(DISTINCT stock_code) FILTER (WHERE amount > 0) AS products
  FROM ltv.transactions WHERE dataset_id = {d} AND invoice_time < '{c}' GROUP BY customer_id) s"""


def pandas_features(df, cutoff):
    import pandas as pd
    day = pd.Timedelta(days=1)
    df = df[df.invoice_time < cutoff]
    pos = df[df.amount > 0]
    neg = df[df.amount < 0]
    g, gp = df.groupby("customer_id"), pos.groupby("customer_id")
    cols = {
        "monetary": g.amount.sum(),
        "gross": gp.amount.sum(),
        "frequency": gp.invoice.nunique(),
        "recency": (cutoff - gp.invoice_time.max()) / day,
        "tenure": (cutoff - gp.invoice_time.min()) / day,
        "products": gp.stock_code.nunique(),
        "returns_amount": -neg.groupby("customer_id").amount.sum(),
        "returns_count": neg.groupby("customer_id").invoice.nunique(),
    }
    for n in (30, 90, 180, 365):
        w = df[df.invoice_time >= cutoff - n * day]
        cols[f"spend_{n}"] = w.groupby("customer_id").amount.sum()
        cols[f"orders_{n}"] = w[w.amount > 0].groupby("customer_id").invoice.nunique()
    out = pd.concat(cols, axis=1)
    counts = [c for c in out.columns if c not in ("recency", "tenure")]
    out[counts] = out[counts].fillna(0)
    out["aov"] = out.gross / out.frequency.where(out.frequency > 0)
    out["trend"] = out.spend_90 - (out.spend_180 - out.spend_90)
    return len(out)


def bench_dataset(title, dataset_id, repeats):
    cutoff = psql(f"SELECT last_purchase - interval '6 months' FROM ltv.datasets WHERE dataset_id = {dataset_id}", DB, True)
    n_lines = psql(f"SELECT count(*) FROM ltv.transactions WHERE dataset_id = {dataset_id}", DB, True)
    psql(f"ANALYZE ltv.transactions", DB)

    def run(sql, workers):
        return lambda: psql(f"SET max_parallel_workers_per_gather = {workers}; SET work_mem = '1GB'; {sql}", DB)

    agg = AGG_SQL.format(c=cutoff, d=dataset_id)
    plain = PLAIN_SQL.format(c=cutoff, d=dataset_id)
    rows = [
        ("ltv.customer_features, serial", timed(run(agg, 0), repeats)),
        ("ltv.customer_features, 2 workers", timed(run(agg, 2), repeats)),
        ("plain SQL GROUP BY, serial", timed(run(plain, 0), repeats)),
        ("plain SQL GROUP BY, 2 workers", timed(run(plain, 2), repeats)),
    ]
    import pandas as pd
    work = tempfile.mkdtemp(prefix="ltv_bench_feat_")
    os.chmod(work, 0o777)
    path = os.path.join(work, "lines.csv")
    psql(f"COPY (SELECT customer_id, invoice, stock_code, invoice_time, amount FROM ltv.transactions "
         f"WHERE dataset_id = {dataset_id}) TO '{path}' WITH (FORMAT csv, HEADER)", DB)
    start = time.perf_counter()
    df = pd.read_csv(path, parse_dates=["invoice_time"], dtype={"customer_id": str, "invoice": str, "stock_code": str})
    read_s = time.perf_counter() - start
    os.remove(path)
    os.rmdir(work)
    cut = pd.Timestamp(cutoff)
    rows.append(("pandas groupby (read excluded)", timed(lambda: pandas_features(df, cut), repeats)))
    del df
    report(f"{title}: {n_lines} lines, cutoff {cutoff} ({repeats} runs each; pandas read_csv took {read_s:.1f} s, not counted)",
           rows, "ltv.customer_features, serial")
    best = min(median(rows[0][1]), median(rows[1][1]))
    print(f"  plain SQL (best) / ltv = {min(median(rows[2][1]), median(rows[3][1])) / best:.2f}x (target >= 1)")
    print(f"  pandas / ltv = {median(rows[4][1]) / best:.2f}x (target >= 3)")
    print(f"  parallel speedup of ltv.customer_features: {median(rows[0][1]) / median(rows[1][1]):.2f}x")


def existing_dataset(name):
    """The id of dataset `name` kept by an earlier BENCH_KEEP_DB=1 run, or None."""
    if not KEEP_DB:
        return None
    found = psql(f"SELECT dataset_id FROM ltv.datasets WHERE name = '{name}'", DB, True)
    return found or None


def main():
    if not (KEEP_DB and psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'", None, True)):
        psql(f"DROP DATABASE IF EXISTS {DB}")
        psql(f"CREATE DATABASE {DB}")
        psql("CREATE EXTENSION retail_ltv", DB)
    src = data_file()
    uci = existing_dataset("uci")
    if uci:
        bench_dataset("UCI Online Retail", uci, REPEATS)
    elif src:
        work = tempfile.mkdtemp(prefix="ltv_bench_feat_src_")
        os.chmod(work, 0o755)
        dst = os.path.join(work, "online_retail.csv.gz")
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            fout.write(fin.read())
        os.chmod(dst, 0o644)
        uci = psql(f"SELECT ltv.import_csv_file('uci', '{dst}')", DB, True)
        os.remove(dst)
        os.rmdir(work)
        bench_dataset("UCI Online Retail", uci, REPEATS)
    else:
        print("SKIP UCI part: ../shared/data/online_retail.csv.gz not found")
    syn_name = f"synthetic_{CUSTOMERS}"
    syn = existing_dataset(syn_name)
    if not syn:
        start = time.perf_counter()
        syn = psql(f"SELECT ltv.generate_dataset('{syn_name}', {CUSTOMERS}, 1)", DB, True)
        print(f"\ngenerated {CUSTOMERS} synthetic customers in {time.perf_counter() - start:.1f} s")
    bench_dataset(f"Synthetic, {CUSTOMERS} customers", syn, REPEATS)
    if not KEEP_DB:
        psql(f"DROP DATABASE IF EXISTS {DB}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
