// POST /rpc/upload_dataset without holding the upload: the body is read as it arrives, the
// file's text (the JSON string "csv") is decoded piece by piece into a large object that the
// call's transaction creates, and the import then reads that object
// (ltv_api.upload_dataset_object). The server holds one piece at a time; the database holds
// the file once (docs/api.md, "Uploads"). The answer is the one upload_dataset gives: same
// argument matching, same errors, same result.
import { fromPgError } from './errors.js';
import { beginAsWebRole, callFunction, quoteIdent, resolveCall } from './rpc.js';

// The call that streams, the argument that is streamed and what it becomes.
const STREAMED_FUNCTION = 'upload_dataset';
const STREAMED_ARGUMENT = 'csv';
const OBJECT_FUNCTION = 'upload_dataset_object';
const OBJECT_ARGUMENT = 'object';
// Bytes per lo_put: large enough that a 100 MB file is ~100 round trips.
const PIECE_BYTES = 1 << 20;
// The other arguments (name, options) are held whole; they are small by nature.
const MAX_OTHER_BYTES = 1 << 20;

export function streamsUpload(fn) {
  return fn === STREAMED_FUNCTION;
}

export class InvalidJson extends Error {}
export class OtherArgumentsTooLarge extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const SIMPLE_ESCAPES = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

/**
 * Reads a JSON object body in pieces. The string value of one top-level key (`streamedKey`)
 * comes out decoded to UTF-8 bytes, in pieces of up to `pieceBytes` (takePieces()); every other
 * member is kept as its JSON text, to be parsed once the body is complete (rest()). Bytes of
 * the streamed string pass through as they are (the import checks its own UTF-8); escapes are
 * decoded as JSON.parse decodes them, a lone surrogate as U+FFFD as Node encodes it.
 */
export class JsonBodyScanner {
  constructor(streamedKey, { pieceBytes = PIECE_BYTES, maxOtherBytes = MAX_OTHER_BYTES } = {}) {
    this.streamedKey = streamedKey;
    this.pieceBytes = pieceBytes;
    this.maxOtherBytes = maxOtherBytes;
    this.state = 'start';
    this.members = []; // [rawKeyJson, rawValueJson] of the members not streamed
    this.otherBytes = 0;
    this.sawStreamedKey = false;
    this.streamed = false; // the streamed key's value was a string (read as it came)
    this.streamedBytes = 0;
    this.pieces = [];
    this.out = null;
    this.outPos = 0;
    this.spare = []; // written pieces' buffers, reused: the upload needs two, however large
    this.raw = []; // the current key or value, as byte runs
    this.rawKey = null;
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    this.unicode = null; // hex digits of a \u escape being read
    this.highSurrogate = -1;
  }

  feed(buf) {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      const c = buf[i];
      switch (this.state) {
        case 'start':
          if (isSpace(c)) { i++; break; }
          if (c !== 0x7b) throw new InvalidJson('the body must be a JSON object of named arguments');
          this.state = 'keyOrEnd'; i++; break;
        case 'keyOrEnd':
        case 'key':
          if (isSpace(c)) { i++; break; }
          if (c === 0x7d && this.state === 'keyOrEnd') { this.state = 'done'; i++; break; }
          if (c !== QUOTE) throw new InvalidJson(`expected a member name at byte ${i}`);
          this.state = 'keyString'; this.raw = [Buffer.from('"')]; this.escape = false; i++; break;
        case 'keyString': {
          const start = i;
          while (i < n) {
            const k = buf[i++];
            if (this.escape) { this.escape = false; continue; }
            if (k === BACKSLASH) { this.escape = true; continue; }
            if (k === QUOTE) { this.state = 'colon'; break; }
          }
          this.keep(buf.subarray(start, i));
          if (this.state === 'colon') {
            this.rawKey = this.takeRaw();
            let key;
            try { key = JSON.parse(this.rawKey); } catch (err) { throw new InvalidJson(err.message); }
            this.isStreamedKey = key === this.streamedKey;
            if (this.isStreamedKey && this.sawStreamedKey) {
              throw new InvalidJson(`the member "${this.streamedKey}" appears twice`);
            }
            this.sawStreamedKey = this.sawStreamedKey || this.isStreamedKey;
          }
          break;
        }
        case 'colon':
          if (isSpace(c)) { i++; break; }
          if (c !== 0x3a) throw new InvalidJson(`expected ':' after a member name`);
          this.state = 'value'; i++; break;
        case 'value':
          if (isSpace(c)) { i++; break; }
          if (this.isStreamedKey && c === QUOTE) {
            this.streamed = true;
            this.state = 'streamedString'; i++; break;
          }
          this.state = 'rawValue'; this.depth = 0; this.inString = false; this.escape = false;
          break;
        case 'rawValue':
          i = this.scanRawValue(buf, i);
          break;
        case 'streamedString':
          i = this.scanStreamed(buf, i);
          break;
        case 'afterValue':
          if (isSpace(c)) { i++; break; }
          if (c === 0x2c) { this.state = 'key'; i++; break; }
          if (c === 0x7d) { this.state = 'done'; i++; break; }
          throw new InvalidJson(`expected ',' or '}' after a member's value`);
        case 'done':
          if (isSpace(c)) { i++; break; }
          throw new InvalidJson('unexpected data after the JSON object');
        default:
          throw new Error(`scanner state ${this.state}`);
      }
    }
  }

  // A value other than the streamed string: kept as text, up to the next ',' or '}' outside
  // strings and brackets (JSON.parse checks it later).
  scanRawValue(buf, i) {
    const start = i;
    const n = buf.length;
    while (i < n) {
      const c = buf[i];
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === BACKSLASH) this.escape = true;
        else if (c === QUOTE) this.inString = false;
      } else if (c === QUOTE) {
        this.inString = true;
      } else if (c === 0x7b || c === 0x5b) {
        this.depth++;
      } else if ((c === 0x7d || c === 0x5d) && this.depth > 0) {
        this.depth--;
      } else if ((c === 0x2c || c === 0x7d) && this.depth === 0) {
        this.keep(buf.subarray(start, i));
        this.members.push([this.rawKey, this.takeRaw().trim()]);
        this.state = 'afterValue';
        return i; // the ',' or '}' is read in state afterValue
      }
      i++;
    }
    this.keep(buf.subarray(start, i));
    return i;
  }

  scanStreamed(buf, i) {
    const n = buf.length;
    while (i < n) {
      if (this.unicode !== null) {
        while (i < n && this.unicode.length < 4) this.unicode += String.fromCharCode(buf[i++]);
        if (this.unicode.length < 4) return i;
        if (!/^[0-9a-fA-F]{4}$/.test(this.unicode)) throw new InvalidJson(`bad \\u escape "\\u${this.unicode}"`);
        const unit = parseInt(this.unicode, 16);
        this.unicode = null;
        this.codeUnit(unit);
        continue;
      }
      if (this.escape) {
        const c = buf[i++];
        this.escape = false;
        if (c === 0x75) { this.unicode = ''; continue; }
        const decoded = SIMPLE_ESCAPES[c];
        if (decoded === undefined) throw new InvalidJson(`bad escape "\\${String.fromCharCode(c)}" in "${this.streamedKey}"`);
        this.flushSurrogate();
        this.emitByte(decoded);
        continue;
      }
      // A run of plain bytes, copied at once.
      let j = i;
      while (j < n) {
        const c = buf[j];
        if (c === QUOTE || c === BACKSLASH) break;
        if (c < 0x20) throw new InvalidJson(`a control character (0x${c.toString(16).padStart(2, '0')}) in "${this.streamedKey}" must be escaped`);
        j++;
      }
      if (j > i) {
        this.flushSurrogate();
        this.emitBytes(buf, i, j);
        i = j;
      }
      if (i === n) break;
      const c = buf[i++];
      if (c === BACKSLASH) { this.escape = true; continue; }
      // The closing quote.
      this.flushSurrogate();
      this.state = 'afterValue';
      return i;
    }
    return i;
  }

  codeUnit(unit) {
    if (unit >= 0xd800 && unit <= 0xdbff) {
      this.flushSurrogate();
      this.highSurrogate = unit;
      return;
    }
    let cp = unit;
    if (unit >= 0xdc00 && unit <= 0xdfff) {
      if (this.highSurrogate < 0) { this.emitCodePoint(0xfffd); return; }
      cp = 0x10000 + ((this.highSurrogate - 0xd800) << 10) + (unit - 0xdc00);
      this.highSurrogate = -1;
    } else {
      this.flushSurrogate();
    }
    this.emitCodePoint(cp);
  }

  flushSurrogate() {
    if (this.highSurrogate >= 0) {
      this.highSurrogate = -1;
      this.emitCodePoint(0xfffd);
    }
  }

  emitCodePoint(cp) {
    const b = Buffer.from(String.fromCodePoint(cp), 'utf8');
    this.emitBytes(b, 0, b.length);
  }

  newPiece() {
    this.out = this.spare.pop() || Buffer.allocUnsafe(this.pieceBytes);
    this.outPos = 0;
  }

  /** Gives back a piece handed out by takePieces() once it is written, for reuse. */
  recycle(piece) {
    if (piece.byteOffset === 0 && piece.buffer.byteLength === this.pieceBytes && this.spare.length < 2) {
      this.spare.push(Buffer.from(piece.buffer));
    }
  }

  emitByte(b) {
    if (!this.out) this.newPiece();
    this.out[this.outPos++] = b;
    this.streamedBytes++;
    if (this.outPos === this.pieceBytes) this.endPiece();
  }

  emitBytes(buf, start, end) {
    while (start < end) {
      if (!this.out) this.newPiece();
      const n = Math.min(end - start, this.pieceBytes - this.outPos);
      buf.copy(this.out, this.outPos, start, start + n);
      this.outPos += n;
      this.streamedBytes += n;
      start += n;
      if (this.outPos === this.pieceBytes) this.endPiece();
    }
  }

  endPiece() {
    if (this.out && this.outPos > 0) this.pieces.push(this.out.subarray(0, this.outPos));
    this.out = null;
    this.outPos = 0;
  }

  keep(bytes) {
    if (bytes.length === 0) return;
    this.otherBytes += bytes.length;
    if (this.otherBytes > this.maxOtherBytes) {
      throw new OtherArgumentsTooLarge(`the arguments other than "${this.streamedKey}" exceed ${this.maxOtherBytes} bytes`);
    }
    this.raw.push(Buffer.from(bytes)); // a copy: the request's buffer is not kept
  }

  takeRaw() {
    const text = Buffer.concat(this.raw).toString('utf8');
    this.raw = [];
    return text;
  }

  /** The decoded pieces of the streamed string so far (each handed out once). */
  takePieces() {
    if (this.state !== 'streamedString') this.endPiece();
    const pieces = this.pieces;
    this.pieces = [];
    return pieces;
  }

  /** At the end of the body: checks it was one complete object. */
  end() {
    if (this.state === 'start') return; // an empty body: no arguments, as before
    if (this.state !== 'done') throw new InvalidJson('the body ends before its JSON object does');
    this.endPiece();
  }

  /** The JSON text of the object without the streamed member (with it when it was not a string). */
  rest() {
    return `{${this.members.map(([k, v]) => `${k}:${v}`).join(',')}}`;
  }
}

// The large object the call's transaction writes the pieces into. Opened at the first piece.
class LargeObjectSink {
  constructor(pool, cfg, auth) {
    this.pool = pool;
    this.cfg = cfg;
    this.auth = auth;
    this.client = null;
    this.oid = null;
    this.offset = 0;
    this.broken = null;
    this.closed = false;
  }

  async write(piece) {
    if (this.closed) throw new Error('the upload was abandoned');
    if (!this.client) {
      this.client = await this.pool.connect();
      const denied = await beginAsWebRole(this.client, this.cfg, this.auth);
      if (denied) {
        const err = new Error('role refused');
        err.response = denied;  // answered as is; close() rolls the transaction back
        throw err;
      }
      const { rows } = await this.client.query('SELECT pg_catalog.lo_create(0)::int8 AS oid');
      this.oid = rows[0].oid;
    }
    await this.client.query('SELECT pg_catalog.lo_put($1::oid, $2::int8, $3::bytea)', [this.oid, this.offset, piece]);
    this.offset += piece.length;
  }

  // Ends the transaction (the object goes with a rollback) and returns the connection.
  async close(commit) {
    this.closed = true;
    if (!this.client) return;
    try {
      await this.client.query(commit ? 'COMMIT' : 'ROLLBACK');
    } catch (err) {
      this.broken = this.broken || err;
    }
    this.client.release(this.broken && !this.broken.code ? this.broken : undefined);
    this.client = null;
  }
}

// Reads the body into the scanner and the pieces into the sink, one piece at a time: the
// request is paused while a piece is written. Resolves {ended}, {tooLarge, size}, {idle},
// {invalid: message}, {failed: error} or {aborted}.
function pump(req, cfg, scanner, sink) {
  return new Promise((resolve) => {
    let size = 0;
    let done = false;
    let ended = false;
    let writing = false;
    let idle = null;
    const stop = (outcome) => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      req.resume(); // what still comes is read and dropped, so the client can read the answer
      resolve(outcome);
    };
    const armIdle = () => {
      clearTimeout(idle);
      if (cfg.bodyIdleTimeoutMs) idle = setTimeout(() => stop({ idle: true }), cfg.bodyIdleTimeoutMs);
    };
    const writePieces = async () => {
      for (const piece of scanner.takePieces()) {
        if (done) return;
        await sink.write(piece);
        scanner.recycle(piece);
      }
    };
    const afterWrite = (final) => {
      writing = true;
      clearTimeout(idle); // waiting for the database is not the client's idleness
      writePieces().then(() => {
        writing = false;
        if (done) return;
        if (final) { stop({ ended: true }); return; }
        if (ended) { finish(); return; }
        armIdle();
        req.resume();
      }, (err) => { writing = false; stop({ failed: err }); });
    };
    const finish = () => {
      try {
        scanner.end();
      } catch (err) {
        stop(err instanceof InvalidJson ? { invalid: err.message } : { failed: err });
        return;
      }
      afterWrite(true);
    };
    armIdle();
    req.on('data', (chunk) => {
      if (done) return;
      armIdle();
      size += chunk.length;
      if (size > cfg.bodyLimitBytes) { stop({ tooLarge: true, size }); return; }
      try {
        scanner.feed(chunk);
      } catch (err) {
        if (err instanceof InvalidJson) stop({ invalid: err.message });
        else if (err instanceof OtherArgumentsTooLarge) stop({ tooLarge: true, size, message: err.message });
        else stop({ failed: err });
        return;
      }
      if (scanner.pieces.length) {
        req.pause();
        afterWrite(false);
      }
    });
    req.on('end', () => {
      ended = true;
      if (!done && !writing) finish();
    });
    req.on('error', () => stop({ aborted: true }));
    req.on('close', () => { if (!ended) stop({ aborted: true }); });
  });
}

/**
 * Answers POST /rpc/upload_dataset from the streaming body. Resolves {status, body} as
 * callFunction does, or {tooLarge, size}, {idle}, {invalid: message}, {aborted} for the caller
 * to answer as it answers a buffered body.
 */
export async function streamUpload(req, pool, cfg, fn, auth) {
  const scanner = new JsonBodyScanner(STREAMED_ARGUMENT);
  const sink = new LargeObjectSink(pool, cfg, auth);
  let committed = false;
  try {
    const outcome = await pump(req, cfg, scanner, sink);
    if (outcome.failed) {
      if (outcome.failed.response) return outcome.failed.response;
      sink.broken = outcome.failed;
      const e = fromPgError(outcome.failed, { authenticated: auth.authenticated });
      return { status: e.status, body: JSON.stringify(e.body) };
    }
    if (!outcome.ended) return outcome;
    let args;
    const restText = scanner.rest();
    try {
      args = JSON.parse(restText);
    } catch (err) {
      return { invalid: String(err.message) };
    }
    if (!sink.client) {
      // Nothing was streamed (no "csv" string, or an empty one): the ordinary call.
      if (scanner.streamed) args[STREAMED_ARGUMENT] = '';
      return await callFunction(pool, cfg, fn, args, JSON.stringify(args), auth);
    }
    const client = sink.client;
    const keys = [...Object.keys(args), STREAMED_ARGUMENT];
    const { match, error } = await resolveCall(client, cfg, fn, keys);
    if (error) return error;
    // The file's bytes are UTF-8 (JSON text decoded by the rules above), whatever the
    // database's encoding: said so unless the caller named an encoding itself.
    if (args.options === undefined || args.options === null) args.options = {};
    if (typeof args.options === 'object' && !Array.isArray(args.options) && !('encoding' in args.options)) {
      args.options = { ...args.options, encoding: 'utf-8' };
    }
    const given = match.args.filter((a) => a.name !== STREAMED_ARGUMENT && a.name in args);
    const named = given.map((a) => `${quoteIdent(a.name)} := _pgrst_args.${quoteIdent(a.name)}`);
    named.push(`${quoteIdent(OBJECT_ARGUMENT)} := $2::oid`);
    const sql = `SELECT pg_catalog.to_json(${quoteIdent(cfg.schema)}.${quoteIdent(OBJECT_FUNCTION)}(${named.join(', ')}))::text AS body`
      + ` FROM pg_catalog.json_to_record($1::json) AS _pgrst_args(${given.map((a) => `${quoteIdent(a.name)} ${a.type}`).join(', ')})`;
    const res = await client.query(sql, [JSON.stringify(args), sink.oid]);
    committed = true;
    await sink.close(true);
    const body = res.rows.length ? res.rows[0].body : null;
    return { status: 200, body: body === null ? 'null' : body };
  } catch (err) {
    if (!err.code) sink.broken = err;
    const e = fromPgError(err, { authenticated: auth.authenticated });
    return { status: e.status, body: JSON.stringify(e.body) };
  } finally {
    if (!committed) await sink.close(false);
  }
}

