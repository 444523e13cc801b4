-- ltv_api: the dashboard's functions, as the web role calls them; privileges of ltv_web;
-- the background worker behind run_analysis.
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never
-- Start from no datasets and fixed ids, whatever earlier tests left behind.
SELECT count(ltv.delete_dataset(dataset_id)) >= 0 AS cleared FROM ltv.datasets;
ALTER TABLE ltv.datasets ALTER COLUMN dataset_id RESTART WITH 100;
ALTER TABLE ltv.analysis_runs ALTER COLUMN run_id RESTART WITH 100;

-- An analyst who logs in (roles are cluster-wide: an earlier run may have made it).
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ltv_regress_analyst') THEN
    CREATE ROLE ltv_regress_analyst LOGIN IN ROLE ltv_analyst;
  END IF;
END $$;

-- ltv_web, the anonymous role, reads through ltv_api (as a viewer) and changes nothing.
SET ROLE ltv_web;
SELECT count(*) FROM ltv.transactions;
SELECT ltv.spend_bucket(1, '{1,2,3}');
SELECT ltv._api_dataset_json(1);
SELECT ltv_api.datasets();
RESET ROLE;
SELECT has_schema_privilege('ltv_web', 'ltv', 'USAGE') AS web_uses_ltv,
       has_table_privilege('ltv_web', 'ltv.datasets', 'SELECT') AS web_reads_datasets,
       (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'ltv_web') AS web_can_login,
       (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'ltv_api' AND has_function_privilege('ltv_web', p.oid, 'EXECUTE')) AS web_functions,
       (SELECT bool_and(NOT p.prosecdef AND array_to_string(p.proconfig, ',') LIKE '%search_path=pg_catalog, pg_temp%')
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'ltv_api') AS invoker_with_pinned_path;

SET ROLE ltv_regress_analyst;
-- Upload: a CSV with one unreadable row and one excluded row.
SELECT ltv_api.upload_dataset('api shop', 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1,A,x,2,2011-01-03 10:00,5,c1,UK
2,A,x,1,not a date,5,c2,UK
3,POST,postage,1,2011-01-04 10:00,5,c2,UK
4,A,x,1,2011-01-05 10:00,7.5,c2,UK')::jsonb #- '{dataset,created_at}' #- '{dataset,dataset_id}' #- '{dataset,cleaning_report,header}' AS upload;
-- Missing column: the error names it (400 in PostgREST).
SELECT ltv_api.upload_dataset('no customer', 'InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice
1,A,1,2011-01-03 10:00,5');
-- SQL fragments are data: this creates a dataset with that odd name and nothing else happens.
SELECT (ltv_api.upload_dataset('x''); DROP TABLE ltv.datasets; --', 'InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID
1,A,1,2011-01-03 10:00,5,c1')->'dataset'->>'name') AS odd_name;
SELECT ltv_api.upload_dataset('api shop', 'InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID
1,A,1,2011-01-03 10:00,5,c1');
SELECT ltv_api.upload_dataset('empty', '');
SELECT json_array_length(ltv_api.datasets()) AS datasets_listed;
-- Unknown things are 404s.
SELECT ltv_api.analysis_status(987654);
SELECT ltv_api.segments(987654);
SELECT ltv_api.run_analysis(987654);
SELECT ltv_api.cancel_analysis(987654);
RESET ROLE;

SET ROLE ltv_regress_analyst;
SELECT ltv.generate_dataset('api gen', 300, 5) AS gen_id \gset
SET ROLE ltv_web;
SELECT ltv_api.analysis_status(:gen_id)::jsonb - 'dataset_id' AS status_before;
SELECT ltv_api.segments(:gen_id);
SELECT ltv_api.customer(:gen_id, 'nobody');
SELECT ltv_api.run_analysis(:gen_id);
SET ROLE ltv_regress_analyst;
SELECT ltv_api.run_analysis(:gen_id, '{"trees": 1}');
RESET ROLE;
-- A second request while the first is queued is a conflict (409). Here both are in one
-- transaction, which then rolls back: the first request's worker finds no run and exits.
BEGIN;
SET LOCAL ROLE ltv_regress_analyst;
SELECT ltv_api.run_analysis(:gen_id)::jsonb - 'run_id' - 'dataset_id' AS first_request;
SELECT ltv_api.run_analysis(:gen_id);
ROLLBACK;
SELECT count(*) AS runs_after_rollback FROM ltv.analysis_runs WHERE dataset_id = :gen_id;
SET ROLE ltv_regress_analyst;
-- Forest internals are SQL's: the API refuses them; ltv.start_analysis takes them.
SELECT ltv_api.run_analysis(:gen_id, '{"forest": {"n_trees": 20}}');
SELECT ltv.start_analysis(:gen_id, '{"forest": {"n_trees": 20}}') > 0 AS started;
RESET ROLE;

-- The worker commits each stage; wait for the end (at most 60 s).
DO $$
DECLARE
  v_status text;
BEGIN
  FOR i IN 1 .. 600 LOOP
    SELECT status INTO v_status FROM ltv.runs ORDER BY run_id DESC LIMIT 1;
    EXIT WHEN v_status NOT IN ('queued', 'running');
    PERFORM pg_sleep(0.1);
  END LOOP;
END
$$;
SELECT status, mode, error, progress, (SELECT count(*) FROM jsonb_object_keys(timings)) AS stages_timed
  FROM ltv.runs ORDER BY run_id DESC LIMIT 1;

SET ROLE ltv_web;
SELECT s->>'status' AS status, s->>'progress' AS progress,
       (SELECT array_agg(x->>'state') FROM json_array_elements(s->'stages') x) AS stage_states
  FROM ltv_api.analysis_status(:gen_id) s;
-- segments agree with the view, for everyone and with filters.
SELECT (x->>'bucket') AS bucket, (x->>'customers')::int AS customers
  FROM json_array_elements(ltv_api.segments(:gen_id)->'segments') x;
RESET ROLE;
SELECT bucket, customers FROM ltv.segments WHERE dataset_id = :gen_id AND is_latest_run ORDER BY bucket;
SELECT (ltv_api.segments(:gen_id, segment => 'vip')->>'customers')::int
         = (SELECT count(*) FROM ltv.customer_detail WHERE run_id = ltv.latest_run(:gen_id) AND bucket = 'vip') AS vip_filter,
       (ltv_api.segments(:gen_id, first_purchase_from => '2011-06-01', first_purchase_to => '2011-06-30')->>'customers')::int
         = (SELECT count(*) FROM ltv.customer_detail WHERE run_id = ltv.latest_run(:gen_id)
             AND first_purchase >= '2011-06-01' AND first_purchase < '2011-07-01') AS june_filter;
SELECT ltv_api.segments(:gen_id, segment => 'gold');
-- cohorts: months add up to the customers; cells match the view.
SELECT (SELECT sum((m->>'customers')::int) FROM json_array_elements(c->'months') m)
         = (SELECT count(*) FROM ltv.predictions WHERE run_id = ltv.latest_run(:gen_id)) AS months_add_up,
       (SELECT bool_and((m->>'customers')::int = (m->>'low')::int + (m->>'medium')::int + (m->>'high')::int + (m->>'vip')::int)
          FROM json_array_elements(c->'months') m) AS buckets_add_up,
       json_array_length(c->'cells') = (SELECT count(*) FROM ltv.cohorts WHERE run_id = ltv.latest_run(:gen_id)) AS cells_match_view
  FROM ltv_api.cohorts(:gen_id) c;
-- customer: the predicted bucket is the stored one; history equals the transactions.
SELECT min(customer_id) AS some_customer FROM ltv.predictions WHERE run_id = ltv.latest_run(:gen_id) \gset
SELECT c->>'predicted_bucket' = (SELECT bucket::text FROM ltv.predictions WHERE run_id = ltv.latest_run(:gen_id) AND customer_id = :'some_customer') AS bucket_matches,
       (c->'history'->>'lines')::int = (SELECT count(*) FROM ltv.transactions WHERE dataset_id = :gen_id AND customer_id = :'some_customer') AS lines_match,
       (SELECT count(*) FROM json_object_keys(c->'features')) AS features,
       (SELECT count(*) FROM json_object_keys(c->'probabilities')) AS probabilities
  FROM ltv_api.customer(:gen_id, :'some_customer') c;
SELECT json_array_length(ltv_api.customer_search(:gen_id, '', 5)) AS search_5,
       ltv_api.customer_search(:gen_id, 'zzz') AS search_none;
SELECT ltv_api.customer_search(:gen_id, '', 1000);
-- model_summary: the same numbers as the view, with bucket names.
SELECT (s->'model'->>'macro_f1')::float8 = v.macro_f1 AS f1_matches,
       (s->'baseline'->>'macro_f1')::float8 = v.baseline_macro_f1 AS baseline_matches,
       (SELECT array_agg(x->>'bucket') FROM json_array_elements(s->'model'->'per_class') x) AS buckets,
       s->'confusion_matrix'->'labels' AS labels,
       (s->>'test_customers')::int = v.test_customers AS test_customers
  FROM ltv_api.model_summary(:gen_id) s, ltv.model_summary v WHERE v.run_id = ltv.latest_run(:gen_id);

-- Nothing the web role did touched other tables.
SELECT count(*) AS datasets FROM ltv.datasets;
SELECT ltv.delete_dataset(dataset_id) FROM ltv.datasets ORDER BY dataset_id;
