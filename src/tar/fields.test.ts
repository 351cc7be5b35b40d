import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksums, isZeroBlock, maxOctal, parseNumeric, writeBase256, writeChecksum, writeOctal, headerFormat } from './fields.js';
import { formatPaxRecord, formatPaxRecords, formatPaxTime, parsePaxInteger, parsePaxRecords, parsePaxTime, xattrsFromPax } from './pax.js';

function field(s: string | number[]): Uint8Array {
  return typeof s === 'string' ? Buffer.from(s, 'latin1') : Uint8Array.from(s);
}

test('octal fields tolerate leading/trailing spaces and NULs; blank is 0', () => {
  assert.equal(parseNumeric(field('0000644\0'), 0, 8), 0o644);
  assert.equal(parseNumeric(field('   644 \0'), 0, 8), 0o644);
  assert.equal(parseNumeric(field('\x00\x00\x00644\x00\x00'), 0, 8), 0o644);
  assert.equal(parseNumeric(field('\0\0\0\0\0\0\0\0'), 0, 8), 0);
  assert.equal(parseNumeric(field('        '), 0, 8), 0);
  assert.equal(parseNumeric(field('77777777777\0'), 0, 12), 8 ** 11 - 1);
  assert.equal(parseNumeric(field('0000 644'), 0, 8), null, 'embedded space');
  assert.equal(parseNumeric(field('0000648\0'), 0, 8), null, 'digit 8');
  assert.equal(parseNumeric(field('abc\0\0\0\0\0'), 0, 8), null);
});

test('base-256 fields: positive, negative, and out of safe range', () => {
  const b = new Uint8Array(8);
  writeBase256(b, 0, 8, 3_000_000);
  assert.equal(b[0]! & 0x80, 0x80);
  assert.equal(parseNumeric(b, 0, 8), 3_000_000);
  const m = new Uint8Array(12);
  writeBase256(m, 0, 12, -1);
  assert.deepEqual([...m], Array(12).fill(0xff));
  assert.equal(parseNumeric(m, 0, 12), -1);
  writeBase256(m, 0, 12, -1234567890123);
  assert.equal(parseNumeric(m, 0, 12), -1234567890123);
  writeBase256(m, 0, 12, 2 ** 40 + 5);
  assert.equal(parseNumeric(m, 0, 12), 2 ** 40 + 5);
  // 2^64 does not fit a JS safe integer: rejected, not silently rounded
  const big = field([0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(parseNumeric(big, 0, 12), null);
});

test('writeOctal pads to width-1 digits plus NUL; maxOctal bounds', () => {
  const b = new Uint8Array(8);
  writeOctal(b, 0, 8, 0o755);
  assert.equal(Buffer.from(b).toString('latin1'), '0000755\0');
  assert.equal(maxOctal(8), 2097151);
  assert.equal(maxOctal(12), 8589934591);
});

test('checksum: written form, signed and unsigned sums', () => {
  const blk = new Uint8Array(512);
  blk.set(Buffer.from('name'), 0);
  blk[300] = 0xff; // makes signed and unsigned sums differ
  writeChecksum(blk);
  const { unsigned, signed } = checksums(blk);
  assert.equal(unsigned - signed, 256);
  assert.equal(parseNumeric(blk, 148, 8), unsigned);
  assert.equal(blk[154], 0);
  assert.equal(blk[155], 0x20);
  assert.equal(isZeroBlock(blk), false);
  assert.equal(isZeroBlock(new Uint8Array(512)), true);
  // unaligned view path
  const un = Buffer.alloc(513).subarray(1);
  assert.equal(isZeroBlock(un), true);
  un[511] = 1;
  assert.equal(isZeroBlock(un), false);
});

test('header format detection by magic', () => {
  const b = new Uint8Array(512);
  assert.equal(headerFormat(b), 'v7');
  b.set(Buffer.from('ustar\x0000', 'latin1'), 257);
  assert.equal(headerFormat(b), 'ustar');
  b.set(Buffer.from('ustar  \0', 'latin1'), 257);
  assert.equal(headerFormat(b), 'gnu');
});

test('PAX records: length counts itself, including at digit-count boundaries', () => {
  for (let n = 0; n < 2000; n += 7) {
    const rec = formatPaxRecord('k', 'v'.repeat(n));
    const len = Number(rec.toString('latin1').split(' ')[0]);
    assert.equal(len, rec.length);
    assert.equal(parsePaxRecords(rec).get('k')!.length, n);
  }
  assert.equal(formatPaxRecord('path', 'a').toString(), '9 path=a\n');
  // 98 bytes without the length: "98" or "99" would not count themselves, "101" does
  const r = formatPaxRecord('k', 'x'.repeat(94));
  assert.equal(r.length, 101);
  assert.ok(r.toString().startsWith('101 '));
});

test('PAX records are binary safe and sorted by key when formatted', () => {
  const val = Buffer.from([0x00, 0x0a, 0x3d, 0x80, 0xff, 0x20]);
  const data = formatPaxRecords(new Map<string, Uint8Array | string>([['z', 'last'], ['SCHILY.xattr.user.bin', val], ['a', '1']]));
  const parsed = parsePaxRecords(data);
  assert.deepEqual([...parsed.keys()], ['SCHILY.xattr.user.bin', 'a', 'z']);
  assert.deepEqual(parsed.get('SCHILY.xattr.user.bin'), val);
  const x = xattrsFromPax(parsed);
  assert.deepEqual(x.get('user.bin'), val);
});

test('PAX records: malformed input is rejected with a reason', () => {
  assert.throws(() => parsePaxRecords(Buffer.from('5 a=b\n')), /newline/);
  assert.throws(() => parsePaxRecords(Buffer.from('2 a=b\n')), /out of range/);
  assert.throws(() => parsePaxRecords(Buffer.from('30 a=b\n')), /out of range/);
  assert.throws(() => parsePaxRecords(Buffer.from('6 a=b!')), /newline/);
  assert.throws(() => parsePaxRecords(Buffer.from('6 abc\n')), /'='/);
  assert.throws(() => parsePaxRecords(Buffer.from('x a=b\n')), /length/);
  assert.throws(() => parsePaxRecords(Buffer.from('6 =bc\n')), /empty key/);
  // trailing NUL padding is fine, garbage after it is not
  assert.equal(parsePaxRecords(Buffer.from('6 a=b\n\0\0\0')).get('a')!.toString(), 'b');
  assert.throws(() => parsePaxRecords(Buffer.from('6 a=b\n\0x')), /garbage/);
});

test('PAX times: fractions, negative times, formatting round trip', () => {
  assert.deepEqual(parsePaxTime(Buffer.from('1700000000.123456789')), { sec: 1700000000, nsec: 123456789 });
  assert.deepEqual(parsePaxTime(Buffer.from('1700000000.5')), { sec: 1700000000, nsec: 500000000 });
  assert.deepEqual(parsePaxTime(Buffer.from('1.1234567891234')), { sec: 1, nsec: 123456789 });
  assert.deepEqual(parsePaxTime(Buffer.from('-1.25')), { sec: -2, nsec: 750000000 });
  assert.deepEqual(parsePaxTime(Buffer.from('-5')), { sec: -5, nsec: 0 });
  assert.equal(parsePaxTime(Buffer.from('12a')), null);
  assert.equal(parsePaxTime(Buffer.from('')), null);
  for (const t of [{ sec: 0, nsec: 1 }, { sec: 1700000000, nsec: 120000000 }, { sec: -2, nsec: 750000000 }, { sec: -1, nsec: 0 }]) {
    assert.deepEqual(parsePaxTime(Buffer.from(formatPaxTime(t))), t);
  }
  assert.equal(formatPaxTime({ sec: 5, nsec: 120000000 }), '5.12');
  assert.equal(formatPaxTime({ sec: -2, nsec: 750000000 }), '-1.25');
  assert.equal(parsePaxInteger(Buffer.from('3000000')), 3000000);
  assert.equal(parsePaxInteger(Buffer.from('-1')), null);
  assert.equal(parsePaxInteger(Buffer.from('99999999999999999')), null);
});

test('LIBARCHIVE.xattr: URL-encoded names, base64 values; SCHILY wins on conflict', () => {
  const pax = new Map<string, Buffer>([
    ['LIBARCHIVE.xattr.user.a%3Db', Buffer.from(Buffer.from([0, 0x80, 0xff]).toString('base64'))],
    ['LIBARCHIVE.xattr.user.c', Buffer.from(Buffer.from('lib').toString('base64'))],
    ['SCHILY.xattr.user.c', Buffer.from('schily')],
  ]);
  const x = xattrsFromPax(pax);
  assert.deepEqual(x.get('user.a=b'), Buffer.from([0, 0x80, 0xff]));
  assert.equal(x.get('user.c')!.toString(), 'schily');
});
