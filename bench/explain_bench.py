"""Exact per-customer explanations: retail_ltv's TreeSHAP (ltv.rf_explain_batch) against
XGBoost's pred_contribs (the same path-dependent TreeSHAP algorithm), side by side in one run.

On the UCI Online Retail dataset: an analysis run serving the forest (default parameters:
200 trees, min_samples_leaf 3, all features per split) gives the rows; XGBoost trains in
random-forest mode (XGBRFClassifier) on the same training rows with the same number of trees,
the same maximum depth as the deepest tree of our forest and a matching leaf size, and both
explain the same customers on the same number of threads. Reported: seconds per call and
milliseconds per explained row (median over interleaved rounds), and the forests' sizes (the
algorithm costs O(trees x leaves x depth^2) per row, so the sizes say how comparable the
contenders are). The first round is a fresh session (cold model cache); the median is warm.

Knobs: BENCH_DB (ltv_bench_explain), BENCH_ROWS (customers explained, 200), BENCH_REPEATS (3),
BENCH_THREADS (2), BENCH_CSV (../shared/data/online_retail.csv.gz).
"""
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import psql  # noqa: E402

DB = os.environ.get("BENCH_DB", "ltv_bench_explain")
ROWS = int(os.environ.get("BENCH_ROWS", "200"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CSV = os.path.abspath(os.environ.get("BENCH_CSV", "../shared/data/online_retail.csv.gz"))


def matrix(text):
    rows = [line.split("|") for line in text.splitlines() if line]
    return rows


def main():
    import xgboost as xgb

    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    psql("CREATE EXTENSION retail_ltv", DB)
    psql(f"SELECT ltv.import_csv_file('uci', '{CSV}')", DB)
    run = psql("SELECT ltv.run_analysis((SELECT dataset_id FROM ltv.datasets), "
               "'{\"candidates\": [\"classifier\"]}')", DB, capture=True)
    info = psql(f"SELECT (ltv.rf_info(model)->'depth'->>'max') || '|' || (ltv.rf_info(model)->'nodes'->>'leaves') "
                f"|| '|' || (ltv.rf_info(model)->>'n_trees') FROM ltv.models WHERE run_id = {run}", DB, capture=True)
    depth, leaves, trees = (int(x) for x in info.split("|"))
    train = matrix(psql(
        f"SELECT array_to_string(ltv.feature_vector(cf), ',') || '|' || ltv._bucket_class(cf.true_bucket) "
        f"FROM ltv.analysis_runs r, ltv._training_rows(r, ARRAY(SELECT jsonb_array_elements_text(r.settings->'plan'->'train_at')::timestamp)) cf "
        f"WHERE r.run_id = {run} ORDER BY cf.cutoff, cf.customer_id", DB, capture=True))
    x_train = np.array([[float(v) for v in r[0].split(",")] for r in train])
    y_train = np.array([int(r[1]) for r in train])
    scored = f"""FROM ltv.customer_features cf, ltv.analysis_runs r
                 WHERE r.run_id = {run} AND cf.run_id = r.run_id AND cf.cutoff = (r.settings->>'as_of')::timestamp"""
    rows = matrix(psql(f"SELECT array_to_string(ltv.feature_vector(cf), ',') {scored} "
                       f"ORDER BY md5(cf.customer_id) LIMIT {ROWS}", DB, capture=True))
    x_rows = np.array([[float(v) for v in r[0].split(",")] for r in rows])

    model = xgb.XGBRFClassifier(n_estimators=trees, max_depth=depth, min_child_weight=3, subsample=0.632,
                                colsample_bynode=1.0, tree_method="exact", n_jobs=THREADS, random_state=42)
    model.fit(x_train, y_train)
    booster = model.get_booster()
    booster.set_param({"nthread": THREADS})
    xgb_leaves = sum(line.count("leaf=") for line in booster.get_dump())
    dmatrix = xgb.DMatrix(x_rows)

    sql_explain = f"""SET max_parallel_workers_per_gather = 0;
      SELECT count(*) FROM ltv.rf_explain_batch((SELECT model FROM ltv.models WHERE run_id = {run}),
        (SELECT array_agg(customer_id ORDER BY md5(customer_id)) FROM (SELECT cf.customer_id {scored} ORDER BY md5(cf.customer_id) LIMIT {ROWS}) s),
        (SELECT array_agg(v ORDER BY k) FROM (SELECT md5(cf.customer_id) AS k, ltv.feature_vector(cf) AS v {scored} ORDER BY 1 LIMIT {ROWS}) s),
        (SELECT array_agg(ltv.feature_vector(cf)) {scored}))"""
    # ltv.rf_explain_batch uses the model's thread count (the "threads" forest parameter,
    # default min(hardware threads, 8)): on this 2-core machine, 2.
    times = {"retail_ltv TreeSHAP": [], "xgboost pred_contribs": []}
    for _ in range(REPEATS):
        start = time.perf_counter()
        psql(sql_explain, DB, capture=True)
        times["retail_ltv TreeSHAP"].append(time.perf_counter() - start)
        start = time.perf_counter()
        booster.predict(dmatrix, pred_contribs=True)
        times["xgboost pred_contribs"].append(time.perf_counter() - start)
    print(f"\nExplaining {len(x_rows)} UCI customers on {THREADS} threads "
          f"(training rows: {len(x_train)}, rounds: {REPEATS}, interleaved)")
    print(f"{'contender':<24} {'trees':>6} {'leaves':>8} {'first s':>9} {'median s':>9} {'ms/row':>8}")
    sizes = {"retail_ltv TreeSHAP": (trees, leaves),
             "xgboost pred_contribs": (trees * 4, xgb_leaves)}  # one tree per class per round
    for name, t in times.items():
        m = statistics.median(t)
        print(f"{name:<24} {sizes[name][0]:>6} {sizes[name][1]:>8} {t[0]:>9.3f} {m:>9.3f} {1000 * m / len(x_rows):>8.2f}")
    psql(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    main()
