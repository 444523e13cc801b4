#!/usr/bin/env bash
# No leaks per call (DESIGN.md): one session calls every C++ entry point many times (CSV
# import, with and without errors, and through the parse thread; feature aggregation; forest
# training, batch and per-row prediction; a corrupt model) and the backend's private memory
# (RssAnon) must not grow between the end of a warm-up and the end of five times as many
# further rounds. Reads /proc of the backend, so it needs the server on this machine.
set -euo pipefail
DB=ltv_e2e_memory
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"

# One round: every entry point, successes and failures.
cat >"$WORK/round.sql" <<'SQL'
SELECT ltv.import_csv('leak', convert_to(
  E'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n' ||
  (SELECT string_agg(format('%s,S%s,"item, %s",%s,2011-%s-%s 10:00,%s,%s,UK', 500000 + i / 3, i % 40,
                            i, CASE WHEN i % 97 = 0 THEN 'x' ELSE ((i % 5) + 1)::text END,
                            lpad((1 + i % 12)::text, 2, '0'), lpad((1 + i % 28)::text, 2, '0'),
                            (1 + i % 9) * 0.5, 12000 + i % 150), E'\n')
     FROM generate_series(1, 3000) i), 'UTF8'), '{"replace": true}') IS NOT NULL AS imported \gset
DO $$ BEGIN
  PERFORM ltv.import_csv('broken', convert_to(E'Foo,Bar\n1,2\n', 'UTF8'));
EXCEPTION WHEN OTHERS THEN NULL; END $$;
CREATE TEMP TABLE IF NOT EXISTS f AS
  SELECT customer_id, ARRAY[(a.f).recency_days, (a.f).frequency, (a.f).monetary, (a.f).spend_90d] AS v,
         (hashtext(customer_id) & 3) AS label
    FROM (SELECT customer_id, ltv.customer_features(invoice, stock_code, invoice_time, amount, '2011-09-01') AS f
            FROM ltv.transactions WHERE invoice_time < '2011-09-01' GROUP BY customer_id) a;
SELECT count(*) > 0 AS features FROM (
  SELECT ltv.customer_features(invoice, stock_code, invoice_time, amount, '2011-09-01') s
    FROM ltv.transactions GROUP BY customer_id) x \gset
SELECT ltv.rf_train(v, label, '{"n_trees": 10, "n_classes": 4, "threads": 2}') AS model FROM f \gset
SELECT count(*) AS batch FROM (SELECT array_agg(customer_id) ids, array_agg(v) vs FROM f) b,
  ltv.rf_predict_batch(:'model'::bytea, b.ids, b.vs) \gset
SELECT count(ltv.rf_predict(:'model'::bytea, v)) AS per_row FROM f \gset
DO $$ BEGIN
  PERFORM ltv.rf_predict(overlay(m.model placing '\xdeadbeef'::bytea from 40), ARRAY[1.0]::float8[])
    FROM (SELECT ltv.rf_train(v, label, '{"n_trees": 2, "n_classes": 4}') AS model FROM f) m;
EXCEPTION WHEN OTHERS THEN NULL; END $$;
SQL

rss() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }

# The session runs rounds until told to stop; between phases it writes its pid and waits.
{
  echo "\\set QUIET on"
  echo "CREATE EXTENSION retail_ltv;"
  echo "SELECT pg_backend_pid() AS pid \\gset"
  echo "\\setenv BACKEND_PID :pid"
  echo "\\! echo \$BACKEND_PID > $WORK/pid"
  for _ in $(seq 1 10); do echo "\\i $WORK/round.sql"; done
  echo "\\! echo warm > $WORK/phase; while [ ! -f $WORK/go ]; do sleep 0.1; done"
  for _ in $(seq 1 50); do echo "\\i $WORK/round.sql"; done
  echo "\\! echo done > $WORK/phase; while [ ! -f $WORK/end ]; do sleep 0.1; done"
} | psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >"$WORK/session.log" 2>&1 &
SESSION=$!

wait_phase() {
  for _ in $(seq 1 3000); do
    [[ "$(cat "$WORK/phase" 2>/dev/null)" == "$1" ]] && return 0
    kill -0 "$SESSION" 2>/dev/null || { cat "$WORK/session.log"; echo "FAIL: the session ended early"; exit 1; }
    sleep 0.1
  done
  echo "FAIL: timed out waiting for phase $1"; exit 1
}
wait_phase warm
PID=$(cat "$WORK/pid")
AFTER_WARMUP=$(rss "$PID")
touch "$WORK/go"
wait_phase done
AFTER_ROUNDS=$(rss "$PID")
touch "$WORK/end"
wait "$SESSION" || { cat "$WORK/session.log"; echo "FAIL: session error"; exit 1; }
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"

GROWTH=$((AFTER_ROUNDS - AFTER_WARMUP))
echo "backend private memory (RssAnon): ${AFTER_WARMUP} kB after 10 warm-up rounds, ${AFTER_ROUNDS} kB after 50 more (growth ${GROWTH} kB)"
# A leak of even 100 kB per round would add 5 MB; allocator noise stays far below 2 MB.
if ((GROWTH > 2048)); then
  echo "FAIL: backend memory grew by ${GROWTH} kB over 50 rounds"
  exit 1
fi
echo "memory per call: no growth over 50 rounds"
