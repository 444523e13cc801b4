-- ltv.clv_scores / clv_fit / clv_expected: BG/NBD + Gamma-Gamma CLV models (docs/clv.md).
\set VERBOSITY default

-- 300 deterministic customers: frequency 1..8, tenure 20..379 days, the last purchase
-- somewhere in between, order values 5..72 (a few negative: returns exceed spend).
CREATE TABLE clv_customers AS
SELECT i,
       (1 + (i * 7) % 8)::float8 AS frequency,
       CASE WHEN (i * 7) % 8 = 0 THEN 20 + (i * 37) % 360
            ELSE (20 + (i * 37) % 360) * ((i * 13) % 10) / 10.0 END::float8 AS recency_days,
       (20 + (i * 37) % 360)::float8 AS tenure_days,
       CASE WHEN i % 50 = 0 THEN -4 ELSE 5 + (i * 11) % 68 END::float8 AS avg_order_value
  FROM generate_series(1, 300) i;

CREATE TABLE clv_result AS
SELECT (ltv.clv_scores(array_agg(frequency ORDER BY i), array_agg(recency_days ORDER BY i),
                       array_agg(tenure_days ORDER BY i), array_agg(avg_order_value ORDER BY i),
                       182)).*
  FROM clv_customers;

-- The fit: parameters and their bookkeeping.
SELECT params->'bgnbd'->'converged' AS bgnbd_converged,
       params->'bgnbd'->'customers' AS bgnbd_customers,
       round((params->'bgnbd'->>'r')::numeric, 3) AS r,
       round((params->'bgnbd'->>'alpha')::numeric, 3) AS alpha_weeks,
       -- These customers show no spread in dropout: a and b run off to infinity together
       -- (converged = false), and only their ratio, the mean dropout probability, is defined.
       round(((params->'bgnbd'->>'a')::float8 / ((params->'bgnbd'->>'a')::float8
                                                 + (params->'bgnbd'->>'b')::float8))::numeric, 3) AS mean_dropout,
       params->'gamma_gamma'->'customers' AS gg_customers,
       params->'gamma_gamma'->'fallback' AS gg_fallback,
       (params->'gamma_gamma'->>'q')::float8 > 1 AS q_above_one,
       params->'time_unit_days' AS time_unit_days
  FROM clv_result;

-- One value per customer, in input order, within their ranges.
SELECT cardinality(expected_purchases) AS n_purchases, cardinality(p_alive) AS n_alive,
       cardinality(expected_spend) AS n_spend,
       (SELECT bool_and(v >= 0) FROM unnest(expected_purchases) v) AS purchases_nonnegative,
       (SELECT bool_and(v BETWEEN 0 AND 1) FROM unnest(p_alive) v) AS alive_in_0_1,
       (SELECT round(sum(v)::numeric, 1) FROM unnest(expected_purchases) v) AS total_purchases,
       (SELECT round(sum(v)::numeric, 0) FROM unnest(expected_spend) v) AS total_spend
  FROM clv_result;

-- Properties: one-time buyers are alive by the model's definition (p_alive = 1); of two
-- customers with the same history, the one who bought more recently is likelier alive and
-- expected to buy more.
SELECT bool_and(r.p_alive[c.i] = 1) AS one_time_buyers_alive
  FROM clv_customers c, clv_result r WHERE c.frequency = 1;
SELECT a.p_alive > b.p_alive AS recent_more_alive,
       a.expected_purchases > b.expected_purchases AS recent_buys_more
  FROM ltv.clv_expected((SELECT params FROM clv_result), 4, 10, 200, 30, 182) a,
       ltv.clv_expected((SELECT params FROM clv_result), 4, 150, 200, 30, 182) b;
-- A longer horizon means more purchases; horizon 0 means none.
SELECT l.expected_purchases > s.expected_purchases AS longer_more, z.expected_purchases AS zero
  FROM ltv.clv_expected((SELECT params FROM clv_result), 3, 20, 100, 30, 365) l,
       ltv.clv_expected((SELECT params FROM clv_result), 3, 20, 100, 30, 30) s,
       ltv.clv_expected((SELECT params FROM clv_result), 3, 20, 100, 30, 0) z;

-- clv_fit gives the parameters clv_scores used, and clv_expected row by row gives exactly
-- the numbers clv_scores gave each customer.
SELECT ltv.clv_fit(array_agg(frequency ORDER BY i), array_agg(recency_days ORDER BY i),
                   array_agg(tenure_days ORDER BY i), array_agg(avg_order_value ORDER BY i))
       = (SELECT params FROM clv_result) AS same_params
  FROM clv_customers;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE e.expected_purchases = r.expected_purchases[c.i]
                          AND e.p_alive = r.p_alive[c.i]
                          AND e.expected_spend = r.expected_spend[c.i]) AS identical
  FROM clv_customers c, clv_result r,
       LATERAL ltv.clv_expected(r.params, c.frequency, c.recency_days, c.tenure_days,
                                c.avg_order_value, 182) e;
-- Input order does not matter: reversed arrays give the same parameters and reversed scores.
SELECT s.params = r.params AS same_params,
       s.expected_spend = (SELECT array_agg(v ORDER BY o DESC) FROM unnest(r.expected_spend) WITH ORDINALITY u(v, o)) AS reversed_spend
  FROM clv_result r,
       (SELECT (ltv.clv_scores(array_agg(frequency ORDER BY i DESC), array_agg(recency_days ORDER BY i DESC),
                               array_agg(tenure_days ORDER BY i DESC), array_agg(avg_order_value ORDER BY i DESC),
                               182)).*
          FROM clv_customers) s;

-- A published value: the BG/NBD paper's CDNOW customer (x = 2 repeat purchases, so
-- frequency 3; t_x = 30.43 and T = 38.86 weeks) expects 1.226 purchases in 39 weeks.
SELECT round(expected_purchases::numeric, 3) AS paper_1_226
  FROM ltv.clv_expected('{"bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
                          "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.44, "mean_value": 35.22},
                          "time_unit_days": 7}', 3, (38.86 - 30.43) * 7, 38.86 * 7, 40, 39 * 7);

-- Edge cases that fit without error: one customer; nobody with a repeat purchase.
SELECT params->'bgnbd'->'customers' AS customers, params->'gamma_gamma'->'fallback' AS gg_fallback,
       expected_spend[1] >= 0 AS spend_ok
  FROM ltv.clv_scores('{3}', '{10}', '{100}', '{25}', 90);
SELECT params->'bgnbd'->'converged' AS converged, p_alive,
       (SELECT bool_and(v >= 0 AND v < 0.1) FROM unnest(expected_purchases) v) AS few_purchases
  FROM ltv.clv_scores('{1,1,1}', '{10,20,30}', '{10,20,30}', '{5,6,7}', 90);
-- NULL arguments: STRICT, so NULL.
SELECT ltv.clv_fit(NULL, '{1}', '{1}', '{1}') IS NULL AS null_in_null_out;

-- Errors: SQLSTATE and message.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT pg_temp.err($$SELECT ltv.clv_scores('{1,2}', '{1}', '{1,2}', '{1,2}', 90)$$);
SELECT pg_temp.err($$SELECT ltv.clv_fit('{1,NULL}', '{1,1}', '{1,2}', '{1,2}')$$);
SELECT pg_temp.err($$SELECT ltv.clv_fit('{1,2}', '{1,-1}', '{1,2}', '{1,2}')$$);
SELECT pg_temp.err($$SELECT ltv.clv_fit('{1,2}', '{1,5}', '{1,2}', '{1,2}')$$);
SELECT pg_temp.err($$SELECT ltv.clv_fit('{1,2.5}', '{1,1}', '{1,2}', '{1,2}')$$);
SELECT pg_temp.err($$SELECT ltv.clv_fit('{1,2}', '{1,1}', '{1,Infinity}', '{1,2}')$$);
SELECT pg_temp.err($$SELECT ltv.clv_fit('{1,2}', '{1,1}', '{1,2}', '{1,NaN}')$$);
SELECT pg_temp.err($$SELECT ltv.clv_fit('{{1,2}}', '{1,1}', '{1,2}', '{1,2}')$$);
SELECT pg_temp.err($$SELECT ltv.clv_fit('{}', '{}', '{}', '{}')$$);
SELECT pg_temp.err($$SELECT ltv.clv_scores('{1}', '{1}', '{1}', '{1}', 'NaN')$$);
SELECT pg_temp.err($$SELECT ltv.clv_expected('[]', 1, 1, 1, 1, 90)$$);
SELECT pg_temp.err($$SELECT ltv.clv_expected('{"gamma_gamma": {}}', 1, 1, 1, 1, 90)$$);
SELECT pg_temp.err($$SELECT ltv.clv_expected('{"bgnbd": {"r": 1, "alpha": 1, "a": 1}}', 1, 1, 1, 1, 90)$$);
SELECT pg_temp.err($$SELECT ltv.clv_expected('{"bgnbd": {"r": 1, "alpha": 0, "a": 1, "b": 1}}', 1, 1, 1, 1, 90)$$);
SELECT pg_temp.err($$SELECT ltv.clv_expected('{"bgnbd": {"r": 1, "alpha": 1, "a": 1, "b": 1}, "time_unit_days": 7,
                                               "gamma_gamma": {"p": 1, "q": 1, "v": 1, "mean_value": 3}}', 1, 1, 1, 1, 90)$$);
SELECT pg_temp.err($$SELECT ltv.clv_expected('{"bgnbd": {"r": 1, "alpha": 1, "a": 1, "b": 1}, "time_unit_days": 7,
                                               "gamma_gamma": {"p": 1, "q": 2, "v": 1}}', 1, 1, 1, 1, 90)$$);
SELECT pg_temp.err($$SELECT ltv.clv_expected((SELECT params FROM clv_result), 2, 5, 1, 10, 90)$$);

DROP TABLE clv_customers, clv_result;
