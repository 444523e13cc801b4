-- ltv_api.upload_dataset_object (issue 14, item 4): the upload the local server streams into a
-- large object. Same dataset and answer as upload_dataset with the same text; only an object
-- the calling transaction created is read; the object is gone afterwards, also on an error.
\set VERBOSITY default
SELECT pg_get_serial_sequence('ltv.datasets', 'dataset_id') AS seq \gset
SELECT last_value AS seq_last, is_called AS seq_called FROM :seq \gset
\set csv 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n1,A,"crème, ""brûlée""",2,2011-01-03 10:00,5,c1,France\r\n2,A,x,1,not a date,5,c2,UK\r\n3,POST,postage,1,2011-01-04 10:00,5,c2,UK\r\n4,A,x,1,2011-01-05 10:00,7.5,c2,UK\r\n'

DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ltv_regress_uploader') THEN
    CREATE ROLE ltv_regress_uploader LOGIN IN ROLE ltv_analyst;
  END IF;
END $$;
-- The anonymous web role reads only: it may not upload.
SET ROLE ltv_web;
SELECT ltv_api.upload_dataset_object('anonymous', 1);
RESET ROLE;
SET ROLE ltv_regress_uploader;
BEGIN;
-- Written in three pieces, as the server writes it.
SELECT lo_create(0) AS lo \gset
SELECT lo_put(:lo, 0, substring(convert_to(E:'csv', 'UTF8') FROM 1 FOR 50)),
       lo_put(:lo, 50, substring(convert_to(E:'csv', 'UTF8') FROM 51 FOR 100)),
       lo_put(:lo, 150, substring(convert_to(E:'csv', 'UTF8') FROM 151));
SELECT ltv_api.upload_dataset_object('from object', :lo, '{"encoding": "utf-8"}')::jsonb
       #- '{dataset,created_at}' #- '{dataset,dataset_id}' #- '{dataset,name}' AS by_object \gset
SELECT ltv_api.upload_dataset('from text', E:'csv')::jsonb
       #- '{dataset,created_at}' #- '{dataset,dataset_id}' #- '{dataset,name}' AS by_text \gset
SELECT :'by_object'::jsonb = :'by_text'::jsonb AS same_answer,
       (:'by_object'::jsonb)->'dataset'->>'rows_loaded' AS rows_loaded,
       (:'by_object'::jsonb)->>'rejected_rows_total' AS rejected;
SELECT count(*) AS objects_left FROM pg_largeobject_metadata WHERE oid = :lo;
COMMIT;

-- An object of another transaction (here: committed before) is refused, whoever owns it.
BEGIN;
SELECT lo_from_bytea(424242, convert_to(E:'csv', 'UTF8')) AS old_lo \gset
COMMIT;
BEGIN;
SELECT ltv_api.upload_dataset_object('not mine', :old_lo);
ROLLBACK;
SELECT lo_unlink(:old_lo);
BEGIN;
SELECT ltv_api.upload_dataset_object('no object', NULL);
ROLLBACK;
-- Empty object, bad options, bad file: errors as upload_dataset gives them; nothing stays.
BEGIN;
SELECT ltv_api.upload_dataset_object('empty', lo_create(0));
ROLLBACK;
BEGIN;
SELECT ltv_api.upload_dataset_object('bad options', lo_from_bytea(0, convert_to(E:'csv', 'UTF8')), '[1]');
ROLLBACK;
BEGIN;
SELECT ltv_api.upload_dataset_object('no header', lo_from_bytea(0, '\x00010203'::bytea));
ROLLBACK;
RESET ROLE;
SELECT count(*) AS objects_left FROM pg_largeobject_metadata;
SELECT name FROM ltv.datasets WHERE name IN ('not mine', 'no object', 'empty', 'bad options', 'no header');
-- Analysts (and the owner) may call it; the public and the anonymous web role may not.
SELECT has_function_privilege('public', 'ltv_api.upload_dataset_object(text, oid, jsonb)', 'EXECUTE') AS public_may,
       has_function_privilege('ltv_web', 'ltv_api.upload_dataset_object(text, oid, jsonb)', 'EXECUTE') AS web_may,
       has_function_privilege('ltv_analyst', 'ltv_api.upload_dataset_object(text, oid, jsonb)', 'EXECUTE') AS analyst_may;

SELECT ltv.delete_dataset(dataset_id) FROM ltv.datasets WHERE name IN ('from object', 'from text');
SELECT setval(:'seq', :seq_last, :'seq_called'::boolean) IS NOT NULL AS sequence_restored;
