#!/usr/bin/env bash
# End-to-end checks on the real UCI Online Retail file (../shared/data/online_retail.csv.gz):
# import counts, cleaning report, and every feature of every customer against plain SQL.
# Needs a running server (PG* variables) with the extension installed. Skips when the file
# is absent.
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/e2e/lib/real_data.sh
ltv_stage_real_data || exit 0
DB=ltv_e2e_real
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -v ON_ERROR_STOP=1 -d "$DB" -f - <<SQL
\set QUIET on
CREATE EXTENSION retail_ltv;
\set QUIET off
\timing on
SELECT ltv.import_csv_file('online_retail', '$REAL_DATA') AS dataset_id \gset
\timing off
SELECT rows_read, rows_loaded, rows_excluded, rows_rejected, customers, first_purchase, last_purchase
  FROM ltv.datasets WHERE dataset_id = :dataset_id;
SELECT jsonb_pretty(cleaning_report - 'header' - 'columns') AS cleaning_report FROM ltv.datasets WHERE dataset_id = :dataset_id;
DO \$\$
DECLARE d ltv.datasets;
BEGIN
  SELECT * INTO d FROM ltv.datasets WHERE name = 'online_retail';
  IF d.rows_read <> 541909 THEN RAISE EXCEPTION 'rows_read = %, expected 541909', d.rows_read; END IF;
  IF d.rows_loaded + d.rows_excluded + d.rows_rejected <> d.rows_read THEN
    RAISE EXCEPTION 'counts do not add up: % + % + % <> %', d.rows_loaded, d.rows_excluded, d.rows_rejected, d.rows_read;
  END IF;
  IF (d.cleaning_report->>'customers_before_cleaning')::int <> 4372 THEN
    RAISE EXCEPTION 'customers before cleaning = %, expected 4372', d.cleaning_report->>'customers_before_cleaning';
  END IF;
  IF (SELECT count(*) FROM ltv.transactions WHERE dataset_id = d.dataset_id) <> d.rows_loaded THEN
    RAISE EXCEPTION 'transactions table does not hold rows_loaded rows';
  END IF;
  IF (SELECT count(*) FROM ltv.rejected_rows WHERE dataset_id = d.dataset_id) <> d.rows_rejected THEN
    RAISE EXCEPTION 'rejected_rows does not hold rows_rejected rows';
  END IF;
  IF (SELECT sum(value::bigint) FROM jsonb_each_text(d.cleaning_report->'excluded_by_rule')) <> d.rows_excluded THEN
    RAISE EXCEPTION 'excluded_by_rule does not add up to rows_excluded';
  END IF;
  RAISE NOTICE 'import counts OK: % read = % loaded + % excluded + % rejected',
    d.rows_read, d.rows_loaded, d.rows_excluded, d.rows_rejected;
END \$\$;

-- Features of every customer vs plain SQL, at the default cutoff.
SELECT last_purchase - interval '6 months' AS cutoff FROM ltv.datasets WHERE dataset_id = :dataset_id \gset
CREATE TEMP TABLE agg AS
SELECT customer_id, ltv.customer_features(invoice, stock_code, invoice_time, amount, :'cutoff') f
  FROM ltv.transactions WHERE dataset_id = :dataset_id AND invoice_time < :'cutoff'
 GROUP BY customer_id;
CREATE TEMP TABLE ref AS
SELECT customer_id,
       extract(epoch FROM :'cutoff'::timestamp - max(invoice_time) FILTER (WHERE amount > 0))::float8 / 86400 AS recency_days,
       count(DISTINCT invoice) FILTER (WHERE amount > 0) AS frequency,
       sum(amount) AS monetary,
       coalesce(sum(amount) FILTER (WHERE amount > 0) / nullif(count(DISTINCT invoice) FILTER (WHERE amount > 0), 0), 0) AS avg_order_value,
       extract(epoch FROM :'cutoff'::timestamp - min(invoice_time) FILTER (WHERE amount > 0))::float8 / 86400 AS tenure_days,
       coalesce(sum(amount) FILTER (WHERE invoice_time >= :'cutoff'::timestamp - interval '30 days'), 0) AS spend_30d,
       coalesce(sum(amount) FILTER (WHERE invoice_time >= :'cutoff'::timestamp - interval '90 days'), 0) AS spend_90d,
       coalesce(sum(amount) FILTER (WHERE invoice_time >= :'cutoff'::timestamp - interval '180 days'), 0) AS spend_180d,
       coalesce(sum(amount) FILTER (WHERE invoice_time >= :'cutoff'::timestamp - interval '365 days'), 0) AS spend_365d,
       count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= :'cutoff'::timestamp - interval '30 days') AS orders_30d,
       count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= :'cutoff'::timestamp - interval '90 days') AS orders_90d,
       count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= :'cutoff'::timestamp - interval '180 days') AS orders_180d,
       count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= :'cutoff'::timestamp - interval '365 days') AS orders_365d,
       coalesce(sum(amount) FILTER (WHERE invoice_time >= :'cutoff'::timestamp - interval '90 days'), 0)
         - coalesce(sum(amount) FILTER (WHERE invoice_time >= :'cutoff'::timestamp - interval '180 days'
                                          AND invoice_time < :'cutoff'::timestamp - interval '90 days'), 0) AS trend_90d,
       coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS returns_amount,
       count(DISTINCT invoice) FILTER (WHERE amount < 0) AS returns_count,
       count(DISTINCT stock_code) FILTER (WHERE amount > 0) AS distinct_products,
       CASE WHEN count(DISTINCT invoice) FILTER (WHERE amount > 0) >= 2 THEN
         extract(epoch FROM max(invoice_time) FILTER (WHERE amount > 0) - min(invoice_time) FILTER (WHERE amount > 0))::float8
           / 86400 / (count(DISTINCT invoice) FILTER (WHERE amount > 0) - 1) END AS mean_days_between
  FROM ltv.transactions WHERE dataset_id = :dataset_id AND invoice_time < :'cutoff'
 GROUP BY customer_id;
SELECT count(*) AS customers_compared,
       count(*) FILTER (WHERE agg IS NULL OR ref IS NULL) AS missing_on_one_side,
       sum((SELECT count(*) FROM (VALUES
         ((f).recency_days, recency_days), ((f).frequency, frequency), ((f).monetary, monetary),
         ((f).avg_order_value, avg_order_value), ((f).tenure_days, tenure_days),
         ((f).spend_30d, spend_30d), ((f).spend_90d, spend_90d), ((f).spend_180d, spend_180d),
         ((f).spend_365d, spend_365d), ((f).orders_30d, orders_30d), ((f).orders_90d, orders_90d),
         ((f).orders_180d, orders_180d), ((f).orders_365d, orders_365d), ((f).trend_90d, trend_90d),
         ((f).returns_amount, returns_amount), ((f).returns_count, returns_count),
         ((f).distinct_products, distinct_products), ((f).mean_days_between, mean_days_between)) v(got, expected)
        WHERE (got IS NULL) <> (expected IS NULL) OR abs(got - expected) > 1e-6 * greatest(1, abs(expected)))) AS mismatching_values
  FROM agg FULL JOIN ref USING (customer_id) \gset
\echo customers compared: :customers_compared, missing on one side: :missing_on_one_side, mismatching values: :mismatching_values
SELECT (:customers_compared > 2000 AND :missing_on_one_side = 0 AND :mismatching_values = 0) AS features_match \gset
\if :features_match
\echo features match the plain-SQL reference for every customer
\else
\echo FEATURE MISMATCH
SELECT 1/0;
\endif

-- Labels at the default cutoff: bucket counts.
SELECT jsonb_pretty(ltv.materialize_features(:dataset_id) - 'dataset_id') AS labels;
SELECT true_bucket, count(*) AS customers, round(min(future_spend)::numeric, 2) AS min_future_spend,
       round(max(future_spend)::numeric, 2) AS max_future_spend
  FROM ltv.customer_features WHERE dataset_id = :dataset_id GROUP BY 1 ORDER BY 1;
SQL
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"
echo "real-data checks passed"
