/**
 * Layer applier: every entry type and its metadata, GNU tar interop, whiteouts and opaque
 * directories in both modes (with a real overlay mount), compression detection, digest
 * verification. Run as root (devices, ownership, trusted.* xattrs, mounts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';

import { compressStream } from '../compression/index.js';
import { digestOf, type Digest } from '../digest/digest.js';
import { DataCorruptError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { constants, fstatat, lgetxattr, lsetxattr, mknodat, overlayMount, umount2, utimensat } from '../native/index.js';
import { writeBase256 } from '../tar/fields.js';
import { createTarWriter } from '../tar/index.js';
import { applyLayer, type ApplyOptions, type ApplyResult, type WhiteoutMode } from './apply.js';
import {
  chunks,
  comparable,
  exists,
  gnuLongHeader,
  isDirectory,
  layer,
  list,
  patchHeader,
  snapOne,
  snapTree,
  tempDir,
} from './apply-fixtures.test-helpers.js';

function apply(dir: string, tar: Buffer, mode: WhiteoutMode = 'oci-remove', opts: ApplyOptions = {}): Promise<ApplyResult> {
  return applyLayer({ dir, whiteoutMode: mode }, chunks(tar, 777), opts);
}

const T1 = { sec: 1700000000, nsec: 123456789 };
const T2 = { sec: 1600000000, nsec: 987654321 };
const ns = (t: { sec: number; nsec: number }): bigint => BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);

/** security.capability v2 granting cap_net_bind_service (permitted + effective). */
const CAP = Buffer.from([0x01, 0, 0, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

async function compress(kind: 'gzip' | 'zstd', data: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of Readable.from([data]).pipe(compressStream(kind))) out.push(c as Buffer);
  return Buffer.concat(out);
}

test('every entry type with its metadata: owners, mode bits, nanosecond times, xattrs, devices', async () => {
  const t = tempDir();
  try {
    const body = Buffer.from('#!/bin/sh\necho hi\n');
    const tar = await layer([
      [{ name: './', type: 'dir', mode: 0o755, mtime: T2 }],
      [{ name: 'tmp/', type: 'dir', mode: 0o1777, uid: 0, gid: 0, mtime: T1 }],
      [{ name: 'bin/', type: 'dir', mode: 0o2755, uid: 10, gid: 20, mtime: T2, xattrs: new Map([['user.dir', Buffer.from('d')]]) }],
      [{ name: 'bin/ping', mode: 0o4755, uid: 1000, gid: 1001, mtime: T1, atime: T2, xattrs: new Map([['security.capability', CAP], ['user.bin', Buffer.from([0, 1, 2, 255])]]) }, body],
      [{ name: 'bin/sg', mode: 0o2711, uid: 3, gid: 4, mtime: T1 }, Buffer.from('x')],
      [{ name: 'bin/empty', mode: 0o600, mtime: T1 }, Buffer.alloc(0)],
      [{ name: 'bin/hard', type: 'hardlink', linkname: 'bin/ping' }],
      [{ name: 'bin/abs', type: 'symlink', linkname: '/etc/passwd', uid: 5, gid: 6, mtime: T1 }],
      [{ name: 'bin/rel', type: 'symlink', linkname: '../tmp/x', mtime: T2, xattrs: new Map([['trusted.sym', Buffer.from('s')]]) }],
      [{ name: 'dev/', type: 'dir', mode: 0o755, mtime: T1 }],
      [{ name: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3, mtime: T1, uid: 7, gid: 8 }],
      [{ name: 'dev/loop9', type: 'block', mode: 0o660, devmajor: 7, devminor: 9, mtime: T2, gid: 6 }],
      [{ name: 'dev/big', type: 'char', mode: 0o600, devmajor: 4095, devminor: 1048575, mtime: T1 }],
      [{ name: 'dev/fifo', type: 'fifo', mode: 0o620, mtime: T2 }],
    ]);
    const r = await apply(t.path, tar);
    assert.equal(r.entries, 14);
    assert.equal(r.compression, 'none');
    assert.equal(r.digest, digestOf(tar));
    assert.equal(r.diffId, digestOf(tar));
    assert.equal(r.size, tar.length);
    assert.equal(r.uncompressedSize, tar.length);

    const root = snapOne(t.path);
    assert.equal(root.mode, 0o755);
    assert.equal(root.mtimeNs, ns(T2), 'root metadata applied');
    const tmp = snapOne(join(t.path, 'tmp'));
    assert.deepEqual([tmp.type, tmp.mode, tmp.mtimeNs], ['dir', 0o1777, ns(T1)]);
    const bin = snapOne(join(t.path, 'bin'));
    assert.deepEqual([bin.mode, bin.uid, bin.gid, bin.mtimeNs], [0o2755, 10, 20, ns(T2)], 'dir mtime set after its contents');
    assert.equal(bin.xattrs['user.dir'], Buffer.from('d').toString('hex'));

    // atime first: reading the file below updates it (relatime, as atime < mtime here)
    assert.equal(fstatat(constants.AT_FDCWD, join(t.path, 'bin/ping'), 0).atimeNs, ns(T2));
    const ping = snapOne(join(t.path, 'bin/ping'));
    assert.deepEqual([ping.type, ping.mode, ping.uid, ping.gid, ping.mtimeNs, ping.size], ['file', 0o4755, 1000, 1001, ns(T1), body.length]);
    assert.equal(ping.sha, createHash('sha256').update(body).digest('hex'));
    assert.deepEqual(lgetxattr(join(t.path, 'bin/ping'), 'security.capability'), CAP, 'capability kept as binary (set after chown)');
    assert.deepEqual(lgetxattr(join(t.path, 'bin/ping'), 'user.bin'), Buffer.from([0, 1, 2, 255]));
    assert.equal(snapOne(join(t.path, 'bin/sg')).mode, 0o2711);
    assert.equal(snapOne(join(t.path, 'bin/empty')).size, 0);

    const hard = snapOne(join(t.path, 'bin/hard'));
    assert.equal(hard.ino, ping.ino, 'hard link shares the inode');
    assert.equal(fstatat(constants.AT_FDCWD, join(t.path, 'bin/ping'), 0).nlink, 2);

    const abs = snapOne(join(t.path, 'bin/abs'));
    assert.deepEqual([abs.type, abs.link, abs.uid, abs.gid, abs.mtimeNs], ['symlink', '/etc/passwd', 5, 6, ns(T1)]);
    const rel = snapOne(join(t.path, 'bin/rel'));
    assert.deepEqual([rel.link, rel.mtimeNs], ['../tmp/x', ns(T2)]);
    assert.equal(rel.xattrs['trusted.sym'], Buffer.from('s').toString('hex'), 'xattr on the symlink itself');

    const nul = snapOne(join(t.path, 'dev/null'));
    assert.deepEqual([nul.type, nul.rdev, nul.mode, nul.uid, nul.gid, nul.mtimeNs], ['char', '1:3', 0o666, 7, 8, ns(T1)]);
    const loop = snapOne(join(t.path, 'dev/loop9'));
    assert.deepEqual([loop.type, loop.rdev, loop.mode, loop.gid, loop.mtimeNs], ['block', '7:9', 0o660, 6, ns(T2)]);
    assert.equal(snapOne(join(t.path, 'dev/big')).rdev, '4095:1048575');
    const fifo = snapOne(join(t.path, 'dev/fifo'));
    assert.deepEqual([fifo.type, fifo.mode, fifo.mtimeNs], ['fifo', 0o620, ns(T2)]);
  } finally {
    t.cleanup();
  }
});

test('long names and link names: PAX, GNU L/K, non-UTF-8 bytes; base-256 numbers', async () => {
  const t = tempDir();
  try {
    const deep = `${'d'.repeat(120)}/${'e'.repeat(200)}/file-with-a-long-name`;
    const target = `${'t'.repeat(150)}/target`;
    const pax = await layer([
      [{ name: `${deep}`, mtime: 5 }, Buffer.from('deep')],
      [{ name: 'paxlink', type: 'symlink', linkname: target }],
      [{ name: 'hl', type: 'hardlink', linkname: deep }],
      [{ name: 'latin1', nameBytes: Buffer.from('caf\xe9', 'latin1') }, Buffer.from('bytes')],
    ]);
    await apply(t.path, pax);
    assert.equal(readFileSync(join(t.path, deep), 'utf8'), 'deep');
    assert.equal(snapOne(join(t.path, 'paxlink')).link, target);
    assert.equal(snapOne(join(t.path, 'hl')).ino, snapOne(join(t.path, deep)).ino);
    const raw = Buffer.concat([Buffer.from(`${t.path}/`), Buffer.from('caf\xe9', 'latin1')]);
    assert.equal(fstatat(constants.AT_FDCWD, raw, constants.AT_SYMLINK_NOFOLLOW).size, 5, 'non-UTF-8 name created byte for byte');

    // GNU long name and long link headers in front of plain ustar headers
    const gnuName = `g/${'n'.repeat(180)}`;
    const gnuTarget = `/${'k'.repeat(170)}`;
    const plainFile = await layer([[{ name: 'short', mtime: 6 }, Buffer.from('gnu')]]);
    const plainLink = await layer([[{ name: 'slink', type: 'symlink', linkname: 'x' }]]);
    const gnu = Buffer.concat([
      gnuLongHeader('L', Buffer.from(gnuName)),
      plainFile.subarray(0, plainFile.length - 1024),
      gnuLongHeader('K', Buffer.from(gnuTarget)),
      plainLink,
    ]);
    const t2 = tempDir();
    try {
      await apply(t2.path, gnu);
      assert.equal(readFileSync(join(t2.path, gnuName), 'utf8'), 'gnu');
      assert.equal(snapOne(join(t2.path, 'slink')).link, gnuTarget);
    } finally {
      t2.cleanup();
    }

    // base-256 uid/gid/mtime (GNU's encoding for numbers that do not fit octal)
    const plain = await layer([[{ name: 'b256', uid: 1, gid: 1, mtime: 1 }, Buffer.from('b')]]);
    const b256 = patchHeader(plain, 0, (b) => {
      writeBase256(b, 108, 8, 3_000_000);
      writeBase256(b, 116, 8, 4_000_000);
      writeBase256(b, 136, 12, 9_000_000_000);
    });
    const t3 = tempDir();
    try {
      await apply(t3.path, b256);
      const s = snapOne(join(t3.path, 'b256'));
      assert.deepEqual([s.uid, s.gid, s.mtimeNs], [3_000_000, 4_000_000, 9_000_000_000n * 1_000_000_000n]);
    } finally {
      t3.cleanup();
    }
  } finally {
    t.cleanup();
  }
});

test('a tree archived by GNU tar (--xattrs --format=pax) unpacks identically', async (tc) => {
  const t = tempDir();
  try {
    const src = join(t.path, 'src');
    const out = join(t.path, 'out');
    mkdirSync(join(src, 'usr/bin'), { recursive: true });
    mkdirSync(join(src, 'var/tmp'), { recursive: true });
    mkdirSync(out);
    writeFileSync(join(src, 'usr/bin/tool'), Buffer.alloc(300_000, 7));
    chmodSync(join(src, 'usr/bin/tool'), 0o4755);
    lsetxattr(join(src, 'usr/bin/tool'), 'security.capability', CAP);
    lsetxattr(join(src, 'usr/bin/tool'), 'user.origin', Buffer.from('gnu'));
    writeFileSync(join(src, 'usr/bin/empty'), '');
    linkSync(join(src, 'usr/bin/tool'), join(src, 'usr/bin/tool-alias'));
    symlinkSync('tool', join(src, 'usr/bin/sym'));
    symlinkSync('/usr/bin/tool', join(src, 'abs'));
    chmodSync(join(src, 'var/tmp'), 0o1777);
    mknodat(constants.AT_FDCWD, join(src, 'var/null'), constants.S_IFCHR | 0o666, 1, 3);
    mknodat(constants.AT_FDCWD, join(src, 'var/pipe'), constants.S_IFIFO | 0o644, 0, 0);
    spawnSync('chown', ['-h', '123:456', join(src, 'usr/bin/sym')]);
    spawnSync('chown', ['1000:1000', join(src, 'var')]);
    // nanosecond mtimes on everything, deepest first
    const paths = ['usr/bin/tool', 'usr/bin/empty', 'usr/bin/sym', 'abs', 'var/null', 'var/pipe', 'var/tmp', 'var', 'usr/bin', 'usr', '.'];
    paths.forEach((p, i) => utimensat(constants.AT_FDCWD, join(src, p), 1600000000 + i, 111, 1700000000 + i, 100_000_000 + i * 12345, constants.AT_SYMLINK_NOFOLLOW));
    const r = spawnSync('tar', ['--xattrs', "--xattrs-include=*", '--format=pax', '--numeric-owner', '-cf', '-', '-C', src, '.'], { maxBuffer: 1 << 28 });
    assert.equal(r.status, 0, r.stderr.toString());
    const tar = r.stdout;
    const res = await apply(out, tar);
    assert.equal(res.diffId, digestOf(tar));
    const want = comparable(snapTree(src));
    const got = comparable(snapTree(out));
    // GNU tar stores sub-second mtimes in pax format; if this build does not, compare seconds only
    if (!tar.includes(Buffer.from('mtime=1700000000.'))) {
      tc.diagnostic('GNU tar wrote whole-second mtimes');
      for (const tree of [want, got]) for (const v of Object.values(tree)) v.mtimeNs = v.mtimeNs / 1_000_000_000n;
    }
    assert.deepEqual(got, want);
  } finally {
    t.cleanup();
  }
});

test('existing entries are replaced, never written through; directories merge', async () => {
  const t = tempDir();
  try {
    const root = t.path;
    mkdirSync(join(root, 'was-dir/sub'), { recursive: true });
    writeFileSync(join(root, 'was-dir/sub/f'), 'old');
    writeFileSync(join(root, 'was-file'), 'old');
    mkdirSync(join(root, 'merge'));
    writeFileSync(join(root, 'merge/lower'), 'lower');
    writeFileSync(join(root, 'shared'), 'original');
    linkSync(join(root, 'shared'), join(root, 'other-name')); // e.g. a hard link in the parent snapshot
    symlinkSync('shared', join(root, 'was-link'));
    const tar = await layer([
      [{ name: 'was-dir', mode: 0o640 }, Buffer.from('now a file')],
      [{ name: 'was-file/', type: 'dir', mode: 0o700 }],
      [{ name: 'was-file/inside' }, Buffer.from('in')],
      [{ name: 'merge/', type: 'dir', mode: 0o711, uid: 9 }],
      [{ name: 'merge/upper' }, Buffer.from('upper')],
      [{ name: 'shared' }, Buffer.from('replaced')],
      [{ name: 'was-link' }, Buffer.from('not through the link')],
      [{ name: 'implicit/parents/file' }, Buffer.from('p')],
    ]);
    await apply(root, tar);
    assert.equal(readFileSync(join(root, 'was-dir'), 'utf8'), 'now a file');
    assert.equal(snapOne(join(root, 'was-dir')).mode, 0o640);
    assert.ok(isDirectory(join(root, 'was-file')));
    assert.equal(readFileSync(join(root, 'was-file/inside'), 'utf8'), 'in');
    assert.deepEqual(list(join(root, 'merge')), ['lower', 'upper'], 'a directory over a directory keeps its contents');
    assert.deepEqual([snapOne(join(root, 'merge')).mode, snapOne(join(root, 'merge')).uid], [0o711, 9]);
    assert.equal(readFileSync(join(root, 'shared'), 'utf8'), 'replaced');
    assert.equal(readFileSync(join(root, 'other-name'), 'utf8'), 'original', 'the old inode was unlinked, not rewritten');
    assert.equal(snapOne(join(root, 'was-link')).type, 'file');
    assert.equal(readFileSync(join(root, 'was-link'), 'utf8'), 'not through the link');
    assert.equal(snapOne(join(root, 'implicit')).mode, 0o755, 'missing parents are created 0755');
    assert.equal(readFileSync(join(root, 'implicit/parents/file'), 'utf8'), 'p');
  } finally {
    t.cleanup();
  }
});

test('overlayfs-internal xattrs in a layer are dropped', async () => {
  const t = tempDir();
  try {
    const tar = await layer([
      [{ name: 'd/', type: 'dir', xattrs: new Map([['trusted.overlay.opaque', Buffer.from('y')], ['trusted.overlay.redirect', Buffer.from('/etc')], ['user.keep', Buffer.from('1')]]) }],
      [{ name: 'f', xattrs: new Map([['trusted.overlay.metacopy', Buffer.alloc(0)], ['user.overlay.origin', Buffer.from('x')]]) }, Buffer.from('f')],
    ]);
    await apply(t.path, tar, 'overlay');
    assert.deepEqual(Object.keys(snapOne(join(t.path, 'd')).xattrs), ['user.keep']);
    assert.deepEqual(Object.keys(snapOne(join(t.path, 'f')).xattrs), []);
  } finally {
    t.cleanup();
  }
});

test('hard links must name an existing file inside the target', async () => {
  for (const [mode, linkname, pattern] of [
    ['oci-remove', 'missing', /hard link target "missing" does not exist/],
    ['overlay', 'lower/file', /hard link target "lower\/file" does not exist in this layer/],
    ['oci-remove', 'dir', /hard link target "dir" is a directory/],
  ] as const) {
    const t = tempDir();
    try {
      const tar = await layer([[{ name: 'dir/', type: 'dir' }], [{ name: 'link', type: 'hardlink', linkname }]]);
      await assert.rejects(apply(t.path, tar, mode), (e: unknown) => e instanceof DataCorruptError && pattern.test(e.message) && e.message.includes('"link"'));
    } finally {
      t.cleanup();
    }
  }
});

// ---------------------------------------------------------------------------
// whiteouts

/** A lower tree shared by the whiteout tests. */
function lowerTree(dir: string): void {
  mkdirSync(join(dir, 'opq/sub'), { recursive: true });
  writeFileSync(join(dir, 'opq/old'), 'old');
  writeFileSync(join(dir, 'opq/sub/old'), 'old');
  mkdirSync(join(dir, 'gone-dir/deep'), { recursive: true });
  writeFileSync(join(dir, 'gone-dir/deep/x'), 'x');
  writeFileSync(join(dir, 'gone'), 'gone');
  writeFileSync(join(dir, 'keep'), 'keep');
  mkdirSync(join(dir, 'recreate/inner'), { recursive: true });
  writeFileSync(join(dir, 'recreate/inner/old'), 'old');
  mkdirSync(join(dir, 'late/sub'), { recursive: true });
  writeFileSync(join(dir, 'late/old'), 'old');
  writeFileSync(join(dir, 'late/sub/old'), 'old');
  mkdirSync(join(dir, 'lateopq/sub'), { recursive: true });
  writeFileSync(join(dir, 'lateopq/old'), 'old');
  writeFileSync(join(dir, 'lateopq/sub/old'), 'old');
  mkdirSync(join(dir, 'implicit'));
  writeFileSync(join(dir, 'implicit/old'), 'old');
}

/** A layer with whiteouts before and after the entries they concern (order must not matter). */
function whiteoutLayer(): Promise<Buffer> {
  return layer([
    [{ name: '.wh.gone' }],
    [{ name: '.wh.gone-dir' }],
    [{ name: '.wh.never-existed' }],
    [{ name: 'opq/.wh..wh..opq' }],
    [{ name: 'opq/new' }, Buffer.from('new')],
    [{ name: 'opq/sub/new' }, Buffer.from('new')],
    // whiteout of a directory that a later entry recreates
    [{ name: '.wh.recreate' }],
    [{ name: 'recreate/', type: 'dir', mode: 0o750 }],
    [{ name: 'recreate/inner/new' }, Buffer.from('new')],
    // entries first, whiteout of their directory afterwards: only lower content goes
    [{ name: 'late/sub/mine' }, Buffer.from('mine')],
    [{ name: '.wh.late' }],
    [{ name: 'lateopq/sub/mine' }, Buffer.from('mine')],
    [{ name: 'lateopq/.wh..wh..opq' }],
    [{ name: 'aufs/.wh..wh.plnk' }],
    // whiteout, then a file below the same name without a directory entry
    [{ name: '.wh.implicit' }],
    [{ name: 'implicit/new' }, Buffer.from('new')],
  ]);
}

test('oci-remove: whiteouts remove lower entries, opaque markers empty directories, this layer is spared', async () => {
  const t = tempDir();
  try {
    lowerTree(t.path);
    const r = await apply(t.path, await whiteoutLayer(), 'oci-remove');
    assert.equal(r.entries, 16);
    assert.deepEqual(list(join(t.path, 'implicit')), ['new']);
    const root = t.path;
    assert.equal(exists(join(root, 'gone')), false);
    assert.equal(exists(join(root, 'gone-dir')), false);
    assert.equal(exists(join(root, 'never-existed')), false);
    assert.equal(readFileSync(join(root, 'keep'), 'utf8'), 'keep');
    assert.deepEqual(list(join(root, 'opq')), ['new', 'sub']);
    assert.deepEqual(list(join(root, 'opq/sub')), ['new']);
    assert.deepEqual(list(join(root, 'recreate')), ['inner']);
    assert.deepEqual(list(join(root, 'recreate/inner')), ['new']);
    assert.equal(snapOne(join(root, 'recreate')).mode, 0o750);
    assert.deepEqual(list(join(root, 'late')), ['sub']);
    assert.deepEqual(list(join(root, 'late/sub')), ['mine']);
    assert.deepEqual(list(join(root, 'lateopq')), ['sub']);
    assert.deepEqual(list(join(root, 'lateopq/sub')), ['mine']);
    assert.ok(!list(root).some((n) => n.startsWith('.wh.')), 'no whiteout files left behind');
    assert.equal(exists(join(root, 'aufs/.wh..wh.plnk')), false, 'AUFS metadata entries are ignored');
  } finally {
    t.cleanup();
  }
});

function isWhiteoutDevice(path: string): boolean {
  const s = snapOne(path);
  return s.type === 'char' && s.rdev === '0:0';
}

test('overlay: whiteouts become 0:0 devices and opaque dirs get trusted.overlay.opaque; a real overlay mount hides the files', async () => {
  const t = tempDir();
  const lower = join(t.path, 'lower');
  const upper = join(t.path, 'upper');
  const work = join(t.path, 'work');
  const merged = join(t.path, 'merged');
  for (const d of [lower, upper, work, merged]) mkdirSync(d);
  try {
    lowerTree(lower);
    await apply(upper, await whiteoutLayer(), 'overlay');
    assert.ok(isWhiteoutDevice(join(upper, 'gone')));
    assert.ok(isWhiteoutDevice(join(upper, 'gone-dir')));
    assert.ok(isWhiteoutDevice(join(upper, 'never-existed')));
    assert.deepEqual(lgetxattr(join(upper, 'opq'), 'trusted.overlay.opaque'), Buffer.from('y'));
    assert.deepEqual(lgetxattr(join(upper, 'recreate'), 'trusted.overlay.opaque'), Buffer.from('y'), 'a recreated whited-out dir is opaque');
    assert.deepEqual(lgetxattr(join(upper, 'late'), 'trusted.overlay.opaque'), Buffer.from('y'), 'whiteout after this layer wrote into the dir');
    assert.deepEqual(lgetxattr(join(upper, 'lateopq'), 'trusted.overlay.opaque'), Buffer.from('y'));
    assert.equal(lgetxattr(join(upper, 'late/sub'), 'trusted.overlay.opaque'), null);
    assert.equal(exists(join(upper, 'keep')), false, 'lower files are not copied into the upper dir');
    assert.deepEqual(lgetxattr(join(upper, 'implicit'), 'trusted.overlay.opaque'), Buffer.from('y'), 'whiteout device replaced by an opaque dir');

    overlayMount({ lowerdirs: [lower], upperdir: upper, workdir: work, target: merged });
    try {
      assert.equal(exists(join(merged, 'gone')), false);
      assert.equal(exists(join(merged, 'gone-dir')), false);
      assert.equal(readFileSync(join(merged, 'keep'), 'utf8'), 'keep');
      assert.deepEqual(list(join(merged, 'opq')), ['new', 'sub']);
      // opq/sub is not opaque itself: lower opq/sub/old is hidden because opq is opaque
      assert.deepEqual(list(join(merged, 'opq/sub')), ['new']);
      assert.deepEqual(list(join(merged, 'recreate')), ['inner']);
      assert.deepEqual(list(join(merged, 'recreate/inner')), ['new']);
      assert.deepEqual(list(join(merged, 'late')), ['sub']);
      assert.deepEqual(list(join(merged, 'late/sub')), ['mine']);
      assert.deepEqual(list(join(merged, 'lateopq')), ['sub']);
      assert.deepEqual(list(join(merged, 'lateopq/sub')), ['mine']);
      assert.deepEqual(list(join(merged, 'implicit')), ['new']);
    } finally {
      umount2(merged, 0);
    }
  } finally {
    t.cleanup();
  }
});

test('a whiteout hides a file several layers down (overlay chain and native copy)', async () => {
  const t = tempDir();
  const l1 = join(t.path, 'l1');
  const l2 = join(t.path, 'l2');
  const l3 = join(t.path, 'l3');
  const work = join(t.path, 'work');
  const merged = join(t.path, 'merged');
  for (const d of [l1, l2, l3, work, merged]) mkdirSync(d);
  try {
    await apply(l1, await layer([[{ name: 'etc/deep/conf' }, Buffer.from('1')], [{ name: 'etc/keep' }, Buffer.from('k')]]), 'overlay');
    await apply(l2, await layer([[{ name: 'usr/bin/x' }, Buffer.from('2')]]), 'overlay');
    const wh = await layer([[{ name: 'etc/deep/.wh.conf' }]]);
    await apply(l3, wh, 'overlay');
    assert.ok(isWhiteoutDevice(join(l3, 'etc/deep/conf')));
    overlayMount({ lowerdirs: [l2, l1], upperdir: l3, workdir: work, target: merged });
    try {
      assert.deepEqual(list(join(merged, 'etc/deep')), []);
      assert.deepEqual(list(join(merged, 'etc')), ['deep', 'keep']);
      assert.equal(readFileSync(join(merged, 'usr/bin/x'), 'utf8'), '2');
    } finally {
      umount2(merged, 0);
    }
    // the same chain as full copies (native snapshotter)
    const native = join(t.path, 'native');
    mkdirSync(native);
    for (const tar of [
      await layer([[{ name: 'etc/deep/conf' }, Buffer.from('1')], [{ name: 'etc/keep' }, Buffer.from('k')]]),
      await layer([[{ name: 'usr/bin/x' }, Buffer.from('2')]]),
      wh,
    ]) {
      await apply(native, tar, 'oci-remove');
    }
    assert.deepEqual(list(join(native, 'etc/deep')), []);
    assert.deepEqual(list(join(native, 'etc')), ['deep', 'keep']);
  } finally {
    t.cleanup();
  }
});

// ---------------------------------------------------------------------------
// compression and verification

test('gzip, zstd and plain layers are recognised by content and give the same diffID', async () => {
  const tar = await layer([
    [{ name: 'a/' , type: 'dir' }],
    [{ name: 'a/big' }, Buffer.alloc(1 << 20, 'abc')],
    [{ name: 'a/small' }, Buffer.from('small')],
  ]);
  const forms = { none: tar, gzip: await compress('gzip', tar), zstd: await compress('zstd', tar) };
  for (const [kind, bytes] of Object.entries(forms)) {
    const t = tempDir();
    try {
      const r = await apply(t.path, bytes, 'oci-remove', { expectedDigest: digestOf(bytes), expectedSize: bytes.length, expectedDiffId: digestOf(tar) });
      assert.equal(r.compression, kind);
      assert.equal(r.diffId, digestOf(tar));
      assert.equal(r.digest, digestOf(bytes));
      assert.equal(r.size, bytes.length);
      assert.equal(r.uncompressedSize, tar.length);
      assert.equal(snapOne(join(t.path, 'a/big')).size, 1 << 20);
    } finally {
      t.cleanup();
    }
  }
});

test('trusted digests (a verified stored blob) are reported as given, without hashing; sizes still counted', async () => {
  const tar = await layer([[{ name: 'f' }, Buffer.from('trusted')]]);
  const gz = await compress('gzip', tar);
  const t = tempDir();
  try {
    // Values that do not match the bytes: reported as given, which shows nothing was hashed.
    const trusted = { digest: digestOf('stored blob'), diffId: digestOf('stored diffID') };
    const r = await apply(t.path, gz, 'oci-remove', { trusted });
    assert.equal(r.digest, trusted.digest);
    assert.equal(r.diffId, trusted.diffId);
    assert.equal(r.size, gz.length);
    assert.equal(r.uncompressedSize, tar.length);
    assert.equal(readFileSync(join(t.path, 'f'), 'utf8'), 'trusted');
    await assert.rejects(apply(t.path, gz, 'oci-remove', { trusted, expectedSize: gz.length - 1 }), /size mismatch/);
  } finally {
    t.cleanup();
  }
});

test('digest, size and diffID mismatches throw DataCorruptError and leave a removable target', async () => {
  const tar = await layer([[{ name: 'd/f' }, Buffer.alloc(100_000, 1)]]);
  const gz = await compress('gzip', tar);
  const wrong = digestOf('something else');
  const cases: Array<[ApplyOptions, RegExp]> = [
    [{ expectedDigest: wrong }, /digest mismatch: got sha256:[0-9a-f]{64}, expected/],
    [{ expectedDiffId: wrong }, /diffID mismatch/],
    [{ expectedSize: gz.length - 10 }, /size mismatch: more than the expected/],
    [{ expectedSize: gz.length + 10 }, /size mismatch: got \d+ bytes, expected/],
  ];
  for (const [opts, pattern] of cases) {
    const t = tempDir();
    const target = join(t.path, 'snapshot');
    mkdirSync(target);
    try {
      await assert.rejects(apply(target, gz, 'oci-remove', { ...opts, what: 'layer sha256:feed' }), (e: unknown) => {
        return e instanceof DataCorruptError && pattern.test(e.message) && e.message.startsWith('layer sha256:feed: ');
      });
      rmSync(target, { recursive: true });
      assert.equal(exists(target), false);
    } finally {
      t.cleanup();
    }
  }
});

test('argument errors', async () => {
  const tar = await layer([[{ name: 'f' }, Buffer.from('x')]]);
  await assert.rejects(apply('/nonexistent/cairn-target', tar), NotFoundError);
  const t = tempDir();
  try {
    await assert.rejects(applyLayer({ dir: t.path, whiteoutMode: 'aufs' as WhiteoutMode }, chunks(tar)), InvalidArgumentError);
    await assert.rejects(apply(t.path, tar, 'oci-remove', { expectedSize: -1 }), InvalidArgumentError);
    await assert.rejects(apply(t.path, tar, 'oci-remove', { decompressLimit: 1.5 }), InvalidArgumentError);
    const d: Digest = digestOf(tar);
    const r = await apply(t.path, tar, 'oci-remove', { expectedDigest: d });
    assert.equal(r.digest, d);
  } finally {
    t.cleanup();
  }
});

test('a 1 GiB layer streams through in bounded memory', async (tc) => {
  const t = tempDir();
  const writer = createTarWriter();
  const block = Buffer.alloc(1 << 20, 0x5a);
  async function* body(mib: number): AsyncGenerator<Buffer> {
    for (let i = 0; i < mib; i++) yield block;
  }
  const small = Buffer.alloc(64 * 1024, 0x33);
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    const applied = applyLayer({ dir: t.path, whiteoutMode: 'oci-remove' }, writer);
    await writer.add({ name: 'big/', type: 'dir' });
    await writer.add({ name: 'big/file', size: 768 << 20 }, body(768));
    for (let i = 0; i < 4096; i++) await writer.add({ name: `small/${i % 64}/f${i}` }, small);
    await writer.finish();
    const r = await applied;
    peak = Math.max(peak, process.memoryUsage.rss());
    assert.equal(r.entries, 4098);
    assert.ok(r.uncompressedSize > 1 << 30);
    assert.equal(snapOne(join(t.path, 'big/file')).size, 768 << 20);
    assert.equal(list(join(t.path, 'small/63')).length, 64);
    const growth = peak - baseline;
    tc.diagnostic(`peak RSS growth ${(growth / 1048576).toFixed(0)} MiB`);
    assert.ok(growth < 200 << 20, `RSS grew by ${(growth / 1048576).toFixed(0)} MiB`);
  } finally {
    clearInterval(timer);
    t.cleanup();
  }
});

test('an opaque marker at the top level hides every lower entry (both modes)', async () => {
  const t = tempDir();
  try {
    const full = join(t.path, 'full');
    const upper = join(t.path, 'upper');
    mkdirSync(full);
    mkdirSync(upper);
    writeFileSync(join(full, 'lower-file'), 'x');
    mkdirSync(join(full, 'etc'));
    writeFileSync(join(full, 'etc/lower'), 'x');
    const tar = await layer([[{ name: 'etc/mine' }, Buffer.from('m')], [{ name: '.wh..wh..opq' }]]);
    await apply(full, tar, 'oci-remove');
    assert.deepEqual(list(full), ['etc']);
    assert.deepEqual(list(join(full, 'etc')), ['mine']);
    await apply(upper, tar, 'overlay');
    assert.deepEqual(lgetxattr(upper, 'trusted.overlay.opaque'), Buffer.from('y'));
    assert.deepEqual(list(upper), ['etc']);
  } finally {
    t.cleanup();
  }
});
