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

-- Its feature columns come from the registry (every model input, under its registry name).
DO $do$
BEGIN
  EXECUTE format($v$
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
       cf.frequency AS orders,
       cf.monetary AS past_spend,
       %s,
       cf.baseline_bucket
  FROM ltv.predictions p
  JOIN ltv.analysis_runs r ON r.run_id = p.run_id AND r.status = 'succeeded'
  LEFT JOIN ltv.latest_runs l ON l.dataset_id = p.dataset_id
  JOIN ltv.customer_features cf
    ON cf.dataset_id = p.dataset_id AND coalesce(cf.run_id, 0) = p.run_id
   AND cf.cutoff = p.as_of AND cf.customer_id = p.customer_id$v$,
    (SELECT string_agg(format('cf.%I', r.name), ', ' ORDER BY r.ordinal) FROM ltv.feature_registry() r WHERE r.model_input));
END
$do$;
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
       m.metrics->>'evaluation' AS evaluation,
       m.metrics->>'served' AS served,
       coalesce((m.metrics->>'serves_naive')::boolean, false) AS serves_naive,
       m.metrics->>'served_reason' AS served_reason,
       (m.metrics->>'folds')::integer AS folds,
       m.metrics->'lift_ci90' AS lift_ci90,
       (m.metrics->>'spearman')::double precision AS spearman,
       (m.metrics->>'gini')::double precision AS gini,
       m.metrics->'candidates' AS candidates,
       m.parameters,
       r.timings,
       r.finished_at
  FROM ltv.models m
  JOIN ltv.analysis_runs r ON r.run_id = m.run_id AND r.status = 'succeeded'
  LEFT JOIN ltv.latest_runs l ON l.dataset_id = m.dataset_id;
COMMENT ON VIEW ltv.model_summary IS
  'Per succeeded run: how the served predictions and the naive rule scored on the run''s evaluation (out of time when the data allows), the lift with its 90% interval, every candidate''s scores, which one is served and why, per-class scores, confusion matrices (rows = true bucket, columns = predicted), feature importance, parameters and stage timings';
COMMENT ON COLUMN ltv.model_summary.macro_f1 IS 'Mean over the evaluation folds of the per-bucket F1 scores of what the run serves';
COMMENT ON COLUMN ltv.model_summary.baseline_macro_f1 IS 'The same for the simple rule "bucket of the spend in the last horizon-length window"';
COMMENT ON COLUMN ltv.model_summary.evaluation IS 'out_of_time (trained on the past, scored on what happened next) or customer_split (held-out customers, for data too short)';
COMMENT ON COLUMN ltv.model_summary.served IS 'The candidate whose buckets the run serves: naive, classifier, model_rank, clv_rank or blend_<a>_<b>_<weight of a>';
COMMENT ON COLUMN ltv.model_summary.serves_naive IS 'True when nothing beat the simple rule, which is then what the run serves';
COMMENT ON COLUMN ltv.model_summary.lift_ci90 IS '90% bootstrap interval (over customers) of lift_macro_f1';
COMMENT ON COLUMN ltv.model_summary.candidates IS 'Every candidate''s mean and per-fold macro F1, lift, Spearman correlation and normalized Gini of its score against future spend';
COMMENT ON COLUMN ltv.model_summary.lift_macro_f1 IS 'macro_f1 - baseline_macro_f1: positive when the served predictions beat the simple rule';
