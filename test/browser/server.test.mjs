// The local server (web/server) against the real extension: only ltv_api functions, names
// checked against the catalog, values bound as parameters, the web role's privileges, body
// limit, statement timeout, PostgREST error mapping. Every rejected request must leave the
// database unchanged.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { HERE, authHeader, baseUrl, dbFingerprint, pg, readCsv, rpc, sql, startServer } from './lib.mjs';

const SAMPLE = zlib.gunzipSync(fs.readFileSync(path.join(HERE, 'fixtures', 'online_retail_sample.csv.gz'))).toString('utf8');
const SMALL_CSV = SAMPLE.split('\n').slice(0, 40).join('\n') + '\n';

function assertPgrstBody(body) {
  assert.ok(body && typeof body === 'object', 'JSON error body');
  assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'hint', 'message']);
}

async function unchanged(fn) {
  const before = await dbFingerprint();
  await fn();
  assert.deepEqual(await dbFingerprint(), before, 'database changed');
}

test('the API is there: ltv_api.datasets() answers a JSON array', async () => {
  const r = await rpc('datasets');
  assert.equal(r.status, 200);
  assert.ok(Array.isArray(r.body));
});

test('functions outside ltv_api are not reachable', async () => {
  await unchanged(async () => {
    for (const fn of ['import_csv', 'version', 'pg_sleep', 'pg_read_file', 'ltv.import_csv', 'ltv_api.datasets',
      'pg_catalog.version', 'current_setting', 'delete_dataset']) {
      const r = await rpc(fn, fn === 'pg_sleep' ? { seconds: 1 } : {});
      assert.equal(r.status, 404, `${fn}: ${r.text}`);
      assertPgrstBody(r.body);
      assert.equal(r.body.code, 'PGRST202');
    }
    // ltv.delete_dataset(dataset_id) exists, but in schema ltv: not found either.
    const d = await rpc('delete_dataset', { dataset_id: 1 });
    assert.equal(d.status, 404);
  });
});

test('internal helpers of ltv_api that ltv_web may not execute answer 401 like PostgREST', async () => {
  const helpers = await sql(`SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args
                               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                              WHERE n.nspname = 'ltv_api' AND NOT has_function_privilege('ltv_web', p.oid, 'EXECUTE')`);
  await unchanged(async () => {
    for (const h of helpers) {
      const argNames = h.args ? h.args.split(', ').map((a) => a.split(' ')[0]) : [];
      const body = Object.fromEntries(argNames.map((a) => [a, null]));
      const r = await rpc(h.proname, body, { anonymous: true });
      assert.equal(r.status, 401, `${h.proname}: ${r.text}`);
      assert.equal(r.body.code, '42501');
    }
  });
});

test('an unknown argument is rejected as PostgREST does (404 PGRST202) and nothing runs', async () => {
  await unchanged(async () => {
    const r = await rpc('segments', { dataset_id: 1, bogus: 2 });
    assert.equal(r.status, 404);
    assertPgrstBody(r.body);
    assert.equal(r.body.code, 'PGRST202');
    assert.match(r.body.message, /ltv_api\.segments\(bogus, dataset_id\)/);
    const u = await rpc('upload_dataset', { name: 'never', csv: SMALL_CSV, options: {}, extra: 1 });
    assert.equal(u.status, 404);
    const missing = await rpc('upload_dataset', { csv: SMALL_CSV });
    assert.equal(missing.status, 404, 'a required argument is missing');
  });
});

test('SQL fragments in values are data, never SQL', async () => {
  const evil = "x'); DROP TABLE ltv.datasets; --";
  const before = await dbFingerprint();
  const r = await rpc('upload_dataset', { name: evil, csv: SMALL_CSV, options: {} });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.dataset.name, evil);
  const after = await dbFingerprint();
  assert.equal(after.datasets_table, true, 'ltv.datasets still exists');
  assert.equal(after.datasets, before.datasets + 1, 'exactly one dataset added');
  const rows = await sql('SELECT name FROM ltv.datasets WHERE dataset_id = $1', [r.body.dataset.dataset_id]);
  assert.deepEqual(rows, [{ name: evil }]);
  assert.equal(after.functions, before.functions, 'no function created or dropped');
  assert.ok(after.relations >= before.relations, 'no relation dropped');

  await unchanged(async () => {
    // In a value of another type: a type error, not an injection.
    const t = await rpc('analysis_status', { dataset_id: '1; DROP TABLE ltv.datasets' });
    assert.equal(t.status, 400);
    assert.equal(t.body.code, '22P02');
    // In an argument name or in the function name: not in the catalog.
    const k = await rpc('segments', { 'dataset_id := 1); DROP TABLE ltv.datasets; --': 1 });
    assert.equal(k.status, 404);
    const f = await rpc(encodeURIComponent('datasets(); DROP TABLE ltv.datasets; --'), {});
    assert.equal(f.status, 404);
    const s = await rpc('segments', { dataset_id: r.body.dataset.dataset_id, segment: "vip' OR '1'='1" });
    assert.ok(s.status >= 400 && s.status < 500, s.text);
  });
});

test('ltv_web reads (as a viewer) and writes nothing', async () => {
  const [p] = await sql(`SELECT has_table_privilege('ltv_web', 'ltv.transactions', 'SELECT') AS tx,
                                has_table_privilege('ltv_web', 'ltv.datasets', 'INSERT, UPDATE, DELETE') AS ds,
                                has_schema_privilege('ltv_web', 'ltv_api', 'USAGE') AS api`);
  assert.deepEqual(p, { tx: true, ds: false, api: true });
  const { pg } = await import('./lib.mjs');
  const c = new pg.Client();
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL ROLE ltv_web');
    await assert.rejects(c.query("INSERT INTO ltv.datasets (name, source) VALUES ('x', 'y')"), (e) => e.code === '42501');
    await c.query('ROLLBACK');
  } finally {
    await c.end();
  }
});

function rawPost(url, fnPath, { headers, chunks }) {
  return new Promise((resolve, reject) => {
    const u = new URL(`${url}/rpc/${fnPath}`);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', (e) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? resolve({ status: -1, text: e.code }) : reject(e)));
    (async () => {
      for (const c of chunks) {
        if (req.destroyed) break;
        if (!req.write(c)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(() => {});
  });
}

test('an oversized body is answered 413 before it reaches the database', async () => {
  // The default server: a declared Content-Length above the limit is refused at once.
  await unchanged(async () => {
    const r = await rawPost(baseUrl(), 'upload_dataset', {
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(512 * 1024 * 1024) },
      chunks: ['{"name": "huge", "csv": "'],
    });
    assert.equal(r.status, 413, r.text);
    assertPgrstBody(JSON.parse(r.text));
  });
  // A server with a 1 MB limit: a 3 MB upload (sent with and without Content-Length).
  const small = await startServer({ LTV_WEB_BODY_LIMIT_MB: '1' });
  try {
    await unchanged(async () => {
      const big = JSON.stringify({ name: 'too_big', csv: SAMPLE.slice(0, 3 * 1024 * 1024) });
      const a = await rpc('upload_dataset', big, { url: small.url });
      assert.equal(a.status, 413, a.text);
      assert.equal(a.body.code, 'PGRST413');
      const chunks = [];
      for (let i = 0; i < big.length; i += 64 * 1024) chunks.push(big.slice(i, i + 64 * 1024));
      const b = await rawPost(small.url, 'upload_dataset', {
        headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, chunks,
      });
      assert.ok(b.status === 413 || b.status === -1, `chunked: ${b.status} ${b.text}`);
      // Below the limit the same server works.
      const ok = await rpc('datasets', {}, { url: small.url });
      assert.equal(ok.status, 200);
    });
  } finally {
    await small.stop();
  }
});

test('the statement timeout applies to calls', async () => {
  const slow = await startServer({ LTV_WEB_STATEMENT_TIMEOUT_MS: '1' });
  try {
    await unchanged(async () => {
      const r = await rpc('upload_dataset', { name: 'timeout', csv: SAMPLE }, { url: slow.url });
      assert.equal(r.status, 500, r.text);
      assert.equal(r.body.code, '57014');
    });
  } finally {
    await slow.stop();
  }
});

test('Postgres errors map to PostgREST statuses and bodies', async () => {
  await unchanged(async () => {
    const nf = await rpc('analysis_status', { dataset_id: 987654321 });
    assert.equal(nf.status, 404, nf.text);
    assertPgrstBody(nf.body);
    assert.equal(nf.body.code, 'PT404');
    const col = await rpc('upload_dataset', { name: 'bad header', csv: 'InvoiceNo,Quantity\n1,2\n' });
    assert.equal(col.status, 400);
    assert.equal(col.body.code, '42703');
    assert.match(col.body.message, /customer_id/);
    const bad = await rpc('datasets', '{"not json');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'PGRST102');
    const arr = await rpc('datasets', '[1,2]');
    assert.equal(arr.status, 400);
  });
  const [d] = await sql("SELECT name FROM ltv.datasets ORDER BY dataset_id LIMIT 1");
  if (d) {
    await unchanged(async () => {
      const dup = await rpc('upload_dataset', { name: d.name, csv: SMALL_CSV });
      assert.equal(dup.status, 400, dup.text);
      assert.equal(dup.body.code, '42710');
    });
  }
});

test('static files: the dashboard is served, paths cannot leave web/dist', async () => {
  const index = await fetch(`${baseUrl()}/`);
  assert.equal(index.status, 200);
  assert.match(await index.text(), /<div id="root">/);
  const trav = await new Promise((resolve, reject) => {
    const u = new URL(baseUrl());
    http.get({ host: u.hostname, port: u.port, path: '/../../../../etc/passwd' }, (res) => {
      let t = '';
      res.on('data', (c) => { t += c; });
      res.on('end', () => resolve({ status: res.statusCode, text: t }));
    }).on('error', reject);
  });
  assert.ok(!/root:x:0:0/.test(trav.text), 'served /etc/passwd');
  const enc = await fetch(`${baseUrl()}/%2e%2e/%2e%2e/%2e%2e/etc/passwd`);
  assert.ok(!/root:x:0:0/.test(await enc.text()));
  const get = await fetch(`${baseUrl()}/rpc/datasets`);
  assert.equal(get.status, 405);
});

// Tokens as PostgREST takes them (docs/security.md): each refusal leaves the database unchanged.
test('JWT: anonymous and viewers cannot upload; bad, expired and unknown-role tokens are 401', { skip: !process.env.LTV_JWT_SECRET }, async () => {
  const { SignJWT } = await import(path.join(HERE, '..', '..', 'web', 'node_modules', 'jose', 'dist', 'webapi', 'index.js'));
  const secret = new TextEncoder().encode(process.env.LTV_JWT_SECRET);
  const sign = (claims, key = secret, exp = '1h') => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt().setExpirationTime(exp).sign(key);
  await sql(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ltv_browser_viewer') THEN
               CREATE ROLE ltv_browser_viewer NOLOGIN IN ROLE ltv_viewer; END IF; END $$`);
  const bearer = (t) => ({ headers: { Authorization: `Bearer ${t}` } });
  const upload = { name: 'jwt', csv: SMALL_CSV };
  await unchanged(async () => {
    const anon = await rpc('upload_dataset', upload, { anonymous: true });
    assert.equal(anon.status, 401, anon.text);
    assert.equal(anon.body.code, '42501');
    const viewer = await rpc('upload_dataset', upload, bearer(await sign({ role: 'ltv_browser_viewer' })));
    assert.equal(viewer.status, 403, viewer.text);
    assert.equal(viewer.body.code, '42501');
    const bad = await rpc('upload_dataset', upload, bearer(await sign({ role: 'ltv_browser_analyst' }, new TextEncoder().encode('x'.repeat(32)))));
    assert.equal(bad.status, 401, bad.text);
    assert.deepEqual(bad.body, { code: 'PGRST301', details: null, hint: null, message: 'JWSError JWSInvalidSignature' });
    const expired = await rpc('upload_dataset', upload, bearer(await sign({ role: 'ltv_browser_analyst' }, secret, Math.floor(Date.now() / 1000) - 60)));
    assert.equal(expired.status, 401, expired.text);
    assert.deepEqual(expired.body, { code: 'PGRST301', details: null, hint: null, message: 'JWT expired' });
    const unknown = await rpc('upload_dataset', upload, bearer(await sign({ role: 'no_such_role' })));
    assert.equal(unknown.status, 401, unknown.text);
    assert.deepEqual(unknown.body, { code: '22023', details: null, hint: null, message: 'role "no_such_role" does not exist' });
    const superuser = await rpc('datasets', {}, bearer(await sign({ role: 'postgres' })));
    assert.equal(superuser.status, 403, superuser.text);
    const overQuota = await rpc('run_analysis', { dataset_id: 1, options: { forest: { n_trees: 10000 } } });
    assert.ok(overQuota.status === 400 || overQuota.status === 404, overQuota.text);
  });
  // The analyst's token works (run.sh's LTV_TEST_TOKEN): the dataset is recorded as its own.
  const ok = await rpc('upload_dataset', { name: 'jwt analyst', csv: SMALL_CSV });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.dataset.owner, 'ltv_browser_analyst');
  const del = await rpc('delete_dataset', { dataset_id: ok.body.dataset.dataset_id });
  assert.equal(del.status, 200, del.text);
});

test('Accept: text/csv streams a set-returning function; the CSV equals its rows', async () => {
  const [{ ds }] = await sql("SELECT ltv.generate_dataset('csv export', 300, 9) AS ds");
  try {
    const [{ run }] = await sql(`SELECT ltv.run_analysis($1, '{"forest": {"n_trees": 10}, "candidates": ["classifier"]}') AS run`, [ds]);
    await sql("SELECT ltv.store_reasons($1, '{vip}')", [run]);
    // The function's rows as Postgres prints them (the CSV's NULL is the empty field).
    const c = new pg.Client();
    await c.connect();
    let expected;
    try {
      const r = await c.query({ text: 'SELECT * FROM ltv_api.export_predictions($1)', values: [ds], rowMode: 'array',
        types: { getTypeParser: () => (v) => v } });
      expected = [r.fields.map((f) => f.name), ...r.rows.map((row) => row.map((v) => v ?? ''))];
    } finally {
      await c.end();
    }
    assert.ok(expected.length > 200 && expected.some((row) => row.at(-1).includes(',')), 'rows with reasons that need quotes');
    const download = async (url, body) => fetch(`${url}/rpc/export_predictions`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'text/csv', ...authHeader() }, body: JSON.stringify(body),
    });
    // The default batch, and batches of 7 rows (the last one short or full).
    const small = await startServer({ LTV_WEB_CSV_BATCH_ROWS: '7', LTV_WEB_POOL_SIZE: '1' });
    try {
      for (const url of [baseUrl(), small.url]) {
        const res = await download(url, { dataset_id: ds });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type'), /^text\/csv/);
        assert.deepEqual(readCsv(await res.text()), expected);
      }
      // A client that leaves after the first bytes: the server's only connection comes back.
      const ctl = new AbortController();
      const partial = await fetch(`${small.url}/rpc/export_predictions`, {
        method: 'POST', signal: ctl.signal, headers: { 'Content-Type': 'application/json', Accept: 'text/csv' },
        body: JSON.stringify({ dataset_id: ds }) });
      await partial.body.getReader().read();
      ctl.abort();
      const again = await download(small.url, { dataset_id: ds });
      assert.deepEqual(readCsv(await again.text()), expected);
    } finally {
      await small.stop();
    }
    const vip = readCsv(await (await download(baseUrl(), { dataset_id: ds, segment: 'vip' })).text());
    assert.deepEqual(vip.slice(1), expected.slice(1).filter((row) => row[1] === 'vip'));
    // Errors before the first row are PostgREST's JSON answers.
    const missing = await download(baseUrl(), { dataset_id: 987654 });
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).code, 'PT404');
    const scalar = await fetch(`${baseUrl()}/rpc/segments`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'text/csv' }, body: JSON.stringify({ dataset_id: ds }),
    });
    assert.equal(scalar.status, 406);
    // Without text/csv the same call is JSON.
    const json = await rpc('export_predictions', { dataset_id: ds });
    assert.equal(json.status, 200);
    assert.equal(json.body.length, expected.length - 1);
  } finally {
    await sql('SELECT ltv.delete_dataset($1)', [ds]);
  }
});
