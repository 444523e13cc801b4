// Postgres error -> HTTP status and PostgREST-style body, as PostgREST does it.
//
// The table follows PostgREST's src/PostgREST/Error.hs (pgErrorStatus) and its documented
// "HTTP Status Codes" table, with the one choice docs/api.md fixes for this project:
// 54xxx (program limit exceeded, e.g. too many rows for the configured limits) is 413, as in
// PostgREST up to v12.0 (later PostgREST versions answer 500 for it; docker/ pins a 12.0 image).
// The local server always runs as PostgREST's anonymous role, so 42501 is 401.

/**
 * HTTP status for a SQLSTATE.
 * @param {string|undefined} code five-character SQLSTATE (or PTxyz)
 * @param {{authenticated?: boolean, message?: string}} [opts]
 * @returns {number}
 */
export function httpStatusForSqlState(code, opts = {}) {
  const c = String(code || '');
  const msg = String(opts.message || '');
  if (c.length !== 5) return 500;
  const p2 = c.slice(0, 2);

  // PTxyz: "respond with HTTP xyz"
  if (p2 === 'PT') {
    const n = Number(c.slice(2));
    return Number.isInteger(n) && n >= 100 && n <= 599 ? n : 500;
  }
  switch (c) {
    case '23503': return 409; // foreign_key_violation
    case '23505': return 409; // unique_violation
    case '25006': return 405; // read_only_sql_transaction
    case '21000': return msg.endsWith('requires a WHERE clause') ? 400 : 500; // cardinality
    case '22023': // invalid_parameter_value; a role that does not exist is an auth problem
      return msg.startsWith('role') && msg.endsWith('does not exist') ? 401 : 400;
    case '42883': return 404; // undefined_function
    case '42P01': return 404; // undefined_table
    case '42P17': return 500; // infinite recursion
    case '42501': return opts.authenticated ? 403 : 401; // insufficient_privilege
    case 'P0001': return 400; // default code of RAISE
    case '57P01': return 503; // terminating connection due to administrator command
    default: break;
  }
  switch (p2) {
    case '08': return 503; // connection exception
    case '09': return 500; // triggered action exception
    case '0L': return 403; // invalid grantor
    case '0P': return 403; // invalid role specification
    case '25': return 500; // invalid transaction state
    case '28': return 403; // invalid authorization specification
    case '2D': return 500; // invalid transaction termination
    case '38': return 500; // external routine exception
    case '39': return 500; // external routine invocation exception
    case '3B': return 500; // savepoint exception
    case '40': return 500; // transaction rollback
    case '53': return 503; // insufficient resources
    case '54': return 413; // program limit exceeded ("too complex"); see the note above
    case '55': return 500; // object not in prerequisite state
    case '57': return 500; // operator intervention (57014 query_canceled / statement_timeout)
    case '58': return 500; // system error
    case 'F0': return 500; // configuration file error
    case 'HV': return 500; // foreign data wrapper error
    case 'P0': return 500; // PL/pgSQL error
    case 'XX': return 500; // internal error
    default: return 400;
  }
}

/**
 * An excerpt of a message: Postgres quotes input values whole (a 20 kB string given for a
 * bigint argument comes back whole in "invalid input syntax for type bigint: ..."), and the
 * dashboard shows these texts to people. Cut at a code point, with the full length told.
 */
export function excerpt(text, max = 500) {
  if (text === null || text === undefined) return null;
  const s = String(text);
  if (s.length <= max) return s;
  let cut = '';
  for (const ch of s) { // code points: a surrogate pair is never split
    if (cut.length + ch.length > max) break;
    cut += ch;
  }
  return `${cut}... (${s.length} characters)`;
}

/** PostgREST's error body: always the four keys, null when absent; texts cut to excerpts. */
export function errorBody(code, message, details = null, hint = null) {
  return {
    code: code ?? null,
    details: excerpt(details),
    hint: excerpt(hint),
    message: excerpt(message),
  };
}

/**
 * Maps an error thrown by node-postgres (or by the connection layer) to {status, body}.
 * Errors without a SQLSTATE are connection problems: 503 PGRST000, like PostgREST.
 */
export function fromPgError(err, opts = {}) {
  if (err && typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code)) {
    return {
      status: httpStatusForSqlState(err.code, { ...opts, message: err.message }),
      body: errorBody(err.code, err.message, err.detail, err.hint),
    };
  }
  return {
    status: 503,
    body: errorBody('PGRST000', 'Database connection error. Retrying the connection.',
      err && err.message ? String(err.message) : null, null),
  };
}
