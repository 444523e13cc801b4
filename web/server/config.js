// Configuration from the environment. Connection settings are libpq's PG* variables
// (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD), read by node-postgres itself.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { secretFromEnv } from './auth.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function intFromEnv(env, name, def, { min = 0 } = {}) {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export function loadConfig(env = process.env) {
  const bodyLimitMb = intFromEnv(env, 'LTV_WEB_BODY_LIMIT_MB', 100, { min: 0 });
  return {
    host: env.LTV_WEB_HOST || '127.0.0.1',
    port: intFromEnv(env, 'LTV_WEB_PORT', 8080, { min: 0 }),
    bodyLimitBytes: Math.floor(bodyLimitMb * 1024 * 1024),
    statementTimeoutMs: intFromEnv(env, 'LTV_WEB_STATEMENT_TIMEOUT_MS', 300000, { min: 0 }),
    // Slow clients: the whole request (headers and body) must arrive within requestTimeoutMs
    // (10 minutes: a 100 MB upload at ~1.5 Mbit/s), and a body that stops flowing for
    // bodyIdleTimeoutMs is cut off. Before, requestTimeout was 0 and a client sending one
    // byte a minute held its socket (and its buffered body) forever.
    requestTimeoutMs: intFromEnv(env, 'LTV_WEB_REQUEST_TIMEOUT_MS', 600000, { min: 1000 }),
    headersTimeoutMs: intFromEnv(env, 'LTV_WEB_HEADERS_TIMEOUT_MS', 30000, { min: 1000 }),
    bodyIdleTimeoutMs: intFromEnv(env, 'LTV_WEB_BODY_IDLE_TIMEOUT_MS', 60000, { min: 100 }),
    // The anonymous role (no token). ltv_web only reads; naming a writing role here is an
    // explicit local-development choice (docs/security.md).
    role: env.LTV_WEB_ROLE || 'ltv_web',
    jwtSecret: secretFromEnv(env),
    schema: 'ltv_api',
    // Rows per FETCH of a CSV download: the server holds one batch at a time.
    csvBatchRows: intFromEnv(env, 'LTV_WEB_CSV_BATCH_ROWS', 2000, { min: 1 }),
    poolSize: intFromEnv(env, 'LTV_WEB_POOL_SIZE', 10, { min: 1 }),
    distDir: env.LTV_WEB_DIST ? path.resolve(env.LTV_WEB_DIST) : path.resolve(here, '..', 'dist'),
    logRequests: env.LTV_WEB_LOG !== '0',
  };
}
