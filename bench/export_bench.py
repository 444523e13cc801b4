"""CSV export of a run's predictions (ltv_api.export_predictions) in rows per second.

A real analysis run of BENCH_BASE synthetic customers (ltv.generate_dataset, 20 trees, the
reasons of its high and vip customers stored) is copied, customer ids suffixed, until the run
has BENCH_CUSTOMERS customers (1,000,000): its predictions, the feature rows at its as_of and
its stored reasons. The export reads only those, so the copy has the layout of a real run of
that size without a forest trained on a million customers. Then, interleaved, BENCH_REPEATS
times each:
  sql COPY    COPY (SELECT * FROM ltv_api.export_predictions(...)) TO STDOUT CSV through psql,
              the database's own CSV writer (the floor: no HTTP, no JavaScript)
  http CSV    POST /rpc/export_predictions with Accept: text/csv to the local server
              (web/server), read to the end by the client
Reported: median seconds, rows/s and MB/s, and the server's peak resident memory (VmHWM of
the Node process) before and after the downloads: it stays flat when rows are streamed.

Knobs: BENCH_DB (ltv_bench_export), BENCH_CUSTOMERS (1000000), BENCH_BASE (2000),
BENCH_REPEATS (3). Needs PG* for a superuser, node and web/node_modules.
"""
import os
import re
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from common import median, psql  # noqa: E402

DB = os.environ.get("BENCH_DB", "ltv_bench_export")
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "1000000"))
BASE = int(os.environ.get("BENCH_BASE", "2000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# Copies k = 1 .. copies of every row of the run, customer ids suffixed with ~k.
REPLICATE = """
DO $$
DECLARE
  v_run bigint := %(run)s;
  v_copies integer := %(copies)s;
  v_cols text;
BEGIN
  INSERT INTO ltv.predictions
  SELECT p.run_id, p.dataset_id, p.customer_id || '~' || k, p.as_of, p.bucket, p.p_low, p.p_medium, p.p_high, p.p_vip
    FROM ltv.predictions p, generate_series(1, v_copies) k WHERE p.run_id = v_run;
  SELECT string_agg(CASE WHEN a.attname = 'customer_id' THEN $q$cf.customer_id || '~' || k$q$
                         ELSE 'cf.' || quote_ident(a.attname) END, ', ' ORDER BY a.attnum)
    INTO v_cols FROM pg_attribute a
   WHERE a.attrelid = 'ltv.customer_features'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
  EXECUTE format($q$INSERT INTO ltv.customer_features SELECT %%s
                      FROM ltv.customer_features cf, generate_series(1, %%s) k
                     WHERE cf.run_id = %%s AND (cf.dataset_id, cf.cutoff) IN
                           (SELECT p.dataset_id, p.as_of FROM ltv.predictions p WHERE p.run_id = %%s LIMIT 1)
                       AND cf.customer_id NOT LIKE '%%%%~%%%%'$q$, v_cols, v_copies, v_run, v_run);
  INSERT INTO ltv.customer_reasons
  SELECT r.run_id, r.customer_id || '~' || k, r.rank, r.bucket, r.feature, r.value, r.contribution, r.reason
    FROM ltv.customer_reasons r, generate_series(1, v_copies) k WHERE r.run_id = v_run;
END
$$;
"""


def start_server():
    env = dict(os.environ, PGDATABASE=DB, LTV_WEB_HOST="127.0.0.1", LTV_WEB_PORT="0", LTV_WEB_LOG="0")
    proc = subprocess.Popen(["node", os.path.join(ROOT, "web", "server", "index.js")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.search(r"(http://\S+?)/?$", line.strip())
    if not m:
        proc.kill()
        raise SystemExit(f"the local server did not start: {line!r}")
    return proc, m.group(1)


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    psql("CREATE EXTENSION retail_ltv", DB)
    ds = psql(f"SELECT ltv.generate_dataset('export bench', {BASE}, 1)", DB, capture=True)
    run = psql(f"SELECT ltv.run_analysis({ds}, '{{\"forest\": {{\"n_trees\": 20}}}}')", DB, capture=True)
    psql(f"SELECT ltv.store_reasons({run}, '{{high,vip}}')", DB)
    base = int(psql(f"SELECT count(*) FROM ltv.predictions WHERE run_id = {run}", DB, capture=True))
    copies = max(0, -(-CUSTOMERS // base) - 1)
    t0 = time.perf_counter()
    psql(REPLICATE % {"run": run, "copies": copies}, DB)
    psql("VACUUM ANALYZE ltv.predictions, ltv.customer_features, ltv.customer_reasons", DB)
    rows = int(psql(f"SELECT count(*) FROM ltv.predictions WHERE run_id = {run}", DB, capture=True))
    print(f"run {run}: {rows} customers ({base} analysed, copied {copies} times in {time.perf_counter() - t0:.1f} s)")

    copy_sql = f"COPY (SELECT * FROM ltv_api.export_predictions({ds})) TO STDOUT WITH (FORMAT csv, HEADER)"

    def sql_copy():
        out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c", copy_sql],
                             check=True, stdout=subprocess.PIPE)
        return out.stdout.count(b"\n") - 1, len(out.stdout)

    server, url = start_server()

    def http_csv():
        req = urllib.request.Request(f"{url}/rpc/export_predictions", data=f'{{"dataset_id": {ds}}}'.encode(),
                                     headers={"Content-Type": "application/json", "Accept": "text/csv"})
        n_bytes = 0
        n_lines = 0
        with urllib.request.urlopen(req) as res:
            while True:
                chunk = res.read(1 << 20)
                if not chunk:
                    break
                n_bytes += len(chunk)
                n_lines += chunk.count(b"\n")
        return n_lines - 1, n_bytes

    try:
        rss_idle = peak_rss_mb(server.pid)
        times = {"sql COPY": [], "http CSV": []}
        sizes = {}
        for _ in range(REPEATS):
            for name, fn in (("sql COPY", sql_copy), ("http CSV", http_csv)):
                start = time.perf_counter()
                n, size = fn()
                times[name].append(time.perf_counter() - start)
                assert n == rows, f"{name}: {n} rows, expected {rows}"
                sizes[name] = size
        rss_after = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait()

    print(f"\nexport of {rows} customers, median of {REPEATS} interleaved runs")
    print(f"{'contender':<12} {'median s':>9} {'min s':>8} {'rows/s':>10} {'MB/s':>7} {'MB':>7}")
    for name, t in times.items():
        m = median(t)
        print(f"{name:<12} {m:>9.2f} {min(t):>8.2f} {rows / m:>10,.0f} {sizes[name] / m / 1e6:>7.1f} {sizes[name] / 1e6:>7.1f}")
    print(f"local server peak RSS: {rss_idle:.0f} MB before the downloads, {rss_after:.0f} MB after")
    psql(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    main()
