-- Out-of-time evaluation and the choice of what to serve (issue: predictions that beat the
-- simple rule out of time), on two hand-made three-year datasets with a known answer:
--   steady:   customer i spends 10 + i every month: the last window's spend ranks everyone
--             exactly as the next one will, so the naive rule is perfect and must be served;
--   seasonal: odd customers buy only from June to November, even ones only from December to
--             May: the last window says the opposite of the next one, so the naive rule is
--             wrong for everyone, and a model that sees the same season a year earlier must win.
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never
SELECT count(ltv.delete_dataset(dataset_id)) >= 0 AS cleared FROM ltv.datasets;

SELECT ltv.import_csv('steady', convert_to(
  'Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country' || E'\n' ||
  (SELECT string_agg(format('%s-%s,P1,x,1,%s,%s,c%s,UK', i, m, to_char(d, 'YYYY-MM-DD HH24:MI:SS'), 10 + i, lpad(i::text, 3, '0')), E'\n')
     FROM generate_series(1, 120) i,
          generate_series(0, 35) m,
          LATERAL (SELECT timestamp '2009-01-15' + m * interval '1 month' AS d) x), 'UTF8')) AS steady \gset
SELECT ltv.import_csv('seasonal', convert_to(
  'Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country' || E'\n' ||
  (SELECT string_agg(format('%s-%s,P1,x,1,%s,%s,c%s,UK', i, m, to_char(d, 'YYYY-MM-DD HH24:MI:SS'), 10 + i, lpad(i::text, 3, '0')), E'\n')
     FROM generate_series(1, 120) i,
          generate_series(0, 35) m,
          LATERAL (SELECT timestamp '2009-01-15' + m * interval '1 month' AS d) x
    WHERE (i % 2 = 1) = (extract(month FROM d) BETWEEN 6 AND 11)), 'UTF8')) AS seasonal \gset
SELECT name, customers, first_purchase, last_purchase FROM ltv.datasets ORDER BY dataset_id;

-- The plan: folds at the cutoff (last purchase - 6 months) and every 2 months before it, each
-- trained on the snapshot one horizon before it, the 12 monthly ones before that and the one a
-- year before the fold (already among them); the served model on the cutoff and back.
SELECT ltv.run_analysis(:steady, '{"forest": {"n_trees": 30}}') AS steady_run \gset
SELECT f->>'fold' AS fold, f->>'evaluate_at' AS evaluate_at,
       jsonb_array_length(f->'train_at') AS training_snapshots,
       f->'train_at'->>0 AS newest, f->'train_at'->>-1 AS oldest,
       (f->'train_at') @> jsonb_build_array((f->>'evaluate_at')::timestamp - interval '1 year') AS has_season_snapshot
  FROM ltv.runs r, jsonb_array_elements(r.settings->'plan'->'folds') f WHERE r.run_id = :steady_run;
SELECT settings->'plan'->>'mode' AS mode, settings->'plan'->'train_at'->>0 AS served_newest,
       jsonb_array_length(settings->'plan'->'train_at') AS served_snapshots
  FROM ltv.runs WHERE run_id = :steady_run;

-- The truth each fold is scored against is the next six months' spend bucketed by average
-- percent rank (ties share it) at 0.5 / 0.8 / 0.95: the same as plain SQL's window functions.
SELECT cf.cutoff, count(*) AS customers,
       count(*) FILTER (WHERE cf.true_bucket IS DISTINCT FROM
         (enum_range(NULL::ltv.bucket))[1 + (w.pct > 0.5)::int + (w.pct > 0.8)::int + (w.pct > 0.95)::int]) AS truth_mismatches,
       count(*) FILTER (WHERE cf.baseline_bucket IS DISTINCT FROM
         (enum_range(NULL::ltv.bucket))[1 + (w.bpct > 0.5)::int + (w.bpct > 0.8)::int + (w.bpct > 0.95)::int]) AS naive_mismatches
  FROM ltv.customer_features cf
  JOIN (SELECT customer_id, cutoff,
               (rank() OVER (PARTITION BY cutoff ORDER BY future_spend)
                + (count(*) OVER (PARTITION BY cutoff, future_spend) - 1) / 2.0)
                 / count(*) OVER (PARTITION BY cutoff) AS pct,
               (rank() OVER (PARTITION BY cutoff ORDER BY baseline_spend)
                + (count(*) OVER (PARTITION BY cutoff, baseline_spend) - 1) / 2.0)
                 / count(*) OVER (PARTITION BY cutoff) AS bpct
          FROM ltv.customer_features WHERE run_id = :steady_run AND future_spend IS NOT NULL) w USING (customer_id, cutoff)
 WHERE cf.run_id = :steady_run
   AND cf.cutoff IN (SELECT (f->>'evaluate_at')::timestamp FROM ltv.runs r, jsonb_array_elements(r.settings->'plan'->'folds') f WHERE r.run_id = :steady_run)
 GROUP BY cf.cutoff ORDER BY cf.cutoff;

-- Steady: the naive rule is perfect out of time, nothing can beat it convincingly, and it is
-- what the run serves, says it serves, and stores.
SELECT s.evaluation, s.folds, s.served, s.serves_naive, round(s.baseline_macro_f1::numeric, 4) AS naive_f1,
       s.lift_macro_f1 = 0 AS no_lift
  FROM ltv.model_summary s WHERE s.run_id = :steady_run;
SELECT count(*) AS customers, count(*) FILTER (WHERE p.bucket <> cf.baseline_bucket) AS not_the_naive_bucket
  FROM ltv.predictions p JOIN ltv.customer_features cf
    ON cf.run_id = p.run_id AND cf.cutoff = p.as_of AND cf.customer_id = p.customer_id
 WHERE p.run_id = :steady_run;
SELECT (ltv_api.model_summary(:steady))->>'served' AS api_served,
       (ltv_api.model_summary(:steady))->>'serves_naive' AS api_serves_naive;

-- Seasonal: the naive rule is wrong out of time; a candidate using the model (which sees the
-- spend of the same season a year earlier) beats it with its whole 90% interval above zero.
SELECT ltv.run_analysis(:seasonal, '{"forest": {"n_trees": 30}}') AS seasonal_run \gset
SELECT s.evaluation, s.folds, s.serves_naive, s.served <> 'naive' AS serves_a_model,
       s.macro_f1 > s.baseline_macro_f1 + 0.2 AS clearly_better, (s.lift_ci90->>0)::float8 > 0 AS interval_above_zero,
       s.spearman > 0.5 AS ranks_future_spend
  FROM ltv.model_summary s WHERE s.run_id = :seasonal_run;
-- Every candidate was scored on every fold, and the naive rule is among them.
SELECT count(*) AS candidates, bool_and(jsonb_array_length(c->'folds') = 3) AS every_fold,
       count(*) FILTER (WHERE c->>'name' = 'naive') AS naive_listed
  FROM ltv.models m, jsonb_array_elements(m.metrics->'candidates') c WHERE m.run_id = :seasonal_run;
-- As of the last purchase (December) the even customers (December-May buyers) buy next: every
-- high and VIP prediction is theirs, though the last six months say the opposite.
SELECT (right(p.customer_id, 3)::int % 2 = 0) AS buys_december_to_may,
       count(*) FILTER (WHERE p.bucket IN ('high', 'vip')) AS high_or_vip,
       count(*) FILTER (WHERE cf.baseline_bucket IN ('high', 'vip')) AS naive_high_or_vip
  FROM ltv.predictions p JOIN ltv.customer_features cf
    ON cf.run_id = p.run_id AND cf.cutoff = p.as_of AND cf.customer_id = p.customer_id
 WHERE p.run_id = :seasonal_run GROUP BY 1 ORDER BY 1;

-- What a run serves is reproducible: ltv.predict(run_id) recomputes it from the transactions.
SELECT count(*) FILTER (WHERE p.bucket IS DISTINCT FROM f.bucket) AS mismatches
  FROM (SELECT * FROM ltv.predictions WHERE run_id = :seasonal_run) p FULL JOIN ltv.predict(:seasonal_run) f USING (customer_id);

-- A run restricted to the classifier serves the forest's own buckets: ltv.predict with the
-- stored model returns exactly the run's stored predictions.
SELECT ltv.run_analysis(:seasonal, '{"forest": {"n_trees": 30}, "candidates": ["classifier"]}') AS clf_run \gset
SELECT s.served FROM ltv.model_summary s WHERE s.run_id = :clf_run;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE p.bucket IS DISTINCT FROM f.bucket OR abs(p.p_high - f.p_high) > 1e-12) AS mismatches
  FROM (SELECT * FROM ltv.predictions WHERE run_id = :clf_run) p
  FULL JOIN ltv.predict((SELECT model FROM ltv.models WHERE run_id = :clf_run), :seasonal) f USING (customer_id);

-- Same data, options and seed: the same choice, model and predictions.
SELECT ltv.run_analysis(:seasonal, '{"forest": {"n_trees": 30}}') AS seasonal_again \gset
SELECT (SELECT model FROM ltv.models WHERE run_id = :seasonal_run) = (SELECT model FROM ltv.models WHERE run_id = :seasonal_again) AS same_model,
       (SELECT metrics->'candidates' FROM ltv.models WHERE run_id = :seasonal_run)
         = (SELECT metrics->'candidates' FROM ltv.models WHERE run_id = :seasonal_again) AS same_scores,
       NOT EXISTS (SELECT customer_id, bucket, p_high FROM ltv.predictions WHERE run_id = :seasonal_run
                   EXCEPT SELECT customer_id, bucket, p_high FROM ltv.predictions WHERE run_id = :seasonal_again) AS same_predictions;

-- Options of the choice: unknown candidates are errors naming them.
SELECT ltv.run_analysis(:seasonal, '{"candidates": ["magic"]}');
SELECT ltv.run_analysis(:seasonal, '{"candidates": "naive"}');
SELECT ltv.delete_dataset(:steady), ltv.delete_dataset(:seasonal);
