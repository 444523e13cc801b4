-- retail_ltv install script. Assembled by the Makefile from src/sql/[0-9]*.sql in order.
\echo Use "CREATE EXTENSION retail_ltv" to load this file. \quit

-- The extension owns schema ltv (created by CREATE EXTENSION from the control file).
COMMENT ON SCHEMA ltv IS 'retail_ltv: customer lifetime-value buckets computed inside PostgreSQL';

-- A value as error messages echo it: at most max_chars characters, "..." when cut, so that a
-- message never carries a whole input (a name, a key, a list can be of any size).
CREATE FUNCTION ltv._excerpt(value text, max_chars integer DEFAULT 100)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN length(value) <= max_chars THEN value ELSE left(value, max_chars) || '...' END $$;

CREATE TYPE ltv.bucket AS ENUM ('low', 'medium', 'high', 'vip');
COMMENT ON TYPE ltv.bucket IS
  'Value bucket of a customer''s spend over the next horizon (ordered: low < medium < high < vip)';

CREATE TABLE ltv.datasets (
  dataset_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                text NOT NULL UNIQUE CHECK (name <> ''),
  source              text NOT NULL,
  status              text NOT NULL DEFAULT 'loading' CHECK (status IN ('loading', 'ready')),
  rows_read           bigint NOT NULL DEFAULT 0,
  rows_loaded         bigint NOT NULL DEFAULT 0,
  rows_rejected       bigint NOT NULL DEFAULT 0,
  rows_excluded       bigint NOT NULL DEFAULT 0,
  customers           bigint NOT NULL DEFAULT 0,
  first_purchase      timestamp,
  last_purchase       timestamp,
  cleaning_report     jsonb NOT NULL DEFAULT '{}',
  options             jsonb NOT NULL DEFAULT '{}',
  owner               name NOT NULL DEFAULT current_user,
  created_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT counts_add_up CHECK (status <> 'ready' OR rows_read = rows_loaded + rows_rejected + rows_excluded)
);
COMMENT ON TABLE ltv.datasets IS 'One row per imported or generated dataset, with its counts and cleaning report';
COMMENT ON COLUMN ltv.datasets.source IS 'Where the rows came from: upload, a server file path, or generator';
COMMENT ON COLUMN ltv.datasets.rows_read IS 'Data rows read from the source (header excluded)';
COMMENT ON COLUMN ltv.datasets.rows_loaded IS 'Rows stored in ltv.transactions (returns included, as negative spend)';
COMMENT ON COLUMN ltv.datasets.rows_rejected IS 'Rows that could not be read; see ltv.rejected_rows';
COMMENT ON COLUMN ltv.datasets.rows_excluded IS 'Rows removed by a named cleaning rule; see cleaning_report';
COMMENT ON COLUMN ltv.datasets.customers IS 'Distinct customer ids among the loaded rows';
COMMENT ON COLUMN ltv.datasets.owner IS 'Role that imported the dataset: only it (or an admin) may replace or delete it (row-level security, docs/security.md)';
COMMENT ON COLUMN ltv.datasets.cleaning_report IS 'Rows removed per cleaning rule, detected delimiter, encoding, date order and column mapping';

-- Transactions are partitioned by dataset: an import fills one partition, and deleting a
-- dataset drops it instead of deleting millions of rows.
-- Column order is for the feature aggregation, which reads invoice_time, amount, customer_id,
-- invoice and stock_code of every line: fixed-width columns first (their offsets in a row
-- are known without looking), the variable-width ones it reads next, description and country
-- (which it skips) last, so that the aggregation finds its columns at fixed offsets or early
-- (docs/benchmarks.md, SQL).
CREATE TABLE ltv.transactions (
  dataset_id     bigint NOT NULL,
  invoice_time   timestamp NOT NULL,
  amount         double precision NOT NULL,
  quantity       double precision NOT NULL,
  unit_price     double precision NOT NULL,
  line_no        bigint NOT NULL,
  is_return      boolean NOT NULL,
  customer_id    text COLLATE "C" NOT NULL,
  invoice        text NOT NULL,
  stock_code     text NOT NULL,
  description    text NOT NULL,
  country        text NOT NULL
) PARTITION BY LIST (dataset_id);
-- By customer: the feature aggregation reads each customer's lines together, the API looks
-- customers up. The customer alone: nothing reads a customer's lines in time order (the
-- features aggregate takes them in any order), and B-tree deduplication then stores each
-- customer's key once: smaller and faster to build than an index on (customer_id,
-- invoice_time) (docs/benchmarks.md, SQL).
CREATE INDEX ON ltv.transactions (customer_id);
-- By time, as a BRIN index (a few kB: the min and max time of each 128-page range): retail
-- exports come in time order, so a cutoff or date-range query reads only the ranges before
-- it. Building it costs one pass over the new partition (docs/benchmarks.md, SQL).
CREATE INDEX ON ltv.transactions USING brin (invoice_time);
COMMENT ON TABLE ltv.transactions IS 'Cleaned transaction lines of every dataset (one partition per dataset)';
COMMENT ON COLUMN ltv.transactions.line_no IS 'Line of the source file where the row started (header = 1); generated rows count from 2';
COMMENT ON COLUMN ltv.transactions.amount IS 'quantity * unit_price; negative for cancellations and returns';
COMMENT ON COLUMN ltv.transactions.invoice_time IS 'Invoice time as given by the source (no time zone)';
COMMENT ON COLUMN ltv.transactions.is_return IS 'Cancellation or return line (counted as negative spend)';

CREATE TABLE ltv.rejected_rows (
  dataset_id  bigint NOT NULL REFERENCES ltv.datasets ON DELETE CASCADE,
  line_no     bigint NOT NULL,
  reason      text NOT NULL,
  raw         text NOT NULL,
  PRIMARY KEY (dataset_id, line_no)
);
COMMENT ON TABLE ltv.rejected_rows IS 'Rows that could not be read, with the line number, the reason and the raw text';

-- No privileges for PUBLIC: the roles ltv_viewer, ltv_analyst and ltv_reader get what they
-- need, with row-level security on these tables (src/sql/55_security.sql, docs/security.md).
REVOKE ALL ON SCHEMA ltv FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('ltv.datasets', '');
SELECT pg_catalog.pg_extension_config_dump('ltv.rejected_rows', '');
SELECT pg_catalog.pg_extension_config_dump('ltv.datasets_dataset_id_seq', '');
