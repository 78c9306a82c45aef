// The QR generator's output is read back by an independent decoder (jsQR) at every size the host
// screen may need, including versions with version-information blocks (7+).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsQR from 'jsqr';
import { qrEncode } from '../../static/js/qr.js';

function decode(text) {
  const q = qrEncode(text);
  const scale = 4; const quiet = 4; const dim = (q.size + 2 * quiet) * scale;
  const px = new Uint8ClampedArray(dim * dim * 4).fill(255);
  for (let y = 0; y < dim; y++) {
    for (let x = 0; x < dim; x++) {
      if (q.get(Math.floor(x / scale) - quiet, Math.floor(y / scale) - quiet)) {
        const o = (y * dim + x) * 4;
        px[o] = px[o + 1] = px[o + 2] = 0;
      }
    }
  }
  const r = jsQR(px, dim, dim);
  return { version: q.version, data: r && r.data };
}

test('QR codes of join URLs decode to the same URL', () => {
  for (const url of ['http://127.0.0.1:8080/join/ABC234', 'https://trivia.example.com/join/XYZ789', 'http://[::1]:43121/join/HJKMNP', 'https://café.example/join/QRSTUV']) {
    assert.equal(decode(url).data, url);
  }
});

test('QR codes decode at every version from 1 to 20', () => {
  const seen = new Set();
  for (let len = 1; len <= 660; len += 7) {
    const text = Array.from({ length: len }, (_, i) => 'abcdefghijklmnopqrstuvwxyz0123456789/:.-'[(i * 7 + len) % 40]).join('');
    const r = decode(text);
    seen.add(r.version);
    assert.equal(r.data, text, `length ${len} (version ${r.version})`);
  }
  for (let v = 1; v <= 20; v++) assert.ok(seen.has(v), `version ${v} was exercised`);
});

test('text longer than version 20 holds is refused', () => {
  assert.throws(() => qrEncode('x'.repeat(1000)), /too long/);
});
