-- Who may do what (docs/security.md): roles, ownership under row-level security, quotas, the
-- worker's role. Every refusal is followed by a check that the database did not change.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
SELECT count(ltv.delete_dataset(dataset_id)) >= 0 AS cleared FROM ltv.datasets;
ALTER TABLE ltv.datasets ALTER COLUMN dataset_id RESTART WITH 200;
ALTER TABLE ltv.analysis_runs ALTER COLUMN run_id RESTART WITH 200;
-- Two analysts and a viewer who log in (roles are cluster-wide: an earlier run may have
-- made them).
DO $$
DECLARE
  r text[];
BEGIN
  FOREACH r SLICE 1 IN ARRAY ARRAY[['sec_alice', 'ltv_analyst'], ['sec_bob', 'ltv_analyst'], ['sec_vic', 'ltv_viewer']] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r[1]) THEN
      EXECUTE format('CREATE ROLE %I LOGIN IN ROLE %I', r[1], r[2]);
    END IF;
  END LOOP;
END
$$;
-- The state a refusal must leave unchanged: every row of the tables a request could touch.
CREATE TEMP VIEW state AS
SELECT md5(coalesce((SELECT string_agg(d::text, ',' ORDER BY dataset_id) FROM ltv.datasets d), '')
        || coalesce((SELECT string_agg(r::text, ',' ORDER BY run_id) FROM ltv.analysis_runs r), '')
        || (SELECT count(*) FROM ltv.transactions)::text
        || (SELECT count(*) FROM ltv.predictions)::text
        || (SELECT count(*) FROM ltv.models)::text) AS digest;

-- The roles: NOLOGIN, created by the extension; analysts and ltv_web are viewers.
SELECT rolname, rolcanlogin, rolsuper, rolbypassrls,
       pg_has_role(rolname, 'ltv_viewer', 'USAGE') AS is_viewer,
       pg_has_role(rolname, 'ltv_analyst', 'USAGE') AS is_analyst
  FROM pg_roles WHERE rolname IN ('ltv_viewer', 'ltv_analyst', 'ltv_reader', 'ltv_web') ORDER BY rolname;
-- Row-level security on every table of ltv; the SECURITY DEFINER functions that remain.
SELECT c.relname, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'ltv' AND c.relkind IN ('r', 'p') AND c.relname !~ '^transactions_\d+$' ORDER BY 1;
SELECT p.oid::regprocedure AS security_definer FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('ltv', 'ltv_api') AND p.prosecdef ORDER BY p.oid::regprocedure::text COLLATE "C";

-- alice imports two datasets and analyses one.
SET ROLE sec_alice;
SELECT ltv.generate_dataset('alice shop', 300, 1) AS alice_ds \gset
SELECT ltv.generate_dataset('alice second', 300, 2) AS alice_ds2 \gset
SELECT ltv.run_analysis(:alice_ds, '{"forest": {"n_trees": 20}}') AS alice_run \gset
SELECT name, owner FROM ltv.datasets ORDER BY dataset_id;
SELECT status, requested_by FROM ltv.runs;
RESET ROLE;
SELECT digest AS before FROM state \gset

-- Attack 1 replayed: replace or delete another's dataset, through the API and in SQL.
SET ROLE sec_bob;
SELECT ltv_api.upload_dataset('alice shop', 'InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID
1,A,1,2011-01-03 10:00,5,c1', '{"replace": true}');
SELECT ltv_api.delete_dataset(:alice_ds);
SELECT ltv.delete_dataset(:alice_ds);
SELECT ltv.generate_dataset('alice shop', 100, 9, '{"replace": true}');
DELETE FROM ltv.datasets;                        -- row-level security: nothing of alice's
UPDATE ltv.analysis_runs SET status = 'failed';
DELETE FROM ltv.predictions;
SELECT ltv.cancel_analysis(:alice_run);          -- even a finished run is not bob's to cancel
SELECT ltv._drop_partition(:alice_ds);           -- a definer helper refuses a live dataset
SELECT ltv._create_partition(:alice_ds, 'sec_alice');
-- bob reads what alice made (reading is team-wide).
SELECT count(*) > 0 AS bob_reads_predictions FROM ltv.predictions WHERE run_id = :alice_run;
SET ROLE ltv_web;                                -- anonymous: read only
SELECT ltv_api.upload_dataset('web', 'InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID
1,A,1,2011-01-03 10:00,5,c1');
SELECT ltv_api.run_analysis(:alice_ds);
SELECT ltv_api.cancel_analysis(:alice_run);
SELECT ltv_api.delete_dataset(:alice_ds);
SELECT json_array_length(ltv_api.datasets()) AS web_lists;
SET ROLE sec_vic;                                -- a viewer: read only
SELECT ltv_api.upload_dataset('vic', 'x');
SELECT ltv.generate_dataset('vic', 100, 1);
SELECT ltv.run_analysis(:alice_ds);
INSERT INTO ltv.datasets (name, source) VALUES ('vic', 'sql');
SELECT (ltv_api.model_summary(:alice_ds)->>'run_id')::bigint = :alice_run AS vic_reads_summary;
RESET ROLE;
SELECT digest = :'before' AS unchanged FROM state;

-- A queued run of alice's: bob may not cancel it; alice may.
BEGIN;
SET LOCAL ROLE sec_alice;
SELECT ltv.start_analysis(:alice_ds2) AS queued_run \gset
SET LOCAL ROLE sec_bob;
SAVEPOINT s;
SELECT ltv.cancel_analysis(:queued_run);
ROLLBACK TO s;
SELECT cancel_requested AS bob_cancelled FROM ltv.analysis_runs WHERE run_id = :queued_run;
SET LOCAL ROLE sec_alice;
SELECT ltv.cancel_analysis(:queued_run);
ROLLBACK;

-- Attack 2 replayed: the costly options through the API, then from SQL over the quotas.
SET ROLE sec_bob;
SELECT ltv.generate_dataset('bob shop', 300, 3) AS bob_ds \gset
RESET ROLE;
SELECT digest AS before FROM state \gset
SET ROLE sec_bob;
SELECT ltv_api.run_analysis(:bob_ds, '{"forest": {"n_trees": 10000, "threads": 64, "min_samples_leaf": 1}, "evaluation": "backtest", "backtest_folds": 12, "stack_snapshots": 24}');
SELECT ltv.start_analysis(:bob_ds, '{"forest": {"n_trees": 10000}}');
SELECT ltv.start_analysis(:bob_ds, '{"forest": {"threads": 64}}');
SELECT ltv.start_analysis(:bob_ds, '{"backtest_folds": 12}');
SELECT ltv.start_analysis(:bob_ds, '{"stack_snapshots": 24}');
SET ltv.api_max_trees = 100000;                  -- a quota is not the user's to raise
SELECT ltv_api.upload_dataset('big', repeat('x', 1048576 * 100 + 1));
RESET ROLE;
SELECT digest = :'before' AS unchanged FROM state;
-- At most ltv.api_max_active_runs (2) queued or running runs per role: the third is refused.
BEGIN;
SET LOCAL ROLE sec_bob;
SELECT ltv.generate_dataset('bob 1', 100, 1) AS ds_1 \gset
SELECT ltv.generate_dataset('bob 2', 100, 2) AS ds_2 \gset
SELECT ltv.start_analysis(:bob_ds) > 0 AS first, ltv.start_analysis(:ds_1) > 0 AS second;
SELECT ltv_api.run_analysis(:ds_2);
ROLLBACK;
-- An admin has no quotas (nothing is started: the transaction rolls back).
BEGIN;
SELECT ltv.start_analysis(:bob_ds, '{"forest": {"n_trees": 10000}}') > 0 AS admin_started;
ROLLBACK;
-- Per role, an admin may raise a quota (ALTER ROLE ... SET takes effect at login; here SET).
BEGIN;
SET LOCAL ltv.api_max_trees = 10000;
SET LOCAL ROLE sec_bob;
SELECT ltv._quota('api_max_trees') AS raised_quota;
ROLLBACK;

-- The background worker runs as the role that asked: with SELECT on alice's second dataset
-- taken away from viewers, her run fails on it, where the owner's rights would have read it.
SELECT format('ltv.%I', 'transactions_' || :alice_ds2) AS part \gset
REVOKE SELECT ON :part FROM ltv_viewer;
SET ROLE sec_alice;
SELECT ltv.start_analysis(:alice_ds2, '{"forest": {"n_trees": 10}}') AS worker_run \gset
RESET ROLE;
DO $$
BEGIN
  FOR i IN 1 .. 600 LOOP
    EXIT WHEN (SELECT status FROM ltv.runs ORDER BY run_id DESC LIMIT 1) NOT IN ('queued', 'running');
    PERFORM pg_sleep(0.1);
  END LOOP;
END
$$;
SELECT status, requested_by, error = format('permission denied for table transactions_%s', :alice_ds2) AS denied_as_alice
  FROM ltv.runs WHERE run_id = :worker_run;
GRANT SELECT ON :part TO ltv_viewer;

-- A session whose login role cannot log in: the worker could not connect, and the error says
-- which role it would connect as and which it would act as.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sec_nologin') THEN
    CREATE ROLE sec_nologin NOLOGIN IN ROLE ltv_analyst;
  END IF;
END $$;
SET SESSION AUTHORIZATION sec_nologin;
SELECT ltv.start_analysis(:alice_ds2);
RESET SESSION AUTHORIZATION;

-- ltv_reader (BI tools): every view, and nothing else.
SELECT bool_and(has_table_privilege('ltv_reader', c.oid, 'SELECT')) FILTER (WHERE c.relkind = 'v') AS reads_every_view,
       bool_or(has_table_privilege('ltv_reader', c.oid, 'SELECT, INSERT, UPDATE, DELETE')) FILTER (WHERE c.relkind <> 'v') AS reads_a_table
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'ltv' AND c.relkind IN ('r', 'p', 'v');
SET ROLE ltv_reader;
SELECT count(*) AS segments_rows FROM ltv.segments WHERE run_id = :alice_run;
SELECT count(*) FROM ltv.datasets;
SELECT ltv_api.datasets();
SELECT ltv.generate_dataset('reader', 100, 1);
RESET ROLE;

SELECT count(ltv.delete_dataset(dataset_id)) AS cleaned FROM ltv.datasets;
