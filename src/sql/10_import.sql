-- Stage 1 and 2: import and cleaning.

CREATE FUNCTION ltv.import_csv(name text, data bytea, options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'ltv_import_csv'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ltv.import_csv(text, bytea, jsonb) IS
  'Imports a retail CSV export as a new dataset and returns its id. Every row is loaded, excluded by a named cleaning rule, or rejected into ltv.rejected_rows. Options: delimiter, encoding, date_order, columns, non_product_codes, max_rows, max_bytes, keep_duplicates, replace.';

CREATE FUNCTION ltv.import_csv_file(name text, path text, options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'ltv_import_csv_file'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ltv.import_csv_file(text, text, jsonb) IS
  'Imports a CSV file on the database server (plain or .gz). Needs superuser or pg_read_server_files, like COPY FROM a file.';
REVOKE ALL ON FUNCTION ltv.import_csv_file(text, text, jsonb) FROM PUBLIC;

-- Internal: creates the dataset row and its transactions partition. With replace, an
-- existing dataset of that name is deleted first; otherwise the name must be new.
CREATE FUNCTION ltv._begin_dataset(p_name text, p_source text, p_options jsonb, p_replace boolean)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_id bigint;
BEGIN
  IF p_name IS NULL OR btrim(p_name) = '' THEN
    RAISE EXCEPTION 'dataset name must not be empty' USING ERRCODE = '22023';
  END IF;
  -- A name is a label people read and type; the unique index on it also bounds its size.
  IF length(p_name) > 200 THEN
    RAISE EXCEPTION 'dataset name "%" is % characters long; at most 200 are allowed', ltv._excerpt(p_name, 40), length(p_name)
      USING ERRCODE = '22023';
  END IF;
  -- Imports under one name queue here until the first commits or aborts, so the check below
  -- sees a concurrent import's dataset: two replace-uploads of a new name then replace one
  -- another in turn, and without replace the second gets 42710 as documented, not a raw
  -- unique violation from the INSERT. (The lock is per name and per transaction.)
  PERFORM pg_advisory_xact_lock(hashtextextended('ltv.dataset ' || p_name, 0));
  SELECT dataset_id INTO v_id FROM ltv.datasets WHERE name = p_name;
  IF FOUND THEN
    IF NOT p_replace THEN
      RAISE EXCEPTION 'dataset "%" already exists (id %)', p_name, v_id
        USING ERRCODE = '42710',
              HINT = 'Choose another name, or pass {"replace": true} in the options to replace it.';
    END IF;
    PERFORM ltv.delete_dataset(v_id);
  END IF;
  BEGIN
    INSERT INTO ltv.datasets (name, source, options)
    VALUES (p_name, p_source, coalesce(p_options, '{}'))
    RETURNING dataset_id INTO v_id;
  EXCEPTION WHEN unique_violation THEN
    -- Still possible in REPEATABLE READ or SERIALIZABLE, whose snapshot predates the other
    -- import's commit: the same error as above, so clients see one code for one problem.
    RAISE EXCEPTION 'dataset "%" already exists (it was created by a concurrent import)', p_name
      USING ERRCODE = '42710',
            HINT = 'Retry the import, with {"replace": true} to replace it.';
  END;
  -- The partition is filled before it is attached (see _finish_dataset): its index is then
  -- built in one sorted pass instead of row by row, and the CHECK constraint lets ATTACH
  -- skip the validation scan. Creating it is the extension owner's (src/sql/55_security.sql).
  PERFORM ltv._create_partition(v_id, current_user);
  RETURN v_id;
END
$$;

-- Internal: records the counts and report of a finished load.
CREATE FUNCTION ltv._finish_dataset(p_id bigint, p_report jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE ltv.datasets
     SET status = 'ready',
         rows_read = (p_report->>'rows_read')::bigint,
         rows_loaded = (p_report->>'rows_loaded')::bigint,
         rows_rejected = (p_report->>'rows_rejected')::bigint,
         rows_excluded = (p_report->>'rows_excluded')::bigint,
         customers = (p_report->>'customers_loaded')::bigint,
         first_purchase = (p_report->>'first_purchase')::timestamp,
         last_purchase = (p_report->>'last_purchase')::timestamp,
         cleaning_report = p_report
   WHERE dataset_id = p_id;
  -- The exact number of customers is known: ANALYZE's sample-based guess is far off for
  -- large datasets (about 27,000 for a million customers), and the feature aggregation
  -- plans its hash table by it.
  IF (p_report->>'customers_loaded')::bigint > 0 THEN
    EXECUTE format('ALTER TABLE ltv.%I ALTER COLUMN customer_id SET (n_distinct = %s)',
                   'transactions_' || p_id, (p_report->>'customers_loaded')::bigint);
  END IF;
  EXECUTE format('ALTER TABLE ltv.transactions ATTACH PARTITION ltv.%I FOR VALUES IN (%s)',
                 'transactions_' || p_id, p_id);
  -- No ANALYZE here: autovacuum analyzes the new partition soon after commit, and
  -- ltv.materialize_features analyzes it itself when it finds it never was.
END
$$;

CREATE FUNCTION ltv.delete_dataset(dataset_id bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_owner name;
  v_deleted boolean;
BEGIN
  -- Row-level security decides (only the owner, or an admin, deletes a dataset); the
  -- partition goes once the row is gone (ltv._drop_partition, as the extension owner).
  DELETE FROM ltv.datasets d WHERE d.dataset_id = delete_dataset.dataset_id;
  v_deleted := FOUND;
  IF NOT v_deleted THEN
    SELECT d.owner INTO v_owner FROM ltv.datasets d WHERE d.dataset_id = delete_dataset.dataset_id;
    IF FOUND THEN
      RAISE EXCEPTION 'dataset % belongs to role "%": role "%" may not replace or delete it',
        delete_dataset.dataset_id, v_owner, current_user USING ERRCODE = '42501';
    END IF;
  END IF;
  PERFORM ltv._drop_partition(delete_dataset.dataset_id);
  RETURN v_deleted;
END
$$;
COMMENT ON FUNCTION ltv.delete_dataset(bigint) IS
  'Deletes a dataset with its transactions, rejected rows and everything computed from it. Returns false if it did not exist.';

CREATE FUNCTION ltv.generate_dataset(name text, customers integer, seed integer DEFAULT 1,
                                     options jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'ltv_generate_dataset'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ltv.generate_dataset(text, integer, integer, jsonb) IS
  'Writes a realistic synthetic dataset (heterogeneous customers, churn, Christmas peak, returns, missing customer ids) and returns its id; deterministic for a seed. Options: see docs/generator.md; "replace": true replaces a dataset of the same name.';
