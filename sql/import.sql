-- ltv.import_csv: reading, cleaning, counting, rejecting.
\set VERBOSITY default

-- A small UCI-style file with one row for every cleaning rule and a few broken rows.
SELECT ltv.import_csv('small', convert_to(
'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,"WHITE HANGING HEART T-LIGHT HOLDER",6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,"WHITE METAL LANTERN, LARGE",6,2010-12-01 08:26:00,3.39,17850,United Kingdom
536366,22633,"HAND WARMER ""UNION JACK""",6,12/1/2010 8:28,1.85,17851,France
536367,84879,NO CUSTOMER,32,2010-12-01 08:34:00,1.69,,United Kingdom
536368,POST,POSTAGE,1,2010-12-01 08:35:00,18.00,17852,France
536369,21730,ZERO QTY,0,2010-12-01 08:36:00,4.25,17852,France
536370,21731,FREE ITEM,1,2010-12-01 08:37:00,0,17852,France
536365,85123A,"WHITE HANGING HEART T-LIGHT HOLDER",6,2010-12-01 08:26:00,2.55,17850,United Kingdom
C536379,22556,RETURNED,-2,2010-12-02 09:41:00,1.65,17850,United Kingdom
536380,22557,BAD DATE,1,2010-13-45 09:00:00,1.00,17853,France
536381,22558,TOO MANY,1,2010-12-03 09:00:00,1.00,17853,France,extra
536382,22559,"MULTI
LINE",2,2010-12-03 10:00:00,1.50,17854,France
536383,22560,BAD PRICE,1,2010-12-03 11:00:00,abc,17854,France
', 'UTF8')) > 0 AS imported;

SELECT name, status, rows_read, rows_loaded, rows_excluded, rows_rejected, customers,
       rows_read = rows_loaded + rows_excluded + rows_rejected AS counts_add_up,
       first_purchase, last_purchase
  FROM ltv.datasets WHERE name = 'small';
SELECT jsonb_pretty(cleaning_report->'excluded_by_rule') AS excluded_by_rule,
       cleaning_report->'cancellation_return_kept' AS returns_kept,
       cleaning_report->>'customers_before_cleaning' AS customers_before_cleaning
  FROM ltv.datasets WHERE name = 'small';

SELECT line_no, invoice, stock_code, description, quantity, unit_price, amount, invoice_time,
       customer_id, country, is_return
  FROM ltv.transactions t JOIN ltv.datasets d USING (dataset_id)
 WHERE d.name = 'small' ORDER BY line_no;

SELECT r.line_no, r.reason, r.raw
  FROM ltv.rejected_rows r JOIN ltv.datasets d USING (dataset_id)
 WHERE d.name = 'small' ORDER BY r.line_no;

-- Re-importing under the same name is an error unless replace is asked for.
SELECT ltv.import_csv('small', convert_to('InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1,A,x,1,2011-01-01 00:00:00,1,1,UK
', 'UTF8'));
SELECT ltv.import_csv('small', convert_to('InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1,A,x,1,2011-01-01 00:00:00,1,1,UK
', 'UTF8'), '{"replace": true}') > 0 AS replaced;
SELECT rows_read, rows_loaded FROM ltv.datasets WHERE name = 'small';
SELECT count(*) AS old_rejects_gone FROM ltv.rejected_rows r JOIN ltv.datasets d USING (dataset_id) WHERE d.name = 'small';

-- Online Retail II header, semicolons, CRLF, a BOM, decimal commas and d/m/y dates.
SELECT ltv.import_csv('retail2', '\xefbbbf'::bytea || convert_to(
E'Invoice;StockCode;Description;Quantity;InvoiceDate;Price;Customer ID;Country\r\n'
 '489434;85048;15CM CHRISTMAS GLASS BALL;12;13/12/2009 07:45;6,95;13085.0;United Kingdom\r\n'
 '489435;22350;CAT BOWL;12;01/12/2009 07:46;2,55;13086;United Kingdom\r\n', 'UTF8'),
 '{"date_order": "dmy"}') > 0 AS imported;
SELECT customer_id, invoice_time, unit_price, amount FROM ltv.transactions t
  JOIN ltv.datasets d USING (dataset_id) WHERE d.name = 'retail2' ORDER BY line_no;
SELECT cleaning_report->>'delimiter' AS delimiter, cleaning_report->>'date_order' AS date_order
  FROM ltv.datasets WHERE name = 'retail2';

-- snake_case, tab-separated, an amount column instead of quantity x price, no invoice column:
-- one purchase event per customer per timestamp.
SELECT ltv.import_csv('snake', convert_to(
E'customer_id\torder_date\tamount\n'
 'A1\t2011-03-01 10:00:00\t10.50\n'
 'A1\t2011-03-01 10:00:00\t4.50\n'
 'A1\t2011-03-05 09:00:00\t7\n', 'UTF8')) > 0 AS imported;
SELECT customer_id, invoice_time, amount, count(*) OVER (PARTITION BY invoice) AS lines_in_event
  FROM ltv.transactions t JOIN ltv.datasets d USING (dataset_id) WHERE d.name = 'snake' ORDER BY line_no;

-- Explicit column mapping for unusual headers.
SELECT ltv.import_csv('mapped', convert_to(
'Beleg,Artikel,Menge,Datum,Preis,Kunde
1,X,2,2011-01-02 03:04:05,1.25,K9
', 'UTF8'), '{"columns": {"invoice": "Beleg", "stock_code": "Artikel", "quantity": "Menge",
  "invoice_time": "Datum", "unit_price": "Preis", "customer_id": "Kunde"}}') > 0 AS imported;
SELECT customer_id, stock_code, amount FROM ltv.transactions t JOIN ltv.datasets d USING (dataset_id) WHERE d.name = 'mapped';

-- Windows-1252 / Latin-1 input: the pound sign (0xA3) arrives as UTF-8 text.
SELECT ltv.import_csv('latin1', convert_to('InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1,A,', 'UTF8') || '\xa3'::bytea || convert_to('5 VOUCHER,1,2011-01-01 00:00:00,5,1,UK
', 'UTF8')) > 0 AS imported;
SELECT description, cleaning_report->>'encoding' AS encoding
  FROM ltv.transactions t JOIN ltv.datasets d USING (dataset_id) WHERE d.name = 'latin1';
-- Forcing UTF-8 on such bytes rejects the row with its line number instead.
SELECT ltv.import_csv('latin1_forced', convert_to('InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1,A,', 'UTF8') || '\xa3'::bytea || convert_to('5 VOUCHER,1,2011-01-01 00:00:00,5,1,UK
2,A2,ok,1,2011-01-01 00:00:00,5,1,UK
', 'UTF8'), '{"encoding": "utf-8"}') > 0 AS imported;
SELECT r.line_no, r.reason FROM ltv.rejected_rows r JOIN ltv.datasets d USING (dataset_id) WHERE d.name = 'latin1_forced';

-- Whole-file errors name the problem.
SELECT ltv.import_csv('no_customer', convert_to('InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,Country
1,A,1,2011-01-01 00:00:00,5,UK
', 'UTF8'));
SELECT ltv.import_csv('empty', ''::bytea);
SELECT ltv.import_csv('header_only', convert_to('InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
', 'UTF8'));
SELECT ltv.import_csv('bad_option', convert_to('a', 'UTF8'), '{"delimeter": ";"}');
SELECT ltv.import_csv('bad_option', convert_to('a', 'UTF8'), '{"columns": {"customer_id": "Nope"}}');
SELECT ltv.import_csv('too_many', convert_to('InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1,A,x,1,2011-01-01 00:00:00,1,1,UK
2,A,x,1,2011-01-01 00:00:00,1,1,UK
', 'UTF8'), '{"max_rows": 1}');
SET ltv.max_import_rows = 1;
SELECT ltv.import_csv('too_many', convert_to('InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1,A,x,1,2011-01-01 00:00:00,1,1,UK
2,A,x,1,2011-01-01 00:00:00,1,1,UK
', 'UTF8'));
RESET ltv.max_import_rows;
SELECT ltv.import_csv(NULL, ''::bytea);
SELECT ltv.import_csv('', convert_to('a', 'UTF8'));
-- A failed import leaves nothing behind.
SELECT count(*) AS failed_imports_left FROM ltv.datasets
 WHERE name IN ('no_customer', 'empty', 'header_only', 'bad_option', 'too_many');

-- Server files need the same privilege as COPY FROM a file.
CREATE ROLE ltv_regress_user;
GRANT USAGE ON SCHEMA ltv TO ltv_regress_user;
SET ROLE ltv_regress_user;
SELECT ltv.import_csv_file('x', '/etc/passwd');
RESET ROLE;
REVOKE USAGE ON SCHEMA ltv FROM ltv_regress_user;
DROP ROLE ltv_regress_user;
SELECT ltv.import_csv_file('x', '/nonexistent/file.csv');

-- Deleting a dataset removes its partition and rejected rows.
SELECT ltv.delete_dataset(dataset_id) FROM ltv.datasets WHERE name = 'latin1_forced';
SELECT count(*) FROM ltv.datasets WHERE name = 'latin1_forced';
SELECT ltv.delete_dataset(-1) AS deleted_unknown;

-- Rows go in frozen, as COPY FREEZE stores them (the partition's pages are all-visible at
-- once), unless the import option "freeze" is false, or this transaction holds an earlier
-- snapshot that must not see them (here: REPEATABLE READ after a query).
\set one_row 'convert_to(E''InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n1,A,x,1,2011-01-01 10:00,1.5,17850,UK\n'', ''UTF8'')'
SELECT ltv.import_csv('frozen', :one_row) > 0 AS frozen_imported;
SELECT ltv.import_csv('not_frozen', :one_row, '{"freeze": false}') > 0 AS not_frozen_imported;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) > 0 AS took_snapshot FROM ltv.datasets;
SELECT ltv.import_csv('after_snapshot', :one_row) > 0 AS after_snapshot_imported;
COMMIT;
SELECT d.name, c.relallvisible = c.relpages AND c.relpages > 0 AS all_visible
  FROM ltv.datasets d JOIN pg_class c ON c.oid = format('ltv.%I', 'transactions_' || d.dataset_id)::regclass
 WHERE d.name IN ('frozen', 'not_frozen', 'after_snapshot') ORDER BY d.name;
SELECT ltv.import_csv('bad_freeze', :one_row, '{"freeze": "yes"}');
SELECT ltv.delete_dataset(dataset_id) FROM ltv.datasets WHERE name IN ('frozen', 'not_frozen', 'after_snapshot');
