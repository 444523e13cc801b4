-- Explanations (src/sql/43_explain.sql, core/explain): exact TreeSHAP of the forest and the
-- served candidate's decomposition. Every check compares with an independent computation:
-- the stored predictions, ltv.rf_predict_proba, or explanations computed another way.
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never
SELECT count(ltv.delete_dataset(dataset_id)) >= 0 AS cleared FROM ltv.datasets;
\i sql/include/save_ids.psql

SELECT ltv.generate_dataset('explain', 400, 11) AS ds \gset
SELECT ltv.run_analysis(:ds, '{"forest": {"n_trees": 20}, "candidates": ["classifier"]}') AS run_forest \gset
SELECT ltv.run_analysis(:ds, '{"forest": {"n_trees": 20}, "candidates": ["naive"]}') AS run_naive \gset
SELECT model AS model FROM ltv.models WHERE run_id = :run_forest \gset
SELECT min(customer_id) AS cust FROM ltv.predictions WHERE run_id = :run_forest \gset

-- Additivity: for every customer of the run and every bucket, base + the contributions equal
-- the probability the run stored, one row per model input.
WITH e AS (SELECT * FROM ltv.explain(:run_forest::bigint)),
s AS (SELECT customer_id, bucket, min(base) = max(base) AS one_base, max(base) + sum(contribution) AS p,
             count(*) AS inputs FROM e GROUP BY 1, 2)
SELECT count(DISTINCT s.customer_id) = (SELECT count(*) FROM ltv.predictions WHERE run_id = :run_forest) AS every_customer,
       bool_and(s.one_base) AS one_base_per_bucket,
       bool_and(s.inputs = cardinality(ltv.rf_feature_names(:'model'))) AS every_input,
       max(abs(s.p - (ARRAY[p.p_low, p.p_medium, p.p_high, p.p_vip])[ltv._bucket_class(s.bucket) + 1])) < 1e-9 AS sums_to_probability
  FROM s JOIN ltv.predictions p ON p.run_id = :run_forest AND p.customer_id = s.customer_id;

-- The base is the mean probability over the customers whose features weigh the splits.
SELECT bool_and(abs(b.base - m.mean) < 1e-9) AS base_is_mean_probability
  FROM (SELECT DISTINCT bucket, base FROM ltv.explain(:run_forest::bigint)) b
  JOIN (SELECT unnest(ARRAY['low', 'medium', 'high', 'vip']::ltv.bucket[]) AS bucket,
               unnest(ARRAY[avg(p_low), avg(p_medium), avg(p_high), avg(p_vip)]) AS mean
          FROM ltv.predictions WHERE run_id = :run_forest) m USING (bucket);

-- The same customers through ltv.rf_explain, one row at a time with the run's customers as
-- the reference: the same numbers; the values are the model's inputs as the run stored them.
SELECT ltv.rf_feature_names(:'model') = ltv.feature_names() AS model_uses_the_registry_inputs;
CREATE TEMP TABLE vectors AS
SELECT cf.customer_id, ltv.feature_vector(cf) AS v
  FROM ltv.customer_features cf, ltv.analysis_runs r
 WHERE r.run_id = :run_forest AND cf.run_id = r.run_id AND cf.cutoff = (r.settings->>'as_of')::timestamp;
SELECT array_agg(v ORDER BY customer_id) AS reference FROM vectors \gset
WITH one AS (
  SELECT x.customer_id, e.* FROM (SELECT * FROM vectors ORDER BY customer_id LIMIT 25) x,
         LATERAL ltv.rf_explain(:'model', x.v, :'reference') e)
SELECT count(*) AS rows_compared,
       bool_and(r.base = o.base AND r.value = o.value AND abs(r.contribution - o.contribution) < 1e-12) AS same_as_explain_run
  FROM one o JOIN ltv.explain(:run_forest::bigint) r USING (customer_id, bucket, feature);

-- Beyond ltv._explain_reference_size() customers, every k-th by a hash of the id weighs the
-- splits (here with a size of 100 for the 388 customers: k = 4): the same ones every time,
-- and the asked-for customers are explained whether in the sample or not.
WITH v AS (SELECT * FROM ltv.analysis_runs r,
                  LATERAL ltv._explain_vectors(:'model', 'ltv.customer_features', r.dataset_id, r.run_id,
                                               (r.settings->>'as_of')::timestamp, ARRAY[:'cust'], 100) v
            WHERE r.run_id = :run_forest)
SELECT array_length(v.reference, 1) BETWEEN 60 AND 140 AS sampled, v.ids = ARRAY[:'cust'] AS asked_one,
       v.reference = (SELECT array_agg(x.v ORDER BY x.customer_id) FROM vectors x
                       WHERE ('x' || '00000000' || substr(md5(x.customer_id), 1, 8))::bit(64)::bigint % 4 = 0) AS every_fourth_by_md5
  FROM v;

-- Without a reference every split weighs its sides equally: still additive.
SELECT bool_and(abs(s.p - (ltv.rf_predict_proba(:'model', x.v))[ltv._bucket_class(s.bucket) + 1]) < 1e-12) AS additive_without_reference
  FROM (SELECT * FROM vectors ORDER BY customer_id LIMIT 25) x,
       LATERAL (SELECT e.bucket, max(e.base) + sum(e.contribution) AS p FROM ltv.rf_explain(:'model', x.v) e GROUP BY 1) s;

-- Deterministic: the same model and data give the same explanation, bit for bit.
SELECT (SELECT array_agg(contribution ORDER BY customer_id, bucket, feature) FROM ltv.explain(:run_forest::bigint))
     = (SELECT array_agg(contribution ORDER BY customer_id, bucket, feature) FROM ltv.explain(:run_forest::bigint)) AS deterministic;

-- ltv.explain(model, dataset): features computed as ltv.predict computes them, the splits weighed
-- by all the dataset's customers whichever are asked for.
WITH e AS (SELECT * FROM ltv.explain(:'model', :ds)),
s AS (SELECT customer_id, bucket, max(base) + sum(contribution) AS p FROM e GROUP BY 1, 2)
SELECT count(DISTINCT s.customer_id) = (SELECT count(*) FROM ltv.predict(:'model', :ds)) AS every_customer,
       max(abs(s.p - (ARRAY[p.p_low, p.p_medium, p.p_high, p.p_vip])[ltv._bucket_class(s.bucket) + 1])) < 1e-9 AS sums_to_predict
  FROM s JOIN ltv.predict(:'model', :ds) p USING (customer_id);
SELECT (SELECT array_agg(contribution ORDER BY bucket, feature) FROM ltv.explain(:'model', :ds, ARRAY[:'cust']))
     = (SELECT array_agg(contribution ORDER BY bucket, feature) FROM ltv.explain(:'model', :ds) WHERE customer_id = :'cust')
       AS independent_of_who_else_is_asked;

-- A run that serves the naive rule: one input (the recent spend), base = how the evaluated
-- customers were truly spread, summing to the stored probabilities.
WITH e AS (SELECT * FROM ltv.explain(:run_naive::bigint)),
s AS (SELECT customer_id, bucket, max(base) + sum(contribution) AS p, count(*) AS n, min(feature) AS feature FROM e GROUP BY 1, 2)
SELECT count(DISTINCT s.customer_id) = (SELECT count(*) FROM ltv.predictions WHERE run_id = :run_naive) AS every_customer,
       bool_and(s.n = 1 AND s.feature = 'baseline_spend') AS one_input,
       max(abs(s.p - (ARRAY[p.p_low, p.p_medium, p.p_high, p.p_vip])[ltv._bucket_class(s.bucket) + 1])) < 1e-12 AS sums_to_probability
  FROM s JOIN ltv.predictions p ON p.run_id = :run_naive AND p.customer_id = s.customer_id;
SELECT abs(sum(DISTINCT base) - 1) < 1e-12 AS base_is_a_distribution FROM ltv.explain(:run_naive::bigint, ARRAY[:'cust']);

-- Errors name the problem; a corrupt model is an error, never a crash.
SELECT * FROM ltv.rf_explain(:'model', NULL);
SELECT * FROM ltv.rf_explain(:'model', ARRAY[1, 2, 3]::float8[]);
SELECT * FROM ltv.rf_explain(:'model', ARRAY[[1, 2], [3, 4]]::float8[]);
SELECT * FROM ltv.rf_explain(:'model', array_fill(1::float8, ARRAY[cardinality(ltv.feature_names())]), ARRAY[1, 2]::float8[]);
SELECT * FROM ltv.rf_explain(:'model', array_fill(1::float8, ARRAY[cardinality(ltv.feature_names())]), ARRAY[[1, 2]]::float8[]);
SELECT * FROM ltv.rf_explain(:'model', array_fill('NaN'::float8, ARRAY[cardinality(ltv.feature_names())]));
SELECT * FROM ltv.rf_explain(overlay(:'model'::bytea placing '\xdeadbeef'::bytea from 40), array_fill(1::float8, ARRAY[cardinality(ltv.feature_names())]));
SELECT * FROM ltv.rf_explain('\x00'::bytea, ARRAY[1]::float8[]);
SELECT * FROM ltv.explain(:'model', :ds, ARRAY[:'cust', 'nobody']);
SELECT * FROM ltv.explain(:run_naive::bigint, ARRAY['nobody']);
SELECT * FROM ltv.explain(-1::bigint);
SELECT * FROM ltv.rf_explain_batch(:'model', ARRAY['a'], NULL);

-- Cancellable: a statement timeout stops a long explanation (the same rows many times).
SET statement_timeout = '200ms';
SELECT count(*) FROM ltv.rf_explain_batch(:'model', ARRAY(SELECT 'k' FROM generate_series(1, 50), vectors),
                                          ARRAY(SELECT v FROM generate_series(1, 50), vectors), :'reference');
RESET statement_timeout;
SELECT 1 AS still_connected;

-- Reasons in words: for the served bucket, the inputs that raise its probability most (up to
-- 3, by contribution) and lower it most (up to 2), the same numbers as ltv.explain.
SELECT customer_id, bucket, rank, feature, round(value::numeric, 4) AS value, round(contribution::numeric, 6) AS contribution, reason
  FROM ltv.reasons(:run_forest, ARRAY[:'cust']);
WITH r AS (SELECT * FROM ltv.reasons(:run_forest)),
e AS (SELECT e.* FROM ltv.explain(:run_forest::bigint) e
        JOIN ltv.predictions p ON p.run_id = :run_forest AND p.customer_id = e.customer_id AND p.bucket = e.bucket)
SELECT count(DISTINCT r.customer_id) = (SELECT count(*) FROM ltv.predictions WHERE run_id = :run_forest) AS every_customer,
       bool_and(r.contribution = e.contribution AND r.value = e.value) AS same_numbers,
       (SELECT max(n) FROM (SELECT count(*) FILTER (WHERE contribution > 0) AS n FROM r GROUP BY customer_id) x) AS most_positive,
       (SELECT max(n) FROM (SELECT count(*) FILTER (WHERE contribution < 0) AS n FROM r GROUP BY customer_id) x) AS most_negative,
       bool_and(NOT EXISTS (SELECT 1 FROM e x WHERE x.customer_id = r.customer_id AND x.contribution > r.contribution
                                                AND r.contribution > 0 AND r.rank = 1)) AS first_is_largest
  FROM r JOIN e USING (customer_id, feature);
SELECT customer_id, bucket, rank, feature, round(value::numeric, 4) AS value, round(contribution::numeric, 6) AS contribution, reason
  FROM ltv.reasons(:run_naive, ARRAY[:'cust']);
-- ltv_api.customer returns them for the run the dashboard shows.
SELECT c->'reasons'->>'served' AS served, c->'reasons'->>'bucket' = c->>'predicted_bucket' AS for_the_predicted_bucket,
       json_array_length(c->'reasons'->'items') AS items
  FROM ltv_api.customer(:ds, :'cust') c;

-- Global importance: mean |contribution| to each customer's served bucket, as an aggregate of
-- ltv.explain computed here; impurity importance beside it; a sample is the same every time.
WITH g AS (SELECT * FROM ltv.explain_importance(:run_forest, NULL)),
e AS (SELECT e.feature, avg(abs(e.contribution)) AS m FROM ltv.explain(:run_forest::bigint) e
        JOIN ltv.predictions p ON p.run_id = :run_forest AND p.customer_id = e.customer_id AND p.bucket = e.bucket
       GROUP BY 1)
SELECT count(*) = cardinality(ltv.feature_names()) AS every_input,
       bool_and(abs(g.mean_abs_contribution - e.m) < 1e-12) AS matches_explain,
       bool_and(g.impurity_importance IS NOT NULL) AS with_impurity,
       min(g.customers) = (SELECT count(*) FROM ltv.predictions WHERE run_id = :run_forest) AS all_customers
  FROM g JOIN e USING (feature);
SELECT (SELECT array_agg(mean_abs_contribution ORDER BY feature) FROM ltv.explain_importance(:run_forest, 50))
     = (SELECT array_agg(mean_abs_contribution ORDER BY feature) FROM ltv.explain_importance(:run_forest, 50)) AS sample_is_stable,
       (SELECT min(customers) FROM ltv.explain_importance(:run_forest, 50)) AS sampled;
SELECT feature, customers FROM ltv.explain_importance(:run_naive);
SELECT * FROM ltv.explain_importance(:run_forest, 0);

-- Stored reasons: ltv.store_reasons keeps ltv.reasons of the customers asked for (here the
-- run's VIP and High customers), and ltv_api.customer serves them from the table.
SELECT ltv.store_reasons(:run_forest, '{high,vip}') =
       (SELECT count(*) FROM ltv.reasons(:run_forest, (SELECT array_agg(customer_id) FROM ltv.predictions
                                                         WHERE run_id = :run_forest AND bucket IN ('high', 'vip')))) AS stored_all;
SELECT count(DISTINCT r.customer_id) = (SELECT count(*) FROM ltv.predictions WHERE run_id = :run_forest AND bucket IN ('high', 'vip'))
         AS every_high_and_vip,
       bool_and(r.bucket = p.bucket) AS served_bucket
  FROM ltv.customer_reasons r JOIN ltv.predictions p USING (run_id, customer_id) WHERE r.run_id = :run_forest;
SELECT min(customer_id) AS vip FROM ltv.predictions WHERE run_id = :run_forest AND bucket = 'vip' \gset
SELECT (ltv._api_reasons(:run_forest, :'vip')->>'stored')::boolean AS served_from_table,
       json_array_length(ltv._api_reasons(:run_forest, :'vip')->'items')
         = (SELECT count(*) FROM ltv.customer_reasons WHERE run_id = :run_forest AND customer_id = :'vip') AS same_items;
SELECT ltv.store_reasons(:run_forest, '{}') AS none_stored;
SELECT count(*) AS left_over FROM ltv.customer_reasons WHERE run_id = :run_forest;
-- Deleting the dataset deletes its runs' stored reasons.
SELECT ltv.store_reasons(:run_naive) > 0 AS stored_naive;

SELECT count(ltv.delete_dataset(dataset_id)) AS deleted FROM ltv.datasets WHERE name = 'explain';
\i sql/include/restore_ids.psql
SELECT count(*) AS reasons_left FROM ltv.customer_reasons;
