-- The analysis pipeline: runs, models, predictions, views (checked against independent SQL
-- over the stored rows), option errors, failures, history and deletion.
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never
-- Start from no datasets and fixed ids, whatever earlier tests left behind.
SELECT count(ltv.delete_dataset(dataset_id)) >= 0 AS cleared FROM ltv.datasets;
ALTER TABLE ltv.datasets ALTER COLUMN dataset_id RESTART WITH 100;
ALTER TABLE ltv.analysis_runs ALTER COLUMN run_id RESTART WITH 100;

SELECT ltv.generate_dataset('pipe', 400, 11) AS pipe_id \gset

-- Option errors are reported before any run is created.
SELECT ltv.run_analysis(:pipe_id, '{"trees": 10}');
SELECT ltv.run_analysis(:pipe_id, '{"horizon": "soon"}');
SELECT ltv.run_analysis(:pipe_id, '{"horizon": "-1 month"}');
SELECT ltv.run_analysis(:pipe_id, '{"test_fraction": 0.99}');
SELECT ltv.run_analysis(:pipe_id, '{"seed": "x"}');
SELECT ltv.run_analysis(:pipe_id, '{"evaluation": "cross"}');
SELECT ltv.run_analysis(:pipe_id, '{"forest": {"n_tree": 5}}');
SELECT ltv.run_analysis(:pipe_id, '{"cutoff": "2030-01-01"}');
SELECT ltv.run_analysis(:pipe_id, '{"buckets": {"amounts": [1, 2]}}');
SELECT ltv.run_analysis(:pipe_id, '{"buckets": {"quantiles": [0.5, 0.4, 0.9]}}');
SELECT ltv.run_analysis(999999);
SELECT count(*) AS runs_after_errors FROM ltv.runs;

-- A run with few trees (fast) and the default everything else.
SELECT ltv.run_analysis(:pipe_id, '{"forest": {"n_trees": 20}}') AS run1 \gset
SELECT status, stage, progress, error IS NULL AS no_error,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(timings) k) AS timed_stages
  FROM ltv.runs WHERE run_id = :run1;
SELECT ltv.latest_run(:pipe_id) = :run1 AS latest_is_run1;

-- Every customer with history before the scoring time has exactly one prediction,
-- with probabilities summing to 1 and the bucket being the most likely class or the
-- tuned rule's choice.
SELECT (SELECT count(DISTINCT customer_id) FROM ltv.transactions WHERE dataset_id = :pipe_id)
       = (SELECT count(*) FROM ltv.predictions WHERE run_id = :run1) AS every_customer_predicted,
       bool_and(abs(p_low + p_medium + p_high + p_vip - 1) < 1e-9) AS probabilities_sum_to_1,
       bool_and(as_of = (SELECT last_purchase + interval '1 second'
                           FROM ltv.datasets WHERE dataset_id = :pipe_id)) AS as_of_just_after_end
  FROM ltv.predictions WHERE run_id = :run1;

-- Stored predictions equal what ltv.predict(run_id) computes afresh from the transactions
-- (features recomputed, the run's served candidate applied).
SELECT count(*) AS predictions, count(*) FILTER (WHERE p.bucket IS DISTINCT FROM f.bucket
                                                   OR abs(p.p_low - f.p_low) > 1e-12 OR abs(p.p_vip - f.p_vip) > 1e-12) AS mismatches
  FROM (SELECT * FROM ltv.predictions WHERE run_id = :run1) p FULL JOIN ltv.predict(:run1) f USING (customer_id);
-- ltv.predict with the stored model scores any stored model by the feature names it records:
-- the same as the per-row functions over the stored feature rows.
SELECT count(*) AS scored,
       count(*) FILTER (WHERE ltv._class_bucket(ltv.rf_predict(m.model, ltv.feature_vector(cf))) <> f.bucket
                           OR abs((ltv.rf_predict_proba(m.model, ltv.feature_vector(cf)))[4] - f.p_vip) > 1e-12) AS mismatches
  FROM ltv.models m
  CROSS JOIN LATERAL ltv.predict(m.model, :pipe_id) f
  JOIN ltv.customer_features cf ON cf.run_id = m.run_id AND cf.customer_id = f.customer_id
   AND cf.cutoff = (SELECT (settings->>'as_of')::timestamp FROM ltv.runs WHERE run_id = :run1)
 WHERE m.run_id = :run1;
-- What the run serves and why is stored with the model.
SELECT m.metrics->>'evaluation' AS evaluation, m.metrics ? 'served' AS has_served,
       (SELECT array_agg(c->>'name' ORDER BY i) FROM jsonb_array_elements(m.metrics->'candidates') WITH ORDINALITY u(c, i) WHERE i <= 3) AS first_candidates,
       (m.metrics->>'serves_naive')::boolean = (m.metrics->>'served' = 'naive') AS naive_flag_consistent
  FROM ltv.models m WHERE m.run_id = :run1;

-- The held-out split is stratified: per true bucket, round(25%) held out.
SELECT true_bucket, count(*) AS customers, count(*) FILTER (WHERE split = 'test') AS held_out,
       round(count(*) * 0.25) = count(*) FILTER (WHERE split = 'test') AS quarter
  FROM ltv.customer_features
 WHERE run_id = :run1 AND cutoff = (SELECT (settings->>'cutoff')::timestamp FROM ltv.runs WHERE run_id = :run1)
 GROUP BY true_bucket ORDER BY true_bucket;

-- The ranks and the split (computed in C++ from arrays) equal SQL's window functions over
-- the stored snapshots: percent_rank per column in every snapshot, and in the training
-- snapshot, per true bucket, the first round-half-up(25%) customers in the order of a hash
-- seeded with the run's seed.
SELECT (settings->>'seed')::bigint AS run1_seed, (settings->>'cutoff')::timestamp AS run1_cutoff
  FROM ltv.runs WHERE run_id = :run1 \gset
SELECT cf.cutoff = :'run1_cutoff' AS training_snapshot, count(*) > 0 AS has_rows,
       count(*) FILTER (WHERE cf.baseline_spend_rank <> w.baseline_spend_rank OR cf.monetary_rank <> w.monetary_rank
                           OR cf.frequency_rank <> w.frequency_rank OR cf.spend_90d_rank <> w.spend_90d_rank) AS rank_mismatches
  FROM ltv.customer_features cf
  JOIN (SELECT customer_id, cutoff,
               percent_rank() OVER (PARTITION BY cutoff ORDER BY baseline_spend) AS baseline_spend_rank,
               percent_rank() OVER (PARTITION BY cutoff ORDER BY monetary) AS monetary_rank,
               percent_rank() OVER (PARTITION BY cutoff ORDER BY frequency) AS frequency_rank,
               percent_rank() OVER (PARTITION BY cutoff ORDER BY spend_90d) AS spend_90d_rank
          FROM ltv.customer_features WHERE run_id = :run1) w USING (customer_id, cutoff)
 WHERE cf.run_id = :run1
 GROUP BY cf.cutoff ORDER BY cf.cutoff;
SELECT count(*) AS training_rows, count(*) FILTER (WHERE cf.split IS DISTINCT FROM w.split) AS split_mismatches
  FROM ltv.customer_features cf
  JOIN (SELECT customer_id,
               CASE WHEN row_number() OVER (PARTITION BY true_bucket
                                            ORDER BY hashtextextended(customer_id, :run1_seed), customer_id)
                         <= floor(count(*) OVER (PARTITION BY true_bucket) * 0.25 + 0.5)
                    THEN 'test' ELSE 'train' END AS split
          FROM ltv.customer_features WHERE run_id = :run1 AND cutoff = :'run1_cutoff') w USING (customer_id)
 WHERE cf.run_id = :run1 AND cf.cutoff = :'run1_cutoff';
-- The run computed all its snapshots in one scan (ltv._materialize_snapshots): each equals
-- the snapshot ltv.materialize_features stores on its own for that cutoff (ad hoc, no run).
SELECT count(ltv.materialize_features(:pipe_id, c.cutoff)) AS ad_hoc_snapshots
  FROM (SELECT DISTINCT cutoff FROM ltv.customer_features WHERE run_id = :run1) c;
SELECT count(*) AS snapshots, sum(s.rows) AS rows_compared, sum(s.mismatches) AS mismatches
  FROM (SELECT c.cutoff,
               (SELECT count(*) FROM ltv.customer_features r WHERE r.run_id = :run1 AND r.cutoff = c.cutoff) AS rows,
               (SELECT count(*) FROM ltv.customer_features r
                  FULL JOIN ltv.customer_features a
                    ON a.customer_id = r.customer_id AND a.run_id IS NULL AND a.dataset_id = :pipe_id AND a.cutoff = c.cutoff
                 WHERE (r.run_id = :run1 AND r.cutoff = c.cutoff OR r.customer_id IS NULL)
                   AND (a.run_id IS NULL AND a.dataset_id = :pipe_id AND a.cutoff = c.cutoff OR a.customer_id IS NULL)
                   AND (r.customer_id IS NULL OR a.customer_id IS NULL
                        OR (r.recency_days, r.frequency, r.monetary, r.avg_order_value, r.tenure_days, r.spend_30d,
                            r.spend_90d, r.spend_180d, r.spend_365d, r.orders_30d, r.orders_90d, r.orders_180d,
                            r.orders_365d, r.trend_90d, r.returns_amount, r.returns_count, r.distinct_products,
                            r.mean_days_between, r.first_purchase, r.last_purchase, r.future_spend, r.true_bucket,
                            r.baseline_spend, r.baseline_bucket, r.baseline_spend_rank, r.monetary_rank,
                            r.frequency_rank, r.spend_90d_rank)
                           IS DISTINCT FROM
                           (a.recency_days, a.frequency, a.monetary, a.avg_order_value, a.tenure_days, a.spend_30d,
                            a.spend_90d, a.spend_180d, a.spend_365d, a.orders_30d, a.orders_90d, a.orders_180d,
                            a.orders_365d, a.trend_90d, a.returns_amount, a.returns_count, a.distinct_products,
                            a.mean_days_between, a.first_purchase, a.last_purchase, a.future_spend, a.true_bucket,
                            a.baseline_spend, a.baseline_bucket, a.baseline_spend_rank, a.monetary_rank,
                            a.frequency_rank, a.spend_90d_rank))) AS mismatches
          FROM (SELECT DISTINCT cutoff FROM ltv.customer_features WHERE run_id = :run1) c) s;
DELETE FROM ltv.customer_features WHERE dataset_id = :pipe_id AND run_id IS NULL;
-- And each snapshot of the run equals a plain SQL recomputation from the transactions: its
-- members (a line before the cutoff), the future spend (where the horizon is observed), the
-- window spends (baseline: the horizon before the cutoff; season: the horizon a year before)
-- and some of the aggregate's features (first and last purchase: of a purchase line).
SELECT count(DISTINCT s.cutoff) AS snapshots, count(*) AS rows_compared,
       count(*) FILTER (WHERE cf.customer_id IS NULL OR s.customer_id IS NULL) AS membership_mismatches,
       count(*) FILTER (WHERE abs(cf.future_spend - s.future_spend) > 1e-6
                           OR (cf.future_spend IS NULL) <> (s.cutoff + s.horizon > s.data_end)) AS future_mismatches,
       count(*) FILTER (WHERE abs(cf.baseline_spend - s.baseline_spend) > 1e-6
                           OR abs(cf.season_spend - s.season_spend) > 1e-6) AS window_mismatches,
       count(*) FILTER (WHERE abs(cf.monetary - s.monetary) > 1e-6 OR cf.first_purchase <> s.first_purchase
                           OR cf.last_purchase IS DISTINCT FROM s.last_purchase) AS aggregate_mismatches
  FROM (SELECT c.cutoff, c.horizon, d.last_purchase AS data_end, t.customer_id,
               sum(t.amount::numeric) FILTER (WHERE t.invoice_time >= c.cutoff AND t.invoice_time < c.cutoff + c.horizon) AS future_spend,
               coalesce(sum(t.amount::numeric) FILTER (WHERE t.invoice_time >= c.cutoff - c.horizon AND t.invoice_time < c.cutoff), 0) AS baseline_spend,
               coalesce(sum(t.amount::numeric) FILTER (WHERE t.invoice_time >= c.cutoff - interval '1 year'
                                                         AND t.invoice_time < c.cutoff - interval '1 year' + c.horizon), 0) AS season_spend,
               sum(t.amount::numeric) FILTER (WHERE t.invoice_time < c.cutoff) AS monetary,
               min(t.invoice_time) FILTER (WHERE t.invoice_time < c.cutoff AND t.amount > 0) AS first_purchase,
               max(t.invoice_time) FILTER (WHERE t.invoice_time < c.cutoff AND t.amount > 0) AS last_purchase
          FROM (SELECT DISTINCT cutoff, horizon FROM ltv.customer_features WHERE run_id = :run1) c
          JOIN ltv.datasets d ON d.dataset_id = :pipe_id
          JOIN ltv.transactions t ON t.dataset_id = :pipe_id
         GROUP BY c.cutoff, c.horizon, d.last_purchase, t.customer_id
        HAVING min(t.invoice_time) < c.cutoff) s
  FULL JOIN (SELECT * FROM ltv.customer_features WHERE run_id = :run1) cf USING (cutoff, customer_id);
-- Their argument checks.
SELECT ltv._percent_ranks('{2,1,3}', '{5,5,-1}') AS ranks_by_position,
       ltv._stratified_holdout('{3,1,2}', '{0,0,NULL}', '{9,1,4}', '{a,b,c}', 0.5) AS held_out_by_position,
       ltv._percent_ranks('{4,2}', '{7,3}') AS sparse_ranks,
       ltv._stratified_holdout('{3}', '{1}', '{0}', '{a}', 0.9) AS sparse_held_out;
SELECT ltv._percent_ranks('{0}', '{1}');
SELECT cardinality(ltv._percent_ranks('{100000}', '{1}')) AS sparse_length;  -- one member far out
SELECT ltv._percent_ranks('{200000000}', '{1}');
SELECT ltv._materialize_snapshots(:pipe_id, ARRAY['2011-01-01', '2011-01-01']::timestamp[], '6 months', '{}', NULL, '{NULL,NULL}', 0);
SELECT ltv._materialize_snapshots(:pipe_id, ARRAY['2011-01-01']::timestamp[], '6 months', '{}', NULL, '{NULL,NULL}', 0);
SELECT ltv._materialize_snapshots(:pipe_id, '{}', '6 months', '{}', NULL, '{}', 0);
SELECT ltv._materialize_snapshots(:pipe_id, ARRAY['2011-01-01', NULL]::timestamp[], '6 months', '{}', NULL, '{NULL,1.5}', 0);
SELECT ltv._percent_ranks('{1,1}', '{1,2}');
SELECT ltv._percent_ranks('{1,2}', '{1}');
SELECT ltv._percent_ranks('{1,2}', '{1,NULL}');
SELECT ltv._stratified_holdout('{1}', '{0}', '{1}', '{a}', 2);
SELECT ltv._stratified_holdout('{1}', '{0}', '{1}', '{NULL}', 0.5);

-- Model metrics: confusion matrices sum to the held-out count; the baseline's matrix equals an
-- independent count over the stored rows; macro F1 is the mean of the per-class F1s.
SELECT s.test_customers,
       (SELECT sum(v::int) FROM jsonb_array_elements(s.confusion_matrix) r, jsonb_array_elements_text(r) v) = s.test_customers AS model_matrix_sums,
       (SELECT sum(v::int) FROM jsonb_array_elements(s.baseline_confusion_matrix) r, jsonb_array_elements_text(r) v) = s.test_customers AS baseline_matrix_sums,
       s.test_customers = (SELECT count(*) FROM ltv.customer_features WHERE run_id = :run1 AND split = 'test') AS test_count_matches,
       abs(s.macro_f1 - (SELECT avg((c->>'f1')::float8) FROM jsonb_array_elements(s.per_class) c
                           WHERE (c->>'support')::int > 0 OR (c->>'precision')::float8 > 0)) < 1e-12 AS macro_f1_is_mean,
       s.macro_f1 BETWEEN 0 AND 1 AS f1_in_range,
       abs(s.lift_macro_f1 - (s.macro_f1 - s.baseline_macro_f1)) < 1e-12 AS lift_consistent,
       jsonb_array_length(s.feature_importance) = cardinality(ltv.feature_names()) AS importance_per_feature
  FROM ltv.model_summary s WHERE s.run_id = :run1;
SELECT t.b AS true_bucket,
       (SELECT jsonb_agg((s.baseline_confusion_matrix->(t.b - 1)->(p.b - 1))::int ORDER BY p.b)
          FROM generate_series(1, 4) p(b)) AS view_row,
       (SELECT jsonb_agg((SELECT count(*) FROM ltv.customer_features cf
                           WHERE cf.run_id = :run1 AND cf.split = 'test'
                             AND ltv._bucket_class(cf.true_bucket) = t.b - 1
                             AND ltv._bucket_class(cf.baseline_bucket) = p.b - 1) ORDER BY p.b)
          FROM generate_series(1, 4) p(b)) AS counted_row
  FROM generate_series(1, 4) t(b), ltv.model_summary s WHERE s.run_id = :run1
 ORDER BY 1;

-- Segments equal the predictions table; cohorts add up to the customers.
SELECT s.bucket, s.customers = (SELECT count(*) FROM ltv.predictions p WHERE p.run_id = :run1 AND p.bucket = s.bucket) AS equals_predictions,
       s.is_latest_run
  FROM ltv.segments s WHERE s.run_id = :run1 ORDER BY s.bucket;
SELECT sum(customers) = (SELECT count(*) FROM ltv.predictions WHERE run_id = :run1) AS cohorts_cover_everyone,
       bool_and(share_of_cohort > 0 AND share_of_cohort <= 1) AS shares_ok,
       count(DISTINCT cohort_month) = (SELECT count(DISTINCT date_trunc('month', first_purchase)) FROM ltv.customer_detail WHERE run_id = :run1) AS months_ok
  FROM ltv.cohorts WHERE run_id = :run1;
SELECT cohort_month, sum(share_of_cohort) BETWEEN 0.999 AND 1.001 AS shares_sum_to_1
  FROM ltv.cohorts WHERE run_id = :run1 GROUP BY cohort_month ORDER BY cohort_month LIMIT 3;
-- customer_detail's history equals a plain aggregate over the transactions.
SELECT count(*) AS detail_mismatches
  FROM ltv.customer_detail d
  JOIN (SELECT customer_id, min(invoice_time) AS first_purchase, round(sum(amount)::numeric, 2) AS spend
          FROM ltv.transactions WHERE dataset_id = :pipe_id GROUP BY customer_id) t USING (customer_id)
 WHERE d.run_id = :run1 AND (d.first_purchase <> t.first_purchase OR round(d.past_spend::numeric, 2) <> t.spend);

-- Same data, options and seed: the same model and predictions.
SELECT ltv.run_analysis(:pipe_id, '{"forest": {"n_trees": 20}}') AS run2 \gset
SELECT (SELECT model FROM ltv.models WHERE run_id = :run1) = (SELECT model FROM ltv.models WHERE run_id = :run2) AS same_model,
       NOT EXISTS (SELECT customer_id, bucket, p_low, p_vip FROM ltv.predictions WHERE run_id = :run1
                   EXCEPT SELECT customer_id, bucket, p_low, p_vip FROM ltv.predictions WHERE run_id = :run2) AS same_predictions,
       ltv.latest_run(:pipe_id) = :run2 AS latest_is_run2,
       (SELECT count(*) FROM ltv.runs WHERE dataset_id = :pipe_id) AS runs_kept;

-- Out-of-time mode (the generated data spans 13 months; a 3-month horizon leaves room).
SELECT ltv.run_analysis(:pipe_id, '{"evaluation": "backtest", "horizon": "3 months", "backtest_folds": 2, "stack_snapshots": 0, "forest": {"n_trees": 10}}') AS run3 \gset
SELECT status, s.evaluation, s.folds, s.macro_f1 BETWEEN 0 AND 1 AS mean_ok,
       jsonb_array_length(s.candidates->0->'folds') = s.folds AS per_fold_scores
  FROM ltv.model_summary s JOIN ltv.runs r USING (run_id) WHERE s.run_id = :run3;
SELECT ltv.run_analysis(:pipe_id, '{"evaluation": "backtest", "backtest_folds": 1}') AS run_bt_short \gset
SELECT status, error FROM ltv.runs WHERE run_id = :run_bt_short;

-- A dataset too small to train: the run fails with a clear reason and leaves no rows.
SELECT ltv.import_csv('tiny', convert_to(
'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1,A,x,1,2011-01-03 10:00,5,c1,UK
2,A,x,1,2011-02-03 10:00,5,c2,UK
3,A,x,1,2011-09-03 10:00,5,c1,UK
4,A,x,1,2011-09-04 10:00,5,c3,UK', 'UTF8')) AS tiny_id \gset
SELECT ltv.run_analysis(:tiny_id) AS tiny_run \gset
SELECT status, error FROM ltv.runs WHERE run_id = :tiny_run;
SELECT (SELECT count(*) FROM ltv.customer_features WHERE run_id = :tiny_run)
     + (SELECT count(*) FROM ltv.models WHERE run_id = :tiny_run)
     + (SELECT count(*) FROM ltv.predictions WHERE run_id = :tiny_run) AS rows_left_by_failed_run,
       ltv.latest_run(:tiny_id) IS NULL AS no_successful_run;

-- Only one analysis per dataset at a time.
BEGIN;
SELECT ltv._create_run(:pipe_id, '{}', 'background') IS NOT NULL AS first_queued;
SELECT ltv.run_analysis(:pipe_id);
ROLLBACK;

-- Cancelling a finished run keeps its status; unknown runs are errors.
SELECT ltv.cancel_analysis(:run1);
SELECT ltv.cancel_analysis(999999);

-- Deleting one run removes its feature rows and predictions (statement triggers stand in for
-- foreign keys on these two big tables), and nothing of the dataset's other runs.
SELECT count(*) AS other_predictions FROM ltv.predictions WHERE dataset_id = :pipe_id AND run_id <> :run1 \gset
SELECT count(*) > 0 AS run1_has_rows FROM ltv.customer_features WHERE run_id = :run1;
DELETE FROM ltv.analysis_runs WHERE run_id = :run1;
SELECT (SELECT count(*) FROM ltv.predictions WHERE run_id = :run1)
     + (SELECT count(*) FROM ltv.customer_features WHERE run_id = :run1) AS run1_rows_left,
       (SELECT count(*) FROM ltv.predictions WHERE dataset_id = :pipe_id) = :other_predictions
         AND :other_predictions > 0 AS other_runs_kept;

-- Deleting the dataset removes its runs, models, predictions and features.
SELECT ltv.delete_dataset(:pipe_id);
SELECT (SELECT count(*) FROM ltv.analysis_runs WHERE dataset_id = :pipe_id)
     + (SELECT count(*) FROM ltv.models WHERE dataset_id = :pipe_id)
     + (SELECT count(*) FROM ltv.predictions WHERE dataset_id = :pipe_id)
     + (SELECT count(*) FROM ltv.customer_features WHERE dataset_id = :pipe_id) AS rows_left;
SELECT ltv.delete_dataset(:tiny_id);
