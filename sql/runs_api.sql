-- ltv_api.runs: every run of a dataset with its options and, when it succeeded, the served
-- candidate and its lift, compared with ltv.analysis_runs and ltv.models read directly.
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never
\i sql/include/save_ids.psql

SELECT ltv.generate_dataset('runs api', 300, 5) AS ds \gset
SELECT ltv.run_analysis(:ds, '{"forest": {"n_trees": 10}}') AS run1 \gset
SELECT ltv.run_analysis(:ds, '{"forest": {"n_trees": 10}, "horizon": "3 months"}') AS run2 \gset
-- A failed run after them: listed, with no model.
INSERT INTO ltv.analysis_runs (dataset_id, mode, status, error, options)
VALUES (:ds, 'foreground', 'failed', 'the data ends before cutoff + horizon', '{"horizon": "2 years"}')
RETURNING run_id AS run3 \gset

SET ROLE ltv_web;
CREATE TEMP TABLE listed AS
SELECT x.ord, x.r FROM json_array_elements(ltv_api.runs(:ds)) WITH ORDINALITY AS x(r, ord);
RESET ROLE;

-- Newest first, every run of the dataset once.
SELECT array_agg((r->>'run_id')::bigint ORDER BY ord) = ARRAY[:run3, :run2, :run1]::bigint[] AS newest_first,
       count(*) = (SELECT count(*) FROM ltv.analysis_runs WHERE dataset_id = :ds) AS every_run
  FROM listed;
-- Status, options and resolved horizon as stored; served candidate and lift as the run's model has them.
SELECT l.r->>'status' AS status,
       (l.r->'options')::jsonb = a.options AS options_match,
       l.r->>'horizon' AS horizon,
       (l.r->>'cutoff')::timestamp IS NOT DISTINCT FROM (a.settings->>'cutoff')::timestamp AS cutoff_match,
       l.r->>'served' IS NOT DISTINCT FROM m.metrics->>'served' AS served_match,
       (l.r->>'lift_macro_f1')::float8 IS NOT DISTINCT FROM (m.metrics->>'lift_macro_f1')::float8 AS lift_match,
       (l.r->>'macro_f1')::float8 IS NOT DISTINCT FROM (m.metrics->>'macro_f1')::float8 AS f1_match,
       (l.r->>'customers')::bigint = (SELECT count(*) FROM ltv.predictions p WHERE p.run_id = a.run_id) AS customers_match,
       (l.r->>'is_latest')::boolean AS is_latest,
       l.r->>'error' AS error
  FROM listed l
  JOIN ltv.analysis_runs a ON a.run_id = (l.r->>'run_id')::bigint
  LEFT JOIN ltv.models m ON m.run_id = a.run_id
 ORDER BY l.ord;

-- Unknown dataset: 404.
SELECT ltv_api.runs(987654);
SELECT has_function_privilege('ltv_web', 'ltv_api.runs(bigint)', 'EXECUTE') AS web_may_list;

SELECT ltv.delete_dataset(:ds);
\i sql/include/restore_ids.psql
