/**
 * Tests of the recorded copy of an overlay upper (upper-copy.ts), as root on kernel overlayfs:
 * the copy holds what the upper holds (but overlay's bookkeeping and sockets), its recorded
 * tar is exactly the differ's tar of the upper and of the copy (same bytes, same diffID), the
 * tar-split record re-emits it from the copy, and a body changed in the copy afterwards —
 * recorded without a crc — is caught on re-emit by the diffID. A failure midway leaves no fd
 * open.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, linkSync, mkdirSync, openSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import type { Digest } from '../digest/digest.js';
import { DataCorruptError, UnsupportedError } from '../errors.js';
import { constants as C, lsetxattr, mknodat } from '../native/index.js';
import { diffOverlayUpper } from './diff.js';
import { collect, manifest, manifestDiff, setTimes, tempRoot, withOverlay } from './diff.test-helpers.js';
import { reassembleTar, TarSplitRecorder } from './tarsplit.js';
import { keptInLayer } from './upper.js';
import { copyUpperRecorded } from './upper-copy.js';

const roots: string[] = [];
function root(prefix: string): string {
  const r = tempRoot(prefix);
  roots.push(r);
  return r;
}
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});


const fds = (): number => readdirSync('/proc/self/fd').length;

/** Copy `upper` into a fresh directory, recording the tar-split in memory. */
async function capture(upper: string, dest: string): Promise<{ diffId: Digest; size: number; record: Buffer }> {
  const parts: Buffer[] = [];
  const rec = new TarSplitRecorder(async (r) => {
    for await (const c of r) parts.push(Buffer.from(c));
  });
  const res = await copyUpperRecorded(upper, dest, { keep: keptInLayer, overlayXattrNamespaces: ['trusted'], record: rec });
  const split = await rec.finish();
  assert.equal(split.reproducible, true, split.reason);
  return { ...res, record: Buffer.concat(parts) };
}

/** A real upper: the container's changes through an overlay mount, plus what only a hand-made upper has. */
async function makeUpper(r: string): Promise<string> {
  const lower = join(r, 'lower');
  mkdirSync(join(lower, 'gone', 'deep'), { recursive: true });
  writeFileSync(join(lower, 'gone', 'deep', 'x'), 'x');
  writeFileSync(join(lower, 'old.txt'), 'old');
  mkdirSync(join(lower, 'opq'));
  writeFileSync(join(lower, 'opq', 'was'), 'was');
  setTimes(lower, 1_600_000_000, 0);
  return withOverlay(r, [lower], (m, up) => {
    rmSync(join(m, 'gone'), { recursive: true });
    writeFileSync(join(m, 'old.txt'), 'changed');
    rmSync(join(m, 'opq'), { recursive: true });
    mkdirSync(join(m, 'opq'));
    writeFileSync(join(m, 'opq', 'new'), 'new');
    mkdirSync(join(m, 'data', 'sub'), { recursive: true });
    for (let i = 0; i < 150; i++) writeFileSync(join(m, 'data', `f${i}`), randomBytes(1 + ((i * 7717) % 90_000)));
    writeFileSync(join(m, 'data', 'sub', 'big'), randomBytes((5 << 20) + 3));
    writeFileSync(join(m, 'data', 'empty'), '');
    linkSync(join(m, 'data', 'f1'), join(m, 'data', 'sub', 'link-to-f1'));
    chmodSync(join(m, 'data', 'f2'), 0o4755);
    lsetxattr(join(m, 'data', 'f3'), 'security.capability', Buffer.from('0000000202040000000000000000000000000000', 'hex'));
    lsetxattr(join(m, 'data', 'f4'), 'user.note', Buffer.from('hi'));
    mknodat(C.AT_FDCWD, join(m, 'fifo'), C.S_IFIFO | 0o640);
    mknodat(C.AT_FDCWD, join(m, 'dev'), C.S_IFCHR | 0o600, 1, 3);
    const odd = Buffer.concat([Buffer.from(`${m}/odd-`), Buffer.from([0xff, 0xfe])]);
    closeSync(openSync(odd, 'w'));
    mkdirSync(join(m, 'l'.repeat(120)));
    writeFileSync(join(m, 'l'.repeat(120), 'm'.repeat(120)), 'long');
    symlinkSync('data/f1', join(m, 'sym'));
    // an xattr whiteout and an escaped attribute, as Linux 6.7+ writes them
    writeFileSync(join(up, 'xwh'), '');
    lsetxattr(join(up, 'xwh'), 'trusted.overlay.whiteout', Buffer.alloc(0));
    lsetxattr(join(up, 'old.txt'), 'trusted.overlay.overlay.mine', Buffer.from('v'));
    return up;
  });
}

describe('copyUpperRecorded', () => {
  it("copies the upper and records exactly the differ's tar: same bytes from the upper, from the copy, and re-emitted from the record", async () => {
    const r = root('ucopy');
    const upper = await makeUpper(r);
    const dest = join(r, 'dest');
    mkdirSync(dest);
    const before = fds();
    const got = await capture(upper, dest);
    assert.equal(fds(), before, 'no fd left open');

    const fromUpper = await collect(diffOverlayUpper(upper, { sourceDateEpoch: null, overlayXattrNamespaces: ['trusted'] }));
    const fromCopy = await collect(diffOverlayUpper(dest, { sourceDateEpoch: null, overlayXattrNamespaces: ['trusted'] }));
    assert.equal(got.diffId, `sha256:${createHash('sha256').update(fromUpper).digest('hex')}`, "the differ's tar of the upper");
    assert.equal(got.size, fromUpper.length);
    assert.ok(fromCopy.equals(fromUpper), 'the copy reads as the same layer');
    const again = await collect(reassembleTar([got.record], dest, { expectedDiffId: got.diffId  }));
    assert.ok(again.equals(fromUpper), 're-emitted byte for byte from the copy');

    // the copy is the upper, less overlay's bookkeeping (the manifest helper reads UTF-8 names only)
    const odd = Buffer.from([0x6f, 0x64, 0x64, 0x2d, 0xff, 0xfe]);
    for (const d of [upper, dest]) rmSync(Buffer.concat([Buffer.from(`${d}/`), odd]));
    const diff = manifestDiff(manifest(upper), manifest(dest)).filter((l) => !/trusted\.overlay\.(origin|impure)/.test(l));
    assert.deepEqual(diff, []);
  });

  it("clamps mtimes as the differ does, and entries a plain ustar header cannot hold (owner, name, time) take the general way to the same bytes", async () => {
    const r = root('ucopy-clamp');
    const upper = join(r, 'upper');
    mkdirSync(join(upper, 'd'), { recursive: true });
    for (let i = 0; i < 40; i++) writeFileSync(join(upper, 'd', `f${i}`), randomBytes(i * 300));
    chownSync(join(upper, 'd', 'f3'), 3_000_000, 5); // over 7 octal digits: a PAX uid
    utimesSync(join(upper, 'd', 'f4'), 1, 1_800_000_000); // after the epoch below: clamped
    utimesSync(join(upper, 'd', 'f5'), 1, -5); // before 1970: a PAX mtime
    writeFileSync(join(upper, 'd', 'é'), 'not ASCII');
    writeFileSync(join(upper, 'd', 'n'.repeat(99)), 'a name that fits only without its directory');
    const dest = join(r, 'dest');
    mkdirSync(dest);
    const parts: Buffer[] = [];
    const rec = new TarSplitRecorder(async (s) => {
      for await (const c of s) parts.push(Buffer.from(c));
    });
    const got = await copyUpperRecorded(upper, dest, { keep: keptInLayer, record: rec, clampMtime: 1_700_000_000 });
    await rec.finish();
    const want = await collect(diffOverlayUpper(upper, { sourceDateEpoch: 1_700_000_000 }));
    assert.equal(got.diffId, `sha256:${createHash('sha256').update(want).digest('hex')}`);
    const again = await collect(reassembleTar([Buffer.concat(parts)], dest, { expectedDiffId: got.diffId }));
    assert.ok(again.equals(want));
  });

  it('a body changed in the copy afterwards is caught on re-emit by the diffID, though recorded without a crc', async () => {
    const r = root('ucopy-change');
    const upper = join(r, 'upper');
    mkdirSync(join(upper, 'd'), { recursive: true });
    writeFileSync(join(upper, 'd', 'a'), randomBytes(4096));
    writeFileSync(join(upper, 'd', 'b'), randomBytes(200_000));
    const dest = join(r, 'dest');
    mkdirSync(dest);
    const got = await capture(upper, dest);
    assert.equal(got.record.length > 0, true);
    // same size, one byte different: only the diffID can tell
    const fd = openSync(join(dest, 'd', 'b'), 'r+');
    writeSync(fd, Buffer.from([0x42]), 0, 1, 100_000);
    closeSync(fd);
    await assert.rejects(collect(reassembleTar([got.record], dest, { expectedDiffId: got.diffId  })), (e: unknown) => {
      assert.ok(e instanceof DataCorruptError, String(e));
      assert.match(e.message, /does not match its diffID/);
      return true;
    });
  });

  it('fails with one line and no fd left open: a name the destination holds already, an upper it cannot read', async () => {
    const r = root('ucopy-fail');
    const upper = join(r, 'upper');
    mkdirSync(join(upper, 'd'), { recursive: true });
    for (let i = 0; i < 100; i++) writeFileSync(join(upper, `f${i}`), randomBytes(10_000));
    for (let i = 0; i < 10; i++) writeFileSync(join(upper, 'd', `f${i}`), randomBytes(10_000));
    const dest = join(r, 'dest');
    mkdirSync(dest);
    writeFileSync(join(dest, 'f50'), 'in the way');
    const before = fds();
    const rec = new TarSplitRecorder(async (s) => {
      for await (const c of s) void c;
    });
    await assert.rejects(copyUpperRecorded(upper, dest, { keep: keptInLayer, record: rec }), (e: unknown) => e instanceof Error && e.message === "EEXIST: file exists, openat 'f50'");
    rec.abort();
    assert.equal(fds(), before, 'no fd left open');

    lsetxattr(join(upper, 'd', 'f7'), 'trusted.overlay.metacopy', Buffer.alloc(0));
    const dest2 = join(r, 'dest2');
    mkdirSync(dest2);
    const rec2 = new TarSplitRecorder(async (s) => {
      for await (const c of s) void c;
    });
    await assert.rejects(copyUpperRecorded(upper, dest2, { keep: keptInLayer, record: rec2 }), UnsupportedError);
    rec2.abort();
    assert.equal(fds(), before, 'no fd left open');
  });
});
