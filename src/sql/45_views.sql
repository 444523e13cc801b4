-- Views for psql and BI tools (Metabase). Each shows succeeded runs only and carries
-- dataset_id, run_id and is_latest_run. For the latest run of dataset 3, filter with
-- WHERE run_id = ltv.latest_run(3) (an index condition) or WHERE dataset_id = 3 AND is_latest_run.

-- The newest succeeded run of each dataset.
CREATE VIEW ltv.latest_runs AS
SELECT r.dataset_id, max(r.run_id) AS run_id
  FROM ltv.analysis_runs r
 WHERE r.status = 'succeeded'
 GROUP BY r.dataset_id;
COMMENT ON VIEW ltv.latest_runs IS 'The newest succeeded analysis run of each dataset';

CREATE VIEW ltv.customer_detail AS
SELECT p.dataset_id,
       p.run_id,
       p.run_id IS NOT DISTINCT FROM l.run_id AS is_latest_run,
       p.customer_id,
       p.as_of,
       p.bucket,
       CASE p.bucket WHEN 'low' THEN p.p_low WHEN 'medium' THEN p.p_medium
                     WHEN 'high' THEN p.p_high ELSE p.p_vip END AS bucket_probability,
       p.p_low, p.p_medium, p.p_high, p.p_vip,
       date_trunc('month', cf.first_purchase)::date AS cohort_month,
       cf.first_purchase,
       cf.last_purchase,
       cf.recency_days,
       cf.frequency AS orders,
       cf.monetary AS past_spend,
       cf.avg_order_value,
       cf.tenure_days,
       cf.spend_30d, cf.spend_90d, cf.spend_180d, cf.spend_365d,
       cf.orders_30d, cf.orders_90d, cf.orders_180d, cf.orders_365d,
       cf.trend_90d,
       cf.returns_amount,
       cf.returns_count,
       cf.distinct_products,
       cf.mean_days_between,
       cf.baseline_bucket
  FROM ltv.predictions p
  JOIN ltv.analysis_runs r ON r.run_id = p.run_id AND r.status = 'succeeded'
  LEFT JOIN ltv.latest_runs l ON l.dataset_id = p.dataset_id
  JOIN ltv.customer_features cf
    ON cf.dataset_id = p.dataset_id AND coalesce(cf.run_id, 0) = p.run_id
   AND cf.cutoff = p.as_of AND cf.customer_id = p.customer_id;
COMMENT ON VIEW ltv.customer_detail IS
  'One row per customer and succeeded run: predicted bucket of next-horizon spend, class probabilities, and the customer''s history as of the end of the data';
COMMENT ON COLUMN ltv.customer_detail.bucket IS 'Predicted bucket of the customer''s spend over the next horizon (default 6 months)';
COMMENT ON COLUMN ltv.customer_detail.bucket_probability IS 'Probability the model gives to the predicted bucket';
COMMENT ON COLUMN ltv.customer_detail.cohort_month IS 'Month of the customer''s first purchase';
COMMENT ON COLUMN ltv.customer_detail.past_spend IS 'Net spend (returns subtracted) before as_of';
COMMENT ON COLUMN ltv.customer_detail.orders IS 'Distinct purchase events (invoices) before as_of';
COMMENT ON COLUMN ltv.customer_detail.baseline_bucket IS 'What the simple rule predicts: the bucket of the spend in the last horizon-length window';

CREATE VIEW ltv.segments AS
SELECT p.dataset_id,
       p.run_id,
       p.run_id IS NOT DISTINCT FROM l.run_id AS is_latest_run,
       p.bucket,
       count(*)::bigint AS customers,
       round(count(*)::numeric / sum(count(*)) OVER (PARTITION BY p.run_id), 4) AS share,
       round(sum(cf.monetary)::numeric, 2) AS past_spend,
       round(avg(cf.monetary)::numeric, 2) AS avg_past_spend,
       round(avg(cf.frequency)::numeric, 2) AS avg_orders,
       round(avg(cf.recency_days)::numeric, 1) AS avg_recency_days,
       round(avg(cf.spend_365d)::numeric, 2) AS avg_spend_365d,
       round(avg(CASE p.bucket WHEN 'low' THEN p.p_low WHEN 'medium' THEN p.p_medium
                               WHEN 'high' THEN p.p_high ELSE p.p_vip END)::numeric, 4) AS avg_probability
  FROM ltv.predictions p
  JOIN ltv.analysis_runs r ON r.run_id = p.run_id AND r.status = 'succeeded'
  LEFT JOIN ltv.latest_runs l ON l.dataset_id = p.dataset_id
  JOIN ltv.customer_features cf
    ON cf.dataset_id = p.dataset_id AND coalesce(cf.run_id, 0) = p.run_id
   AND cf.cutoff = p.as_of AND cf.customer_id = p.customer_id
 GROUP BY p.dataset_id, p.run_id, l.run_id, p.bucket;
COMMENT ON VIEW ltv.segments IS
  'Customers per predicted bucket and succeeded run, with spend and behaviour summaries (filter time ranges and cohorts with ltv.customer_detail or ltv.cohorts)';
COMMENT ON COLUMN ltv.segments.share IS 'Share of the run''s customers in this bucket';
COMMENT ON COLUMN ltv.segments.avg_probability IS 'Mean probability the model gives to the predicted bucket';

CREATE VIEW ltv.cohorts AS
SELECT d.dataset_id,
       d.run_id,
       d.is_latest_run,
       d.cohort_month,
       d.bucket,
       count(*)::bigint AS customers,
       round(count(*)::numeric / sum(count(*)) OVER (PARTITION BY d.run_id, d.cohort_month), 4) AS share_of_cohort,
       round(sum(d.past_spend)::numeric, 2) AS past_spend,
       round(avg(d.bucket_probability)::numeric, 4) AS mean_probability
  FROM ltv.customer_detail d
 GROUP BY d.dataset_id, d.run_id, d.is_latest_run, d.cohort_month, d.bucket;
COMMENT ON VIEW ltv.cohorts IS
  'Customers by month of first purchase and predicted bucket, per succeeded run';
COMMENT ON COLUMN ltv.cohorts.share_of_cohort IS 'Share of the cohort''s customers in this bucket';
COMMENT ON COLUMN ltv.cohorts.mean_probability IS 'Mean probability the model gives to the predicted bucket';

CREATE VIEW ltv.model_summary AS
SELECT m.dataset_id,
       m.run_id,
       m.run_id IS NOT DISTINCT FROM l.run_id AS is_latest_run,
       m.model_id,
       m.algorithm,
       (m.metrics->>'cutoff')::timestamp AS cutoff,
       (r.settings->>'horizon')::interval AS horizon,
       (m.metrics->>'test_customers')::integer AS test_customers,
       m.training_rows,
       (m.metrics->>'macro_f1')::double precision AS macro_f1,
       (m.metrics->>'accuracy')::double precision AS accuracy,
       (m.metrics->'baseline'->>'macro_f1')::double precision AS baseline_macro_f1,
       (m.metrics->'baseline'->>'accuracy')::double precision AS baseline_accuracy,
       (m.metrics->>'lift_macro_f1')::double precision AS lift_macro_f1,
       m.metrics->'per_class' AS per_class,
       m.metrics->'baseline'->'per_class' AS baseline_per_class,
       m.metrics->'confusion_matrix' AS confusion_matrix,
       m.metrics->'baseline'->'confusion_matrix' AS baseline_confusion_matrix,
       m.metrics->'feature_importance' AS feature_importance,
       m.metrics->'backtest' AS backtest,
       m.parameters,
       r.timings,
       r.finished_at
  FROM ltv.models m
  JOIN ltv.analysis_runs r ON r.run_id = m.run_id AND r.status = 'succeeded'
  LEFT JOIN ltv.latest_runs l ON l.dataset_id = m.dataset_id;
COMMENT ON VIEW ltv.model_summary IS
  'Per succeeded run: the model''s and the naive baseline''s scores on the same held-out customers, the lift, per-class scores, confusion matrices (rows = true bucket, columns = predicted), feature importance, parameters and stage timings';
COMMENT ON COLUMN ltv.model_summary.macro_f1 IS 'Mean of the per-bucket F1 scores of the model on the held-out customers';
COMMENT ON COLUMN ltv.model_summary.baseline_macro_f1 IS 'The same for the simple rule "bucket of the spend in the last horizon-length window"';
COMMENT ON COLUMN ltv.model_summary.lift_macro_f1 IS 'macro_f1 - baseline_macro_f1: positive when the model beats the simple rule';
