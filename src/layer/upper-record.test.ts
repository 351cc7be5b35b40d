/**
 * Tests of an overlay upper recorded in place (upper-record.ts), as root on kernel overlayfs:
 * its recorded tar is exactly the differ's tar of the upper (same bytes, same diffID) — for a
 * real container's upper and for the small upper in which an entry added while the tar's pump
 * was ending used to be dropped (RecordedTar) — overlay's bookkeeping attributes are removed
 * from the entries, what makes the layer (opaque, whiteouts) stays, and the record re-emits
 * the tar from the directory itself.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync, linkSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import type { Digest } from '../digest/digest.js';
import { lgetxattr, llistxattr, lsetxattr } from '../native/index.js';
import { diffOverlayUpper } from './diff.js';
import { collect, setTimes, tempRoot, withOverlay } from './diff.test-helpers.js';
import { reassembleTar, TarSplitRecorder } from './tarsplit.js';
import { keptInLayer } from './upper.js';
import { recordUpperInPlace } from './upper-record.js';

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

async function record(upper: string): Promise<{ diffId: Digest; size: number; record: Buffer }> {
  const parts: Buffer[] = [];
  const rec = new TarSplitRecorder(async (r) => {
    for await (const c of r) parts.push(Buffer.from(c));
  });
  const res = await recordUpperInPlace(upper, { keep: keptInLayer, overlayXattrNamespaces: ['trusted'], record: rec });
  const split = await rec.finish();
  assert.equal(split.reproducible, true, split.reason);
  return { ...res, record: Buffer.concat(parts) };
}

async function differs(upper: string): Promise<Buffer> {
  return collect(diffOverlayUpper(upper, { sourceDateEpoch: null, overlayXattrNamespaces: ['trusted'] }));
}

const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

describe('recordUpperInPlace', () => {
  it("records a container's upper as the differ's tar, strips overlay's bookkeeping there, and re-emits it from the upper itself", async () => {
    const r = root('urec');
    const lower = join(r, 'lower');
    mkdirSync(join(lower, 'etc'), { recursive: true });
    writeFileSync(join(lower, 'etc', 'motd'), 'motd');
    writeFileSync(join(lower, 'etc', 'group'), 'root:x:0:\n');
    writeFileSync(join(lower, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    mkdirSync(join(lower, 'opq'));
    writeFileSync(join(lower, 'opq', 'was'), 'was');
    setTimes(lower, 1_600_000_000, 0);
    const upper = await withOverlay(r, [lower], (m, up) => {
      rmSync(join(m, 'etc', 'motd'));
      chmodSync(join(m, 'etc', 'group'), 0o600);
      writeFileSync(join(m, 'etc', 'passwd'), 'x\n', { flag: 'a' });
      rmSync(join(m, 'opq'), { recursive: true });
      mkdirSync(join(m, 'opq'));
      writeFileSync(join(m, 'opq', 'new'), 'new');
      mkdirSync(join(m, 'data'));
      for (let i = 0; i < 40; i++) writeFileSync(join(m, 'data', `f${i}`), randomBytes(1 + i * 997));
      linkSync(join(m, 'data', 'f1'), join(m, 'data', 'hard'));
      symlinkSync('data/f1', join(m, 'sym'));
      return up;
    });
    const want = await differs(upper);
    const hadOrigin = llistxattr(join(upper, 'etc', 'passwd')).some((k) => k.startsWith('trusted.overlay.') && !keptInLayer(k));
    const before = fds();
    const got = await record(upper);
    assert.equal(fds(), before, 'no fd left open');
    assert.equal(got.diffId, sha(want), "the differ's tar");
    assert.equal(got.size, want.length);
    if (hadOrigin) assert.ok(!llistxattr(join(upper, 'etc', 'passwd')).some((k) => k.startsWith('trusted.overlay.') && !keptInLayer(k)), "overlay's bookkeeping removed");
    assert.deepEqual(lgetxattr(join(upper, 'opq'), 'trusted.overlay.opaque'), Buffer.from('y'), 'an opaque directory stays opaque');
    assert.ok((await differs(upper)).equals(want), 'still the same layer');
    const again = await collect(reassembleTar([got.record], upper, { expectedDiffId: got.diffId }));
    assert.ok(again.equals(want), 're-emitted from the upper itself');
  });

  it('keeps an entry that comes while the pump of the recorded tar is ending (a whiteout, then two files with data, in one directory)', async () => {
    for (let round = 0; round < 5; round++) {
      const r = root(`urec-small-${round}`);
      const lower = join(r, 'lower');
      mkdirSync(join(lower, 'etc'), { recursive: true });
      for (const f of ['group', 'motd', 'passwd']) writeFileSync(join(lower, 'etc', f), `${f}\n`);
      const upper = await withOverlay(r, [lower], (m, up) => {
        rmSync(join(m, 'etc', 'motd'));
        chmodSync(join(m, 'etc', 'group'), 0o600);
        writeFileSync(join(m, 'etc', 'passwd'), 'x\n', { flag: 'a' });
        return up;
      });
      const want = await differs(upper);
      const got = await record(upper);
      assert.equal(got.diffId, sha(want), `round ${round}: every entry recorded`);
    }
  });

  it('records an xattr set by the container and an xattr whiteout as the differ does', async () => {
    const r = root('urec-x');
    const upper = join(r, 'upper');
    mkdirSync(join(upper, 'd'), { recursive: true });
    writeFileSync(join(upper, 'd', 'f'), 'f');
    lsetxattr(join(upper, 'd', 'f'), 'user.note', Buffer.from('hi'));
    writeFileSync(join(upper, 'xwh'), '');
    lsetxattr(join(upper, 'xwh'), 'trusted.overlay.whiteout', Buffer.alloc(0));
    const want = await differs(upper);
    const got = await record(upper);
    assert.equal(got.diffId, sha(want));
    assert.deepEqual(lgetxattr(join(upper, 'd', 'f'), 'user.note'), Buffer.from('hi'));
  });
});
