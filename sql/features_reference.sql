-- Every feature of every customer equals an independent plain-SQL computation, serially and
-- in parallel (partial aggregates combined through serialize/deserialize).
\set VERBOSITY default

-- 150 customers, 6000 lines over two years, with returns (C invoices).
SELECT ltv.import_csv('ref', convert_to(string_agg(line, E'\n'), 'UTF8'))  > 0 AS imported FROM (
  SELECT 'invoice,stock_code,quantity,unit_price,invoice_time,customer_id' AS line
  UNION ALL
  SELECT format('%s%s,P%s,%s,%s,%s,C%s',
                CASE WHEN i % 17 = 0 THEN 'C' ELSE '' END, i / 3,
                i % 23, CASE WHEN i % 17 = 0 THEN -1 ELSE 1 + i % 5 END,
                (1 + (i * 7919) % 500) / 10.0,
                to_char(timestamp '2010-01-01' + ((i * 104729) % 700) * interval '1 day' + (i % 24) * interval '1 hour',
                        'YYYY-MM-DD HH24:MI:SS'),
                (i / 3) % 150)
    FROM generate_series(1, 6000) i
) lines;

SELECT rows_read, rows_loaded, rows_rejected FROM ltv.datasets WHERE name = 'ref';
CREATE TEMP TABLE ref_lines AS
SELECT t.* FROM ltv.transactions t JOIN ltv.datasets d USING (dataset_id) WHERE d.name = 'ref';

CREATE FUNCTION pg_temp.reference_features(c timestamp)
RETURNS TABLE (customer_id text, recency_days float8, frequency bigint, monetary float8,
               avg_order_value float8, tenure_days float8, spend_30d float8, spend_90d float8,
               spend_180d float8, spend_365d float8, orders_30d bigint, orders_90d bigint,
               orders_180d bigint, orders_365d bigint, trend_90d float8, returns_amount float8,
               returns_count bigint, distinct_products bigint, mean_days_between float8)
LANGUAGE sql AS $$
  SELECT customer_id,
         extract(epoch FROM c - max(invoice_time) FILTER (WHERE amount > 0))::float8 / 86400,
         count(DISTINCT invoice) FILTER (WHERE amount > 0),
         sum(amount),
         coalesce(sum(amount) FILTER (WHERE amount > 0) / nullif(count(DISTINCT invoice) FILTER (WHERE amount > 0), 0), 0),
         extract(epoch FROM c - min(invoice_time) FILTER (WHERE amount > 0))::float8 / 86400,
         coalesce(sum(amount) FILTER (WHERE invoice_time >= c - interval '30 days'), 0),
         coalesce(sum(amount) FILTER (WHERE invoice_time >= c - interval '90 days'), 0),
         coalesce(sum(amount) FILTER (WHERE invoice_time >= c - interval '180 days'), 0),
         coalesce(sum(amount) FILTER (WHERE invoice_time >= c - interval '365 days'), 0),
         count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= c - interval '30 days'),
         count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= c - interval '90 days'),
         count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= c - interval '180 days'),
         count(DISTINCT invoice) FILTER (WHERE amount > 0 AND invoice_time >= c - interval '365 days'),
         coalesce(sum(amount) FILTER (WHERE invoice_time >= c - interval '90 days'), 0)
           - coalesce(sum(amount) FILTER (WHERE invoice_time >= c - interval '180 days' AND invoice_time < c - interval '90 days'), 0),
         coalesce(-sum(amount) FILTER (WHERE amount < 0), 0),
         count(DISTINCT invoice) FILTER (WHERE amount < 0),
         count(DISTINCT stock_code) FILTER (WHERE amount > 0),
         CASE WHEN count(DISTINCT invoice) FILTER (WHERE amount > 0) >= 2 THEN
           extract(epoch FROM max(invoice_time) FILTER (WHERE amount > 0) - min(invoice_time) FILTER (WHERE amount > 0))::float8
             / 86400 / (count(DISTINCT invoice) FILTER (WHERE amount > 0) - 1) END
    FROM ref_lines WHERE invoice_time < c GROUP BY customer_id
$$;

-- Compares aggregate and reference for a cutoff; prints the number of customers and of
-- mismatching values (tolerance 1e-9 relative).
CREATE FUNCTION pg_temp.compare(c timestamp)
RETURNS TABLE (customers bigint, customers_only_on_one_side bigint, mismatches bigint)
LANGUAGE sql AS $$
  WITH agg AS (
    SELECT customer_id, ltv.customer_features(invoice, stock_code, invoice_time, amount, c) f
      FROM ref_lines GROUP BY customer_id HAVING bool_or(invoice_time < c)
  ), ref AS (SELECT * FROM pg_temp.reference_features(c)),
  pairs AS (
    SELECT r.customer_id, x.*
      FROM ref r JOIN agg a USING (customer_id),
      LATERAL (VALUES
        ((a.f).recency_days, r.recency_days), ((a.f).frequency, r.frequency), ((a.f).monetary, r.monetary),
        ((a.f).avg_order_value, r.avg_order_value), ((a.f).tenure_days, r.tenure_days),
        ((a.f).spend_30d, r.spend_30d), ((a.f).spend_90d, r.spend_90d), ((a.f).spend_180d, r.spend_180d),
        ((a.f).spend_365d, r.spend_365d), ((a.f).orders_30d, r.orders_30d), ((a.f).orders_90d, r.orders_90d),
        ((a.f).orders_180d, r.orders_180d), ((a.f).orders_365d, r.orders_365d), ((a.f).trend_90d, r.trend_90d),
        ((a.f).returns_amount, r.returns_amount), ((a.f).returns_count, r.returns_count),
        ((a.f).distinct_products, r.distinct_products), ((a.f).mean_days_between, r.mean_days_between)
      ) x(got, expected)
  )
  SELECT (SELECT count(*) FROM ref),
         (SELECT count(*) FROM ref FULL JOIN agg USING (customer_id) WHERE ref IS NULL OR agg IS NULL),
         count(*) FILTER (WHERE (got IS NULL) <> (expected IS NULL)
                             OR abs(got - expected) > 1e-9 * greatest(1, abs(expected)))
    FROM pairs
$$;

SELECT * FROM pg_temp.compare('2011-01-01');
SELECT * FROM pg_temp.compare('2011-06-15 12:00');
SELECT * FROM pg_temp.compare('2010-03-01');

-- Parallel query made free: the plan has a Partial Aggregate in the workers, and the results
-- equal the serial ones exactly.
CREATE TABLE ref_parallel AS SELECT * FROM ref_lines;
ALTER TABLE ref_parallel SET (parallel_workers = 2);
ANALYZE ref_parallel;
CREATE TEMP TABLE serial_result AS
SELECT customer_id, ltv.customer_features(invoice, stock_code, invoice_time, amount, '2011-06-15') f
  FROM ref_parallel GROUP BY customer_id;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_hashagg = off;
-- Workers do all the partial aggregation, so every state crosses serialize/deserialize.
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT customer_id, ltv.customer_features(invoice, stock_code, invoice_time, amount, '2011-06-15') f
  FROM ref_parallel GROUP BY customer_id;
CREATE TEMP TABLE parallel_result AS
SELECT customer_id, ltv.customer_features(invoice, stock_code, invoice_time, amount, '2011-06-15') f
  FROM ref_parallel GROUP BY customer_id;
RESET parallel_leader_participation;
RESET enable_hashagg;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE s.f IS DISTINCT FROM p.f) AS different
  FROM serial_result s FULL JOIN parallel_result p USING (customer_id);
DROP TABLE ref_parallel;
