// POST /rpc/<function> for the functions of one schema, the way PostgREST answers it for a
// JSON object of named arguments. No business logic: look the function up in pg_catalog,
// bind the arguments as one JSON parameter, run it as the web role, return its result.
import { errorBody, fromPgError } from './errors.js';
import { ROLE_CHECK_SQL } from './auth.js';
import { csvRecord } from './csv.js';

/** Quotes an identifier taken from the catalog. */
export function quoteIdent(name) {
  return '"' + String(name).replace(/"/g, '""') + '"';
}

// Every function of that name in the schema with its input arguments. Runs as the web role,
// inside the request's transaction (pg_proc is readable by every role).
const CATALOG_SQL = `
SELECT p.oid::int8 AS oid,
       p.proname,
       p.proretset,
       p.prorettype = 'pg_catalog.void'::pg_catalog.regtype AS returns_void,
       p.pronargdefaults,
       coalesce(p.proargnames, '{}'::text[]) AS argnames,
       coalesce(p.proargmodes::text[], '{}'::text[]) AS argmodes,
       array(SELECT pg_catalog.format_type(t.oid, NULL)
               FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS t(oid, i)
              ORDER BY t.i) AS argtypes
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = $1 AND p.proname = $2 AND p.prokind = 'f'`;

/** Input arguments of a catalog row: [{name, type, hasDefault}] in declaration order. */
export function inputArgs(row) {
  const names = row.argnames || [];
  const modes = row.argmodes || [];
  const types = row.argtypes || [];
  const args = [];
  for (let i = 0; i < types.length; i++) {
    const mode = modes.length ? modes[i] : 'i';
    if (mode === 'i' || mode === 'b' || mode === 'v') {
      args.push({ name: names[i] || '', type: types[i], variadic: mode === 'v' });
    }
  }
  const firstDefault = args.length - (row.pronargdefaults || 0);
  args.forEach((a, i) => { a.hasDefault = i >= firstDefault; });
  return args;
}

/**
 * PostgREST's overload choice for a JSON object body: a function whose named input
 * arguments include every key and whose arguments without default are all given; or, with
 * a non-empty body, a function with a single unnamed json/jsonb argument (gets the body).
 */
export function matchFunction(rows, keys) {
  const keySet = new Set(keys);
  const matches = [];
  for (const row of rows) {
    const args = inputArgs(row);
    if (args.some((a) => a.variadic)) continue;
    const named = args.every((a) => a.name !== '');
    if (named && keys.every((k) => args.some((a) => a.name === k))
        && args.every((a) => a.hasDefault || keySet.has(a.name))) {
      matches.push({ row, args, singleJson: false });
    } else if (args.length === 1 && args[0].name === '' && /^jsonb?$/.test(args[0].type)) {
      matches.push({ row, args, singleJson: true });
    }
  }
  // Prefer a named-argument match over the single-json fallback, as PostgREST does.
  const named = matches.filter((m) => !m.singleJson);
  return named.length ? named : matches;
}

function notFound(schema, fn, keys, rows) {
  const sorted = [...keys].sort();
  const qualified = `${schema}.${fn}`;
  const message = sorted.length
    ? `Could not find the function ${qualified}(${sorted.join(', ')}) in the schema cache`
    : `Could not find the function ${qualified} without parameters in the schema cache`;
  const details = sorted.length
    ? `Searched for the function ${qualified} with parameters ${sorted.join(', ')} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`
    : `Searched for the function ${qualified} without parameters, but no matches were found in the schema cache.`;
  let hint = null;
  if (rows.length) {
    const a = inputArgs(rows[0]).map((x) => x.name).filter(Boolean);
    hint = `Perhaps you meant to call the function ${qualified}(${a.join(', ')})`;
  }
  return { status: 404, body: errorBody('PGRST202', message, details, hint) };
}

/** The call and its FROM list: {call, from}; only catalog names enter the text, the body is $1. */
function callParts(schema, match, keys) {
  const fn = `${quoteIdent(schema)}.${quoteIdent(match.row.proname)}`;
  if (match.singleJson) return { call: `${fn}($1::${match.args[0].type})`, from: '' };
  if (keys.length === 0) return { call: `${fn}()`, from: '' };
  const given = match.args.filter((a) => keys.includes(a.name));
  return {
    call: `${fn}(${given.map((a) => `${quoteIdent(a.name)} := _pgrst_args.${quoteIdent(a.name)}`).join(', ')})`,
    from: `pg_catalog.json_to_record($1::json) AS _pgrst_args(${given
      .map((a) => `${quoteIdent(a.name)} ${a.type}`).join(', ')})`,
  };
}

/** The rows of a set-returning call, one column per output column of the function. */
export function buildRowsSql(schema, match, keys) {
  const { call, from } = callParts(schema, match, keys);
  return `SELECT _pgrst_r.* FROM ${from ? `${from}, LATERAL ` : ''}${call} AS _pgrst_r`;
}

/** The SQL of one call, answering one row with the JSON text of the result in column body. */
export function buildCallSql(schema, match, keys) {
  const { call, from } = callParts(schema, match, keys);
  if (match.row.proretset) {
    const src = from ? `${from}, LATERAL ${call} AS _pgrst_r` : `${call} AS _pgrst_r`;
    return `SELECT coalesce(pg_catalog.json_agg(_pgrst_r), '[]')::text AS body FROM ${src}`;
  }
  return `SELECT pg_catalog.to_json(${call})::text AS body${from ? ` FROM ${from}` : ''}`;
}

/**
 * Opens the call's transaction as the request's role (a token's, once checked that it may serve
 * the API; else the anonymous role), with the statement timeout. Returns null, or the 403
 * answer when the token's role may not serve the API (the caller rolls back).
 */
export async function beginAsWebRole(client, cfg, auth) {
  await client.query('BEGIN');
  // A token's role is checked; the anonymous role is the operator's configuration.
  const check = auth.authenticated ? await client.query(ROLE_CHECK_SQL, [auth.role]) : { rows: [] };
  if (check.rows.length && !check.rows[0].ok) {
    return { status: 403, body: JSON.stringify(errorBody('42501', `permission denied to set role "${auth.role}"`)) };
  }
  await client.query(
    "SELECT pg_catalog.set_config('role', $1, true), pg_catalog.set_config('statement_timeout', $2, true)",
    [auth.role, String(cfg.statementTimeoutMs)],
  );
  return null;
}

/**
 * The function of the schema that a call with these argument names runs: {match}, or
 * {error: {status, body}} when none or several fit (PostgREST's 404 / 300).
 */
export async function resolveCall(client, cfg, fn, keys) {
  const { rows } = await client.query(CATALOG_SQL, [cfg.schema, fn]);
  const matches = matchFunction(rows, keys);
  if (matches.length === 0) {
    const e = notFound(cfg.schema, fn, keys, rows);
    return { error: { status: e.status, body: JSON.stringify(e.body) } };
  }
  if (matches.length > 1) {
    const e = errorBody('PGRST203',
      `Could not choose the best candidate function between: ${matches
        .map((m) => `${cfg.schema}.${fn}(${m.args.map((a) => `${a.name} => ${a.type}`).join(', ')})`).join(', ')}`,
      null, 'Try renaming the parameters or the function itself in the database so function overloading can be resolved');
    return { error: { status: 300, body: JSON.stringify(e) } };
  }
  return { match: matches[0] };
}

/**
 * Runs one RPC call. Returns {status, body: string|null} where body is JSON text.
 * @param {import('pg').Pool} pool
 * @param {{schema: string, role: string, statementTimeoutMs: number}} cfg
 * @param {string} fn function name from the URL (already percent-decoded)
 * @param {object} args the parsed JSON object body
 * @param {string} rawBody the body text (bound as the single JSON parameter)
 * @param {{role: string, authenticated: boolean}} [auth] the request's role (auth.js)
 */
export async function callFunction(pool, cfg, fn, args, rawBody, auth = { role: cfg.role, authenticated: false }) {
  let client;
  try {
    client = await pool.connect();
  } catch (err) {
    const e = fromPgError(err);
    return { status: e.status, body: JSON.stringify(e.body) };
  }
  let inTx = false;
  let releaseErr;
  try {
    inTx = true;
    const denied = await beginAsWebRole(client, cfg, auth);
    if (denied) {
      await client.query('ROLLBACK');
      inTx = false;
      return denied;
    }
    const keys = Object.keys(args);
    const { match, error } = await resolveCall(client, cfg, fn, keys);
    if (error) {
      await client.query('ROLLBACK');
      inTx = false;
      return error;
    }
    const sql = buildCallSql(cfg.schema, match, keys);
    const needsParam = match.singleJson || keys.length > 0;
    const res = await client.query(sql, needsParam ? [rawBody] : []);
    await client.query('COMMIT');
    inTx = false;
    if (match.row.returns_void) return { status: 204, body: null };
    const body = res.rows.length ? res.rows[0].body : null;
    return { status: 200, body: body === null ? 'null' : body };
  } catch (err) {
    if (inTx) {
      try { await client.query('ROLLBACK'); } catch { /* the connection is gone; release drops it */ }
    }
    if (!err.code) releaseErr = err; // not a server error: do not reuse this connection
    const e = fromPgError(err, { authenticated: auth.authenticated });
    return { status: e.status, body: JSON.stringify(e.body) };
  } finally {
    client.release(releaseErr);
  }
}

// Every column arrives as the text Postgres prints (no conversion to JavaScript values), so
// the CSV holds exactly what the function returns.
const AS_TEXT = { getTypeParser: () => (value) => value };

/** Resolves once the response can take more, or false when the client went away. */
function drained(res) {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok) => { res.off('drain', onDrain); res.off('close', onClose); resolve(ok); };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/**
 * Answers a call of a set-returning function as CSV (PostgREST's "Accept: text/csv"): a header
 * of the output column names, then one record per row, streamed from a cursor in the request's
 * transaction, batch by batch, waiting for the client to take each one. Errors before the first
 * row are answered as JSON with PostgREST's status; an error later cuts the response short
 * (the status is already sent). Returns {status, body} when it answered nothing itself.
 */
export async function streamCsv(pool, cfg, fn, args, rawBody, auth, res) {
  let client;
  try {
    client = await pool.connect();
  } catch (err) {
    const e = fromPgError(err);
    return { status: e.status, body: JSON.stringify(e.body) };
  }
  let inTx = false;
  let releaseErr;
  try {
    inTx = true;
    const denied = await beginAsWebRole(client, cfg, auth);
    if (denied) return denied;
    const keys = Object.keys(args);
    const { match, error } = await resolveCall(client, cfg, fn, keys);
    if (error) return error;
    if (!match.row.proretset) {
      return { status: 406, body: JSON.stringify(errorBody('PGRST107', 'None of these media types are available: text/csv',
        `${cfg.schema}.${fn} does not return a set of rows; only set-returning functions are served as CSV.`)) };
    }
    const needsParam = match.singleJson || keys.length > 0;
    await client.query(`DECLARE _ltv_csv NO SCROLL CURSOR FOR ${buildRowsSql(cfg.schema, match, keys)}`,
      needsParam ? [rawBody] : []);
    const batchRows = cfg.csvBatchRows;
    const fetchSql = { text: `FETCH ${batchRows} FROM _ltv_csv`, rowMode: 'array', types: AS_TEXT };
    let batch = await client.query(fetchSql);
    res.writeHead(200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="${fn.replace(/[^A-Za-z0-9_.-]/g, '_')}.csv"`,
      'Cache-Control': 'no-store',
    });
    let open = res.write(csvRecord(batch.fields.map((f) => f.name)));
    for (;;) {
      if (batch.rows.length) open = res.write(batch.rows.map(csvRecord).join(''));
      if (batch.rows.length < batchRows || res.destroyed) break; // done, or the client went away
      if (!open && !(await drained(res))) break;
      batch = await client.query(fetchSql);
    }
    await client.query('COMMIT');
    inTx = false;
    res.end();
    return null;
  } catch (err) {
    if (!err.code) releaseErr = err;
    if (res.headersSent) { res.destroy(); return null; }
    const e = fromPgError(err, { authenticated: auth.authenticated });
    return { status: e.status, body: JSON.stringify(e.body) };
  } finally {
    if (inTx) {
      try { await client.query('ROLLBACK'); } catch { /* the connection is gone; release drops it */ }
    }
    client.release(releaseErr);
  }
}
