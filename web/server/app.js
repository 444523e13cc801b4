// The local server: the built dashboard (web/dist) and POST /rpc/<function> for schema
// ltv_api, answered as PostgREST would. See docs/api.md and DESIGN.md, "HTTP API".
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { errorBody } from './errors.js';
import { callFunction, streamCsv } from './rpc.js';
import { authenticate } from './auth.js';
import { streamsUpload, streamUpload } from './upload.js';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

function sendJson(res, status, bodyText, extraHeaders = {}) {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    ...extraHeaders,
  });
  res.end(bodyText ?? undefined);
}

function sendError(res, status, code, message, details = null, hint = null, headers = {}) {
  sendJson(res, status, JSON.stringify(errorBody(code, message, details, hint)), headers);
}

/** Reads the body up to limit bytes; resolves {text}, {tooLarge: true} or {idle: true}. */
function readBody(req, limit, idleMs) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let done = false;
    // A body that stops flowing is abandoned: the socket and what it buffered are freed.
    let idle = null;
    const armIdle = () => {
      if (!idleMs) return;
      clearTimeout(idle);
      idle = setTimeout(() => {
        if (done) return;
        done = true;
        chunks.length = 0;
        resolve({ idle: true });
      }, idleMs);
    };
    armIdle();
    req.on('data', (chunk) => {
      armIdle();
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        resolve({ tooLarge: true, size });
        // Keep draining without storing so the client can read the 413.
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(idle);
      if (!done) { done = true; resolve({ text: Buffer.concat(chunks, size).toString('utf8') }); }
    });
    req.on('error', (err) => { clearTimeout(idle); if (!done) { done = true; reject(err); } });
    req.on('close', () => clearTimeout(idle));
  });
}

function tooLarge(res, cfg, size, details = null) {
  const limitMb = cfg.bodyLimitBytes / (1024 * 1024);
  sendError(res, 413, 'PGRST413', 'Payload Too Large',
    details || `The request body${size ? ` (${size} bytes or more)` : ''} exceeds the limit of ${cfg.bodyLimitBytes} bytes (${limitMb} MB).`,
    'Raise LTV_WEB_BODY_LIMIT_MB to accept larger uploads.',
    { Connection: 'close' });
}

/** Whether the client asks for CSV (PostgREST's text/csv) rather than JSON. */
export function wantsCsv(req) {
  const types = String(req.headers.accept || '').toLowerCase().split(',').map((t) => t.split(';')[0].trim());
  const csv = types.indexOf('text/csv');
  const json = types.indexOf('application/json');
  return csv >= 0 && (json < 0 || csv < json);
}

async function handleRpc(req, res, cfg, pool, fnRaw) {
  if (req.method !== 'POST') {
    sendError(res, 405, 'PGRST117', `Unsupported HTTP method: ${req.method}`,
      'This server answers POST /rpc/<function> only.', null, { Allow: 'POST' });
    return;
  }
  let fn;
  try {
    fn = decodeURIComponent(fnRaw);
  } catch {
    sendError(res, 404, 'PGRST202', 'Could not find the function in the schema cache');
    return;
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > cfg.bodyLimitBytes) {
    tooLarge(res, cfg, declared);
    req.resume(); // discard; the connection closes after the answer
    return;
  }
  const ctype = String(req.headers['content-type'] || 'application/json').toLowerCase();
  if (!ctype.startsWith('application/json') && !ctype.startsWith('text/plain')) {
    req.resume();
    sendError(res, 415, 'PGRST107', `None of these media types are available: ${ctype}`);
    return;
  }
  // The token is checked before any of the body is read: an upload's body goes to the
  // database, as the token's role, as it arrives (upload.js); other bodies are small.
  const auth = await authenticate(req, cfg);
  if (auth.error) {
    req.resume();
    sendJson(res, auth.error.status, JSON.stringify(auth.error.body), auth.error.headers);
    return;
  }
  const body = streamsUpload(fn) ? await streamUpload(req, pool, cfg, fn, auth)
    : await readBody(req, cfg.bodyLimitBytes, cfg.bodyIdleTimeoutMs);
  if (body.tooLarge) { tooLarge(res, cfg, body.size, body.message); return; }
  if (body.idle) {
    sendError(res, 408, 'PGRSTX08', 'Request Timeout',
      `No part of the request body arrived for ${cfg.bodyIdleTimeoutMs} ms.`, null,
      { Connection: 'close' });
    res.on('finish', () => req.destroy());
    return;
  }
  if (body.aborted) { res.destroy(); return; }
  if (body.invalid) { sendError(res, 400, 'PGRST102', 'Empty or invalid json', body.invalid); return; }
  if (body.status) { sendJson(res, body.status, body.body); return; }

  let args = {};
  const text = body.text.trim() === '' ? '{}' : body.text;
  try {
    args = JSON.parse(text);
  } catch (err) {
    sendError(res, 400, 'PGRST102', 'Empty or invalid json', String(err.message));
    return;
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    sendError(res, 400, 'PGRST102', 'Empty or invalid json',
      'The body must be a JSON object of named arguments.');
    return;
  }
  if (wantsCsv(req)) {
    const answered = await streamCsv(pool, cfg, fn, args, text, auth, res);
    if (answered) sendJson(res, answered.status, answered.body);
    return;
  }
  const out = await callFunction(pool, cfg, fn, args, text, auth);
  sendJson(res, out.status, out.body);
}

function serveStatic(req, res, cfg, urlPath) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Method not allowed\n');
    return;
  }
  const root = cfg.distDir;
  let rel;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Bad path\n');
    return;
  }
  let file = path.resolve(root, '.' + path.posix.normalize('/' + rel));
  if (file !== root && !file.startsWith(root + path.sep)) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Not found\n');
    return;
  }
  let st = null;
  try { st = fs.statSync(file); } catch { st = null; }
  if (st && st.isDirectory()) {
    file = path.join(file, 'index.html');
    try { st = fs.statSync(file); } catch { st = null; }
  }
  if (!st) {
    // Single-page app: paths without an extension get index.html; missing assets are 404.
    if (path.extname(rel) === '') {
      file = path.join(root, 'index.html');
      try { st = fs.statSync(file); } catch { st = null; }
    }
    if (!st) {
      const built = fs.existsSync(path.join(root, 'index.html'));
      res.writeHead(built ? 404 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(built ? 'Not found\n' : `The dashboard is not built (${root} is missing): run web/scripts/build.sh\n`);
      return;
    }
  }
  const ext = path.extname(file).toLowerCase();
  const immutable = file.includes(`${path.sep}assets${path.sep}`);
  res.writeHead(200, {
    'Content-Type': MIME[ext] || 'application/octet-stream',
    'Content-Length': st.size,
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') { res.end(); return; }
  fs.createReadStream(file).pipe(res);
}

/** Creates the server (not listening yet) and its pool. */
export function createApp(cfg, { pool } = {}) {
  const ownPool = !pool;
  pool = pool || new pg.Pool({ max: cfg.poolSize, application_name: 'ltv_web_server' });
  pool.on('error', () => { /* idle client died; the pool replaces it */ });

  const server = http.createServer(async (req, res) => {
    const started = Date.now();
    const url = new URL(req.url, 'http://localhost');
    const m = /^\/rpc\/([^/]+)\/?$/.exec(url.pathname);
    try {
      if (m) await handleRpc(req, res, cfg, pool, m[1]);
      else if (url.pathname.startsWith('/rpc/') || url.pathname === '/rpc') {
        sendError(res, 404, 'PGRST125', `Invalid path specified in request URL`);
      } else serveStatic(req, res, cfg, url.pathname);
    } catch (err) {
      if (!res.headersSent) sendError(res, 500, 'PGRSTX00', 'Internal server error', String(err && err.message));
      else res.destroy();
    } finally {
      if (cfg.logRequests && m) {
        res.on('finish', () => {
          process.stderr.write(`${new Date().toISOString()} ${req.method} ${url.pathname} ${res.statusCode} ${Date.now() - started}ms\n`);
        });
      }
    }
  });
  // Large uploads get the time a 100 MB body needs on a slow link (requestTimeoutMs), and no
  // more: a client that trickles a body is cut off (Node answers 408). The statement timeout
  // bounds the database side; the response of a long call is not limited by these.
  server.requestTimeout = cfg.requestTimeoutMs ?? 600000;
  server.headersTimeout = Math.min(cfg.headersTimeoutMs ?? 30000, server.requestTimeout);
  server.keepAliveTimeout = 5000;

  async function close() {
    const closed = new Promise((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
    if (ownPool) await pool.end();
  }
  return { server, pool, close };
}
