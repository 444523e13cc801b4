#!/usr/bin/env node
// Entry point of the local server: node web/server/index.js
//   PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD   the database (libpq style)
//   LTV_WEB_HOST (127.0.0.1)  LTV_WEB_PORT (8080; 0 picks a free port)
//   LTV_WEB_BODY_LIMIT_MB (100)  LTV_WEB_STATEMENT_TIMEOUT_MS (300000)  LTV_WEB_ROLE (ltv_web)
//   LTV_WEB_DIST (web/dist)  LTV_WEB_LOG (1; 0 silences the request log)
//   LTV_JWT_SECRET (or PGRST_JWT_SECRET): HS256 secret of the tokens whose "role" claim picks
//   the role (docs/security.md). Without it the server only serves 127.0.0.1, as ltv_web
//   (read-only), and says so.
// Prints "retail_ltv dashboard: http://HOST:PORT/" on stdout once listening.
import { loadConfig } from './config.js';
import { createApp } from './app.js';

let cfg;
try {
  cfg = loadConfig();
} catch (err) {
  process.stderr.write(`ltv web server: ${err.message}\n`);
  process.exit(2);
}

const loopback = ['127.0.0.1', 'localhost', '::1'].includes(cfg.host);
if (!cfg.jwtSecret && !loopback) {
  process.stderr.write(`ltv web server: no LTV_JWT_SECRET: refusing to serve ${cfg.host}; without a secret only 127.0.0.1 is served (read-only)\n`);
  process.exit(2);
}
if (!cfg.jwtSecret) {
  process.stderr.write(`ltv web server: no LTV_JWT_SECRET: every request runs as the anonymous role ${cfg.role}${cfg.role === 'ltv_web' ? ' (read-only)' : ''}, 127.0.0.1 only\n`);
}

const { server, close } = createApp(cfg);
server.on('error', (err) => {
  process.stderr.write(`ltv web server: cannot listen on ${cfg.host}:${cfg.port}: ${err.message}\n`);
  process.exit(1);
});
server.listen(cfg.port, cfg.host, () => {
  const addr = server.address();
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  process.stdout.write(`retail_ltv dashboard: http://${host}:${addr.port}/\n`);
});

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (stopping) process.exit(1);
    stopping = true;
    close().then(() => process.exit(0), () => process.exit(1));
    setTimeout(() => process.exit(0), 3000).unref();
  });
}
