-- Self-test of the C++/Postgres error boundary, used by the regression tests.
CREATE FUNCTION ltv._bridge_selftest(mode text) RETURNS bigint
AS 'MODULE_PATHNAME', 'ltv_bridge_selftest' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION ltv._bridge_destructor_count() RETURNS bigint
AS 'MODULE_PATHNAME', 'ltv_bridge_destructor_count' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION ltv._bridge_selftest(text) IS
  'Internal: raises errors of each kind across the C++/Postgres boundary (modes: ok, cpp_exception, ltv_error, bad_alloc, pg_error, long_loop)';
