/**
 * Tests of the layer differ (src/layer/diff.ts) and the layer encoder (encode.ts). They run
 * as root, as CI does: overlay mounts, mknod, trusted.* and security.* xattrs, chown. Every
 * mount is undone in a finally block (withOverlay).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { InvalidArgumentError, NotFoundError, PreconditionError, UnsupportedError } from '../errors.js';
import { constants as C, lsetxattr, mknodat, utimensat } from '../native/index.js';
import { applyLayer } from './apply.js';
import { diffDirs, diffOverlayUpper, sourceDateEpochFromEnv } from './diff.js';
import { diffToLayer } from './encode.js';
import {
  applyWithGnuTar,
  collect,
  copyTree,
  describe as describeEntry,
  entriesOf,
  manifest,
  manifestDiff,
  setTimes,
  tempRoot,
  withOverlay,
} from './diff.test-helpers.js';

const roots: string[] = [];
function root(prefix: string): string {
  const r = tempRoot(prefix);
  roots.push(r);
  return r;
}
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A binary security.capability value (VFS_CAP_REVISION_2, cap_net_bind_service): NUL and high bytes. */
const CAP = Buffer.from('0000000202040000000000000000000000000000', 'hex');
const OLD = 1_600_000_000; // lower trees' mtime (seconds)
const EPOCH = 1_700_000_000; // SOURCE_DATE_EPOCH used in tests

function mkfile(p: string, content: string, mode = 0o644): void {
  writeFileSync(p, content);
  chmodSync(p, mode);
}

/** The lower tree of the overlay tests. */
function buildLower(dir: string): void {
  mkdirSync(dir);
  mkfile(join(dir, 'a.txt'), 'alpha\n');
  mkfile(join(dir, 'keep.txt'), 'keep\n');
  mkfile(join(dir, 'mode.txt'), 'mode\n');
  mkfile(join(dir, 'owned.txt'), 'owned\n');
  mkdirSync(join(dir, 'd/sub'), { recursive: true });
  mkfile(join(dir, 'd/b.txt'), 'bee\n');
  mkfile(join(dir, 'd/sub/c.txt'), 'sea\n');
  mkdirSync(join(dir, 'gone/y'), { recursive: true });
  mkfile(join(dir, 'gone/x'), 'x\n');
  mkfile(join(dir, 'gone/y/z'), 'z\n');
  mkdirSync(join(dir, 'replaced'));
  mkfile(join(dir, 'replaced/old1'), '1');
  mkfile(join(dir, 'replaced/old2'), '2');
  for (const d of ['d', 'd/sub', 'gone', 'gone/y', 'replaced']) chmodSync(join(dir, d), 0o755);
  setTimes(dir, OLD, 123_456_789);
}

type Change = (m: string) => void;

/** The changes made through the overlay mount, as independent steps (any order gives the same tree). */
const CHANGES: Change[] = [
  (m) => {
    mkfile(join(m, 'new.txt'), 'new file\n', 0o640);
    linkSync(join(m, 'new.txt'), join(m, 'new-link'));
    lsetxattr(join(m, 'new.txt'), 'security.capability', CAP);
    lsetxattr(join(m, 'new.txt'), 'user.note', Buffer.from('hi'));
  },
  (m) => appendFileSync(join(m, 'd/b.txt'), 'more\n'),
  (m) => unlinkSync(join(m, 'a.txt')),
  (m) => rmSync(join(m, 'gone'), { recursive: true }),
  (m) => {
    rmSync(join(m, 'replaced'), { recursive: true });
    mkdirSync(join(m, 'replaced'));
    chmodSync(join(m, 'replaced'), 0o755);
    mkfile(join(m, 'replaced/fresh'), 'fresh\n');
  },
  (m) => chmodSync(join(m, 'mode.txt'), 0o4755),
  (m) => chownSync(join(m, 'owned.txt'), 1000, 2000),
  (m) => symlinkSync('d/b.txt', join(m, 'sym')),
  (m) => {
    mknodat(C.AT_FDCWD, join(m, 'dev'), C.S_IFCHR | 0o600, 1, 3);
    chmodSync(join(m, 'dev'), 0o600);
    mknodat(C.AT_FDCWD, join(m, 'pipe'), C.S_IFIFO | 0o644);
    chmodSync(join(m, 'pipe'), 0o644);
  },
  (m) => chmodSync(join(m, 'd/sub'), 0o700),
];

const EXPECTED_OVERLAY = [
  '.wh.a.txt file 0 0:0 size=0',
  '.wh.gone file 0 0:0 size=0',
  'd/ dir 755 0:0',
  'd/b.txt file 644 0:0 size=9',
  'd/sub/ dir 700 0:0',
  'dev char 600 0:0 1:3',
  'mode.txt file 4755 0:0 size=5',
  'new-link file 640 0:0 size=9',
  'new.txt hardlink 640 0:0 -> new-link',
  'owned.txt file 644 1000:2000 size=6',
  'pipe fifo 644 0:0',
  'replaced/ dir 755 0:0',
  'replaced/.wh..wh..opq file 0 0:0 size=0',
  'replaced/fresh file 644 0:0 size=6',
  'sym symlink 777 0:0 -> d/b.txt',
];

describe('diffOverlayUpper', () => {
  it('turns a real overlay upper into the exact OCI entry list, and applying it reproduces the merged tree', async () => {
    const r = root('ovl');
    const lower = join(r, 'lower');
    buildLower(lower);
    let merged: Map<string, string> = new Map();
    const upper = await withOverlay(r, [lower], (m, up) => {
      for (const c of CHANGES) c(m);
      merged = manifest(m);
      return up;
    });
    // overlay's own traces are really there: a whiteout device and an opaque directory
    const tar = await collect(diffOverlayUpper(upper, { sourceDateEpoch: null }));
    const entries = await entriesOf(tar);
    assert.deepEqual(entries.map(describeEntry), EXPECTED_OVERLAY);

    const byName = new Map(entries.map((e) => [e.header.name, e]));
    assert.equal(byName.get('d/b.txt')!.body.toString(), 'bee\nmore\n');
    assert.equal(byName.get('new-link')!.body.toString(), 'new file\n');
    assert.equal(byName.get('replaced/fresh')!.body.toString(), 'fresh\n');
    const nl = byName.get('new-link')!.header;
    assert.deepEqual([...nl.xattrs.keys()], ['security.capability', 'user.note']);
    assert.ok(nl.xattrs.get('security.capability')!.equals(CAP), 'binary capability kept byte-exact');
    assert.equal(nl.xattrs.get('user.note')!.toString(), 'hi');
    // copy-up keeps the lower mtime (whole seconds); whiteouts have the epoch; no atime/ctime; names empty
    assert.equal(byName.get('mode.txt')!.header.mtime.sec, OLD);
    assert.equal(byName.get('mode.txt')!.header.mtime.nsec, 0);
    assert.equal(byName.get('.wh.a.txt')!.header.mtime.sec, 0);
    for (const e of entries) {
      assert.equal(e.header.atime, undefined);
      assert.equal(e.header.ctime, undefined);
      assert.equal(e.header.uname, '');
      assert.equal(e.header.gname, '');
      for (const k of e.header.xattrs.keys()) assert.ok(!k.includes('overlay'), `${e.header.name} leaks ${k}`);
    }

    // Round trip: the parent plus this layer is the tree the container saw.
    const fresh = join(r, 'fresh');
    copyTree(lower, fresh);
    await applyWithGnuTar(tar, fresh);
    assert.deepEqual(manifestDiff(merged, manifest(fresh)), []);
  });

  it('round-trips through cairn\'s applier: apply to a new upper, mount, same tree; diffing that upper gives the same bytes', async () => {
    const r = root('ovl-rt');
    const lower = join(r, 'lower');
    buildLower(lower);
    let merged: Map<string, string> = new Map();
    const upper = await withOverlay(r, [lower], (m, up) => {
      for (const c of CHANGES) c(m);
      merged = manifest(m);
      return up;
    });
    const tar = await collect(diffOverlayUpper(upper, { sourceDateEpoch: null }));

    // overlay snapshotter: the layer becomes a fresh upper directory over the same parent
    const r2 = join(r, 'again');
    mkdirSync(join(r2, 'upper'), { recursive: true });
    const applied = await applyLayer({ dir: join(r2, 'upper'), whiteoutMode: 'overlay' }, Readable.from([tar]));
    assert.equal(applied.diffId, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
    const again = await collect(diffOverlayUpper(join(r2, 'upper'), { sourceDateEpoch: null }));
    assert.ok(again.equals(tar), 'diff(apply(layer)) is the layer itself');
    const seen = await withOverlay(r2, [lower], (m) => manifest(m));
    assert.deepEqual(manifestDiff(merged, seen), []);

    // native snapshotter: the layer is applied onto a full copy of the parent
    const fresh = join(r, 'fresh');
    copyTree(lower, fresh);
    await applyLayer({ dir: fresh, whiteoutMode: 'oci-remove' }, Readable.from([tar]));
    assert.deepEqual(manifestDiff(merged, manifest(fresh)), []);
  });

  it('is deterministic: the same changes in another order and at another time give the same bytes and diffID', async () => {
    const runOnce = async (order: Change[], pause: number): Promise<{ tar: Buffer; diffId: string }> => {
      const r = root('det');
      const lower = join(r, 'lower');
      buildLower(lower);
      const upper = await withOverlay(r, [lower], async (m, up) => {
        for (const c of order) {
          c(m);
          if (pause > 0) await new Promise((res) => setTimeout(res, pause));
        }
        return up;
      });
      const tar = await collect(diffOverlayUpper(upper, { sourceDateEpoch: EPOCH }));
      const { diffId } = await diffToLayer(diffOverlayUpper(upper, { sourceDateEpoch: EPOCH }), { compression: 'gzip' });
      return { tar, diffId };
    };
    const a = await runOnce(CHANGES, 0);
    const b = await runOnce([...CHANGES].reverse(), 120);
    assert.ok(a.tar.equals(b.tar), 'byte-identical layers');
    assert.equal(a.diffId, b.diffId);
    assert.equal(a.diffId, `sha256:${createHash('sha256').update(a.tar).digest('hex')}`);

    // clamping: new entries are at the epoch, older copied-up ones keep their time, whiteouts stay at 0
    const entries = await entriesOf(a.tar);
    const t = new Map(entries.map((e) => [e.header.name, e.header.mtime.sec]));
    assert.equal(t.get('new-link'), EPOCH);
    assert.equal(t.get('replaced/'), EPOCH);
    assert.equal(t.get('owned.txt'), OLD);
    assert.equal(t.get('.wh.gone'), 0);
    for (const e of entries) assert.ok(e.header.mtime.sec <= EPOCH);
  });

  it('reads SOURCE_DATE_EPOCH from the environment unless told not to', async () => {
    const r = root('env');
    const up = join(r, 'upper');
    mkdirSync(up);
    mkfile(join(up, 'f'), 'f');
    const saved = process.env.SOURCE_DATE_EPOCH;
    try {
      process.env.SOURCE_DATE_EPOCH = '1000';
      let e = await entriesOf(await collect(diffOverlayUpper(up)));
      assert.equal(e[0]!.header.mtime.sec, 1000);
      e = await entriesOf(await collect(diffOverlayUpper(up, { sourceDateEpoch: null })));
      assert.ok(e[0]!.header.mtime.sec > 1000);
      process.env.SOURCE_DATE_EPOCH = 'yesterday';
      assert.throws(() => diffOverlayUpper(up), InvalidArgumentError);
      process.env.SOURCE_DATE_EPOCH = '';
      assert.equal(sourceDateEpochFromEnv(), undefined);
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
    assert.throws(() => diffOverlayUpper(up, { sourceDateEpoch: -1 }), InvalidArgumentError);
    assert.throws(() => diffOverlayUpper(up, { sourceDateEpoch: 1.5 }), InvalidArgumentError);
  });

  it('keeps sub-second mtimes only when asked', async () => {
    const r = root('ns');
    const up = join(r, 'upper');
    mkdirSync(up);
    mkfile(join(up, 'f'), 'f');
    utimensat(C.AT_FDCWD, join(up, 'f'), 5, 0, 1234, 500_000_000);
    let [e] = await entriesOf(await collect(diffOverlayUpper(up, { sourceDateEpoch: null })));
    assert.deepEqual(e!.header.mtime, { sec: 1234, nsec: 0 });
    [e] = await entriesOf(await collect(diffOverlayUpper(up, { sourceDateEpoch: null, paxNanoseconds: true })));
    assert.deepEqual(e!.header.mtime, { sec: 1234, nsec: 500_000_000 });
  });

  it('interprets overlay xattrs on a hand-made upper: opaque root, xattr whiteouts, escaped names, bookkeeping', async () => {
    const r = root('xat');
    const up = join(r, 'upper');
    mkdirSync(up);
    lsetxattr(up, 'trusted.overlay.opaque', Buffer.from('y'));
    mkfile(join(up, 'gone'), '');
    lsetxattr(join(up, 'gone'), 'trusted.overlay.whiteout', Buffer.alloc(0));
    mkdirSync(join(up, 'dir'));
    lsetxattr(join(up, 'dir'), 'user.overlay.opaque', Buffer.from('y'));
    lsetxattr(join(up, 'dir'), 'trusted.overlay.origin', Buffer.from([0, 1, 2]));
    mkfile(join(up, 'esc'), 'e');
    lsetxattr(join(up, 'esc'), 'trusted.overlay.overlay.mine', Buffer.from('v'));
    lsetxattr(join(up, 'esc'), 'trusted.other', Buffer.from('w'));
    const notOpaque = join(up, 'x-dir');
    mkdirSync(notOpaque);
    lsetxattr(notOpaque, 'trusted.overlay.opaque', Buffer.from('x'));
    const entries = await entriesOf(await collect(diffOverlayUpper(up, { sourceDateEpoch: null })));
    assert.deepEqual(
      entries.map((e) => e.header.name),
      ['.wh..wh..opq', '.wh.gone', 'dir/', 'dir/.wh..wh..opq', 'esc', 'x-dir/'],
    );
    assert.deepEqual([...entries[2]!.header.xattrs.keys()], []);
    assert.deepEqual(Object.fromEntries([...entries[4]!.header.xattrs].map(([k, v]) => [k, v.toString()])), {
      'trusted.other': 'w',
      'trusted.overlay.mine': 'v',
    });

    // with only the trusted namespace, user.overlay.* belongs to the container
    const onlyTrusted = await entriesOf(await collect(diffOverlayUpper(up, { sourceDateEpoch: null, overlayXattrNamespaces: ['trusted'] })));
    const dir = onlyTrusted.find((e) => e.header.name === 'dir/')!;
    assert.equal(dir.header.xattrs.get('user.overlay.opaque')?.toString(), 'y');
    assert.ok(!onlyTrusted.some((e) => e.header.name === 'dir/.wh..wh..opq'));

    // xattrFilter drops what the caller does not want
    const filtered = await entriesOf(
      await collect(diffOverlayUpper(up, { sourceDateEpoch: null, xattrFilter: (n) => !n.startsWith('trusted.other') })),
    );
    assert.deepEqual([...filtered.find((e) => e.header.name === 'esc')!.header.xattrs.keys()], ['trusted.overlay.mine']);
  });

  it('refuses what the upper alone cannot express: metacopy, redirects, ".wh." names', async () => {
    const cases: Array<[string, (up: string) => void]> = [
      ['metacopy', (up) => {
        mkfile(join(up, 'f'), '');
        lsetxattr(join(up, 'f'), 'trusted.overlay.metacopy', Buffer.alloc(0));
      }],
      ['redirect', (up) => {
        mkdirSync(join(up, 'd'));
        lsetxattr(join(up, 'd'), 'trusted.overlay.redirect', Buffer.from('/old'));
      }],
      ['.wh.', (up) => mkfile(join(up, '.wh.sneaky'), '')],
    ];
    for (const [what, make] of cases) {
      const r = root('bad');
      const up = join(r, 'upper');
      mkdirSync(up);
      make(up);
      await assert.rejects(collect(diffOverlayUpper(up)), (e: unknown) => {
        assert.ok(e instanceof UnsupportedError, `${what}: ${String(e)}`);
        assert.match(e.message, new RegExp(what.replace(/\./g, '\\.')));
        return true;
      });
    }
  });

  it('writes names that are not UTF-8 byte-exact (PAX path), skips sockets, and long names survive', async () => {
    const r = root('names');
    const up = join(r, 'upper');
    mkdirSync(up);
    const raw = Buffer.concat([Buffer.from(up + '/bad-'), Buffer.from([0xff, 0xfe])]);
    closeSync(openSync(raw, 'w'));
    const long = 'x'.repeat(120);
    mkdirSync(join(up, long));
    mkfile(join(up, long, 'y'.repeat(120)), 'deep');
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((res) => srv.listen(join(up, 'sock'), res));
    try {
      const tar = await collect(diffOverlayUpper(up, { sourceDateEpoch: null }));
      assert.ok(tar.includes(Buffer.concat([Buffer.from(' path=bad-'), Buffer.from([0xff, 0xfe, 0x0a])])), 'raw PAX path record');
      const entries = await entriesOf(tar);
      assert.deepEqual(entries.map((e) => e.header.name).slice(1), [`${long}/`, `${long}/${'y'.repeat(120)}`]);
      assert.ok(!entries.some((e) => e.header.name.includes('sock')));
    } finally {
      srv.close();
    }
  });

  it('closes every fd when the reader stops early', async () => {
    const r = root('early');
    const up = join(r, 'upper');
    mkdirSync(join(up, 'a/b/c'), { recursive: true });
    for (let i = 0; i < 50; i++) writeFileSync(join(up, 'a/b/c', `f${i}`), Buffer.alloc(300_000, i));
    const before = readdirSync('/proc/self/fd').length;
    const s = diffOverlayUpper(up);
    for await (const chunk of s) {
      assert.ok(chunk.length > 0);
      break; // destroys the stream
    }
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(readdirSync('/proc/self/fd').length, before);
  });

  it('fails with PreconditionError when a small file is replaced or grows between stat and read', async () => {
    const cases: Array<[RegExp, (f: string) => void]> = [
      [/was replaced/, (f) => {
        linkSync(f, `${f}.kept`); // keeps the old inode alive, so the new file cannot reuse its number
        rmSync(f);
        writeFileSync(f, 'other');
      }],
      [/grew beyond 5 bytes/, (f) => appendFileSync(f, '+')],
      [/shrank from 5 to 2 bytes/, (f) => truncateSync(f, 2)],
    ];
    for (const [message, change] of cases) {
      const r = root('race-small');
      const up = join(r, 'upper');
      mkdirSync(up);
      writeFileSync(join(up, 'a-big'), Buffer.alloc(2 << 20, 1)); // fills the stream buffer first
      writeFileSync(join(up, 'b-small'), 'small');
      const s = diffOverlayUpper(up, { highWaterMark: 1024 });
      let first = true;
      await assert.rejects(
        (async () => {
          for await (const chunk of s) {
            void chunk;
            if (first) {
              first = false;
              change(join(up, 'b-small'));
            }
          }
        })(),
        (e: unknown) => e instanceof PreconditionError && message.test(e.message),
      );
    }
  });

  it('fails with PreconditionError when a file changes size while it is read', async () => {
    const r = root('race');
    const up = join(r, 'upper');
    mkdirSync(up);
    writeFileSync(join(up, 'big'), Buffer.alloc(4 << 20, 1));
    const s = diffOverlayUpper(up, { highWaterMark: 1024 });
    let first = true;
    await assert.rejects(
      (async () => {
        for await (const chunk of s) {
          void chunk;
          if (first) {
            first = false;
            truncateSync(join(up, 'big'), 1000);
          }
        }
      })(),
      PreconditionError,
    );
  });
});

// ---------------------------------------------------------------------------

/** The parent tree of the native tests. */
function buildParent(dir: string): void {
  mkdirSync(dir);
  mkfile(join(dir, 'same.txt'), 'unchanged\n');
  mkfile(join(dir, 'content.txt'), 'AAAA');
  mkfile(join(dir, 'nsec.txt'), 'AAAA');
  mkfile(join(dir, 'chmod.txt'), 'c');
  mkfile(join(dir, 'chown.txt'), 'c');
  mkfile(join(dir, 'xattr.txt'), 'x');
  mkfile(join(dir, 'del.txt'), 'd');
  mkfile(join(dir, 'keep.txt'), 'keep');
  symlinkSync('same.txt', join(dir, 'link'));
  mkdirSync(join(dir, 'deldir/inner'), { recursive: true });
  mkfile(join(dir, 'deldir/inner/f'), 'f');
  mkdirSync(join(dir, 'dir2file'));
  mkfile(join(dir, 'dir2file/child'), 'c');
  mkfile(join(dir, 'file2dir'), 'f');
  mkdirSync(join(dir, 'a/b/c'), { recursive: true });
  mkfile(join(dir, 'a/b/c/deep.txt'), 'deep');
  mkfile(join(dir, 'a/b/other.txt'), 'other');
  mkdirSync(join(dir, 'untouched'));
  mkfile(join(dir, 'untouched/f'), 'u');
  for (const d of ['deldir', 'deldir/inner', 'dir2file', 'a', 'a/b', 'a/b/c', 'untouched']) chmodSync(join(dir, d), 0o755);
  setTimes(dir, OLD, 0); // whole seconds, as a tree unpacked from a tar has
  utimensat(C.AT_FDCWD, join(dir, 'nsec.txt'), OLD, 5, OLD, 5);
}

const EXPECTED_NATIVE = [
  '.wh.del.txt file 0 0:0 size=0',
  '.wh.deldir file 0 0:0 size=0',
  'a/ dir 755 0:0',
  'a/b/ dir 755 0:0',
  'a/b/c/ dir 755 0:0',
  'a/b/c/deep.txt file 644 0:0 size=5',
  'added.txt file 644 0:0 size=3',
  'chmod.txt file 600 0:0 size=1',
  'chown.txt file 644 7:8 size=1',
  'content.txt file 644 0:0 size=4',
  'dev block 640 0:0 7:1',
  'dir2file file 644 0:0 size=1',
  'file2dir/ dir 755 0:0',
  'file2dir/inside file 644 0:0 size=2',
  'keep-link file 644 0:0 size=4',
  'keep.txt hardlink 644 0:0 -> keep-link',
  'link symlink 777 0:0 -> content.txt',
  'newdir/ dir 711 0:0',
  'newdir/n file 644 0:0 size=1',
  'xattr.txt file 644 0:0 size=1',
];

describe('diffDirs', () => {
  const prepare = (): { r: string; lower: string; upper: string } => {
    const r = root('native');
    const lower = join(r, 'lower');
    const upper = join(r, 'upper');
    buildParent(lower);
    copyTree(lower, upper);
    const u = (p: string): string => join(upper, p);
    mkfile(u('added.txt'), 'add');
    // same size, same whole-second mtime: only the content tells
    writeFileSync(u('content.txt'), 'BBBB');
    utimensat(C.AT_FDCWD, u('content.txt'), OLD, 0, OLD, 0);
    // same size and mtime with nanoseconds: trusted unchanged without reading (continuity's rule)
    writeFileSync(u('nsec.txt'), 'BBBB');
    utimensat(C.AT_FDCWD, u('nsec.txt'), OLD, 5, OLD, 5);
    chmodSync(u('chmod.txt'), 0o600);
    chownSync(u('chown.txt'), 7, 8);
    lsetxattr(u('xattr.txt'), 'user.k', Buffer.from([0, 255]));
    rmSync(u('del.txt'));
    rmSync(u('deldir'), { recursive: true });
    rmSync(u('link'));
    symlinkSync('content.txt', u('link'));
    utimensat(C.AT_FDCWD, u('link'), OLD, 0, OLD, 0, C.AT_SYMLINK_NOFOLLOW); // a target change alone is enough
    rmSync(u('dir2file'), { recursive: true });
    mkfile(u('dir2file'), 'D');
    rmSync(u('file2dir'));
    mkdirSync(u('file2dir'));
    chmodSync(u('file2dir'), 0o755);
    mkfile(u('file2dir/inside'), 'in');
    writeFileSync(u('a/b/c/deep.txt'), 'deep2');
    mknodat(C.AT_FDCWD, u('dev'), C.S_IFBLK | 0o640, 7, 1);
    chmodSync(u('dev'), 0o640);
    linkSync(u('keep.txt'), u('keep-link')); // keep.txt itself is unchanged, but now shares its inode
    mkdirSync(u('newdir'));
    chmodSync(u('newdir'), 0o711);
    mkfile(u('newdir/n'), 'n');
    return { r, lower, upper };
  };

  it('lists exactly the changes, with parents, one whiteout per deleted tree, and hard links kept', async () => {
    const { r, lower, upper } = prepare();
    const tar = await collect(diffDirs(lower, upper, { sourceDateEpoch: null }));
    const entries = await entriesOf(tar);
    assert.deepEqual(entries.map(describeEntry), EXPECTED_NATIVE);
    const body = new Map(entries.map((e) => [e.header.name, e.body.toString()]));
    assert.equal(body.get('content.txt'), 'BBBB');
    assert.equal(body.get('a/b/c/deep.txt'), 'deep2');
    assert.deepEqual(entries.find((e) => e.header.name === 'xattr.txt')!.header.xattrs.get('user.k'), Buffer.from([0, 255]));

    // Round trip onto a fresh copy of the parent. nsec.txt is the one documented blind spot.
    const fresh = join(r, 'fresh');
    copyTree(lower, fresh);
    await applyWithGnuTar(tar, fresh);
    const want = manifest(upper);
    const got = manifest(fresh);
    assert.deepEqual(manifestDiff(want, got), [`nsec.txt: want ${want.get('nsec.txt')} got ${got.get('nsec.txt')}`]);

    // and through cairn's own applier (native snapshotter mode), compressed
    const viaCairn = join(r, 'via-cairn');
    copyTree(lower, viaCairn);
    let blob: Buffer = Buffer.alloc(0);
    const layer = await diffToLayer(diffDirs(lower, upper, { sourceDateEpoch: null }), {
      compression: 'zstd',
      sink: async (s) => {
        blob = await collect(s);
      },
    });
    const res = await applyLayer({ dir: viaCairn, whiteoutMode: 'oci-remove' }, Readable.from([blob]), {
      expectedDigest: layer.digest,
      expectedDiffId: layer.diffId,
    });
    assert.equal(res.compression, 'zstd');
    const got2 = manifest(viaCairn);
    assert.deepEqual(manifestDiff(want, got2), [`nsec.txt: want ${want.get('nsec.txt')} got ${got2.get('nsec.txt')}`]);
    // the diff of the result against the parent is the same layer again
    const again = await collect(diffDirs(lower, viaCairn, { sourceDateEpoch: null }));
    assert.ok(again.equals(tar));
  });

  it('gives an empty layer for identical trees and is deterministic', async () => {
    const r = root('same');
    const lower = join(r, 'lower');
    buildParent(lower);
    const upper = join(r, 'upper');
    copyTree(lower, upper);
    const empty = await collect(diffDirs(lower, upper));
    assert.ok(empty.equals(Buffer.alloc(1024)), 'just the end-of-archive marker');

    const a = prepare();
    const b = prepare();
    const ta = await collect(diffDirs(a.lower, a.upper, { sourceDateEpoch: EPOCH }));
    const tb = await collect(diffDirs(b.lower, b.upper, { sourceDateEpoch: EPOCH }));
    assert.ok(ta.equals(tb));
  });

  it('writes a changed hard-linked file once and its other names as links to it', async () => {
    const r = root('hl');
    const lower = join(r, 'lower');
    mkdirSync(lower);
    mkfile(join(lower, 'm'), 'one');
    linkSync(join(lower, 'm'), join(lower, 'z'));
    mkfile(join(lower, 'solo'), 's');
    setTimes(lower, OLD, 0);
    const upper = join(r, 'upper');
    copyTree(lower, upper);
    appendFileSync(join(upper, 'z'), '+'); // changes both names (one inode)
    linkSync(join(upper, 'm'), join(upper, 'a-first'));
    const entries = await entriesOf(await collect(diffDirs(lower, upper, { sourceDateEpoch: null })));
    assert.deepEqual(entries.map(describeEntry), [
      'a-first file 644 0:0 size=4',
      'm hardlink 644 0:0 -> a-first',
      'z hardlink 644 0:0 -> a-first',
    ]);
    assert.equal(entries[0]!.body.toString(), 'one+');
  });

  it('fails on a missing tree', async () => {
    const r = root('missing');
    await assert.rejects(collect(diffDirs(join(r, 'nope'), r)), (e: unknown) => e instanceof NotFoundError && /lower directory .*nope does not exist/.test(e.message));
    writeFileSync(join(r, 'file'), '');
    await assert.rejects(collect(diffDirs(r, join(r, 'file'))), (e: unknown) => e instanceof InvalidArgumentError && /is not a directory/.test(e.message));
    // a symlink to the tree is fine for the root itself
    symlinkSync(r, join(r, 'alias'));
    assert.ok((await collect(diffDirs(r, join(r, 'alias')))).equals(Buffer.alloc(1024)));
  });
});

// ---------------------------------------------------------------------------

describe('diffToLayer', () => {
  it('hashes, compresses and hashes in one pass for every compression', async () => {
    const r = root('enc');
    const up = join(r, 'upper');
    mkdirSync(up);
    writeFileSync(join(up, 'data'), Buffer.alloc(300_000, 7));
    const tar = await collect(diffOverlayUpper(up, { sourceDateEpoch: 0 }));
    const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
    for (const compression of ['none', 'gzip', 'zstd'] as const) {
      let blob: Buffer = Buffer.alloc(0);
      const res = await diffToLayer(diffOverlayUpper(up, { sourceDateEpoch: 0 }), {
        compression,
        sink: async (s) => {
          blob = await collect(s);
        },
      });
      assert.equal(res.diffId, diffId);
      assert.equal(res.uncompressedSize, tar.length);
      assert.equal(res.digest, `sha256:${createHash('sha256').update(blob).digest('hex')}`);
      assert.equal(res.size, blob.length);
      assert.equal(res.mediaType, `application/vnd.oci.image.layer.v1.tar${compression === 'none' ? '' : `+${compression}`}`);
      if (compression === 'none') assert.ok(blob.equals(tar));
      if (compression === 'gzip') assert.ok(gunzipSync(blob).equals(tar));
      if (compression === 'zstd') {
        assert.ok(blob.length < tar.length / 10);
        assert.deepEqual([...blob.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
      }
    }
  });

  it('rejects when the sink or the source fails', async () => {
    const r = root('encfail');
    const up = join(r, 'upper');
    mkdirSync(up);
    writeFileSync(join(up, 'f'), 'f');
    await assert.rejects(
      diffToLayer(diffOverlayUpper(up), {
        compression: 'gzip',
        sink: async () => {
          throw new Error('disk full');
        },
      }),
      /disk full/,
    );
    await assert.rejects(diffToLayer(diffOverlayUpper(join(r, 'missing')), { compression: 'none' }), NotFoundError);
    await assert.rejects(diffToLayer(diffOverlayUpper(up), { compression: 'lz4' as 'gzip' }), InvalidArgumentError);
  });

  it('streams a 1 GiB file with bounded memory', async () => {
    const r = root('big');
    const up = join(r, 'upper');
    mkdirSync(up);
    const big = join(up, 'big');
    writeFileSync(big, '');
    truncateSync(big, 1 << 30); // sparse: fast to make and to read, but every byte still flows through
    renameSync(big, join(up, 'huge.bin'));
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let seen = 0;
    try {
      const res = await diffToLayer(diffOverlayUpper(up, { sourceDateEpoch: 0 }), {
        compression: 'zstd',
        sink: async (s) => {
          for await (const c of s) seen += c.length;
        },
      });
      assert.equal(res.uncompressedSize, 512 + (1 << 30) + 1024);
      assert.equal(res.size, seen);
    } finally {
      clearInterval(timer);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    assert.ok(peak - base < 200 * 1024 * 1024, `RSS grew by ${Math.round((peak - base) / 1048576)} MiB`);
  });
});
