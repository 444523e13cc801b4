#!/usr/bin/env bash
# SQL-level robustness: 1,000 randomly mutated CSV files through ltv.import_csv and 10,000
# randomly mutated model blobs through ltv.rf_predict, each in its own subtransaction. Every
# call must either succeed or fail with an ordinary error; the backend must survive them all
# (a crash would end the session and fail this script). Seeded, so a failure reproduces.
set -euo pipefail
DB=ltv_e2e_mutation
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -v ON_ERROR_STOP=1 -d "$DB" <<'SQL'
\set QUIET on
CREATE EXTENSION retail_ltv;
SELECT setseed(0.42);

-- Mutates a blob: random byte overwrites, insertions, deletions and truncation.
CREATE FUNCTION mutate(b bytea, edits int) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
  pos int;
  kind int;
BEGIN
  FOR i IN 1..edits LOOP
    IF length(b) = 0 THEN RETURN b; END IF;
    pos := floor(random() * length(b))::int;
    kind := floor(random() * 5)::int;
    IF kind <= 1 THEN
      b := set_byte(b, pos, floor(random() * 256)::int);
    ELSIF kind = 2 THEN
      b := substring(b FROM 1 FOR pos) || decode(lpad(to_hex(floor(random() * 256)::int), 2, '0'), 'hex') || substring(b FROM pos + 1);
    ELSIF kind = 3 THEN
      b := substring(b FROM 1 FOR pos) || substring(b FROM pos + 2);
    ELSE
      b := set_byte(b, pos, (ARRAY[10, 13, 34, 44, 59, 9, 0, 163, 255])[1 + floor(random() * 9)::int]);
    END IF;
  END LOOP;
  IF random() < 0.1 THEN b := substring(b FROM 1 FOR floor(random() * length(b))::int); END IF;
  RETURN b;
END $$;

CREATE TEMP TABLE seed_csv AS SELECT convert_to(
'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,"WHITE HANGING HEART T-LIGHT HOLDER",6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,"WHITE METAL LANTERN, ""LARGE""",6,12/1/2010 8:26,3.39,17850,United Kingdom
C536379,22556,RETURNED,-2,2010-12-02 09:41:00,1.65,17850,United Kingdom
536382,22559,"MULTI
LINE",2,2010-12-03 10:00:00,1.50,17854,France
536367,84879,NO CUSTOMER,32,2010-12-01 08:34:00,1.69,,United Kingdom
536368,POST,POSTAGE,1,2010-12-01 08:35:00,18.00,17852,France
', 'UTF8') AS data;

\set QUIET off
DO $$
DECLARE
  ok int := 0; failed int := 0; d ltv.datasets;
BEGIN
  FOR i IN 1..1000 LOOP
    BEGIN
      PERFORM ltv.import_csv('m' || i, mutate((SELECT data FROM seed_csv), 1 + floor(random() * 8)::int));
      SELECT * INTO d FROM ltv.datasets WHERE name = 'm' || i;
      IF d.rows_read <> d.rows_loaded + d.rows_excluded + d.rows_rejected THEN
        RAISE EXCEPTION 'counts do not add up for mutation %', i USING ERRCODE = 'LTV01';
      END IF;
      ok := ok + 1;
    EXCEPTION WHEN SQLSTATE 'LTV01' THEN RAISE;
              WHEN OTHERS THEN failed := failed + 1;
    END;
  END LOOP;
  RAISE NOTICE 'mutated CSV files: % imported (counts add up), % rejected with an error, 0 crashes', ok, failed;
END $$;

CREATE TEMP TABLE seed_model AS
SELECT ltv.rf_train(ARRAY[x % 17, x % 5, x % 3]::float8[], x % 4, '{"n_trees": 4, "max_depth": 4, "seed": 1}') AS model
  FROM generate_series(1, 400) x;

DO $$
DECLARE
  ok int := 0; failed int := 0; m bytea; p int;
BEGIN
  SELECT model INTO m FROM seed_model;
  FOR i IN 1..10000 LOOP
    BEGIN
      p := ltv.rf_predict(mutate(m, 1 + floor(random() * 4)::int), ARRAY[random() * 20, random() * 5, random() * 3]);
      IF p IS NOT NULL AND (p < 0 OR p > 3) THEN
        RAISE EXCEPTION 'prediction % out of range', p USING ERRCODE = 'LTV01';
      END IF;
      ok := ok + 1;
    EXCEPTION WHEN SQLSTATE 'LTV01' THEN RAISE;
              WHEN OTHERS THEN failed := failed + 1;
    END;
  END LOOP;
  RAISE NOTICE 'mutated models: % predicted, % rejected as corrupt, 0 crashes', ok, failed;
  IF ok > 100 THEN RAISE EXCEPTION 'too many mutated models accepted: %', ok; END IF;
END $$;
SELECT ltv.rf_predict(model, '{1,2,3}') IS NOT NULL AS backend_alive FROM seed_model;
SQL
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"
echo "mutation tests passed"
