#!/usr/bin/env python3
"""Peak memory of an import per MB of CSV (issue 14, item 4), for the backend and the web server.

Three paths, each in a fresh session (a fresh server process for the web path), medians over
--repeats runs:
  import_csv       ltv.import_csv(name, pg_read_binary_file(file)): the file's bytes as an argument
  import_csv_file  ltv.import_csv_file(name, file), of the CSV and (for a .gz input) of the .gz file
  web upload       POST /rpc/upload_dataset {"name", "options", "csv"} to web/server (streamed
                   into a large object, then ltv_api.upload_dataset_object)

For a backend, two figures:
  private  the peak of RssAnon (malloc, palloc, C++ containers: what each concurrent import adds),
           sampled from /proc/<pid>/status every --interval-ms while the call runs;
  VmHWM    the kernel's peak resident set, which also counts the shared buffers the backend
           touched (the new partition's pages, read again to build its index, WAL buffers) and
           the shared libraries: memory of the server's cache that no second import adds to.
For the web server: the growth of its resident set during the upload (peak VmHWM minus its
resident set before the upload), and its VmHWM.

Needs a server on this machine (PG* variables; /proc of its processes readable, so run as their
owner or root), the extension installed, and node with web/node_modules for the web path.
With --check FACTOR, exits 1 when a backend's private peak exceeds FACTOR x the file, or the web
server's growth exceeds --node-check x the file (the e2e test uses this).
"""
import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def status(pid):
    """{field: kB} of /proc/<pid>/status for the memory fields, or {} once the process is gone."""
    out = {}
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key in ('VmRSS', 'VmHWM', 'RssAnon', 'RssFile', 'RssShmem'):
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


class Sampler:
    """Samples a process's memory on a thread until stop(); keeps the peak of each field."""

    def __init__(self, pid, interval):
        self.pid, self.interval, self.peak, self.last = pid, interval, {}, {}
        self.before = status(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            s = status(self.pid)
            if not s:
                return
            self.last = s
            for k, v in s.items():
                self.peak[k] = max(self.peak.get(k, 0), v)
            time.sleep(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        s = status(self.pid)
        for k, v in s.items():
            self.peak[k] = max(self.peak.get(k, 0), v)
        return self


class NotLocal(Exception):
    pass


def psql(db, sql):
    return subprocess.run(['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def backend_call(db, sql, interval):
    """Runs `sql` in a fresh session; returns the Sampler of its backend."""
    p = subprocess.Popen(['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', db],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    p.stdin.write('SELECT pg_backend_pid();\n')
    p.stdin.flush()
    pid = int(p.stdout.readline())
    if not status(pid):
        p.kill()
        raise NotLocal(f'the backend (pid {pid}) is not a process of this machine, or its /proc is not readable')
    sampler = Sampler(pid, interval)
    out, _ = p.communicate(sql + ';\n')
    if p.returncode != 0:
        raise RuntimeError(f'{sql} failed')
    return sampler.stop()


def post(url, body_path, token):
    req = urllib.request.Request(url, data=open(body_path, 'rb'), method='POST',
                                 headers={'Content-Type': 'application/json',
                                          'Authorization': f'Bearer {token}',
                                          'Content-Length': str(os.path.getsize(body_path))})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def web_upload(db, body_path, interval):
    """Starts the web server, uploads the body; returns (node Sampler, backend Sampler)."""
    # Uploads need an analyst's token (the anonymous role only reads: docs/security.md).
    psql(db, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ltv_bench_uploader') THEN "
             "CREATE ROLE ltv_bench_uploader NOLOGIN IN ROLE ltv_analyst; END IF; END $$")
    env = dict(os.environ, PGDATABASE=db, LTV_WEB_PORT='0', LTV_WEB_HOST='127.0.0.1',
               LTV_WEB_POOL_SIZE='1', LTV_WEB_LOG='0', LTV_WEB_BODY_LIMIT_MB='2048',
               LTV_JWT_SECRET=os.urandom(32).hex())
    token = subprocess.run(['node', os.path.join(ROOT, 'web/scripts/token.mjs'), 'ltv_bench_uploader', '1'],
                           env=env, check=True, capture_output=True, text=True).stdout.strip()
    server = subprocess.Popen(['node', os.path.join(ROOT, 'web/server/index.js')], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        if not line.startswith('retail_ltv dashboard: '):
            raise RuntimeError('the web server did not start')
        url = line.split(': ', 1)[1].strip().rstrip('/')
        # One pooled connection, opened by a first call: the backend that serves the upload.
        urllib.request.urlopen(urllib.request.Request(f'{url}/rpc/datasets', data=b'{}', method='POST',
                                                      headers={'Content-Type': 'application/json'})).read()
        backend = int(psql(db, "SELECT pid FROM pg_stat_activity WHERE application_name = 'ltv_web_server'"))
        node_s, backend_s = Sampler(server.pid, interval), Sampler(backend, interval)
        code, body = post(f'{url}/rpc/upload_dataset', body_path, token)
        node_s.stop()
        backend_s.stop()
        if code != 200 or json.loads(body)['dataset']['status'] != 'ready':
            raise RuntimeError(f'upload failed: {code} {body[:300]!r}')
        return node_s, backend_s
    finally:
        server.terminate()
        server.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('file', nargs='?', default=os.path.join(ROOT, '..', 'shared', 'data', 'online_retail.csv.gz'))
    ap.add_argument('--repeats', type=int, default=int(os.environ.get('BENCH_REPEATS', 3)))
    ap.add_argument('--interval-ms', type=float, default=2.0)
    ap.add_argument('--db', default='ltv_bench_memory')
    ap.add_argument('--no-web', action='store_true')
    ap.add_argument('--options', default='{}', help='import options (JSON object) besides "replace"')
    ap.add_argument('--check', type=float, help='fail when a backend private peak exceeds this x the file')
    ap.add_argument('--node-check', type=float, default=1.0, help='with --check: the web server growth limit')
    args = ap.parse_args()
    if not os.path.isfile(args.file):
        print(f'skip: {args.file} is absent')
        return 0
    work = tempfile.mkdtemp(prefix='ltv_import_memory.')
    os.chmod(work, 0o755)
    db = args.db
    try:
        csv_path = os.path.join(work, 'in.csv')
        opener = gzip.open if args.file.endswith('.gz') else open
        with opener(args.file, 'rb') as src, open(csv_path, 'wb') as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(csv_path, 0o644)
        mb = os.path.getsize(csv_path) / 2**20
        body_path = os.path.join(work, 'body.json')
        with open(csv_path, encoding='utf-8', errors='surrogateescape') as f:
            text = f.read()
        with open(body_path, 'w', encoding='utf-8', errors='surrogateescape') as f:
            json.dump({'name': 'm_web', 'options': {**json.loads(args.options), 'replace': True}, 'csv': text}, f)
        del text
        psql('postgres', f'DROP DATABASE IF EXISTS {db}')
        psql('postgres', f'CREATE DATABASE {db}')
        psql(db, 'CREATE EXTENSION retail_ltv')
        web = not args.no_web and shutil.which('node') and os.path.isdir(os.path.join(ROOT, 'web/node_modules/pg'))
        interval = args.interval_ms / 1000
        options = json.dumps({**json.loads(args.options), 'replace': True}).replace("'", "''")
        calls = {
            'import_csv': f"SELECT ltv.import_csv('m', pg_read_binary_file('{csv_path}'), '{options}')",
            'import_csv_file': f"SELECT ltv.import_csv_file('m', '{csv_path}', '{options}')",
        }
        if args.file.endswith('.gz'):  # the server inflates it: sized from its gzip trailer
            gz_path = os.path.join(work, 'in.csv.gz')
            shutil.copyfile(args.file, gz_path)
            os.chmod(gz_path, 0o644)
            calls['import_csv_file .gz'] = f"SELECT ltv.import_csv_file('m', '{gz_path}', '{options}')"
        try:
            backend_call(db, 'SELECT 1', interval)
        except NotLocal as e:
            print(f'skip: {e}')
            return 0
        results = {name: [] for name in list(calls) + (['web upload'] if web else [])}
        node = []
        for _ in range(args.repeats):  # round by round, the paths interleaved
            for name, sql in calls.items():
                results[name].append(backend_call(db, sql, interval))
            if web:
                n, b = web_upload(db, body_path, interval)
                results['web upload'].append(b)
                node.append(n)
        print(f'input: {os.path.basename(args.file)}, {mb:.1f} MB of CSV; medians of {args.repeats} runs')
        print(f'{"path":<20} {"backend private":>20} {"backend VmHWM":>20}')
        failed = []
        for name, samples in results.items():
            private = statistics.median(s.peak['RssAnon'] / 1024 for s in samples)
            hwm = statistics.median(s.peak['VmHWM'] / 1024 for s in samples)
            print(f'{name:<20} {private:8.1f} MB {private / mb:5.2f}x {hwm:8.1f} MB {hwm / mb:5.2f}x')
            if args.check and private > args.check * mb:
                failed.append(f'{name}: backend private peak {private:.1f} MB > {args.check} x {mb:.1f} MB')
        if node:
            growth = statistics.median((s.peak['VmHWM'] - s.before['VmRSS']) / 1024 for s in node)
            hwm = statistics.median(s.peak['VmHWM'] / 1024 for s in node)
            print(f'{"web server":<20} growth {growth:.1f} MB ({growth / mb:.2f}x the file), VmHWM {hwm:.1f} MB')
            if args.check and growth > args.node_check * mb:
                failed.append(f'web server grew by {growth:.1f} MB > {args.node_check} x {mb:.1f} MB')
        for f in failed:
            print('FAIL:', f)
        return 1 if failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(['psql', '-X', '-q', '-d', 'postgres', '-c', f'DROP DATABASE IF EXISTS {db}'],
                       capture_output=True)


if __name__ == '__main__':
    sys.exit(main())
