#!/usr/bin/python3
"""Import benchmark: ltv.import_csv_file (parse + clean + validate + load) vs plain COPY of the
same file into an equivalent table vs pandas.read_csv, on the UCI Online Retail file.

Run through bench/run.sh (which provides a server), or with PG* variables set.
Target (issue 2): import within 1.5x the time of plain COPY.
"""
import gzip
import os
import shutil
import sys
import tempfile

from common import data_file, median, paired_ratio, psql, report, timed_interleaved

REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))


def main():
    src = data_file()
    if not src:
        print("SKIP: ../shared/data/online_retail.csv.gz not found")
        return 0
    work = tempfile.mkdtemp(prefix="ltv_bench_import_")
    os.chmod(work, 0o755)
    csv_path = os.path.join(work, "online_retail.csv")
    with gzip.open(src, "rb") as fin, open(csv_path, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    os.chmod(csv_path, 0o644)
    db = "ltv_bench_import"
    psql(f"DROP DATABASE IF EXISTS {db}")
    psql(f"CREATE DATABASE {db}")
    psql("CREATE EXTENSION retail_ltv", db)

    def ltv_import():
        psql(f"SELECT ltv.import_csv_file('bench', '{csv_path}', '{{\"replace\": true}}')", db)

    def plain_copy():
        psql("BEGIN; DROP TABLE IF EXISTS raw_copy; "
             "CREATE TABLE raw_copy (invoice_no text, stock_code text, description text, "
             "quantity integer, invoice_date timestamp, unit_price float8, customer_id text, "
             "country text); "
             f"COPY raw_copy FROM '{csv_path}' WITH (FORMAT csv, HEADER true); COMMIT;", db)

    def plain_copy_indexed():
        psql("BEGIN; DROP TABLE IF EXISTS raw_copy2; "
             "CREATE TABLE raw_copy2 (invoice_no text, stock_code text, description text, "
             "quantity integer, invoice_date timestamp, unit_price float8, customer_id text, "
             "country text); CREATE INDEX ON raw_copy2 (customer_id, invoice_date); "
             f"COPY raw_copy2 FROM '{csv_path}' WITH (FORMAT csv, HEADER true); COMMIT;", db)

    def pandas_read():
        import pandas as pd
        pd.read_csv(csv_path, encoding="utf-8", dtype={"CustomerID": "str"})

    ltv_import()  # warm the cache and the extension
    plain_copy()
    rows = timed_interleaved([
        ("ltv.import_csv_file (parse+clean+load+index)", ltv_import),
        ("COPY into a plain table", plain_copy),
        ("COPY into a table with one index", plain_copy_indexed),
        ("pandas.read_csv", pandas_read),
    ], REPEATS)
    report(f"Import of the UCI Online Retail file ({REPEATS} rounds, contenders run in turn)",
           rows, "COPY into a plain table")
    ratio = median(rows[0][1]) / median(rows[1][1])
    paired = paired_ratio(rows[0][1], rows[1][1])
    print(f"\nimport_csv / COPY = {ratio:.2f}x by medians, {paired:.2f}x median of per-round "
          f"ratios (target <= 1.5x): {'MET' if max(ratio, paired) <= 1.5 else 'NOT MET'}")
    psql(f"DROP DATABASE IF EXISTS {db}")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
