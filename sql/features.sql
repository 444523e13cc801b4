-- ltv.customer_features: the aggregate, checked by hand and against plain SQL.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Customer C1 is worked by hand below; cutoff 2011-07-01 00:00 (= last purchase - 6 months).
SELECT ltv.import_csv('feat', convert_to(
'invoice,stock_code,quantity,unit_price,invoice_time,customer_id
inv1,A,2,10,2011-01-01 10:00:00,C1
inv1,K,1,5,2011-01-01 10:00:00,C1
inv2,A,1,10,2011-04-01 12:00:00,C1
C3,A,-1,10,2011-05-01 00:00:00,C1
inv4,C,3,2,2011-06-01 00:00:00,C1
inv5,A,100,1,2011-07-01 00:00:00,C1
inv6,A,1,50,2011-12-31 23:00:00,C1
inv7,A,1,1000,2012-01-01 00:00:00,C1
inv8,A,1,100,2011-03-01 09:00:00,C2
inv9,A,1,7,2011-08-01 00:00:00,C3
inv10,K,1,5,2011-02-01 00:00:00,C4
inv11,K,4,100,2011-09-01 00:00:00,C4
', 'UTF8')) > 0 AS imported;

-- By hand, C1 as of 2011-07-01 00:00 (lines at or after the cutoff are ignored):
--   purchases inv1 (25) 2011-01-01 10:00, inv2 (10) 2011-04-01 12:00, inv4 (6) 2011-06-01 00:00;
--   return C3 (-10) 2011-05-01.
--   recency 30 days; frequency 3; monetary 31; avg order value 41/3 = 13.667;
--   tenure 181 days - 10 h = 180.583; spend_30d 6 (2011-06-01 00:00 is exactly 30 days back:
--   included); spend_90d -4 (window from 2011-04-02); spend_180d 6 (from 2011-01-02); spend_365d 31;
--   orders 1/1/2/3; trend -4 - 10 = -14; returns 10 in 1 invoice; 3 products;
--   mean days between (151 days - 10 h) / 2 = 75.292.
SELECT customer_id, round((f).recency_days::numeric, 3) AS recency, (f).frequency,
       round((f).monetary::numeric, 3) AS monetary, round((f).avg_order_value::numeric, 3) AS aov,
       round((f).tenure_days::numeric, 3) AS tenure, (f).spend_30d, (f).spend_90d, (f).spend_180d,
       (f).spend_365d, (f).orders_30d, (f).orders_90d, (f).orders_180d, (f).orders_365d, (f).trend_90d,
       (f).returns_amount, (f).returns_count, (f).distinct_products,
       round((f).mean_days_between::numeric, 3) AS mean_days_between, (f).first_purchase,
       (f).last_purchase
  FROM (SELECT customer_id,
               ltv.customer_features(invoice, stock_code, invoice_time, amount, '2011-07-01') AS f
          FROM ltv.transactions JOIN ltv.datasets USING (dataset_id)
         WHERE name = 'feat' GROUP BY customer_id) s
 ORDER BY customer_id \gx

-- materialize_features: default cutoff = last purchase - horizon, future spend in
-- [cutoff, cutoff + 6 months): C1 = 100 + 50 (inv7 at exactly cutoff + horizon is outside),
-- C2 = 0, C4 = 400; C3 has no line before the cutoff and is not a customer yet.
SELECT jsonb_pretty(ltv.materialize_features(dataset_id) - 'dataset_id') FROM ltv.datasets WHERE name = 'feat';
SELECT customer_id, cutoff, frequency, future_spend, true_bucket, baseline_spend, baseline_bucket
  FROM ltv.customer_features JOIN ltv.datasets USING (dataset_id) WHERE name = 'feat' ORDER BY customer_id;
-- Fixed amounts as cut points.
SELECT ltv.materialize_features(dataset_id, buckets => '{"amounts": [10, 100, 200]}')->'cut_points' AS cuts
  FROM ltv.datasets WHERE name = 'feat';
SELECT customer_id, true_bucket, baseline_bucket FROM ltv.customer_features
  JOIN ltv.datasets USING (dataset_id) WHERE name = 'feat' ORDER BY customer_id;

-- Buckets: ties at a cut point take the lower bucket.
SELECT s, ltv.spend_bucket(s, '{0, 100, 500}') FROM unnest('{-5, 0, 0.01, 100, 100.01, 500, 501}'::float8[]) s;
SELECT ltv.quantile_cut_points('{0,0,0,0,0,0,10,20,30,1000}');
SELECT ltv.spend_bucket(1, '{3, 2, 1}');
SELECT ltv.spend_bucket(1, '{1, 2}');
SELECT ltv.quantile_cut_points('{}');
SELECT ltv.quantile_cut_points('{1,2}', '{0.5, 0.4, 0.9}');

-- Bad input: clear errors or documented results.
SELECT ltv.materialize_features(dataset_id, horizon => '0 days') FROM ltv.datasets WHERE name = 'feat';
SELECT ltv.materialize_features(dataset_id, horizon => '-1 month') FROM ltv.datasets WHERE name = 'feat';
SELECT ltv.materialize_features(-42);
SELECT ltv.materialize_features(dataset_id, buckets => '{"amounts": [1, 2]}') FROM ltv.datasets WHERE name = 'feat';
SELECT ltv.materialize_features(dataset_id, buckets => '{"quantile": [0.5, 0.8, 0.9]}') FROM ltv.datasets WHERE name = 'feat';
-- A cutoff before all data: no customer is active yet.
SELECT ltv.materialize_features(dataset_id, cutoff => '2000-01-01')->'customers' AS customers
  FROM ltv.datasets WHERE name = 'feat';
-- NULL times or amounts are skipped like NULLs in any aggregate; a NULL cutoff is an error.
SELECT (ltv.customer_features(i, s, t, a, '2011-07-01')).frequency
  FROM (VALUES ('x', 'A', '2011-01-01'::timestamp, 5.0::float8), ('y', 'A', NULL, 5.0), ('z', 'A', '2011-01-02', NULL)) v(i, s, t, a);
SELECT ltv.customer_features('x', 'A', '2011-01-01', 1, NULL);
SELECT ltv.customer_features('x', 'A', '2011-01-01', 'NaN', '2011-02-01');
SELECT ltv.customer_features('x', 'A', '2011-01-01', 1, 'infinity');
SELECT ltv.customer_features(i, 'A', '2011-01-01', 1, c) FROM (VALUES ('x', '2011-02-01'::timestamp), ('y', '2011-03-01')) v(i, c);
-- No rows: NULL, as for any aggregate.
SELECT ltv.customer_features('x', 'A', t, 1, '2011-02-01') IS NULL AS no_rows FROM (SELECT now()::timestamp t WHERE false) s;
-- An empty dataset.
SELECT ltv.import_csv('feat_empty', convert_to('customer_id,invoice_time,amount
,2011-01-01 00:00:00,5
', 'UTF8')) > 0 AS imported;
SELECT ltv.materialize_features(dataset_id) FROM ltv.datasets WHERE name = 'feat_empty';
