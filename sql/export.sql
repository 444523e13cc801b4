-- ltv_api.export_predictions: one row per customer of a run, as the CSV download serves it.
-- Its rows are compared with an independent join of ltv.predictions and
-- ltv.customer_features, and its reasons with ltv.customer_reasons.
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never
\i sql/include/save_ids.psql

SELECT ltv.generate_dataset('export', 300, 7) AS ds \gset
SELECT ltv.run_analysis(:ds, '{"forest": {"n_trees": 20}, "candidates": ["classifier"]}') AS run \gset
SELECT ltv.store_reasons(:run, '{vip}') > 0 AS stored;

-- The web role (a viewer) may call it; it runs as the caller.
SELECT has_function_privilege('ltv_web', 'ltv_api.export_predictions(bigint, bigint, date, date, text)', 'EXECUTE') AS web_may_export,
       (SELECT NOT prosecdef FROM pg_proc WHERE oid = 'ltv_api.export_predictions(bigint, bigint, date, date, text)'::regprocedure) AS invoker;

SET ROLE ltv_web;
CREATE TEMP TABLE exported AS SELECT * FROM ltv_api.export_predictions(:ds);
RESET ROLE;

-- Independent: the predictions of the run joined to the features the run stored at its as_of.
CREATE TEMP TABLE expected_rows AS
SELECT p.customer_id, p.bucket, p.p_low, p.p_medium, p.p_high, p.p_vip, p.as_of,
       f.first_purchase, f.last_purchase, f.frequency::float8 AS orders,
       round(f.monetary::numeric, 2) AS past_spend, f.recency_days::float8 AS recency_days,
       f.baseline_bucket
  FROM ltv.predictions p
  JOIN ltv.customer_features f
    ON f.dataset_id = p.dataset_id AND f.run_id = p.run_id AND f.cutoff = p.as_of
   AND f.customer_id = p.customer_id
 WHERE p.run_id = :run;

SELECT (SELECT count(*) FROM exported) AS exported,
       (SELECT count(*) FROM expected_rows) AS expected,
       (SELECT count(*) FROM (SELECT customer_id, bucket, p_low, p_medium, p_high, p_vip, as_of, first_purchase,
                                     last_purchase, orders, past_spend, recency_days, baseline_bucket FROM exported
                              EXCEPT SELECT * FROM expected_rows) x) AS only_exported,
       (SELECT count(*) FROM (SELECT * FROM expected_rows
                              EXCEPT SELECT customer_id, bucket, p_low, p_medium, p_high, p_vip, as_of, first_purchase,
                                     last_purchase, orders, past_spend, recency_days, baseline_bucket FROM exported) x) AS only_expected,
       (SELECT count(*) FROM exported WHERE bucket_probability IS DISTINCT FROM
          CASE bucket WHEN 'low' THEN p_low WHEN 'medium' THEN p_medium WHEN 'high' THEN p_high ELSE p_vip END) AS wrong_probability;

-- Reasons: present exactly for the customers whose reasons were stored (the vip ones), in rank order.
SELECT (SELECT count(*) FROM exported WHERE reasons IS NOT NULL) AS with_reasons,
       (SELECT count(DISTINCT customer_id) FROM ltv.customer_reasons WHERE run_id = :run) AS stored_customers,
       (SELECT count(*) FROM exported e
          JOIN (SELECT customer_id, string_agg(reason, '; ' ORDER BY rank) AS r
                  FROM ltv.customer_reasons WHERE run_id = :run GROUP BY customer_id) c USING (customer_id)
         WHERE e.reasons = c.r) AS reasons_match,
       (SELECT bool_and(bucket = 'vip') FROM exported WHERE reasons IS NOT NULL) AS only_vip_have_reasons;

-- Rows come ordered by customer; the filters are those of ltv_api.segments.
SELECT array_agg(customer_id) = array_agg(customer_id ORDER BY customer_id) AS ordered FROM exported;
SELECT (SELECT count(*) FROM ltv_api.export_predictions(:ds, segment => 'vip'))
         = (SELECT count(*) FROM ltv.predictions WHERE run_id = :run AND bucket = 'vip') AS vip_filter,
       (SELECT count(*) FROM ltv_api.export_predictions(:ds, first_purchase_from => '2011-06-01', first_purchase_to => '2011-06-30'))
         = (SELECT count(*) FROM expected_rows WHERE first_purchase >= '2011-06-01' AND first_purchase < '2011-07-01') AS june_filter,
       (SELECT count(*) FROM ltv_api.export_predictions(:ds, run_id => :run)) = (SELECT count(*) FROM expected_rows) AS by_run_id;

-- Bad input: clear errors (PT404 -> 404, 22023 -> 400).
SELECT * FROM ltv_api.export_predictions(987654);
\set VERBOSITY sqlstate
SELECT * FROM ltv_api.export_predictions(:ds, run_id => 987654);
\set VERBOSITY default
SELECT * FROM ltv_api.export_predictions(:ds, segment => 'gold');
SELECT * FROM ltv_api.export_predictions(NULL);

SELECT ltv.delete_dataset(:ds);
\i sql/include/restore_ids.psql
