// The streaming reader of upload bodies (web/server/upload.js) against JSON.parse, the
// independent computation: the same object, whatever pieces the body arrives in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidJson, JsonBodyScanner, OtherArgumentsTooLarge } from '../../upload.js';

// Feeds `text` in pieces of the given sizes (cycled) and returns {csv, rest} as decoded.
function scan(text, sizes, { pieceBytes = 7, maxOtherBytes = 1 << 20 } = {}) {
  const s = new JsonBodyScanner('csv', { pieceBytes, maxOtherBytes });
  const body = Buffer.from(text, 'utf8');
  const out = [];
  for (let i = 0, k = 0; i < body.length; k++) {
    const n = sizes[k % sizes.length];
    s.feed(body.subarray(i, i + n));
    out.push(...s.takePieces());
    i += n;
  }
  s.end();
  out.push(...s.takePieces());
  for (const p of out) assert.ok(p.length <= pieceBytes, 'pieces are bounded');
  return { csv: s.streamed ? Buffer.concat(out).toString('utf8') : undefined, rest: JSON.parse(s.rest()), s };
}

const CASES = [
  { name: 'shop', csv: 'InvoiceNo,Quantity\n1,"a ""quoted"" \\ value"\r\n2,3\t4\n', options: { replace: true, columns: { a: '}{,"' } } },
  { csv: 'Ünïcödé ✓ 𝄞 emoji 😀 \u0001 \u001f \u2028', name: 'u', extra: [1, { a: ['}', ']'] }, null, true, 2.5e-3] },
  { options: { x: 'csv' }, csv: '', name: 'empty' },
  { name: 'n', csv: 'x'.repeat(100) + '\\' + '"'.repeat(20) },
];

test('decodes the csv string and keeps the other members, for every way of cutting the body', () => {
  for (const c of CASES) {
    for (const space of ['', ' \n ']) {
      const text = space + JSON.stringify(c, null, space ? 1 : 0) + space;
      for (const sizes of [[1], [2], [3, 1], [5], [13, 2, 7], [text.length]]) {
        const { csv, rest } = scan(text, sizes);
        assert.equal(csv, c.csv, `csv of ${JSON.stringify(c).slice(0, 30)} in pieces of ${sizes}`);
        const expected = { ...c };
        delete expected.csv;
        assert.deepEqual(rest, expected);
      }
    }
  }
});

test('escapes: \\u pairs, a lone surrogate becomes U+FFFD as Node encodes it', () => {
  const text = '{"csv":"a\\u00e9\\uD834\\uDD1E\\uD800x\\uDC00\\n\\/\\b\\f\\r\\t", "name": "x"}';
  for (const sizes of [[1], [4], [100]]) {
    const { csv } = scan(text, sizes);
    assert.equal(Buffer.from(csv, 'utf8').toString('hex'),
      Buffer.from(JSON.parse(text).csv, 'utf8').toString('hex'));
  }
});

test('a csv that is not a string stays with the other members', () => {
  const { csv, rest, s } = scan('{"csv": ["a", 1], "name": "n"}', [3]);
  assert.equal(csv, undefined);
  assert.equal(s.streamed, false);
  assert.deepEqual(rest, { csv: ['a', 1], name: 'n' });
  assert.deepEqual(scan('', [1]).rest, {}, 'an empty body is no arguments');
});

test('invalid bodies are errors, as JSON.parse finds them', () => {
  for (const bad of ['[1]', '{"csv": "a\nb"}', '{"csv": "a"', '{"csv": "\\x"}', '{"a" 1}', '{"csv": "a",}',
    '{"csv": "a"} x', '{"csv": "a", "csv": "b"}', '{"csv": 1, "csv": "b"}', '{"csv": "\\u12"}']) {
    assert.throws(() => scan(bad, [2]), InvalidJson, bad);
  }
  // Values other than csv are checked by JSON.parse of rest(), as the server does.
  assert.throws(() => scan('{"name": tru, "csv": "a"}', [2]), SyntaxError);
});

test('the members other than csv are bounded', () => {
  assert.throws(() => scan(JSON.stringify({ name: 'x'.repeat(100), csv: 'a' }), [10], { maxOtherBytes: 50 }),
    OtherArgumentsTooLarge);
  assert.equal(scan(JSON.stringify({ name: 'n', csv: 'x'.repeat(1000) }), [10], { maxOtherBytes: 50 }).csv.length, 1000);
});
