#!/usr/bin/env node
// Prints a JWT for the API (HS256, signed with LTV_JWT_SECRET or PGRST_JWT_SECRET) whose "role"
// claim is the given role; see docs/security.md.
//   node web/scripts/token.mjs ROLE [HOURS]    (default 24 hours)
import { SignJWT } from 'jose';
import { secretFromEnv } from '../server/auth.js';

const [role, hours = '24'] = process.argv.slice(2);
let secret;
try {
  secret = secretFromEnv(process.env);
} catch (err) {
  process.stderr.write(`token.mjs: ${err.message}\n`);
  process.exit(2);
}
if (!role || !secret || !(Number(hours) > 0)) {
  process.stderr.write('usage: LTV_JWT_SECRET=... node web/scripts/token.mjs ROLE [HOURS]\n');
  process.exit(2);
}
const token = await new SignJWT({ role })
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setIssuedAt()
  .setExpirationTime(`${Number(hours)}h`)
  .sign(secret);
process.stdout.write(`${token}\n`);
