-- Probabilistic CLV models: BG/NBD (purchases, P(alive)) and Gamma-Gamma (value per purchase),
-- fitted by maximum likelihood in C++ (src/core/clv, docs/clv.md). Inputs are the product's
-- per-customer features: frequency (purchase events), recency_days, tenure_days,
-- avg_order_value. Deterministic: the same input gives the same bits, whatever its order.

CREATE FUNCTION ltv.clv_scores(frequency double precision[], recency_days double precision[],
                               tenure_days double precision[], avg_order_value double precision[],
                               horizon_days double precision,
                               OUT params jsonb,
                               OUT expected_purchases double precision[],
                               OUT p_alive double precision[],
                               OUT expected_spend double precision[])
AS 'MODULE_PATHNAME', 'ltv_clv_scores' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ltv.clv_scores(double precision[], double precision[], double precision[], double precision[], double precision) IS
  'Fits the BG/NBD and Gamma-Gamma models on the given customers (one array element per customer; the four arrays must have the same length and no NULLs) and scores each over the next horizon_days: expected purchases, probability of being alive at the cutoff, expected spend = expected purchases x expected value per purchase; arrays in input order. params as ltv.clv_fit returns. See docs/clv.md.';

CREATE FUNCTION ltv.clv_fit(frequency double precision[], recency_days double precision[],
                            tenure_days double precision[], avg_order_value double precision[])
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ltv_clv_fit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ltv.clv_fit(double precision[], double precision[], double precision[], double precision[]) IS
  'Fits the BG/NBD and Gamma-Gamma models; returns {"bgnbd": {r, alpha, a, b, loglik, iterations, converged, customers}, "gamma_gamma": {p, q, v, loglik, iterations, converged, customers, fallback, mean_value}, "time_unit_days": 7} (alpha in weeks, v in the unit of avg_order_value), for ltv.clv_expected.';

CREATE FUNCTION ltv.clv_expected(params jsonb, frequency double precision,
                                 recency_days double precision, tenure_days double precision,
                                 avg_order_value double precision, horizon_days double precision,
                                 OUT expected_purchases double precision,
                                 OUT p_alive double precision,
                                 OUT expected_spend double precision)
AS 'MODULE_PATHNAME', 'ltv_clv_expected' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ltv.clv_expected(jsonb, double precision, double precision, double precision, double precision, double precision) IS
  'Scores one customer with parameters from ltv.clv_fit (or ltv.clv_scores): expected purchases over the next horizon_days, probability alive, expected spend; the same numbers ltv.clv_scores gives that customer. Raises an error naming a missing or invalid parameter.';
