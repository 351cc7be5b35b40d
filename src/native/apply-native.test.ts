/**
 * Tests of the addon's whole-entry calls for the layer applier (native/src/apply.c):
 * applyFile, fileMeta, applyNode, applyBatch and applyCopy (with copy.c's prefetchAt), and
 * upper.c's scanDir and copyPlainRun, on a temporary directory, as root
 * (chown, mknod and trusted.* xattrs need it). Each checks what lands on disk, that
 * nothing is followed through a planted symlink, that errors are one-line errno errors,
 * and that no fd is left open.
 */
import assert from 'node:assert/strict';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  applyBatch,
  applyCopy,
  applyFile,
  applyNode,
  BATCH_FILE,
  BATCH_OP_SLOTS,
  constants as C,
  ENTRY_META_LENGTH,
  fileMeta,
  lgetxattr,
  NODE_KIND,
  copyPlainRun,
  openat,
  prefetchAt,
  SCAN,
  SCAN_SLOTS,
  scanDir,
  scannedStat,
  type BatchOps,
  type NativeError,
} from './index.js';

let root = '';
let seq = 0;

function freshDir(name: string): { dir: string; fd: number } {
  const dir = join(root, `${name}-${seq++}`);
  mkdirSync(dir);
  return { dir, fd: openSync(dir, 'r') };
}

const fds = (): number => readdirSync('/proc/self/fd').length;

/** meta: owner, mode, times (atime = mtime - 1 s), device number. */
function meta(uid: number, gid: number, mode: number, mtimeSec: number, mtimeNsec = 0, major = 0, minor = 0): Float64Array {
  return Float64Array.from([uid, gid, mode, mtimeSec - 1, mtimeNsec, mtimeSec, mtimeNsec, major, minor]);
}

function caught(fn: () => unknown): NativeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error);
    return e as NativeError;
  }
  assert.fail('expected an error');
}

const RESOLVE = (): number => C.RESOLVE_BENEATH | C.RESOLVE_NO_SYMLINKS | C.RESOLVE_NO_MAGICLINKS | C.RESOLVE_NO_XDEV;

before(() => {
  assert.equal(process.getuid?.(), 0, 'these tests run as root (as CI does)');
  root = mkdtempSync(join(tmpdir(), 'cairn-native-apply-'));
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('whole-entry native calls', () => {
  it('applyFile writes the chunks and sets owner, mode (setuid kept), xattrs and times in one call', () => {
    const { dir, fd } = freshDir('file');
    try {
      const chunks = [Buffer.from('hello '), Buffer.from('world'), Buffer.alloc(0)];
      const ok = applyFile(fd, 'f', chunks, meta(1000, 1001, 0o4755, 1_600_000_000, 123_456_789), ['user.k', Buffer.from([0, 1, 2]), 'trusted.t', Buffer.from('v')]);
      assert.equal(ok, true);
      const st = statSync(join(dir, 'f'), { bigint: true });
      assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'hello world');
      assert.deepEqual([Number(st.uid), Number(st.gid), Number(st.mode & 0o7777n)], [1000, 1001, 0o4755]);
      assert.equal(st.mtimeNs, 1_600_000_000_123_456_789n);
      assert.equal(st.atimeNs, 1_599_999_999_123_456_789n);
      assert.deepEqual(lgetxattr(join(dir, 'f'), 'user.k'), Buffer.from([0, 1, 2]));
      assert.deepEqual(lgetxattr(join(dir, 'f'), 'trusted.t'), Buffer.from('v'));
      // one Buffer, and no body at all
      assert.equal(applyFile(fd, 'one', Buffer.from('x'), meta(0, 0, 0o600, 5)), true);
      assert.equal(readFileSync(join(dir, 'one'), 'utf8'), 'x');
      assert.equal(applyFile(fd, Buffer.from([0x6e, 0xff]), null, meta(0, 0, 0o644, 5)), true);
      assert.equal(statSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x6e, 0xff])])).size, 0, 'a name that is not UTF-8');
    } finally {
      closeSync(fd);
    }
  });

  it('applyFile returns false and changes nothing when the name exists, a planted symlink included', () => {
    const { dir, fd } = freshDir('exists');
    const outside = join(root, `outside-${seq++}`);
    writeFileSync(outside, 'outside');
    try {
      writeFileSync(join(dir, 'f'), 'old');
      symlinkSync(outside, join(dir, 'link'));
      symlinkSync(join(root, 'nowhere'), join(dir, 'dangling'));
      for (const name of ['f', 'link', 'dangling']) {
        assert.equal(applyFile(fd, name, Buffer.from('new'), meta(0, 0, 0o777, 1)), false, name);
      }
      assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'old');
      assert.equal(readFileSync(outside, 'utf8'), 'outside');
      assert.notEqual(statSync(outside).mode & 0o777, 0o777);
      assert.equal(readlinkSync(join(dir, 'dangling')), join(root, 'nowhere'));
      assert.throws(() => lstatSync(join(root, 'nowhere')), /ENOENT/);
    } finally {
      closeSync(fd);
    }
  });

  it('errors are one-line errno errors; a refused xattr names itself; no fd is left open', () => {
    const { fd } = freshDir('errors');
    const n = fds();
    try {
      const missing = caught(() => applyFile(fd, 'no/such/dir', Buffer.from('x'), meta(0, 0, 0o644, 1)));
      assert.equal(missing.code, 'ENOENT');
      assert.equal(missing.syscall, 'openat');
      assert.equal(missing.message, "ENOENT: no such file or directory, openat 'no/such/dir'");
      const bad = caught(() => applyFile(fd, 'x', Buffer.from('x'), meta(0, 0, 0o644, 1), ['bogus.name', Buffer.from('v')]));
      assert.equal(bad.code, 'ENOTSUP');
      assert.equal(bad.syscall, 'fsetxattr');
      assert.equal(bad.path, 'bogus.name');
      assert.ok(!bad.message.includes('\n'));
      const badDir = caught(() => applyNode(fd, 'd', NODE_KIND.dir, meta(0, 0, 0o755, 1), ['bogus.name', Buffer.from('v')]));
      assert.deepEqual([badDir.code, badDir.syscall, badDir.path], ['ENOTSUP', 'fsetxattr', 'bogus.name']);
      const badFd = caught(() => fileMeta(999_999, meta(0, 0, 0o644, 1)));
      assert.deepEqual([badFd.code, badFd.syscall], ['EBADF', 'fchown']);
      assert.equal(fds(), n, 'the file opened before the failure is closed');
      // bad arguments: TypeErrors
      const range = caught(() => applyFile(fd, 'y', null, meta(2 ** 33, 0, 0o644, 1)));
      assert.ok(range instanceof TypeError);
      assert.equal((range as unknown as { code: string }).code, 'ERR_OUT_OF_RANGE');
      assert.throws(() => applyFile(fd, 'y', null, meta(0, 0, 0o644, 1, 1_000_000_000)), /nanoseconds must be 0\.\.999999999/);
      assert.throws(() => applyFile(fd, 'y', null, new Float64Array(3)), /Float64Array of 9 numbers/);
      assert.throws(() => applyFile(fd, 'y', null, meta(0, 0, 0o644, 1), ['odd']), /name, value pairs/);
      assert.throws(() => applyNode(fd, 'y', 9 as 0, meta(0, 0, 0o644, 1)), /"kind" must be 0\.\.4/);
      assert.throws(() => applyFile(fd, 'a\0b', null, meta(0, 0, 0o644, 1)), /must not contain null bytes/);
    } finally {
      closeSync(fd);
    }
    assert.equal(ENTRY_META_LENGTH, 9);
  });

  it('fileMeta sets owner, mode, xattrs and times on an open file', () => {
    const { dir, fd } = freshDir('meta');
    try {
      const f = openat(fd, 'f', C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
      try {
        fileMeta(f, meta(7, 8, 0o2711, 42, 5), ['user.a', Buffer.from('b')]);
      } finally {
        closeSync(f);
      }
      const st = statSync(join(dir, 'f'), { bigint: true });
      assert.deepEqual([Number(st.uid), Number(st.gid), Number(st.mode & 0o7777n), st.mtimeNs], [7, 8, 0o2711, 42_000_000_005n]);
      assert.deepEqual(lgetxattr(join(dir, 'f'), 'user.a'), Buffer.from('b'));
    } finally {
      closeSync(fd);
    }
  });

  it('applyNode makes directories (keeping an existing one), symlinks, devices and FIFOs without following links', () => {
    const { dir, fd } = freshDir('node');
    try {
      assert.equal(applyNode(fd, 'd', NODE_KIND.dir, meta(5, 6, 0o751, 10), ['user.d', Buffer.from('1')]), 0);
      let st = lstatSync(join(dir, 'd'));
      assert.deepEqual([st.isDirectory(), st.uid, st.gid, st.mode & 0o7777], [true, 5, 6, 0o751]);
      assert.notEqual(Math.floor(st.mtimeMs / 1000), 10, 'directory times are left to the caller');
      assert.deepEqual(lgetxattr(join(dir, 'd'), 'user.d'), Buffer.from('1'));
      assert.equal(applyNode(fd, 'd', NODE_KIND.dir, meta(0, 0, 0o700, 10)), 1, 'an existing directory is kept');
      st = lstatSync(join(dir, 'd'));
      assert.deepEqual([st.uid, st.mode & 0o7777], [0, 0o700]);

      assert.equal(applyNode(fd, 'l', NODE_KIND.symlink, meta(3, 4, 0o777, 20, 7), ['user.x', Buffer.from('skipped'), 'trusted.y', Buffer.from('set')], '../../etc/passwd'), 0);
      const ls = lstatSync(join(dir, 'l'), { bigint: true });
      assert.deepEqual([ls.isSymbolicLink(), Number(ls.uid), Number(ls.gid), ls.mtimeNs], [true, 3, 4, 20_000_000_007n]);
      assert.equal(readlinkSync(join(dir, 'l')), '../../etc/passwd');
      assert.equal(lgetxattr(join(dir, 'l'), 'user.x'), null, 'user.* cannot live on a symlink: skipped');
      assert.deepEqual(lgetxattr(join(dir, 'l'), 'trusted.y'), Buffer.from('set'));

      assert.equal(applyNode(fd, 'null', NODE_KIND.char, meta(0, 0, 0o666, 30, 0, 1, 3)), 0);
      const cs = lstatSync(join(dir, 'null'));
      assert.deepEqual([cs.isCharacterDevice(), cs.mode & 0o7777, cs.rdev, Math.floor(cs.mtimeMs)], [true, 0o666, (1 << 8) | 3, 30_000]);
      assert.equal(applyNode(fd, 'blk', NODE_KIND.block, meta(0, 0, 0o660, 30, 0, 8, 1)), 0);
      assert.ok(lstatSync(join(dir, 'blk')).isBlockDevice());
      assert.equal(applyNode(fd, 'fifo', NODE_KIND.fifo, meta(0, 0, 0o640, 30)), 0);
      assert.ok(lstatSync(join(dir, 'fifo')).isFIFO());

      // existing names: nothing done, nothing followed
      const outsideDir = join(root, `outside-dir-${seq++}`);
      mkdirSync(outsideDir);
      symlinkSync(outsideDir, join(dir, 'todir'));
      assert.equal(applyNode(fd, 'todir', NODE_KIND.dir, meta(1, 1, 0o777, 1)), -1, 'a symlink to a directory is not a directory');
      assert.equal(statSync(outsideDir).mode & 0o777, 0o777 & ~process.umask());
      assert.equal(statSync(outsideDir).uid, 0);
      assert.equal(applyNode(fd, 'l', NODE_KIND.symlink, meta(0, 0, 0o777, 1), null, 'x'), -1);
      assert.equal(applyNode(fd, 'null', NODE_KIND.fifo, meta(0, 0, 0o777, 1)), -1);
      assert.equal(applyNode(fd, 'fifo', NODE_KIND.dir, meta(0, 0, 0o777, 1)), -1);
      assert.equal(readlinkSync(join(dir, 'l')), '../../etc/passwd');
      assert.throws(() => applyNode(fd, 'l2', NODE_KIND.symlink, meta(0, 0, 0o777, 1)), /"target" argument/);
    } finally {
      closeSync(fd);
    }
  });
});

describe('applyBatch', () => {
  /** ops and meta for `entries`. */
  function batch(entries: Array<{ kind: number; parent: string; name: string; body?: Buffer[] | string; m: Float64Array }>): {
    ops: BatchOps;
    metaAll: Float64Array;
    results: Int32Array;
  } {
    const ops: BatchOps = [];
    const metaAll = new Float64Array(entries.length * ENTRY_META_LENGTH);
    entries.forEach((e, i) => {
      ops.push(e.kind, Buffer.from(e.parent), Buffer.from(e.name), e.body ?? null, null);
      metaAll.set(e.m, i * ENTRY_META_LENGTH);
    });
    return { ops, metaAll, results: new Int32Array(entries.length).fill(-9) };
  }

  it('applies entries in order on the pool and resolves to how many were done', async () => {
    const { dir, fd } = freshDir('batch');
    try {
      mkdirSync(join(dir, 'old'));
      const b = batch([
        { kind: NODE_KIND.dir, parent: '', name: 'a', m: meta(1, 1, 0o755, 1) },
        { kind: BATCH_FILE, parent: 'a', name: 'f', body: [Buffer.from('ab'), Buffer.from('c')], m: meta(2, 2, 0o640, 2) },
        { kind: NODE_KIND.dir, parent: 'a', name: 'b', m: meta(0, 0, 0o700, 3) },
        { kind: NODE_KIND.symlink, parent: 'a/b', name: 's', body: '../f', m: meta(0, 0, 0o777, 4) },
        { kind: NODE_KIND.dir, parent: '', name: 'old', m: meta(9, 9, 0o711, 5) },
        { kind: BATCH_FILE, parent: '', name: 'top', m: meta(0, 0, 0o600, 6) },
      ]);
      const done = await applyBatch(fd, RESOLVE(), 6, b.ops, b.metaAll, b.results);
      assert.equal(done, 6);
      assert.deepEqual([...b.results], [0, 0, 0, 0, 1, 0]);
      assert.equal(readFileSync(join(dir, 'a/f'), 'utf8'), 'abc');
      assert.deepEqual([statSync(join(dir, 'a/f')).uid, statSync(join(dir, 'a/f')).mode & 0o7777], [2, 0o640]);
      assert.equal(readFileSync(join(dir, 'a/b/s'), 'utf8'), 'abc');
      assert.equal(statSync(join(dir, 'old')).uid, 9);
      assert.equal(statSync(join(dir, 'top')).size, 0);
    } finally {
      closeSync(fd);
    }
  });

  it('stops at an entry whose parent is missing or goes through a symlink, or whose name exists; nothing after it is done', async () => {
    const { dir, fd } = freshDir('stop');
    const outside = join(root, `outside-batch-${seq++}`);
    mkdirSync(outside);
    const n = fds();
    try {
      symlinkSync(outside, join(dir, 'esc'));
      writeFileSync(join(dir, 'taken'), 'old');
      const cases: Array<[string, string, number]> = [
        ['missing', 'f', 1],
        ['esc', 'evil', 1],
        ['', 'taken', 1],
      ];
      for (const [parent, name, at] of cases) {
        const b = batch([
          { kind: BATCH_FILE, parent: '', name: `before-${parent || 'root'}`, body: [Buffer.from('1')], m: meta(0, 0, 0o644, 1) },
          { kind: BATCH_FILE, parent, name, body: [Buffer.from('evil')], m: meta(0, 0, 0o666, 1) },
          { kind: BATCH_FILE, parent: '', name: `after-${parent || 'root'}`, body: [Buffer.from('2')], m: meta(0, 0, 0o644, 1) },
        ]);
        assert.equal(await applyBatch(fd, RESOLVE(), 3, b.ops, b.metaAll, b.results), at, `${parent}/${name}`);
        assert.equal(readFileSync(join(dir, `before-${parent || 'root'}`), 'utf8'), '1');
        assert.throws(() => lstatSync(join(dir, `after-${parent || 'root'}`)), /ENOENT/);
      }
      assert.deepEqual(readdirSync(outside), [], 'nothing written through the symlink');
      assert.equal(readFileSync(join(dir, 'taken'), 'utf8'), 'old');
      // a failing call stops the batch too (an xattr the file system refuses)
      const ops: BatchOps = [BATCH_FILE, Buffer.from(''), Buffer.from('x'), null, ['bogus.n', Buffer.from('v')]];
      assert.equal(await applyBatch(fd, RESOLVE(), 1, ops, meta(0, 0, 0o644, 1), new Int32Array(1)), 0);
      // an empty batch
      assert.equal(await applyBatch(fd, RESOLVE(), 0, [], new Float64Array(0), new Int32Array(0)), 0);
      assert.equal(fds(), n, 'parent fds are closed when the work ends');
    } finally {
      closeSync(fd);
    }
  });

  it('refuses malformed arguments before queueing anything', () => {
    const { dir, fd } = freshDir('args');
    try {
      assert.throws(() => applyBatch(fd, RESOLVE(), 2, [BATCH_FILE], new Float64Array(18), new Int32Array(2)), /array of 2 entries of 5 slots/);
      const ops: BatchOps = [BATCH_FILE, Buffer.from(''), Buffer.from('f'), null, null];
      assert.equal(ops.length, BATCH_OP_SLOTS);
      assert.throws(() => applyBatch(fd, RESOLVE(), 1, ops, new Float64Array(3), new Int32Array(1)), /Float64Array of 9 numbers/);
      assert.throws(() => applyBatch(fd, RESOLVE(), 1, ops, new Float64Array(9), new Int32Array(0)), /Int32Array of 1 numbers/);
      assert.throws(() => applyBatch(fd, RESOLVE(), 1, [7, Buffer.from(''), Buffer.from('f'), null, null], new Float64Array(9), new Int32Array(1)), /"kind" must be 0\.\.5/);
      assert.throws(() => applyBatch(fd, RESOLVE(), 1, ops, meta(0, 0, 0o644, 1, 2e9), new Int32Array(1)), /nanoseconds/);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      closeSync(fd);
    }
  });
});

describe('applyCopy', () => {
  it('makes a regular file from another one on the pool, with owner, mode, xattrs and times; resolves to the new file, open for reading', async () => {
    const { dir, fd } = freshDir('copy');
    // The process's own lazily opened descriptors (libuv's io_uring on the first asynchronous
    // file call, the module loader) come first: only the copy's own may be counted.
    await (await import('node:fs/promises')).stat(dir);
    const { readSync } = await import('node:fs');
    const before = fds();
    try {
      const body = Buffer.alloc(300_000, 7);
      body.write('start');
      writeFileSync(join(dir, 'src'), body);
      const ino = lstatSync(join(dir, 'src'), { bigint: true }).ino;
      await prefetchAt(fd, ['src', 'missing', Buffer.from([0x6e, 0xff])], Float64Array.from([body.length, 10, 10]));
      const out = await applyCopy(fd, 'src', ino, body.length, fd, 'dst', meta(1000, 1001, 0o4750, 1_600_000_000, 5), ['user.k', Buffer.from('v')]);
      try {
        assert.ok(readFileSync(join(dir, 'dst')).equals(body));
        const back = Buffer.alloc(5);
        assert.equal(readSync(out, back, 0, 5, 0), 5, 'the fd reads the copy');
        assert.equal(back.toString(), 'start');
      } finally {
        closeSync(out);
      }
      const st = statSync(join(dir, 'dst'), { bigint: true });
      assert.deepEqual([Number(st.uid), Number(st.gid), Number(st.mode & 0o7777n)], [1000, 1001, 0o4750]);
      assert.equal(st.mtimeNs, 1_600_000_000_000_000_005n);
      assert.deepEqual(lgetxattr(join(dir, 'dst'), 'user.k'), Buffer.from('v'));
      closeSync(await applyCopy(fd, 'src', ino, 0 + body.length, fd, Buffer.from([0x6e, 0xfe]), meta(0, 0, 0o644, 5)));
      assert.equal(fds(), before, 'no fd left open');
    } finally {
      closeSync(fd);
    }
  });

  it('refuses a source that is another file or of another size (ESTALE), a symlink, or a destination that exists; no fd left open', async () => {
    const { dir, fd } = freshDir('copy-bad');
    try {
      writeFileSync(join(dir, 'src'), 'abc');
      symlinkSync('src', join(dir, 'link'));
      writeFileSync(join(dir, 'taken'), '');
      const ino = lstatSync(join(dir, 'src'), { bigint: true }).ino;
      const before = fds();
      const m = meta(0, 0, 0o644, 5);
      await assert.rejects(applyCopy(fd, 'src', ino + 1n, 3, fd, 'a', m), (e: NativeError) => e.code === 'ESTALE' && /replaced or changed size/.test(e.message));
      await assert.rejects(applyCopy(fd, 'src', ino, 4, fd, 'b', m), (e: NativeError) => e.code === 'ESTALE');
      await assert.rejects(applyCopy(fd, 'link', ino, 3, fd, 'c', m), (e: NativeError) => e.code === 'ELOOP');
      await assert.rejects(applyCopy(fd, 'src', ino, 3, fd, 'taken', m), (e: NativeError) => e.code === 'EEXIST' && /'taken'/.test(e.message));
      assert.deepEqual(readdirSync(dir).sort(), ['link', 'src', 'taken']);
      assert.equal(fds(), before);
      assert.throws(() => applyCopy(fd, 'src', ino, -1, fd, 'd', m), /size must not be negative/);
    } finally {
      closeSync(fd);
    }
  });
});

describe('the plain lane of an upper copy (upper.c)', () => {
  it('scanDir stats every entry in one call, sorted as a layer lists them (a 0:0 whiteout as .wh.NAME), with the size of its attribute list', () => {
    const { dir, fd } = freshDir('scan');
    try {
      writeFileSync(join(dir, 'b'), 'bb');
      writeFileSync(join(dir, '.wh'), '');
      mkdirSync(join(dir, 'a'));
      applyNode(fd, 'z-gone', NODE_KIND.char, meta(0, 0, 0, 5));
      applyFile(fd, 'x', null, meta(1000, 1001, 0o640, 1_600_000_000, 7), ['user.k', Buffer.from('v')]);
      applyFile(fd, Buffer.from([0x6e, 0xff]), Buffer.from('n'), meta(0, 0, 0o644, 5));
      const { names, info } = scanDir(fd);
      const at = (i: number, k: keyof typeof SCAN): number => info[i * SCAN_SLOTS + SCAN[k]]!;
      const name = (i: number): Buffer => names.subarray(at(i, 'nameOff'), at(i, 'nameOff') + at(i, 'nameLen'));
      const order = Array.from({ length: info.length / SCAN_SLOTS }, (_, i) => name(i).toString('latin1'));
      assert.deepEqual(order, ['.wh', 'z-gone', 'a', 'b', Buffer.from([0x6e, 0xff]).toString('latin1'), 'x'], "'.wh.z-gone' sorts after '.wh' and before 'a'");
      const x = order.indexOf('x');
      const st = lstatSync(join(dir, 'x'), { bigint: true });
      assert.deepEqual([at(x, 'uid'), at(x, 'gid'), at(x, 'mode'), at(x, 'mtimeSec'), at(x, 'mtimeNsec'), at(x, 'nlink')], [1000, 1001, Number(st.mode), 1_600_000_000, 7, 1]);
      assert.ok(at(x, 'xattrBytes') > 0 && at(order.indexOf('b'), 'xattrBytes') === 0);
      const s = scannedStat(info, x);
      assert.deepEqual([s.ino, s.dev, s.size, s.mtimeNs], [st.ino, st.dev, 0, 1_600_000_000_000_000_007n]);
      assert.deepEqual([at(1, 'rdevMajor'), at(1, 'rdevMinor')], [0, 0]);
    } finally {
      closeSync(fd);
    }
  });

  it("copyPlainRun writes the tar writer's headers and padding at the call, makes the files on the pool, and resolves to their fds", async () => {
    const { encodeHeader } = await import('../tar/index.js');
    const src = freshDir('plain-src');
    const dst = freshDir('plain-dst');
    try {
      const bodies = [Buffer.alloc(0), Buffer.alloc(700, 1), Buffer.alloc(1024, 2)];
      bodies.forEach((b, i) => applyFile(src.fd, `f${i}`, b, meta(1000 + i, 2000, 0o4750, 1_700_000_000 + i, 999)));
      const { names, info } = scanDir(src.fd);
      const raw = Buffer.alloc(512 * 3 + (512 - 700 % 512));
      const fds = await copyPlainRun(src.fd, dst.fd, Buffer.from('some/dir/'), names, info, Int32Array.from([0, 1, 2]), 1_700_000_001, raw);
      const want = Buffer.concat(
        bodies.map((b, i) => {
          const h = encodeHeader({ name: `some/dir/f${i}`, type: 'file', mode: 0o4750, uid: 1000 + i, gid: 2000, uname: '', gname: '', size: b.length, mtime: { sec: 1_700_000_000 + i, nsec: 999 } }, { clampMtime: 1_700_000_001 }).blocks;
          return Buffer.concat([h, Buffer.alloc((512 - (b.length % 512)) % 512)]);
        }),
      );
      assert.ok(raw.equals(want), 'the same bytes as encodeHeader, the padding zeros');
      assert.equal(fds.length, 3);
      for (let i = 0; i < 3; i++) {
        const back = Buffer.alloc(bodies[i]!.length);
        const { readSync } = await import('node:fs');
        assert.equal(readSync(fds[i]!, back, 0, back.length, 0), back.length);
        assert.ok(back.equals(bodies[i]!));
        closeSync(fds[i]!);
        const st = statSync(join(dst.dir, `f${i}`), { bigint: true });
        assert.deepEqual([Number(st.uid), Number(st.gid), Number(st.mode & 0o7777n), st.mtimeNs], [1000 + i, 2000, 0o4750, BigInt(1_700_000_000 + i) * 1_000_000_000n + 999n]);
      }
    } finally {
      closeSync(src.fd);
      closeSync(dst.fd);
    }
  });

  it('copyPlainRun refuses an entry that is not plain before doing anything, and stops at a failure with its index, closing what it made', async () => {
    const src = freshDir('plain-bad-src');
    const dst = freshDir('plain-bad-dst');
    try {
      applyFile(src.fd, 'a', Buffer.from('a'), meta(0, 0, 0o644, 5));
      applyFile(src.fd, 'b', Buffer.from('b'), meta(0, 0, 0o644, 5));
      applyFile(src.fd, 'c', Buffer.from('c'), meta(0, 0, 0o644, 5), ['user.k', Buffer.from('v')]);
      applyFile(dst.fd, 'b', Buffer.from('in the way'), meta(0, 0, 0o644, 5));
      const { names, info } = scanDir(src.fd);
      const raw = Buffer.alloc(512 * 3 + 511 * 3);
      assert.throws(() => copyPlainRun(src.fd, dst.fd, Buffer.alloc(0), names, info, Int32Array.from([0, 2]), -1, raw), /entry 1 of the run is not plain: not a regular file with one link and no attributes/);
      assert.throws(() => copyPlainRun(src.fd, dst.fd, Buffer.from('x'.repeat(99) + '/'), names, info, Int32Array.from([0]), -1, raw), /does not fit a ustar header/);
      assert.deepEqual(readdirSync(dst.dir), ['b'], 'nothing done');
      const before = fds();
      await assert.rejects(copyPlainRun(src.fd, dst.fd, Buffer.alloc(0), names, info, Int32Array.from([0, 1]), -1, raw), (e: NativeError & { index?: number }) => e.code === 'EEXIST' && e.index === 1 && /'b'/.test(e.message));
      assert.equal(fds(), before, 'the file made before the failure was closed');
      assert.deepEqual(readdirSync(dst.dir).sort(), ['a', 'b']);
    } finally {
      closeSync(src.fd);
      closeSync(dst.fd);
    }
  });
});
