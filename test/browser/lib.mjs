// Shared helpers of the browser and server tests. Dependencies come from web/node_modules.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
const require = createRequire(path.join(ROOT, 'web', 'package.json'));
export const pg = require('pg');

export function baseUrl() {
  const u = process.env.LTV_TEST_URL;
  if (!u) throw new Error('LTV_TEST_URL is not set (test/browser/run.sh sets it)');
  return u.replace(/\/$/, '');
}

/** Runs one query as the test's login user (PG* env; a superuser). */
export async function sql(text, params = []) {
  const c = new pg.Client();
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** An analyst's token when run.sh made one (LTV_TEST_TOKEN), as the dashboard sends it. */
export function authHeader() {
  return process.env.LTV_TEST_TOKEN ? { Authorization: `Bearer ${process.env.LTV_TEST_TOKEN}` } : {};
}

/** POST /rpc/<fn> with a JSON body (object or raw string). Returns {status, body, text}. */
export async function rpc(fn, body = {}, { url = baseUrl(), headers = {}, anonymous = false } = {}) {
  const res = await fetch(`${url}/rpc/${fn}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(anonymous ? {} : authHeader()), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed, text };
}

/** Starts another instance of the local server with extra env; resolves {url, stop}. */
export function startServer(extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'web', 'server', 'index.js')], {
      env: { ...process.env, LTV_WEB_HOST: '127.0.0.1', LTV_WEB_PORT: '0', LTV_WEB_LOG: '0', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`server did not start: ${err}`)); }, 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /(http:\/\/[^\s]+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }),
        });
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}: ${err}`)); });
  });
}

/** The state of the database that a rejected request must leave unchanged. */
export async function dbFingerprint() {
  const [row] = await sql(`
    SELECT (SELECT count(*) FROM ltv.datasets)::int AS datasets,
           (SELECT coalesce(string_agg(dataset_id || ':' || name, ',' ORDER BY dataset_id), '') FROM ltv.datasets) AS names,
           (SELECT count(*) FROM ltv.transactions)::int AS transactions,
           (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname IN ('ltv', 'ltv_api', 'public'))::int AS relations,
           (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname IN ('ltv', 'ltv_api', 'public'))::int AS functions,
           to_regclass('ltv.datasets') IS NOT NULL AS datasets_table`);
  return row;
}

// An RFC 4180 reader written from the grammar, independent of the writer: records end at CRLF
// outside quotes; inside a quoted field "" is one quote.
export function readCsv(text) {
  const records = [];
  let record = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i += 1; continue; }
      field += c; i += 1; continue;
    }
    if (c === '"' && field === '') { quoted = true; i += 1; continue; }
    assert.notEqual(c, '"', `bare quote at ${i}`);
    if (c === ',') { record.push(field); field = ''; i += 1; continue; }
    if (c === '\r' && text[i + 1] === '\n') { record.push(field); records.push(record); record = []; field = ''; i += 2; continue; }
    assert.ok(c !== '\r' && c !== '\n', `bare line break at ${i}`);
    field += c; i += 1;
  }
  assert.equal(field, '', 'the last record ends with CRLF');
  assert.equal(record.length, 0);
  return records;
}
