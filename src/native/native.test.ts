/**
 * Tests of the native addon (src/native): every call on a temporary directory.
 * They run as root, as CI does (mknod, trusted.* xattrs and mounts need it).
 * Every mount is undone in a finally block, and the after hook detaches anything
 * still mounted under the temporary directory before removing it.
 */
import assert from 'node:assert/strict';
import {
  closeSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { InvalidArgumentError } from '../errors.js';
import {
  constants as C,
  errnoCode,
  fchmodat,
  fchownat,
  fgetxattr,
  flistxattr,
  flock,
  fremovexattr,
  fsetxattr,
  fstatat,
  isNativeAvailable,
  lgetxattr,
  linkat,
  llistxattr,
  lremovexattr,
  lsetxattr,
  mkdirat,
  mknodat,
  mount,
  openat,
  openat2,
  overlayLegacyData,
  overlayMount,
  overlaySupportsLowerdirPlus,
  probeOverlayFs,
  readlinkat,
  readlinkatBuffer,
  renameat2,
  splitNs,
  symlinkat,
  syncfs,
  umount2,
  unlinkat,
  utimensat,
  utimensatNs,
  type NativeError,
} from './index.js';

let root = '';
let dirfd = -1;

/** Mount points under `prefix`, deepest first (from /proc/self/mountinfo; octal escapes decoded). */
function mountsUnder(prefix: string): string[] {
  const decode = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => decode(l.split(' ')[4] ?? ''))
    .filter((p) => p === prefix || p.startsWith(`${prefix}/`))
    .sort((a, b) => b.length - a.length);
}

function isMounted(path: string): boolean {
  return mountsUnder(path).includes(path);
}

/** Assert that `fn` throws a NativeError with `code` (and `syscall` when given). */
function throwsErrno(fn: () => unknown, code: string, syscall?: string): NativeError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, `expected an error with code ${code}`);
  const e = caught as NativeError;
  assert.equal(e.code, code, e.message);
  assert.equal(typeof e.errno, 'number');
  assert.ok(e.errno < 0);
  if (syscall !== undefined) assert.equal(e.syscall, syscall);
  assert.ok(e.message.startsWith(`${code}: `), e.message);
  return e;
}

/** A fresh directory under the test root. */
let seq = 0;
function freshDir(name: string): string {
  const d = join(root, `${name}-${seq++}`);
  mkdirSync(d);
  return d;
}

before(() => {
  assert.equal(process.getuid?.(), 0, 'these tests run as root (as CI does)');
  root = mkdtempSync(join(tmpdir(), 'cairn-native-'));
  dirfd = openSync(root, 'r');
});

after(() => {
  if (dirfd >= 0) closeSync(dirfd);
  for (const m of mountsUnder(root)) umount2(m, C.MNT_DETACH);
  assert.deepEqual(mountsUnder(root), [], 'no mount left behind');
  rmSync(root, { recursive: true, force: true });
});

describe('native addon', () => {
  it('loads and exports the platform constants', () => {
    assert.equal(isNativeAvailable(), true);
    assert.equal(C.AT_FDCWD, -100);
    assert.equal(C.RESOLVE_IN_ROOT, 0x10);
    assert.equal(C.RESOLVE_BENEATH, 0x08);
    assert.equal(C.S_IFCHR, 0o020000);
    assert.equal(C.S_IFIFO, 0o010000);
    assert.equal(C.RENAME_NOREPLACE, 1);
    assert.equal(C.MNT_DETACH, 2);
    assert.equal(C.MS_BIND, 4096);
    assert.ok(C.O_PATH > 0);
    assert.ok(Object.isFrozen(C));
  });

  it('throws Node-style errno errors and TypeErrors for bad arguments', () => {
    const e = throwsErrno(() => openat(dirfd, 'missing', C.O_RDONLY), 'ENOENT', 'openat');
    assert.equal(e.errno, -2);
    assert.equal(e.path, 'missing');
    assert.match(e.message, /^ENOENT: no such file or directory, openat 'missing'$/);
    assert.equal(errnoCode(e), 'ENOENT');
    assert.equal(errnoCode(new Error('x')), undefined);
    assert.throws(() => openat('3' as unknown as number, 'x', 0), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => openat(dirfd, 'a\0b', 0), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => openat(1.5, 'x', 0), { name: 'TypeError', code: 'ERR_OUT_OF_RANGE' });
  });
});

describe('openat2', () => {
  it('keeps .. and absolute symlinks inside the root with RESOLVE_IN_ROOT', () => {
    const r = freshDir('jail');
    mkdirSync(join(r, 'etc'));
    mkdirSync(join(r, 'a/b'), { recursive: true });
    writeFileSync(join(r, 'etc/passwd'), 'inside\n');
    symlinkSync('/etc', join(r, 'a/etclink'));
    symlinkSync('../../../../../etc/passwd', join(r, 'a/b/up'));
    const rfd = openSync(r, 'r');
    try {
      const read = (p: string, resolve: number): string => {
        const fd = openat2(rfd, p, C.O_RDONLY, 0, resolve);
        try {
          return readFileSync(fd, 'utf8');
        } finally {
          closeSync(fd);
        }
      };
      assert.equal(read('../../etc/passwd', C.RESOLVE_IN_ROOT), 'inside\n');
      assert.equal(read('/etc/passwd', C.RESOLVE_IN_ROOT), 'inside\n');
      assert.equal(read('a/etclink/passwd', C.RESOLVE_IN_ROOT), 'inside\n');
      assert.equal(read('a/b/up', C.RESOLVE_IN_ROOT), 'inside\n');
      // Without the restriction the same names escape to the host's /etc.
      assert.notEqual(read('a/etclink/passwd', 0), 'inside\n');
      throwsErrno(() => openat2(rfd, '../x', C.O_RDONLY, 0, C.RESOLVE_BENEATH), 'EXDEV', 'openat2');
      throwsErrno(() => openat2(rfd, 'a/etclink/passwd', C.O_RDONLY, 0, C.RESOLVE_BENEATH), 'EXDEV');
      throwsErrno(() => openat2(rfd, 'a/etclink/passwd', C.O_RDONLY, 0, C.RESOLVE_NO_SYMLINKS), 'ELOOP');
      const fd = openat2(rfd, 'etc/passwd', C.O_PATH, 0, C.RESOLVE_IN_ROOT);
      try {
        throwsErrno(
          () => openat2(C.AT_FDCWD, `/proc/self/fd/${fd}`, C.O_RDONLY, 0, C.RESOLVE_NO_MAGICLINKS),
          'ELOOP',
        );
        // Descriptors carry O_CLOEXEC (octal 02000000 in fdinfo's flags).
        const flags = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
        assert.ok(flags !== undefined && (parseInt(flags, 8) & 0o2000000) !== 0);
      } finally {
        closeSync(fd);
      }
      // O_CREAT through openat2 creates inside the root, mode as given.
      const cfd = openat2(rfd, '/new', C.O_CREAT | C.O_WRONLY | C.O_EXCL, 0o600, C.RESOLVE_IN_ROOT);
      closeSync(cfd);
      assert.equal(statSync(join(r, 'new')).mode & 0o777, 0o600);
      assert.throws(() => openat2(rfd, 'x', -1, 0, 0), { code: 'ERR_OUT_OF_RANGE' });
    } finally {
      closeSync(rfd);
    }
  });

  it('opens a symlink itself with O_PATH | O_NOFOLLOW', () => {
    const d = freshDir('opath');
    symlinkSync('target', join(d, 'l'));
    const fd = openat(C.AT_FDCWD, join(d, 'l'), C.O_PATH | C.O_NOFOLLOW);
    try {
      const st = fstatat(fd, '', C.AT_EMPTY_PATH);
      assert.equal(st.mode & C.S_IFMT, C.S_IFLNK);
      assert.equal(readlinkat(fd, ''), 'target');
    } finally {
      closeSync(fd);
    }
  });
});

describe('fd-relative calls', () => {
  it('mkdirat and fstatat', () => {
    mkdirat(dirfd, 'made', 0o700);
    const st = fstatat(dirfd, 'made');
    assert.equal(st.mode & C.S_IFMT, C.S_IFDIR);
    assert.equal(st.mode & 0o7777, 0o700);
    assert.equal(st.ino, statSync(join(root, 'made'), { bigint: true }).ino);
    assert.equal(st.nlink, 2);
    throwsErrno(() => mkdirat(dirfd, 'made', 0o700), 'EEXIST', 'mkdirat');
    const f = join(root, 'sized');
    writeFileSync(f, 'x'.repeat(1234));
    const fst = fstatat(C.AT_FDCWD, f);
    assert.equal(fst.size, 1234);
    assert.equal(fst.mode & C.S_IFMT, C.S_IFREG);
    assert.equal(fst.mtimeNs, statSync(f, { bigint: true }).mtimeNs);
  });

  it('mknodat makes a whiteout (char 0:0), a char device and a FIFO', () => {
    const d = freshDir('nodes');
    const dfd = openSync(d, 'r');
    try {
      mknodat(dfd, 'wh', C.S_IFCHR | 0o000, 0, 0);
      const wh = fstatat(dfd, 'wh', C.AT_SYMLINK_NOFOLLOW);
      assert.equal(wh.mode & C.S_IFMT, C.S_IFCHR);
      assert.equal(wh.rdevMajor, 0);
      assert.equal(wh.rdevMinor, 0);
      assert.ok(lstatSync(join(d, 'wh')).isCharacterDevice());
      mknodat(dfd, 'null', C.S_IFCHR | 0o666, 1, 3);
      const nl = fstatat(dfd, 'null');
      assert.deepEqual([nl.rdevMajor, nl.rdevMinor], [1, 3]);
      mknodat(dfd, 'big', C.S_IFBLK | 0o600, 259, 70000);
      const big = fstatat(dfd, 'big');
      assert.equal(big.mode & C.S_IFMT, C.S_IFBLK);
      assert.deepEqual([big.rdevMajor, big.rdevMinor], [259, 70000]);
      mknodat(dfd, 'fifo', C.S_IFIFO | 0o644);
      assert.ok(lstatSync(join(d, 'fifo')).isFIFO());
      assert.equal(lstatSync(join(d, 'fifo')).mode & 0o777, 0o644);
      throwsErrno(() => mknodat(dfd, 'fifo', C.S_IFIFO | 0o644), 'EEXIST', 'mknodat');
    } finally {
      closeSync(dfd);
    }
  });

  it('symlinkat and readlinkat keep raw bytes', () => {
    const d = freshDir('links');
    const dfd = openSync(d, 'r');
    try {
      symlinkat('../some/where', dfd, 'l1');
      assert.equal(readlinkSync(join(d, 'l1')), '../some/where');
      assert.equal(readlinkat(dfd, 'l1'), '../some/where');
      const raw = Buffer.from([0x74, 0xff, 0xfe, 0x2f, 0x80]); // not valid UTF-8
      const name = Buffer.from([0x6e, 0xe9]); // latin-1 "né"
      symlinkat(raw, dfd, name);
      assert.deepEqual(readlinkatBuffer(dfd, name), raw);
      const long = 'x/'.repeat(1000);
      symlinkat(long, dfd, 'long');
      assert.equal(readlinkat(dfd, 'long'), long);
      const e = throwsErrno(() => symlinkat('t', dfd, 'l1'), 'EEXIST', 'symlinkat');
      assert.equal(e.path, 't');
      assert.equal(e.dest, 'l1');
      throwsErrno(() => readlinkat(dfd, 'missing'), 'ENOENT', 'readlinkat');
    } finally {
      closeSync(dfd);
    }
  });

  it('linkat and unlinkat', () => {
    const d = freshDir('hard');
    const dfd = openSync(d, 'r');
    try {
      writeFileSync(join(d, 'a'), 'A');
      linkat(dfd, 'a', dfd, 'b');
      assert.equal(fstatat(dfd, 'a').nlink, 2);
      assert.equal(fstatat(dfd, 'a').ino, fstatat(dfd, 'b').ino);
      // AT_EMPTY_PATH links an open fd's inode.
      const fd = openat(dfd, 'a', C.O_RDONLY);
      try {
        linkat(fd, '', dfd, 'c', C.AT_EMPTY_PATH);
      } finally {
        closeSync(fd);
      }
      assert.equal(fstatat(dfd, 'c').nlink, 3);
      unlinkat(dfd, 'b');
      unlinkat(dfd, 'c');
      assert.equal(fstatat(dfd, 'a').nlink, 1);
      mkdirSync(join(d, 'sub'));
      writeFileSync(join(d, 'sub/f'), '');
      throwsErrno(() => unlinkat(dfd, 'sub'), 'EISDIR', 'unlinkat');
      throwsErrno(() => unlinkat(dfd, 'sub', C.AT_REMOVEDIR), 'ENOTEMPTY');
      unlinkat(dfd, 'sub/f');
      unlinkat(dfd, 'sub', C.AT_REMOVEDIR);
      assert.equal(existsSync(join(d, 'sub')), false);
      throwsErrno(() => linkat(dfd, 'missing', dfd, 'x'), 'ENOENT', 'linkat');
    } finally {
      closeSync(dfd);
    }
  });

  it('renameat2: NOREPLACE, EXCHANGE, WHITEOUT', () => {
    const d = freshDir('rename');
    const dfd = openSync(d, 'r');
    try {
      writeFileSync(join(d, 'a'), 'A');
      writeFileSync(join(d, 'b'), 'B');
      const e = throwsErrno(() => renameat2(dfd, 'a', dfd, 'b', C.RENAME_NOREPLACE), 'EEXIST', 'renameat2');
      assert.equal(e.path, 'a');
      assert.equal(e.dest, 'b');
      assert.equal(readFileSync(join(d, 'b'), 'utf8'), 'B');
      renameat2(dfd, 'a', dfd, 'b', C.RENAME_EXCHANGE);
      assert.equal(readFileSync(join(d, 'a'), 'utf8'), 'B');
      assert.equal(readFileSync(join(d, 'b'), 'utf8'), 'A');
      renameat2(dfd, 'a', dfd, 'c', C.RENAME_NOREPLACE);
      assert.equal(existsSync(join(d, 'a')), false);
      renameat2(dfd, 'c', dfd, 'd', C.RENAME_WHITEOUT);
      const wh = fstatat(dfd, 'c', C.AT_SYMLINK_NOFOLLOW);
      assert.equal(wh.mode & C.S_IFMT, C.S_IFCHR);
      assert.deepEqual([wh.rdevMajor, wh.rdevMinor], [0, 0]);
      assert.equal(readFileSync(join(d, 'd'), 'utf8'), 'B');
      renameat2(dfd, 'd', dfd, 'b');
      assert.equal(readFileSync(join(d, 'b'), 'utf8'), 'B');
    } finally {
      closeSync(dfd);
    }
  });

  it('fchownat changes a symlink itself with AT_SYMLINK_NOFOLLOW, and an fd with AT_EMPTY_PATH', () => {
    const d = freshDir('chown');
    writeFileSync(join(d, 'f'), '');
    symlinkSync('f', join(d, 'l'));
    const dfd = openSync(d, 'r');
    try {
      fchownat(dfd, 'l', 1234, 5678, C.AT_SYMLINK_NOFOLLOW);
      assert.deepEqual([lstatSync(join(d, 'l')).uid, lstatSync(join(d, 'l')).gid], [1234, 5678]);
      assert.deepEqual([statSync(join(d, 'f')).uid, statSync(join(d, 'f')).gid], [0, 0]);
      fchownat(dfd, 'l', -1, 42, C.AT_SYMLINK_NOFOLLOW);
      assert.deepEqual([lstatSync(join(d, 'l')).uid, lstatSync(join(d, 'l')).gid], [1234, 42]);
      const fd = openat(dfd, 'f', C.O_PATH);
      try {
        fchownat(fd, '', 7, 8, C.AT_EMPTY_PATH);
      } finally {
        closeSync(fd);
      }
      assert.deepEqual([statSync(join(d, 'f')).uid, statSync(join(d, 'f')).gid], [7, 8]);
      fchownat(dfd, 'l', 9, 10); // follows to f
      assert.equal(statSync(join(d, 'f')).uid, 9);
      assert.throws(() => fchownat(dfd, 'f', -2, 0), { code: 'ERR_OUT_OF_RANGE' });
      throwsErrno(() => fchownat(dfd, 'missing', 0, 0), 'ENOENT', 'fchownat');
    } finally {
      closeSync(dfd);
    }
  });

  it('fchmodat: plain, on an O_PATH fd, and refused on a symlink', () => {
    const d = freshDir('chmod');
    writeFileSync(join(d, 'f'), '');
    symlinkSync('f', join(d, 'l'));
    const dfd = openSync(d, 'r');
    try {
      fchmodat(dfd, 'f', 0o4750);
      assert.equal(statSync(join(d, 'f')).mode & 0o7777, 0o4750);
      const fd = openat(dfd, 'f', C.O_PATH);
      try {
        fchmodat(fd, '', 0o640, C.AT_EMPTY_PATH);
      } finally {
        closeSync(fd);
      }
      assert.equal(statSync(join(d, 'f')).mode & 0o7777, 0o640);
      throwsErrno(() => fchmodat(dfd, 'l', 0o600, C.AT_SYMLINK_NOFOLLOW), 'ENOTSUP', 'fchmodat');
      assert.equal(statSync(join(d, 'f')).mode & 0o7777, 0o640);
    } finally {
      closeSync(dfd);
    }
  });

  it('utimensat sets nanosecond times, on a symlink itself too', () => {
    const d = freshDir('times');
    writeFileSync(join(d, 'f'), '');
    symlinkSync('f', join(d, 'l'));
    const dfd = openSync(d, 'r');
    try {
      utimensat(dfd, 'l', 1600000000, 1, 1700000000, 123456789, C.AT_SYMLINK_NOFOLLOW);
      const ls = lstatSync(join(d, 'l'), { bigint: true });
      assert.equal(ls.mtimeNs, 1700000000123456789n);
      assert.equal(ls.atimeNs, 1600000000000000001n);
      const st = fstatat(dfd, 'l', C.AT_SYMLINK_NOFOLLOW);
      assert.equal(st.mtimeNs, 1700000000123456789n);
      assert.deepEqual([st.mtimeSec, st.mtimeNsec], [1700000000, 123456789]);
      // The file behind the link is untouched.
      assert.notEqual(statSync(join(d, 'f'), { bigint: true }).mtimeNs, 1700000000123456789n);
      // bigint seconds, UTIME_OMIT, and a pre-1970 time through utimensatNs.
      utimensat(dfd, 'f', 5n, C.UTIME_OMIT, 2000000000n, 999999999);
      assert.equal(statSync(join(d, 'f'), { bigint: true }).mtimeNs, 2000000000999999999n);
      utimensatNs(dfd, 'f', 0n, -1_500_000_000n);
      assert.equal(statSync(join(d, 'f'), { bigint: true }).mtimeNs, -1_500_000_000n);
      assert.equal(fstatat(dfd, 'f').mtimeNs, -1_500_000_000n);
      assert.deepEqual(splitNs(-1_500_000_000n), [-2n, 500_000_000]);
      // A null path sets dirfd's own times (an fd opened for reading).
      const fd = openat(dfd, 'f', C.O_RDONLY);
      try {
        utimensat(fd, null, 1, 0, 3, 3);
      } finally {
        closeSync(fd);
      }
      assert.equal(statSync(join(d, 'f'), { bigint: true }).mtimeNs, 3_000_000_003n);
      assert.throws(() => utimensat(dfd, 'f', 0, 1_000_000_000, 0, 0), { code: 'ERR_OUT_OF_RANGE' });
      throwsErrno(() => utimensat(dfd, 'missing', 0, 0, 0, 0), 'ENOENT', 'utimensat');
    } finally {
      closeSync(dfd);
    }
  });

  it('flock and syncfs', () => {
    const f = join(root, 'lockfile');
    writeFileSync(f, '');
    const a = openSync(f, 'r');
    const b = openSync(f, 'r');
    try {
      flock(a, C.LOCK_EX);
      throwsErrno(() => flock(b, C.LOCK_EX | C.LOCK_NB), 'EAGAIN', 'flock');
      throwsErrno(() => flock(b, C.LOCK_SH | C.LOCK_NB), 'EAGAIN');
      flock(a, C.LOCK_UN);
      flock(b, C.LOCK_SH | C.LOCK_NB);
      flock(a, C.LOCK_SH | C.LOCK_NB);
      throwsErrno(() => flock(a, C.LOCK_EX | C.LOCK_NB), 'EAGAIN');
      syncfs(a);
    } finally {
      closeSync(a);
      closeSync(b);
    }
    throwsErrno(() => syncfs(-1), 'EBADF', 'syncfs');
  });
});

describe('xattrs without following links', () => {
  it('sets trusted.* on a symlink itself, and refuses user.* there', () => {
    const d = freshDir('xl');
    writeFileSync(join(d, 'f'), '');
    symlinkSync('f', join(d, 'l'));
    const l = join(d, 'l');
    lsetxattr(l, 'trusted.overlay.opaque', Buffer.from('y'));
    assert.deepEqual(lgetxattr(l, 'trusted.overlay.opaque'), Buffer.from('y'));
    assert.equal(lgetxattr(join(d, 'f'), 'trusted.overlay.opaque'), null);
    assert.ok(llistxattr(l).includes('trusted.overlay.opaque'));
    const e = throwsErrno(() => lsetxattr(l, 'user.x', Buffer.from('v')), 'EPERM', 'lsetxattr');
    assert.equal(e.path, l);
    assert.match(e.message, /user\.x/);
    lremovexattr(l, 'trusted.overlay.opaque');
    assert.equal(lgetxattr(l, 'trusted.overlay.opaque'), null);
    throwsErrno(() => lremovexattr(l, 'trusted.overlay.opaque'), 'ENODATA', 'lremovexattr');
    throwsErrno(() => lgetxattr(join(d, 'missing'), 'user.x'), 'ENOENT', 'lgetxattr');
  });

  it('round-trips a binary security.capability value and large values', () => {
    const d = freshDir('xcap');
    const f = join(d, 'bin');
    writeFileSync(f, '');
    // VFS_CAP_REVISION_2 | effective: cap_net_bind_service (bit 10) + cap_sys_admin (21) permitted, one high bit.
    const cap = Buffer.from([
      0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00,
    ]);
    lsetxattr(f, 'security.capability', cap);
    assert.deepEqual(lgetxattr(f, 'security.capability'), cap);
    const big = Buffer.alloc(3000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    lsetxattr(f, 'user.big', big);
    assert.deepEqual(lgetxattr(f, 'user.big'), big);
    lsetxattr(f, 'user.empty', Buffer.alloc(0));
    assert.deepEqual(lgetxattr(f, 'user.empty'), Buffer.alloc(0));
    assert.deepEqual(
      llistxattr(f).sort(),
      ['security.capability', 'user.big', 'user.empty'].sort(),
    );
    throwsErrno(() => lsetxattr(f, 'user.big', Buffer.from('x'), C.XATTR_CREATE), 'EEXIST');
    throwsErrno(() => lsetxattr(f, 'user.none', Buffer.from('x'), C.XATTR_REPLACE), 'ENODATA');
    assert.throws(() => lsetxattr(f, 'user.s', 'str' as unknown as Uint8Array), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('fd forms work on regular fds and on O_PATH fds of symlinks', () => {
    const d = freshDir('xfd');
    writeFileSync(join(d, 'f'), '');
    symlinkSync('f', join(d, 'l'));
    const fd = openSync(join(d, 'f'), 'r');
    try {
      fsetxattr(fd, 'user.a', Buffer.from([0, 1, 2]));
      assert.deepEqual(fgetxattr(fd, 'user.a'), Buffer.from([0, 1, 2]));
      assert.deepEqual(flistxattr(fd), ['user.a']);
      fremovexattr(fd, 'user.a');
      assert.equal(fgetxattr(fd, 'user.a'), null);
      assert.deepEqual(flistxattr(fd), []);
    } finally {
      closeSync(fd);
    }
    const lfd = openat(C.AT_FDCWD, join(d, 'l'), C.O_PATH | C.O_NOFOLLOW);
    try {
      fsetxattr(lfd, 'trusted.t', Buffer.from('on-link'));
      assert.deepEqual(fgetxattr(lfd, 'trusted.t'), Buffer.from('on-link'));
      assert.deepEqual(lgetxattr(join(d, 'l'), 'trusted.t'), Buffer.from('on-link'));
      assert.equal(lgetxattr(join(d, 'f'), 'trusted.t'), null);
      assert.deepEqual(flistxattr(lfd), ['trusted.t']);
      fremovexattr(lfd, 'trusted.t');
      assert.equal(lgetxattr(join(d, 'l'), 'trusted.t'), null);
    } finally {
      closeSync(lfd);
    }
    throwsErrno(() => fgetxattr(-1, 'user.a'), 'EBADF');
  });
});

describe('mounts', () => {
  it('mount and umount2: tmpfs, bind, errors', () => {
    const m = freshDir('tmpfs');
    mount('tmpfs', m, 'tmpfs', C.MS_NOSUID | C.MS_NODEV, 'size=1m,mode=0755');
    try {
      assert.ok(isMounted(m));
      writeFileSync(join(m, 'x'), 'x');
      const b = freshDir('bind');
      mount(m, b, null, C.MS_BIND | C.MS_REC);
      try {
        assert.equal(readFileSync(join(b, 'x'), 'utf8'), 'x');
        mount(null, b, null, C.MS_REMOUNT | C.MS_BIND | C.MS_RDONLY);
        throwsErrno(() => writeFileSync(join(b, 'y'), 'y'), 'EROFS');
      } finally {
        umount2(b);
      }
      assert.equal(isMounted(b), false);
    } finally {
      umount2(m, C.MNT_DETACH);
    }
    assert.equal(isMounted(m), false);
    assert.equal(existsSync(join(m, 'x')), false);
    throwsErrno(() => umount2(m), 'EINVAL', 'umount2');
    const e = throwsErrno(() => mount('none', join(root, 'missing'), 'tmpfs', 0), 'ENOENT', 'mount');
    assert.equal(e.dest, join(root, 'missing'));
  });

  /** Lower layers l0 (topmost) .. l{n-1}: each has its own file, and all have "shared". */
  function makeLayers(base: string, n: number): string[] {
    const dirs: string[] = [];
    for (let i = 0; i < n; i++) {
      const l = join(base, `l${i}`);
      mkdirSync(l);
      writeFileSync(join(l, `only${i}`), `layer ${i}\n`);
      writeFileSync(join(l, 'shared'), `from ${i}\n`);
      dirs.push(l);
    }
    return dirs;
  }

  for (const method of ['lowerdir+', 'legacy'] as const) {
    it(`overlayMount (${method}) with 3 lower layers, upper and work`, () => {
      const base = freshDir(`ovl-${method === 'legacy' ? 'legacy' : 'plus'}`);
      const lowers = makeLayers(base, 3);
      // A whiteout in the top layer hides a lower file; an opaque dir hides a lower dir's contents.
      mkdirSync(join(lowers[2]!, 'dir'));
      writeFileSync(join(lowers[2]!, 'dir/old'), '');
      writeFileSync(join(lowers[2]!, 'gone'), '');
      mknodat(C.AT_FDCWD, join(lowers[0]!, 'gone'), C.S_IFCHR, 0, 0);
      mkdirSync(join(lowers[0]!, 'dir'));
      lsetxattr(join(lowers[0]!, 'dir'), 'trusted.overlay.opaque', Buffer.from('y'));
      const upper = join(base, 'upper');
      const work = join(base, 'work');
      const target = join(base, 'merged');
      for (const p of [upper, work, target]) mkdirSync(p);
      const res = overlayMount({ lowerdirs: lowers, upperdir: upper, workdir: work, target, method });
      try {
        assert.equal(res.method, method);
        assert.ok(isMounted(target));
        for (let i = 0; i < 3; i++) assert.equal(readFileSync(join(target, `only${i}`), 'utf8'), `layer ${i}\n`);
        assert.equal(readFileSync(join(target, 'shared'), 'utf8'), 'from 0\n');
        assert.equal(existsSync(join(target, 'gone')), false);
        assert.deepEqual(readdirSync(join(target, 'dir')), []);
        writeFileSync(join(target, 'new'), 'written');
        writeFileSync(join(target, 'only2'), 'changed');
        assert.equal(readFileSync(join(upper, 'new'), 'utf8'), 'written');
        assert.equal(readFileSync(join(upper, 'only2'), 'utf8'), 'changed');
        assert.equal(readFileSync(join(lowers[2]!, 'only2'), 'utf8'), 'layer 2\n');
        rmSync(join(target, 'only1'));
        const wh = fstatat(C.AT_FDCWD, join(upper, 'only1'), C.AT_SYMLINK_NOFOLLOW);
        assert.equal(wh.mode & C.S_IFMT, C.S_IFCHR);
        assert.deepEqual([wh.rdevMajor, wh.rdevMinor], [0, 0]);
      } finally {
        umount2(target);
      }
      assert.equal(isMounted(target), false);
      assert.deepEqual(readdirSync(target), []);
    });
  }

  it('overlayMount with 200 lower layers through lowerdir+', () => {
    assert.equal(overlaySupportsLowerdirPlus(), true, 'this kernel (6.8+) supports lowerdir+');
    assert.equal(probeOverlayFs(), true, 'and its overlay says so when asked');
    const base = freshDir('ovl-200');
    const lowers = makeLayers(base, 200);
    // Too many for the classic option string.
    assert.throws(() => overlayMount({ lowerdirs: lowers, target: base, method: 'legacy' }), InvalidArgumentError);
    assert.ok(Buffer.byteLength(overlayLegacyData({ lowerdirs: lowers, target: base })) > 4095);
    const target = join(base, 'merged');
    mkdirSync(target);
    const res = overlayMount({ lowerdirs: lowers, target, readonly: true });
    try {
      assert.equal(res.method, 'lowerdir+');
      const names = readdirSync(target);
      assert.equal(names.length, 201);
      assert.equal(readFileSync(join(target, 'only0'), 'utf8'), 'layer 0\n');
      assert.equal(readFileSync(join(target, 'only199'), 'utf8'), 'layer 199\n');
      assert.equal(readFileSync(join(target, 'shared'), 'utf8'), 'from 0\n');
      throwsErrno(() => writeFileSync(join(target, 'w'), ''), 'EROFS');
    } finally {
      umount2(target);
    }
    assert.equal(isMounted(target), false);
  });

  it('overlayMount takes layer fds and paths longer than an fsconfig string', () => {
    const base = freshDir('ovl-fd');
    const deep = join(base, 'a'.repeat(120), 'b'.repeat(140));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'deep'), 'deep');
    const other = join(base, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'other'), 'other');
    const target = join(base, 'merged');
    mkdirSync(target);
    assert.ok(Buffer.byteLength(deep) > 255);
    const ofd = openSync(other, 'r');
    try {
      overlayMount({ lowerdirs: [deep, ofd], target });
      try {
        assert.deepEqual(readdirSync(target).sort(), ['deep', 'other']);
      } finally {
        umount2(target);
      }
    } finally {
      closeSync(ofd);
    }
    assert.throws(() => overlayMount({ lowerdirs: [ofd, other], target, method: 'legacy' }), InvalidArgumentError);
  });

  it('overlayMount reports failures with the overlay driver reason', () => {
    const base = freshDir('ovl-err');
    const [l0, l1] = makeLayers(base, 2);
    const target = join(base, 'merged');
    mkdirSync(target);
    const e = throwsErrno(
      () => overlayMount({ lowerdirs: [l0!, l1!], target, options: ['bogus=1'] }),
      'EINVAL',
      'fsconfig',
    );
    assert.match(e.message, /overlay: Unknown parameter 'bogus'/);
    const e2 = throwsErrno(() => overlayMount({ lowerdirs: [l0!, join(base, 'nope')], target }), 'ENOENT', 'fsconfig');
    assert.equal(e2.path, join(base, 'nope'));
    assert.match(e2.message, /lowerdir\+/);
    assert.throws(() => overlayMount({ lowerdirs: [l0!], target }), InvalidArgumentError);
    assert.throws(() => overlayMount({ lowerdirs: [], target }), InvalidArgumentError);
    assert.throws(() => overlayMount({ lowerdirs: [l0!, l1!], upperdir: l0!, target }), InvalidArgumentError);
    assert.equal(isMounted(target), false);
  });

  it('overlayLegacyData escapes separators', () => {
    assert.equal(
      overlayLegacyData({ lowerdirs: ['/a:b', '/c,d'], upperdir: '/u\\', workdir: '/w', target: '/t', options: ['index=off'] }),
      'lowerdir=/a\\:b:/c\\,d,upperdir=/u\\\\,workdir=/w,index=off',
    );
  });
});
