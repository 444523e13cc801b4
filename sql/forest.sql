-- ltv.rf_train / rf_predict / rf_predict_proba / rf_info.
\set VERBOSITY default

-- A separable toy problem: label 1 exactly when x > 50; y is noise.
CREATE TABLE toy AS
SELECT ARRAY[x, (x * 37) % 11]::float8[] AS features, (x > 50)::int AS label
  FROM generate_series(1, 100) x;
CREATE TABLE toy_model AS
SELECT ltv.rf_train(features, label, '{"n_trees": 15, "seed": 3, "feature_names": ["x", "noise"]}') AS model FROM toy;

SELECT ltv.rf_predict(model, '{10, 3}') AS low_x, ltv.rf_predict(model, '{90, 3}') AS high_x,
       ltv.rf_predict_proba(model, '{10, 3}') AS proba_low_x FROM toy_model;
SELECT count(*) FILTER (WHERE ltv.rf_predict(m.model, t.features) = t.label) AS correct, count(*) AS total
  FROM toy t, toy_model m;
SELECT i->'n_trees' AS n_trees, i->'feature_names' AS features, i->'n_classes' AS n_classes,
       i->'feature_importance'->0->>'feature' AS most_important
  FROM (SELECT ltv.rf_info(model) AS i FROM toy_model) s;

-- Deterministic: same rows, parameters and seed give the same bytes, whatever the thread
-- count and whatever order the rows arrive in; another seed gives another model.
SELECT md5(ltv.rf_train(features, label, '{"n_trees": 15, "seed": 3, "feature_names": ["x", "noise"], "threads": 1}')) = md5(model) AS same_threads_1,
       md5(ltv.rf_train(features, label, '{"n_trees": 15, "seed": 3, "feature_names": ["x", "noise"], "threads": 4}')) = md5(model) AS same_threads_4
  FROM toy, toy_model GROUP BY model;
SELECT md5((SELECT ltv.rf_train(features, label, '{"n_trees": 15, "seed": 3, "feature_names": ["x", "noise"]}')
              FROM (SELECT * FROM toy ORDER BY random()) shuffled)) = md5(model) AS same_shuffled,
       md5((SELECT ltv.rf_train(features, label, '{"n_trees": 15, "seed": 4, "feature_names": ["x", "noise"]}') FROM toy)) = md5(model) AS same_other_seed
  FROM toy_model;

-- Parallel query forced: partial row sets are combined and give the same model.
ALTER TABLE toy SET (parallel_workers = 2);
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS forced;
EXPLAIN (COSTS OFF) SELECT ltv.rf_train(features, label, '{"n_trees": 15, "seed": 3}') FROM toy;
SELECT md5(ltv.rf_train(features, label, '{"n_trees": 15, "seed": 3, "feature_names": ["x", "noise"]}')) = (SELECT md5(model) FROM toy_model) AS parallel_same
  FROM toy;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'off', false) AS forced;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- The decoded model is cached per backend: many calls, one decode.
SELECT (ltv.rf_info(model)->>'backend_decodes')::int AS decodes_before FROM toy_model \gset
SELECT count(ltv.rf_predict(m.model, t.features)) FROM toy t, toy_model m, generate_series(1, 20);
SELECT (ltv.rf_info(model)->>'backend_decodes')::int - :decodes_before AS extra_decodes FROM toy_model;

-- Parameter errors name the key.
SELECT ltv.rf_train(features, label, '{"n_tree": 5}') FROM toy;
SELECT ltv.rf_train(features, label, '{"n_trees": 0}') FROM toy;
SELECT ltv.rf_train(features, label, '{"max_features": "most"}') FROM toy;
SELECT ltv.rf_train(features, label, '{"class_weight": [1]}') FROM toy;
SELECT ltv.rf_train(features, label, '[1, 2]') FROM toy;

-- Bad rows: clear errors.
SELECT ltv.rf_train(f, 0, '{}') FROM (VALUES ('{1,2}'::float8[]), ('{1,2,3}')) v(f);
SELECT ltv.rf_train('{1,NULL}'::float8[], 0, '{}');
SELECT ltv.rf_train('{1,NaN}'::float8[], 0, '{}');
SELECT ltv.rf_train('{1,Infinity}'::float8[], 0, '{}');
SELECT ltv.rf_train('{1,2}'::float8[], -1, '{}');
SELECT ltv.rf_train('{1,2}'::float8[], NULL, '{}');
SELECT ltv.rf_train(NULL, 1, '{}');
SELECT ltv.rf_train('{}'::float8[], 1, '{}');
SELECT ltv.rf_train('{{1,2},{3,4}}'::float8[], 1, '{}');
SELECT ltv.rf_train(features, label, '{}') FROM toy WHERE false;
SELECT ltv.rf_train(features, 2, '{"n_classes": 2}') FROM toy;
SET ltv.max_training_rows = 50;
SELECT ltv.rf_train(features, label, '{}') FROM toy;
RESET ltv.max_training_rows;
-- A single class: allowed, always predicts that class.
SELECT ltv.rf_predict(ltv.rf_train(features, 1, '{"n_trees": 3}'), '{1, 1}') AS single_class FROM toy;

-- Prediction input errors.
SELECT ltv.rf_predict(model, '{1, 2, 3}') FROM toy_model;
SELECT ltv.rf_predict(model, '{1, NULL}') FROM toy_model;
SELECT ltv.rf_predict(model, '{NaN, 1}') FROM toy_model;
SELECT ltv.rf_predict(model, NULL) IS NULL AS null_features_give_null FROM toy_model;

-- Corrupt models are errors, never crashes.
SELECT ltv.rf_predict('\x'::bytea, '{1, 2}');
SELECT ltv.rf_predict('not a model'::bytea, '{1, 2}');
SELECT ltv.rf_predict(substring(model FROM 1 FOR length(model) - 1), '{1, 2}') FROM toy_model;
SELECT ltv.rf_predict(overlay(model PLACING '\xff'::bytea FROM 40 FOR 1), '{1, 2}') FROM toy_model;
SELECT ltv.rf_info(overlay(model PLACING '\x00'::bytea FROM 1 FOR 1)) FROM toy_model;
SELECT ltv.rf_predict(model, '{10, 3}') AS still_fine FROM toy_model;

-- statement_timeout stops a long training promptly.
CREATE TABLE big AS
SELECT ARRAY[random(), random(), random(), random(), random(), random()]::float8[] AS features,
       (random() * 4)::int % 4 AS label
  FROM generate_series(1, 60000);
SET statement_timeout = '500ms';
SELECT ltv.rf_train(features, label, '{"n_trees": 2000, "max_features": "all"}') FROM big;
RESET statement_timeout;
SELECT ltv.rf_predict(model, '{10, 3}') AS works_after_cancel FROM toy_model;
DROP TABLE big, toy, toy_model;
