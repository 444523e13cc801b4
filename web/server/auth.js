// Authentication the way PostgREST does it (docs/api.md, "Security"): a JWT signed with HS256
// and a shared secret, whose `role` claim names the database role the request runs as
// (SET LOCAL ROLE); no token means the anonymous role. Tokens are checked by `jose`, not by
// code of ours. Error bodies and statuses are PostgREST's:
//   a token but no secret configured  500 PGRST300 "Server lacks JWT secret"
//   bad signature, malformed, expired 401 PGRST301 (with WWW-Authenticate)
//   a role that does not exist        401 22023 (from SET ROLE; errors.js)
// and one rule of this server: a role that is not an API role (a superuser, a BYPASSRLS role,
// or one that is neither a viewer nor a reader) is refused with 403 42501, because the local
// server connects as whoever PGUSER is, often a superuser, where PostgREST's authenticator
// role could only switch to roles granted to it.
import { jwtVerify, errors as joseErrors } from 'jose';
import { errorBody } from './errors.js';

/** The secret as PostgREST takes it: at least 32 characters. Null when unset. */
export function secretFromEnv(env) {
  const raw = env.LTV_JWT_SECRET || env.PGRST_JWT_SECRET || '';
  if (raw === '') return null;
  if (raw.length < 32) throw new Error('LTV_JWT_SECRET must be at least 32 characters (as PostgREST requires)');
  return new TextEncoder().encode(raw);
}

function jwtError(message) {
  return {
    status: 401,
    body: errorBody('PGRST301', message),
    headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"` },
  };
}

/**
 * The role a request runs as: {role, authenticated} or {error: {status, body, headers}}.
 * @param {import('node:http').IncomingMessage} req
 * @param {{jwtSecret: Uint8Array|null, role: string}} cfg  cfg.role is the anonymous role
 */
export async function authenticate(req, cfg) {
  const header = req.headers.authorization;
  if (header === undefined || header === '') return { role: cfg.role, authenticated: false };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return { error: jwtError('JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)') };
  if (!cfg.jwtSecret) {
    return { error: { status: 500, body: errorBody('PGRST300', 'Server lacks JWT secret'), headers: {} } };
  }
  let payload;
  try {
    ({ payload } = await jwtVerify(m[1], cfg.jwtSecret, { algorithms: ['HS256'] }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return { error: jwtError('JWT expired') };
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) return { error: jwtError('JWSError JWSInvalidSignature') };
    return { error: jwtError(`JWSError ${err && err.code ? err.code : 'JWSInvalidToken'}`) };
  }
  if (typeof payload.role !== 'string' || payload.role === '') return { role: cfg.role, authenticated: true };
  return { role: payload.role, authenticated: true };
}

// Whether a role may serve API requests; runs in the request's transaction before SET ROLE.
// No row: the role does not exist, and SET ROLE then fails as PostgREST's does (22023).
export const ROLE_CHECK_SQL = `
SELECT NOT r.rolsuper AND NOT r.rolbypassrls
       AND (pg_catalog.pg_has_role(r.oid, 'ltv_viewer', 'USAGE') OR pg_catalog.pg_has_role(r.oid, 'ltv_reader', 'USAGE')) AS ok
  FROM pg_catalog.pg_roles r WHERE r.rolname = $1`;
