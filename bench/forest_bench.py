#!/usr/bin/python3
"""Random forest at the SQL level: ltv.rf_train / ltv.rf_predict_batch / ltv.rf_predict vs
scikit-learn's RandomForestClassifier (and XGBoost, for reference), side by side in one run.

Data sets, both built in SQL and exported row for row to Python:
  (a) the UCI Online Retail customer feature table: ltv.import_csv_file of
      ../shared/data/online_retail.csv.gz, then ltv.materialize_features (default cutoff =
      last purchase - 6 months, labels = next-6-month spend bucket by rank 50/30/15/5 %) and
      the model inputs of the pipeline (ltv.feature_vector, ltv.feature_names: every model input of the feature registry);
  (b) BENCH_CUSTOMERS (default 1,000,000) synthetic customers from ltv.generate_dataset, same
      features and labels.
The held-out split is stratified by bucket and seeded (as the pipeline's: the first 20 % of
each bucket in hashtextextended(customer_id, 1) order); every contender sees exactly the same
training and test rows.

Same hyper-parameters everywhere: 200 trees, sqrt features per split, min_samples_leaf 3,
bootstrap, 2 threads (sklearn n_jobs=2), argmax decision, no class weights. XGBoost
(gradient boosting, 200 rounds, tree_method=hist, default depth 6, n_jobs=2) is a different
model, printed for reference only.

Measured, per data set:
  train s             median wall time of `SELECT octet_length(ltv.rf_train(...)) FROM ...` from
                      the client (scan + aggregate + train + serialize to bytea) vs sklearn's
                      fit(); on data set (a) each contender trains twice per round, in one
                      session / Python process, and the second run is timed (the first
                      statement of a backend also loads the library, reads the catalog and
                      grows the heap, ~5-20 ms, as importing sklearn and a first fit do in
                      Python); the first runs' median is printed apart; on (b), where that is
                      < 0.1 %, one cold run each. One more run INSERTs the model into an
                      (unlogged) table for the predictions, and its time ("train + INSERT")
                      is printed apart
  batch rows/s        test rows / median time of one ltv.rf_predict_batch call over the test
                      rows (arrays prepared in a table, model already decoded in the session:
                      the counterpart of sklearn's predict(x_test) on an in-memory array); the
                      first ("cold") call, which also decodes the model bytea, is printed apart
  per-row rows/s      ltv.rf_predict(model, features) once per row in one query (BENCH_PER_ROW
                      rows) vs predict() on one row at a time in Python (BENCH_PY_PER_ROW rows)
  peak MB             VmHWM of the backend (read from /proc/self/status in the same session:
                      one fresh session trains, another predicts) vs ru_maxrss of a fresh Python
                      process that loads the arrays and fits (train) or also predicts (predict)
  macro F1            on the held-out rows, computed by sklearn.metrics.f1_score for everyone

Environment knobs (to run it shorter):
  BENCH_CUSTOMERS      synthetic customers (default 1000000; 0 skips data set b)
  BENCH_REPEATS        training rounds on data set a (ours, sklearn, XGBoost interleaved),
                       and prediction repeats (default 3)
  BENCH_LARGE_REPEATS  training repeats on data set b (default 1: sklearn takes minutes)
  BENCH_TREES          trees (default 200)       BENCH_THREADS  threads / n_jobs (default 2)
  BENCH_PER_ROW        rows predicted one SQL call at a time (default 20000)
  BENCH_PY_PER_ROW     rows predicted one Python call at a time (default 200)
  BENCH_XGBOOST        0 leaves XGBoost out       BENCH_RETAIL  0 skips data set a
  BENCH_REUSE          1 keeps the database (imported data and features) between runs
  BENCH_WARM           0 times the first training of each session / process on (a) too

Targets (issue 4): training >= 10x faster than scikit-learn, batch prediction >= 5x faster,
macro F1 no worse than scikit-learn's by more than 0.01.
"""
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import data_file, psql

DB = "ltv_bench_forest"
TREES = int(os.environ.get("BENCH_TREES", "200"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
REPEATS = max(1, int(os.environ.get("BENCH_REPEATS", "3")))
LARGE_REPEATS = max(1, int(os.environ.get("BENCH_LARGE_REPEATS", "1")))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
PER_ROW = int(os.environ.get("BENCH_PER_ROW", "20000"))
PY_PER_ROW = int(os.environ.get("BENCH_PY_PER_ROW", "200"))
XGBOOST = os.environ.get("BENCH_XGBOOST", "1") != "0"
RETAIL = os.environ.get("BENCH_RETAIL", "1") != "0"
REUSE = os.environ.get("BENCH_REUSE", "0") == "1"
WARM = os.environ.get("BENCH_WARM", "1") != "0"
TEST_FRACTION = 0.2
SPLIT_SEED = 1
MIN_LEAF = 3


def session(commands, db=DB):
    """Runs SQL commands in ONE psql session with \\timing on. Returns (outputs, ms): the
    output text and client-side elapsed milliseconds of every command, in order."""
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", db, "-c", "\\timing on"]
    for i, sql in enumerate(commands):
        cmd += ["-c", f"\\echo @@cmd {i}", "-c", sql]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"psql failed: {run.stderr.strip()}")
    out = run.stdout
    outputs, times = [], []
    for chunk in re.split(r"^@@cmd \d+\n", out, flags=re.M)[1:]:
        lines = chunk.splitlines()
        ms = [float(m.group(1)) for m in (re.match(r"Time: ([0-9.]+) ms", l) for l in lines) if m]
        times.append(ms[-1] if ms else float("nan"))
        outputs.append("\n".join(l for l in lines if not l.startswith("Time: ")))
    return outputs, times


class Session:
    """A long-lived psql session (its backend keeps the decoded model cached), driven command
    by command, with psql's client-side \\timing."""

    def __init__(self, db=DB):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.run("\\timing on")

    def run(self, sql):
        """Returns (output, seconds)."""
        self.proc.stdin.write(sql.rstrip().rstrip(";") + (";" if not sql.startswith("\\") else "")
                              + "\n\\echo @@done\n")
        self.proc.stdin.flush()
        lines = []
        for line in self.proc.stdout:
            if line.rstrip("\n") == "@@done":
                break
            lines.append(line.rstrip("\n"))
        else:
            raise RuntimeError(f"psql failed: {self.proc.stderr.read().strip()}")
        ms = [float(m.group(1)) for m in (re.match(r"Time: ([0-9.]+) ms", l) for l in lines) if m]
        out = "\n".join(l for l in lines if not l.startswith("Time: "))
        return out, (ms[-1] / 1000 if ms else float("nan"))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


class PyWorker:
    """A Python process holding one fitted model: fits on start, then predicts on request.
    OpenMP threads wait passively: XGBoost's default spinning takes seconds per fit when the
    other core is busy (a shared machine), which says nothing about the library."""

    def __init__(self, kind, npz, seed, warm):
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", kind,
                                      npz, str(seed), "1" if warm else "0"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        self.fit = self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the Python worker died")
        return json.loads(line)

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        result = self.ask("quit")
        self.proc.wait()
        return result


STATUS_SQL = "SELECT pg_read_file('/proc/self/status')"


def vm_hwm_mb(status_text):
    m = re.search(r"^VmHWM:\s+(\d+) kB", status_text, flags=re.M)
    return int(m.group(1)) / 1024.0 if m else float("nan")


def forest_params(seed):
    return {"n_trees": TREES, "max_features": "sqrt", "min_samples_leaf": MIN_LEAF,
            "bootstrap": True, "threads": THREADS, "seed": seed, "n_classes": 4}


# ---------------------------------------------------------------------------------------------
# Data sets, built in SQL


def prepare(tag, load_sql):
    """Loads a dataset (if not reused), materializes its features and builds bench_rows_<tag>:
    customer_id, v (float8[]), y (0..3), split. Returns (dataset id, n_features, timings)."""
    name = f"forest_{tag}"
    ds = psql(f"SELECT dataset_id FROM ltv.datasets WHERE name = '{name}' AND status = 'ready'",
              DB, True) if REUSE else ""
    timings = {}
    if not ds:
        psql(f"SELECT ltv.delete_dataset(dataset_id) FROM ltv.datasets WHERE name = '{name}'", DB)
        start = time.perf_counter()
        ds = psql(load_sql.format(name=name), DB, True)
        timings["load s"] = time.perf_counter() - start
        psql(f"DROP TABLE IF EXISTS bench_rows_{tag}", DB)
    exists = psql(f"SELECT to_regclass('bench_rows_{tag}') IS NOT NULL", DB, True) == "t"
    if not exists:
        start = time.perf_counter()
        summary = json.loads(psql(f"SELECT ltv.materialize_features({ds})", DB, True))
        timings["features s"] = time.perf_counter() - start
        psql(f"""
CREATE TABLE bench_rows_{tag} AS
SELECT cf.customer_id, ltv.feature_vector(cf) AS v, ltv._bucket_class(cf.true_bucket) AS y,
       CASE WHEN row_number() OVER (PARTITION BY cf.true_bucket
                                    ORDER BY hashtextextended(cf.customer_id, {SPLIT_SEED}), cf.customer_id)
                 <= floor(count(*) OVER (PARTITION BY cf.true_bucket) * {TEST_FRACTION} + 0.5)
            THEN 'test' ELSE 'train' END AS split
  FROM ltv.customer_features cf
 WHERE cf.dataset_id = {ds} AND cf.run_id IS NULL AND cf.cutoff = '{summary["cutoff"]}'
   AND cf.true_bucket IS NOT NULL;
ANALYZE bench_rows_{tag};""", DB)
    psql(f"""
DROP TABLE IF EXISTS bench_model_{tag}, bench_batch_{tag};
CREATE UNLOGGED TABLE bench_model_{tag} (model bytea);
ALTER TABLE bench_model_{tag} ALTER COLUMN model SET STORAGE EXTERNAL;
CREATE TABLE bench_batch_{tag} AS
SELECT array_agg(customer_id ORDER BY customer_id) AS ids, array_agg(v ORDER BY customer_id) AS vs
  FROM bench_rows_{tag} WHERE split = 'test';
ALTER TABLE bench_batch_{tag} ALTER COLUMN vs SET STORAGE EXTERNAL;
ANALYZE bench_batch_{tag};""", DB)
    n_features = int(psql(f"SELECT array_length(v, 1) FROM bench_rows_{tag} LIMIT 1", DB, True))
    return ds, n_features, timings


def export(tag, n_features, path):
    """The same rows and split as numpy arrays (float8 text is exact: shortest round trip)."""
    import numpy as np
    import pandas as pd
    cols = ", ".join(f"v[{i + 1}]" for i in range(n_features))
    raw = subprocess.run(
        ["psql", "-X", "-q", "-At", "-d", DB, "-c",
         f"COPY (SELECT customer_id, y, split = 'test', {cols} FROM bench_rows_{tag} "
         f"ORDER BY customer_id) TO STDOUT WITH (FORMAT csv)"],
        check=True, capture_output=True).stdout
    import io
    frame = pd.read_csv(io.BytesIO(raw), header=None, dtype={0: str}, float_precision="round_trip")
    test = frame[2].map({"t": True, "f": False}).to_numpy()
    x = frame.iloc[:, 3:].to_numpy(dtype=np.float64)
    y = frame[1].to_numpy(dtype=np.int64)
    ids = frame[0].to_numpy()
    np.savez(path, x_train=x[~test], y_train=y[~test], x_test=x[test], y_test=y[test],
             ids_test=ids[test])
    return int((~test).sum()), int(test.sum())


# ---------------------------------------------------------------------------------------------
# Contenders


_FEATURE_NAMES = []


def ours_sql(tag):
    """The training query. Its parameters are one constant: an aggregate's arguments are
    evaluated for every row, and building them there (`'{...}'::jsonb ||
    jsonb_build_object('feature_names', ...)`) cost ~5 us a row, 11 ms on UCI's 2,265 rows."""
    if not _FEATURE_NAMES:
        _FEATURE_NAMES.extend(json.loads(psql("SELECT to_jsonb(ltv.feature_names())", DB, True)))
    params = json.dumps(dict(forest_params(1), feature_names=_FEATURE_NAMES))
    return f"ltv.rf_train(v, y, '{params}')", f"FROM bench_rows_{tag} WHERE split = 'train'"


def ours_train_round(tag, warm):
    """One training round in a fresh session: (timed seconds, the backend's peak MB, seconds
    of the session's first training or None). With `warm`, the session trains twice and the
    second is timed, as a Python process fits twice (see worker()): a backend's first
    statement also loads the library, reads catalog entries and grows the process heap (page
    faults), ~5-20 ms on UCI, which `import sklearn` and the first fit's allocations are to
    Python. The query returns the model's size only (fit() does not store a model either)."""
    model_sql, rows_sql = ours_sql(tag)
    train = f"SELECT octet_length({model_sql}) {rows_sql}"
    outs, ms = session([train] * (2 if warm else 1) + [STATUS_SQL])
    return ms[-2] / 1000, vm_hwm_mb(outs[-1]), ms[0] / 1000 if warm else None


def store_ours(tag):
    """Trains once more and stores the model for the predictions: (seconds, info, MB)."""
    model_sql, rows_sql = ours_sql(tag)
    _, ms = session([f"TRUNCATE bench_model_{tag}",
                     f"INSERT INTO bench_model_{tag} SELECT {model_sql} {rows_sql}"])
    # Row estimates of 1 (not the default guess of a thousand) keep JIT out of the predictions.
    psql(f"ANALYZE bench_model_{tag}", DB)
    info = json.loads(psql(f"SELECT ltv.rf_info(model) - 'feature_importance' - 'importances' "
                           f"FROM bench_model_{tag}", DB, True))
    model_mb = float(psql(f"SELECT octet_length(model) FROM bench_model_{tag}", DB, True)) / 2**20
    return ms[1] / 1000, info, model_mb


def ours_predictions(tag, per_row):
    """The predicted class of every held-out row (for the F1), checking on up to 2000 rows that
    per-row calls agree with the batch."""
    check_rows = min(per_row, 2000)
    outs, _ = session([
        f"SELECT p.key || ',' || p.class FROM bench_batch_{tag} b, bench_model_{tag} m, "
        f"ltv.rf_predict_batch(m.model, b.ids, b.vs) p",
        f"SELECT count(*) FROM (SELECT customer_id, v FROM bench_rows_{tag} WHERE split = 'test' "
        f"ORDER BY customer_id LIMIT {check_rows}) t, bench_model_{tag} m, bench_batch_{tag} b, "
        f"ltv.rf_predict_batch(m.model, b.ids, b.vs) p "
        f"WHERE p.key = t.customer_id AND p.class <> ltv.rf_predict(m.model, t.v)"])
    if int(outs[1]) != 0:
        raise RuntimeError(f"{outs[1]} rows: ltv.rf_predict differs from ltv.rf_predict_batch")
    return dict(line.split(",") for line in outs[0].splitlines())


def worker(kind, npz, seed, warm):
    """--worker: fits (twice with `warm`: the second fit, of a new model, is timed and kept,
    the first one's time is reported as first_train_s), prints the fit's time and peak RSS as
    a JSON line, then answers
    "batch" (predict the test rows), "per_row" (predict PY_PER_ROW rows one call each) and
    "quit" (macro F1 of the batch predictions and the final peak RSS), one JSON line each."""
    import numpy as np
    from sklearn.metrics import f1_score
    data = np.load(npz, allow_pickle=True)
    x_train, y_train, x_test, y_test = (data["x_train"], data["y_train"], data["x_test"],
                                        data["y_test"])

    def make_model():
        if kind == "sklearn":
            from sklearn.ensemble import RandomForestClassifier
            model = RandomForestClassifier(n_estimators=TREES, max_features="sqrt",
                                           min_samples_leaf=MIN_LEAF, bootstrap=True,
                                           n_jobs=THREADS, random_state=seed)
        else:
            import xgboost
            model = xgboost.XGBClassifier(n_estimators=TREES, tree_method="hist", n_jobs=THREADS,
                                          random_state=seed)
        return model

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    def say(obj):
        print(json.dumps(obj), flush=True)

    first = None
    if warm:
        start = time.perf_counter()
        make_model().fit(x_train, y_train)
        first = time.perf_counter() - start
    model = make_model()
    start = time.perf_counter()
    model.fit(x_train, y_train)
    say({"train_s": time.perf_counter() - start, "first_train_s": first, "train_peak_mb": peak(),
         "version": __import__(kind).__version__})
    predicted = None
    for command in sys.stdin:
        command = command.strip()
        if command == "batch":
            start = time.perf_counter()
            predicted = model.predict(x_test)
            say({"s": time.perf_counter() - start})
        elif command == "per_row":
            n = min(PY_PER_ROW, len(x_test))
            start = time.perf_counter()
            for i in range(n):
                model.predict(x_test[i:i + 1])
            say({"s": time.perf_counter() - start, "n": n})
        elif command == "quit":
            result = {"predict_peak_mb": peak()}
            if predicted is not None:
                result["macro_f1"] = float(f1_score(y_test, predicted, average="macro"))
            say(result)
            return


# ---------------------------------------------------------------------------------------------
# Report


def summarize(r, n_test):
    r["train_median_s"] = statistics.median(r["train_s"])
    r["batch_rows_per_s"] = n_test / statistics.median(r["batch_s"])
    r["per_row_rows_per_s"] = (r["per_row_n"] / r["per_row_s"]) if r["per_row_n"] else float("nan")
    return r


def print_report(title, ours, sk, xgb, n_train, n_test):
    print(f"\n== {title}: train {n_train} / test {n_test} rows ==")
    head = f"{'':28}{'retail_ltv (SQL)':>18}{'scikit-learn':>15}{'ours vs sklearn':>17}"
    head += f"{'XGBoost (ref.)':>16}" if xgb else ""
    print(head)

    def row(label, key, fmt, ratio_kind):
        o, s = ours[key], sk[key]
        if ratio_kind == "faster_time":
            ratio = f"{s / o:.2f}x faster"
        elif ratio_kind == "faster_rate":
            ratio = f"{o / s:.2f}x faster"
        elif ratio_kind == "smaller":
            ratio = f"{s / o:.2f}x less"
        else:
            ratio = f"{o - s:+.4f}"
        line = f"{label:28}{fmt.format(o):>18}{fmt.format(s):>15}{ratio:>17}"
        if xgb:
            line += f"{fmt.format(xgb[key]):>16}"
        print(line)

    row("median train s", "train_median_s", "{:.3f}", "faster_time")
    row("batch predict rows/s", "batch_rows_per_s", "{:,.0f}", "faster_rate")
    row("per-row predict rows/s", "per_row_rows_per_s", "{:,.0f}", "faster_rate")
    row("peak MB (train)", "train_peak_mb", "{:,.0f}", "smaller")
    row("peak MB (predict)", "predict_peak_mb", "{:,.0f}", "smaller")
    row("test macro F1", "macro_f1", "{:.4f}", "diff")
    def firsts(r):
        times = [t for t in r["first_train_s"] if t is not None]
        return (f" (first of its session/process: median {statistics.median(times):.3f} s)"
                if times else "")
    print(f"ours: train runs {', '.join(f'{t:.3f}' for t in ours['train_s'])} s (SELECT "
          f"octet_length(ltv.rf_train(...))){firsts(ours)}; train + INSERT the model "
          f"{ours['train_store_s']:.2f} s; model "
          f"{ours['model_mb']:.1f} MB; first batch call (decodes the model) "
          f"{ours['cold_batch_s']:.3f} s; per-row over {ours['per_row_n']} rows; "
          f"OOB macro F1 {ours['oob_macro_f1']:.4f}")
    paired = statistics.median(s / o for s, o in zip(sk["train_s"], ours["train_s"]))
    print(f"sklearn: train runs {', '.join(f'{t:.3f}' for t in sk['train_s'])} s{firsts(sk)} (paired with "
          f"ours, round by round: median sklearn/ours {paired:.2f}x); per-row over "
          f"{sk['per_row_n']} rows" + (f"; XGBoost {xgb['version']}" if xgb else ""))
    print("peak MB: ours = VmHWM of the training backend / of another backend that decodes the "
          "model and predicts; Python = ru_maxrss of one process after fit / after fit + predict")
    checks = [("training >= 10x faster than scikit-learn",
               sk["train_median_s"] / ours["train_median_s"] >= 10,
               f"{sk['train_median_s'] / ours['train_median_s']:.2f}x"),
              ("batch prediction >= 5x faster than scikit-learn",
               ours["batch_rows_per_s"] / sk["batch_rows_per_s"] >= 5,
               f"{ours['batch_rows_per_s'] / sk['batch_rows_per_s']:.2f}x"),
              ("macro F1 >= scikit-learn's - 0.01", ours["macro_f1"] >= sk["macro_f1"] - 0.01,
               f"{ours['macro_f1'] - sk['macro_f1']:+.4f}")]
    for what, ok, value in checks:
        print(f"  target {what}: {'met' if ok else 'NOT met'} ({value})")
    return {"ours": ours, "sklearn": sk, "xgboost": xgb}


def bench(tag, title, load_sql, repeats, workdir, warm):
    import numpy as np
    from sklearn.metrics import f1_score
    ds, n_features, timings = prepare(tag, load_sql)
    npz = os.path.join(workdir, f"{tag}.npz")
    n_train, n_test = export(tag, n_features, npz)
    prep = ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
    print(f"\n[{title}: dataset {ds}, {n_features} features{'; ' + prep if prep else ''}]",
          flush=True)
    # Training rounds interleaved (ours, sklearn, XGBoost, ours, ...), so that a noisy spell
    # on the shared machine hits every contender alike. The first Python round keeps its
    # process (and model) for the predictions.
    kinds = ["sklearn"] + (["xgboost"] if XGBOOST else [])
    ours = {"train_s": [], "first_train_s": [], "train_peak_mb": 0.0}
    python = {k: {"train_s": [], "first_train_s": [], "train_peak_mb": 0.0} for k in kinds}
    workers = {}
    try:
        for i in range(repeats):
            t, p, first = ours_train_round(tag, warm)
            ours["train_s"].append(t)
            ours["first_train_s"].append(first)
            ours["train_peak_mb"] = max(ours["train_peak_mb"], p)
            for kind in kinds:
                w = PyWorker(kind, npz, i + 1, warm)
                python[kind]["train_s"].append(w.fit["train_s"])
                python[kind]["first_train_s"].append(w.fit["first_train_s"])
                python[kind]["train_peak_mb"] = max(python[kind]["train_peak_mb"],
                                                    w.fit["train_peak_mb"])
                python[kind]["version"] = w.fit["version"]
                if i == 0:
                    workers[kind] = w
                else:
                    w.close()
        ours["train_store_s"], info, ours["model_mb"] = store_ours(tag)
        ours["oob_macro_f1"] = info.get("training", {}).get("oob_macro_f1")

        # Predictions, interleaved the same way: one session keeps the decoded model (its
        # first call, which decodes it, is reported apart), each worker keeps its model.
        per_row = min(PER_ROW, n_test)
        batch_sql = (f"SELECT count(*), sum(p.class) FROM bench_batch_{tag} b, "
                     f"bench_model_{tag} m, ltv.rf_predict_batch(m.model, b.ids, b.vs) p")
        per_row_sql = (f"SELECT count(*), sum(ltv.rf_predict(m.model, t.v)) FROM "
                       f"(SELECT v FROM bench_rows_{tag} WHERE split = 'test' "
                       f"ORDER BY customer_id LIMIT {per_row}) t, bench_model_{tag} m")
        sql = Session()
        _, ours["cold_batch_s"] = sql.run(batch_sql)
        ours["batch_s"] = []
        for kind in kinds:
            python[kind]["batch_s"] = []
        for _ in range(max(REPEATS, 3)):
            ours["batch_s"].append(sql.run(batch_sql)[1])
            for kind in kinds:
                python[kind]["batch_s"].append(workers[kind].ask("batch")["s"])
        ours["per_row_n"], ours["per_row_s"] = per_row, float("nan")
        if per_row > 0:
            ours["per_row_s"] = sql.run(per_row_sql)[1]
        for kind in kinds:
            r = workers[kind].ask("per_row")
            python[kind]["per_row_n"], python[kind]["per_row_s"] = r["n"], r["s"]
        ours["predict_peak_mb"] = vm_hwm_mb(sql.run(STATUS_SQL)[0])
        sql.close()
        for kind in kinds:
            python[kind].update(workers.pop(kind).close())
    finally:
        for w in workers.values():
            w.proc.kill()
    predicted = ours_predictions(tag, per_row)
    data = np.load(npz, allow_pickle=True)
    ours["macro_f1"] = float(f1_score(
        data["y_test"], [int(predicted[k]) for k in data["ids_test"]], average="macro"))
    sk, xgb = python["sklearn"], python.get("xgboost")
    for r in (ours, sk, xgb):
        if r:
            summarize(r, n_test)
    return print_report(title, ours, sk, xgb, n_train, n_test)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1")
        return
    sys.stdout.reconfigure(line_buffering=True)
    print(f"forest benchmark: {TREES} trees, sqrt features, min_samples_leaf {MIN_LEAF}, "
          f"bootstrap, {THREADS} threads; stratified {int(TEST_FRACTION * 100)} % held out")
    if not REUSE or psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'", "postgres", True) != "1":
        psql(f"DROP DATABASE IF EXISTS {DB}", "postgres")
        psql(f"CREATE DATABASE {DB}", "postgres")
        psql("CREATE EXTENSION retail_ltv", DB)
    results = {}
    workdir = tempfile.mkdtemp(prefix="ltv_forest_bench.")
    os.chmod(workdir, 0o755)
    try:
        path = data_file()
        if not RETAIL:
            pass
        elif path is None:
            print("\nSKIP (a): ../shared/data/online_retail.csv.gz not found")
        else:
            local = os.path.join(workdir, "online_retail.csv.gz")
            shutil.copy(path, local)
            os.chmod(local, 0o644)
            results["retail"] = bench(
                "retail", "(a) UCI Online Retail customer features",
                f"SELECT ltv.import_csv_file('{{name}}', '{local}')", REPEATS, workdir, WARM)
        if CUSTOMERS > 0:
            results["synthetic"] = bench(
                f"synthetic_{CUSTOMERS}", f"(b) {CUSTOMERS:,} synthetic customers",
                f"SELECT ltv.generate_dataset('{{name}}', {CUSTOMERS}, 1)", LARGE_REPEATS, workdir,
                False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n" + json.dumps(results))
    if not REUSE:
        psql(f"DROP DATABASE IF EXISTS {DB}", "postgres")


if __name__ == "__main__":
    main()
