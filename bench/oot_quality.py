#!/usr/bin/python3
"""Out-of-time quality of the served buckets on real data, as a new user would meet it.

Protocol (issue "Predictions that beat the simple rule out of time"): for a cut time
T = last purchase - 182 days (and, with --years-back, T - 365 days, ...):
  1. import only the file's lines dated before T (a fresh dataset);
  2. run ltv.run_analysis(dataset) with the given options (default: none);
  3. take the stored bucket of every customer active before T (ltv.predictions of the run);
  4. truth: each such customer's net spend in [T, T + 182 days), from the full file's
     cleaned lines, bucketed by percent rank (ties share their average rank) at 0.5 / 0.8 /
     0.95; the naive rule is the same bucketing of the spend in [T - 182 days, T).
Prints macro F1 of the served buckets and of the naive rule, and the lift, per cut and
seed (medians over seeds). Needs a server (PG* variables) with the extension installed.

  bench/oot_quality.py [--file F] [--years-back N] [--seeds 42,7,...] [--options JSON]
                       [--candidates] [--keep]
                       [--min-lift X]  (exit 1 when any cut's median lift is below X)
"""
import argparse
import csv
import gzip
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import psql  # noqa: E402

HORIZON = timedelta(days=182)
QUANTILES = (0.5, 0.8, 0.95)
DB = os.environ.get("LTV_OOT_DB", "ltv_oot")
DATE_COLUMNS = ("InvoiceDate", "invoice_date", "date", "Date", "invoice_time")


def rank_buckets(values):
    """Bucket 0..3 of each value by percent rank, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    pct = [0.0] * len(values)
    n = len(values)
    i = 0
    while i < n:
        j = i
        while j + 1 < n and values[order[j + 1]] == values[order[i]]:
            j += 1
        avg = (i + j + 2) / 2.0 / n  # average of 1-based ranks i+1..j+1, over n
        for k in range(i, j + 1):
            pct[order[k]] = avg
        i = j + 1
    return [sum(p > q for q in QUANTILES) for p in pct]


def macro_f1(truth, pred, k=4):
    f1s = []
    for c in range(k):
        tp = sum(1 for t, p in zip(truth, pred) if t == c and p == c)
        fp = sum(1 for t, p in zip(truth, pred) if t != c and p == c)
        fn = sum(1 for t, p in zip(truth, pred) if t == c and p != c)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / k


def iso_text(value):
    """ISO text of a date cell for comparison: compact yyyymmdd[HHMM[SS]] is spelled out."""
    v = value.strip()
    if v.isdigit() and len(v) in (8, 12, 14):
        v = f"{v[:4]}-{v[4:6]}-{v[6:8]} {v[8:10] or '00'}:{v[10:12] or '00'}:{v[12:14] or '00'}"
    return v


def write_cut(path, cut, out_path):
    """Copies the header and the lines dated before `cut` (ISO text compare)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as src, \
            open(out_path, "w", encoding="utf-8", newline="") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst)
        header = next(reader)
        col = next(i for i, h in enumerate(header) if h.strip() in DATE_COLUMNS)
        writer.writerow(header)
        cut_text = cut.strftime("%Y-%m-%d %H:%M:%S")
        kept = 0
        for row in reader:
            if len(row) > col and iso_text(row[col]) < cut_text:
                writer.writerow(row)
                kept += 1
    os.chmod(out_path, 0o644)
    return kept


def query_rows(sql):
    out = psql(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", db=DB, capture=True)
    return list(csv.reader(io.StringIO(out)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default=os.path.join(HERE, "..", "..", "shared", "data", "online_retail_ii.csv.gz"))
    ap.add_argument("--years-back", type=int, default=1, help="also cut 1..N years earlier")
    ap.add_argument("--seeds", default="42")
    ap.add_argument("--options", default="{}")
    ap.add_argument("--min-lift", type=float, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the database")
    ap.add_argument("--candidates", action="store_true", help="print every candidate's scores in each run's own evaluation")
    args = ap.parse_args()
    path = os.path.abspath(args.file)
    if not os.path.exists(path):
        print(f"SKIP: {path} not found")
        return 0
    work = tempfile.mkdtemp(prefix="ltv_oot_")
    os.chmod(work, 0o755)
    staged = os.path.join(work, "full" + (".csv.gz" if path.endswith(".gz") else ".csv"))
    subprocess.run(["cp", path, staged], check=True)
    os.chmod(staged, 0o644)

    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    psql("CREATE EXTENSION retail_ltv", db=DB)
    full = psql(f"SELECT ltv.import_csv_file('full', '{staged}')", db=DB, capture=True)
    last = psql(f"SELECT last_purchase FROM ltv.datasets WHERE dataset_id = {full}", db=DB, capture=True)
    last = datetime.fromisoformat(last)
    print(f"file: {os.path.basename(path)}, last purchase {last}")

    results = []
    for back in range(args.years_back + 1):
        cut = last - HORIZON - timedelta(days=365 * back)
        cut_path = os.path.join(work, f"cut_{back}.csv")
        write_cut(path, cut, cut_path)
        ds = psql(f"SELECT ltv.import_csv_file('cut_{back}', '{cut_path}')", db=DB, capture=True)
        truth_sql = f"""
          WITH c AS (SELECT DISTINCT customer_id FROM ltv.transactions WHERE dataset_id = {ds})
          SELECT c.customer_id,
                 coalesce(sum(t.amount) FILTER (WHERE t.invoice_time >= '{cut}' AND t.invoice_time < '{cut + HORIZON}'), 0),
                 coalesce(sum(t.amount) FILTER (WHERE t.invoice_time >= '{cut - HORIZON}' AND t.invoice_time < '{cut}'), 0)
            FROM c LEFT JOIN ltv.transactions t ON t.dataset_id = {full} AND t.customer_id = c.customer_id
           GROUP BY c.customer_id ORDER BY c.customer_id"""
        rows = query_rows(truth_sql)
        ids = [r[0] for r in rows]
        truth = rank_buckets([float(r[1]) for r in rows])
        naive = rank_buckets([float(r[2]) for r in rows])
        naive_f1 = macro_f1(truth, naive)
        for seed in [int(s) for s in args.seeds.split(",")]:
            opts = json.loads(args.options)
            if seed != 42 or "seed" not in opts:
                opts.setdefault("seed", seed)
            run = psql(f"SELECT ltv.run_analysis({ds}, '{json.dumps(opts)}')", db=DB, capture=True)
            status = psql(f"SELECT status || coalesce(': ' || error, '') FROM ltv.runs WHERE run_id = {run}", db=DB, capture=True)
            if not status.startswith("succeeded"):
                print(f"cut {cut:%Y-%m-%d} seed {seed}: run {run} {status}")
                results.append((back, seed, None, naive_f1, None))
                continue
            pred = dict(query_rows(f"SELECT customer_id, array_position(enum_range(NULL::ltv.bucket), bucket) - 1 FROM ltv.predictions WHERE run_id = {run}"))
            missing = [i for i in ids if i not in pred]
            served = [int(pred.get(i, 0)) for i in ids]
            f1 = macro_f1(truth, served)
            served_what = psql(f"SELECT coalesce(metrics->>'served', 'model') FROM ltv.models WHERE run_id = {run}", db=DB, capture=True)
            print(f"cut {cut:%Y-%m-%d} seed {seed}: customers {len(ids)} (missing {len(missing)}), served {served_what}: "
                  f"macro F1 {f1:.4f}, naive {naive_f1:.4f}, lift {f1 - naive_f1:+.4f}", flush=True)
            results.append((back, seed, f1, naive_f1, served_what))
            if args.candidates:
                ev = psql(f"SELECT evaluation || ', ' || folds || ' fold(s)' FROM ltv.model_summary WHERE run_id = {run}", db=DB, capture=True)
                print(f"  the run's own evaluation ({ev}): candidate, mean macro F1, lift, 90% interval, Spearman, Gini")
                for name, mf1, lift, lo, hi, rho, gini in query_rows(
                        f"""SELECT c->>'name', c->>'mean_macro_f1', c->>'mean_lift', c->'lift_ci90'->>0, c->'lift_ci90'->>1,
                                  c->>'mean_spearman', c->>'mean_gini'
                             FROM ltv.models m, jsonb_array_elements(m.metrics->'candidates') c WHERE m.run_id = {run}"""):
                    mark = " <- served" if name == served_what else ""
                    print(f"    {name:<24} {float(mf1):.4f} {float(lift):+.4f} [{float(lo):+.4f}, {float(hi):+.4f}]"
                          f" {float(rho):.3f} {float(gini):.3f}{mark}")

    print("\ncut                        served F1   naive F1       lift  (median over seeds)")
    ok = True
    for back in range(args.years_back + 1):
        rs = [r for r in results if r[0] == back and r[2] is not None]
        if not rs:
            print(f"T - {back} year(s): no successful run")
            ok = False
            continue
        f1 = statistics.median(r[2] for r in rs)
        nf = rs[0][3]
        print(f"last - 182 d - {back} year(s)   {f1:9.4f}  {nf:9.4f}  {f1 - nf:+9.4f}")
        if args.min_lift is not None and f1 - nf < args.min_lift:
            ok = False
    if not args.keep:
        psql(f"DROP DATABASE IF EXISTS {DB}")
    subprocess.run(["rm", "-rf", work])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
