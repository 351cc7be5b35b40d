import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, fchownat, fstatat, lgetxattr, llistxattr, lsetxattr, mknodat, utimensatNs } from '../native/index.js';
import { copyTree, diskUsage } from './copy.js';

const SLASH = Buffer.from('/');

/** Every entry under `root` with everything copyTree must keep, keyed by relative path (hex for raw names). */
async function describeTree(root: Buffer): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const inodes = new Map<string, string>();
  const visit = async (rel: Buffer): Promise<void> => {
    const p = rel.length === 0 ? root : Buffer.concat([root, SLASH, rel]);
    const st = fstatat(constants.AT_FDCWD, p, constants.AT_SYMLINK_NOFOLLOW);
    const type = st.mode & constants.S_IFMT;
    const xattrs = llistxattr(p)
      .sort()
      .map((n) => `${n}=${lgetxattr(p, n)?.toString('hex')}`);
    let content = '';
    if (type === constants.S_IFREG) content = createHash('sha256').update(await fsp.readFile(p)).digest('hex');
    if (type === constants.S_IFLNK) content = (await fsp.readlink(p, { encoding: 'buffer' })).toString('hex');
    // Hard links: the first relative path that had this inode.
    const id = `${st.ino}`;
    const linkOf = type !== constants.S_IFDIR && st.nlink > 1 ? (inodes.get(id) ?? (inodes.set(id, rel.toString('hex')), '')) : '';
    // Reading a file or symlink or listing a directory may update its atime (relatime): compare the others'.
    const atime = type === constants.S_IFDIR || type === constants.S_IFREG || type === constants.S_IFLNK ? '' : String(st.atimeNs);
    out.set(rel.toString('hex'), [st.mode.toString(8), st.uid, st.gid, st.nlink, `${st.rdevMajor}:${st.rdevMinor}`, st.mtimeNs, atime, xattrs.join(';'), content, linkOf].join('|'));
    if (type === constants.S_IFDIR) {
      const names = (await fsp.readdir(p, { encoding: 'buffer' })).sort(Buffer.compare);
      for (const n of names) await visit(rel.length === 0 ? n : Buffer.concat([rel, SLASH, n]));
    }
  };
  await visit(Buffer.alloc(0));
  return out;
}

test('copyTree keeps types, owners, modes, xattrs, nanosecond times, hard links and raw names', async () => {
  const base = await fsp.mkdtemp(join(tmpdir(), 'cairn-copy-'));
  try {
    const src = join(base, 'src');
    const dst = join(base, 'dst');
    await fsp.mkdir(join(src, 'a', 'b'), { recursive: true });
    await fsp.mkdir(dst);
    await fsp.writeFile(join(src, 'a', 'b', 'file'), 'hello');
    await fsp.link(join(src, 'a', 'b', 'file'), join(src, 'hardlink'));
    await fsp.link(join(src, 'a', 'b', 'file'), join(src, 'a', 'another'));
    for (let i = 0; i < 40; i++) await fsp.writeFile(join(src, 'a', `many-${i}`), Buffer.alloc(i * 97, i));
    await fsp.writeFile(join(src, 'setuid'), '#!/bin/sh\n');
    fchownat(constants.AT_FDCWD, join(src, 'setuid'), 1234, 5678, 0);
    await fsp.chmod(join(src, 'setuid'), 0o4750);
    await fsp.symlink('a/b/file', join(src, 'link'));
    fchownat(constants.AT_FDCWD, join(src, 'link'), 42, 43, constants.AT_SYMLINK_NOFOLLOW);
    await fsp.symlink('/nowhere/at/all', join(src, 'dangling'));
    mknodat(constants.AT_FDCWD, join(src, 'fifo'), constants.S_IFIFO | 0o600);
    mknodat(constants.AT_FDCWD, join(src, 'zero'), constants.S_IFCHR | 0o666, 1, 5);
    mknodat(constants.AT_FDCWD, join(src, 'blk'), constants.S_IFBLK | 0o660, 7, 0);
    mknodat(constants.AT_FDCWD, join(src, 'whiteout'), constants.S_IFCHR, 0, 0);
    const raw = Buffer.concat([Buffer.from(src), SLASH, Buffer.from([0x66, 0xff, 0xfe, 0x2e])]);
    await fsp.writeFile(raw, 'not utf-8 name');
    lsetxattr(join(src, 'a'), 'trusted.overlay.opaque', Buffer.from('y'));
    lsetxattr(join(src, 'a', 'b', 'file'), 'user.note', Buffer.from([0, 1, 2, 255]));
    lsetxattr(join(src, 'link'), 'trusted.linkattr', Buffer.from('on a symlink'));
    await fsp.chmod(join(src, 'a', 'b'), 0o2775);
    await fsp.chmod(src, 0o751);
    // Times last: directories' times change as their entries are made.
    const t = (n: number): bigint => 1_000_000_000_123_456_789n + BigInt(n) * 1_000_000_007n;
    let n = 0;
    for (const p of ['a/b/file', 'setuid', 'link', 'dangling', 'fifo', 'zero', 'a/b', 'a', '.']) {
      utimensatNs(constants.AT_FDCWD, join(src, p), t(n++), t(n++), constants.AT_SYMLINK_NOFOLLOW);
    }

    const before = await describeTree(Buffer.from(src));
    await copyTree(src, dst);
    assert.deepEqual(await describeTree(Buffer.from(dst)), before);
    assert.deepEqual(await describeTree(Buffer.from(src)), before, 'the source is unchanged (times included)');
    const f = await fsp.stat(join(dst, 'a', 'b', 'file'));
    assert.equal(f.nlink, 3);
    assert.equal((await fsp.stat(join(dst, 'hardlink'))).ino, f.ino);
    assert.notEqual((await fsp.stat(join(src, 'hardlink'))).ino, f.ino, 'a copy, not links to the source');
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test('diskUsage counts blocks and distinct inodes, hard links once', async () => {
  const base = await fsp.mkdtemp(join(tmpdir(), 'cairn-du-'));
  try {
    await fsp.writeFile(join(base, 'big'), Buffer.alloc(64 * 1024, 1));
    await fsp.link(join(base, 'big'), join(base, 'again'));
    await fsp.mkdir(join(base, 'd'));
    await fsp.writeFile(join(base, 'd', 'empty'), '');
    const u = await diskUsage(base);
    assert.equal(u.inodes, 4, 'base, big (twice named), d, d/empty');
    assert.ok(u.size >= 64 * 1024 && u.size < 2 * 64 * 1024, `size ${u.size}`);
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});
