/**
 * COPY into a root filesystem. Every expected result here is what Docker 20.10.24's
 * BuildKit produced for the same Dockerfile step (checked with `docker build` and the saved
 * layers; HELPER-B-NOTES.md lists each case), unless a test says it follows newer BuildKit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as C, fchownat, fstatat, lgetxattr, lsetxattr, mknodat, utimensatNs } from '../native/index.js';
import { copyInto, destinationPath, type CopyIntoOptions, type CopyResult } from './copy.js';
import { resolveChown, parseChmod } from './copy-owner.js';
import { CopySourceNotFoundError, goMatch, splitWildcards } from './copy-source.js';
import { CairnError } from '../errors.js';

/** 2010-01-01 12:34:56.123456789 UTC, in nanoseconds. */
const T_FILE = 1262349296123456789n;
/** 2011-02-03 04:05:06.5 UTC. */
const T_DIR = 1296705906500000000n;

function setTime(path: string, ns: bigint): void {
  utimensatNs(C.AT_FDCWD, path, ns, ns, C.AT_SYMLINK_NOFOLLOW);
}

function own(path: string, uid: number, gid: number): void {
  fchownat(C.AT_FDCWD, path, uid, gid, C.AT_SYMLINK_NOFOLLOW);
}

/** A temp dir for one test, removed afterwards. */
async function withDirs(fn: (base: string) => Promise<void>): Promise<void> {
  const base = fs.mkdtempSync(join(tmpdir(), 'cairn-buildcopy-'));
  try {
    await fn(base);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

/**
 * The build context of the docker checks: f.txt (0640), exec.sh (6755), d/ (0711) with a.txt,
 * sub/ (0700) holding b.txt, symlinks lnk -> a.txt and abs -> /etc/passwd, hard links
 * hl1 = hl2; top-level symlinks linkf -> f.txt, linkd -> d, esclink -> ../../../../etc/hostname.
 * Everything owned by 1234:1234, files at T_FILE, directories at T_DIR.
 */
function makeContext(ctx: string): void {
  fs.mkdirSync(join(ctx, 'd', 'sub'), { recursive: true });
  fs.writeFileSync(join(ctx, 'f.txt'), 'hello\n');
  fs.writeFileSync(join(ctx, 'exec.sh'), '#!/bin/sh\n');
  fs.writeFileSync(join(ctx, 'd', 'a.txt'), 'a\n');
  fs.writeFileSync(join(ctx, 'd', 'sub', 'b.txt'), 'b\n');
  fs.writeFileSync(join(ctx, 'd', 'hl1'), 'hl\n');
  fs.linkSync(join(ctx, 'd', 'hl1'), join(ctx, 'd', 'hl2'));
  fs.symlinkSync('a.txt', join(ctx, 'd', 'lnk'));
  fs.symlinkSync('/etc/passwd', join(ctx, 'd', 'abs'));
  fs.symlinkSync('f.txt', join(ctx, 'linkf'));
  fs.symlinkSync('d', join(ctx, 'linkd'));
  fs.symlinkSync('../../../../etc/hostname', join(ctx, 'esclink'));
  for (const p of ['f.txt', 'exec.sh', 'd', 'd/a.txt', 'd/sub', 'd/sub/b.txt', 'd/hl1', 'd/lnk', 'd/abs', 'linkf', 'linkd', 'esclink']) own(join(ctx, p), 1234, 1234);
  fs.chmodSync(join(ctx, 'f.txt'), 0o640);
  fs.chmodSync(join(ctx, 'exec.sh'), 0o6755);
  fs.chmodSync(join(ctx, 'd'), 0o711);
  fs.chmodSync(join(ctx, 'd', 'sub'), 0o700);
  for (const p of ['f.txt', 'exec.sh', 'd/a.txt', 'd/sub/b.txt', 'd/hl1', 'd/lnk', 'd/abs', 'linkf', 'linkd', 'esclink']) setTime(join(ctx, p), T_FILE);
  for (const p of ['d/sub', 'd']) setTime(join(ctx, p), T_DIR);
}

/**
 * The base image of the docker checks: /etc/passwd (root, bob 1000:1000), /etc/group (root,
 * bob 1000, staff 50), /opt/app (0750, 7:8) and /app -> /opt/app, /esc -> ../../../etc,
 * /existdir (0700, 3:4, 2001-01-01), /existfile, /symlinkfile -> /existfile, /dangling -> /nonexist/x.
 */
function makeTarget(root: string): void {
  fs.mkdirSync(join(root, 'etc'), { recursive: true });
  fs.writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n');
  fs.writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nbob:x:1000:\nstaff:x:50:\n');
  fs.mkdirSync(join(root, 'opt', 'app'), { recursive: true });
  fs.chmodSync(join(root, 'opt', 'app'), 0o750);
  own(join(root, 'opt', 'app'), 7, 8);
  fs.symlinkSync('/opt/app', join(root, 'app'));
  fs.symlinkSync('../../../etc', join(root, 'esc'));
  fs.mkdirSync(join(root, 'existdir'));
  fs.chmodSync(join(root, 'existdir'), 0o700);
  own(join(root, 'existdir'), 3, 4);
  fs.writeFileSync(join(root, 'existfile'), 'old\n');
  fs.symlinkSync('/existfile', join(root, 'symlinkfile'));
  fs.symlinkSync('/nonexist/x', join(root, 'dangling'));
}

/** `type mode uid:gid` of an entry, plus its content, link target or nothing. */
function entry(root: string, path: string): string {
  const p = join(root, path);
  const st = fstatat(C.AT_FDCWD, p, C.AT_SYMLINK_NOFOLLOW);
  const type = st.mode & C.S_IFMT;
  const kind = type === C.S_IFDIR ? 'dir' : type === C.S_IFLNK ? 'link' : type === C.S_IFREG ? 'file' : `type${type.toString(8)}`;
  const extra = type === C.S_IFREG ? ` ${JSON.stringify(fs.readFileSync(p, 'utf8'))}` : type === C.S_IFLNK ? ` -> ${fs.readlinkSync(p)}` : '';
  return `${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}${extra}`;
}

function mtime(root: string, path: string): bigint {
  return fstatat(C.AT_FDCWD, join(root, path), C.AT_SYMLINK_NOFOLLOW).mtimeNs;
}

function ino(root: string, path: string): bigint {
  return fstatat(C.AT_FDCWD, join(root, path), C.AT_SYMLINK_NOFOLLOW).ino;
}

/** Every path below `dir` (relative, sorted), to check nothing else was written. */
function listing(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(join(root, dir, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      out.push(r);
      if (fs.lstatSync(join(root, dir, r)).isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

interface Fixture {
  ctx: string;
  root: string;
  /** COPY from the context into the root. */
  copy(sources: string[], dest: string, more?: Partial<CopyIntoOptions>): Promise<CopyResult>;
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  await withDirs(async (base) => {
    const ctx = join(base, 'ctx');
    const root = join(base, 'root');
    fs.mkdirSync(ctx);
    fs.mkdirSync(root);
    makeContext(ctx);
    makeTarget(root);
    const copy = (sources: string[], dest: string, more: Partial<CopyIntoOptions> = {}) =>
      copyInto({ sourceRoot: ctx, fromContext: true, sources, dest, workdir: '/', targetRoot: root, ...more });
    await fn({ ctx, root, copy });
  });
}

test('a file keeps mode and nanosecond mtime, becomes 0:0 from the context, and lands at dest or in dest/', async () => {
  await withFixture(async ({ root, copy }) => {
    await copy(['f.txt'], '/f1');
    assert.equal(entry(root, 'f1'), 'file 640 0:0 "hello\\n"');
    assert.equal(mtime(root, 'f1'), T_FILE);
    const r = await copy(['f.txt'], '/newdir/');
    assert.equal(entry(root, 'newdir'), 'dir 755 0:0');
    assert.equal(entry(root, 'newdir/f.txt'), 'file 640 0:0 "hello\\n"');
    assert.deepEqual(r.entries, [
      { path: '/newdir', type: 'dir', size: 0 },
      { path: '/newdir/f.txt', type: 'file', size: 6 },
    ]);
    // setuid and setgid survive the copy (exec.sh is 6755 in the context)
    await copy(['f.txt', 'exec.sh'], '/multi/');
    assert.equal(entry(root, 'multi/exec.sh'), 'file 6755 0:0 "#!/bin/sh\\n"');
    assert.deepEqual(listing(root, 'multi'), ['exec.sh', 'f.txt']);
  });
});

test('a directory copies its contents: modes kept, symlinks as symlinks, hard links as hard links, context directories at copy time', async () => {
  await withFixture(async ({ root, copy }) => {
    const before = BigInt(Date.now() - 1000) * 1_000_000n;
    await copy(['d'], '/dcopy');
    assert.deepEqual(listing(root, 'dcopy'), ['a.txt', 'abs', 'hl1', 'hl2', 'lnk', 'sub', 'sub/b.txt']);
    // the destination directory is made 0755, not given d's own 0711
    assert.equal(entry(root, 'dcopy'), 'dir 755 0:0');
    assert.equal(entry(root, 'dcopy/sub'), 'dir 700 0:0');
    assert.equal(entry(root, 'dcopy/lnk'), 'link 777 0:0 -> a.txt');
    assert.equal(entry(root, 'dcopy/abs'), 'link 777 0:0 -> /etc/passwd');
    assert.equal(mtime(root, 'dcopy/lnk'), T_FILE);
    assert.equal(mtime(root, 'dcopy/sub/b.txt'), T_FILE);
    assert.equal(ino(root, 'dcopy/hl1'), ino(root, 'dcopy/hl2'));
    assert.notEqual(ino(root, 'dcopy/hl1'), ino(root, 'dcopy/a.txt'));
    // BuildKit v0.8 receives the context anew: its directories carry the time of the transfer
    const t = mtime(root, 'dcopy/sub');
    assert.ok(t >= before && t !== T_DIR, `sub's mtime ${t}`);
    // `d/.` is the same as `d`
    await copy(['d/.'], '/dotcopy');
    assert.deepEqual(listing(root, 'dotcopy'), listing(root, 'dcopy'));
  });
});

test('an existing destination directory keeps its mode and owner; a symlinked source is followed and named as written', async () => {
  await withFixture(async ({ root, copy }) => {
    await copy(['d'], '/existdir');
    assert.equal(entry(root, 'existdir'), 'dir 700 3:4');
    assert.equal(entry(root, 'existdir/a.txt'), 'file 644 0:0 "a\\n"');
    await copy(['linkf'], '/followed');
    assert.equal(entry(root, 'followed'), 'file 640 0:0 "hello\\n"');
    await copy(['linkd'], '/followeddir');
    assert.equal(entry(root, 'followeddir/a.txt'), 'file 644 0:0 "a\\n"');
    await copy(['linkf'], '/existdir/');
    assert.equal(entry(root, 'existdir/linkf'), 'file 640 0:0 "hello\\n"');
  });
});

test('several sources go one after the other to the same dest, a trailing slash or not', async () => {
  await withFixture(async ({ root, copy }) => {
    // no error without the slash: the last file wins
    await copy(['f.txt', 'exec.sh'], '/multi');
    assert.equal(entry(root, 'multi'), 'file 6755 0:0 "#!/bin/sh\\n"');
    // a directory first makes dest a directory, and the file goes inside it
    await copy(['d', 'f.txt'], '/multi3');
    assert.deepEqual(listing(root, 'multi3'), ['a.txt', 'abs', 'f.txt', 'hl1', 'hl2', 'lnk', 'sub', 'sub/b.txt']);
    // a file first, then a directory onto it, fails
    await assert.rejects(copy(['f.txt', 'd'], '/multi2'), { message: `cannot copy to non-directory: ${join(root, 'multi2')}` });
    // an existing directory without the slash takes them all
    await copy(['f.txt', 'exec.sh'], '/existdir');
    assert.deepEqual(listing(root, 'existdir'), ['exec.sh', 'f.txt']);
  });
});

test('the destination is resolved inside the target root: symlinks followed, never out of it', async () => {
  await withFixture(async ({ root, copy }) => {
    await copy(['f.txt'], '/app/');
    assert.equal(entry(root, 'opt/app/f.txt'), 'file 640 0:0 "hello\\n"');
    assert.equal(entry(root, 'opt/app'), 'dir 750 7:8');
    await copy(['f.txt'], '/esc/');
    assert.equal(entry(root, 'etc/f.txt'), 'file 640 0:0 "hello\\n"');
    // the last component is followed too: the file it points at is replaced, the link stays
    await copy(['f.txt'], '/symlinkfile');
    assert.equal(entry(root, 'existfile'), 'file 640 0:0 "hello\\n"');
    assert.equal(entry(root, 'symlinkfile'), 'link 777 0:0 -> /existfile');
    // a dangling link: its target is made
    await copy(['d'], '/dangling');
    assert.equal(entry(root, 'nonexist'), 'dir 755 0:0');
    assert.equal(entry(root, 'nonexist/x/a.txt'), 'file 644 0:0 "a\\n"');
    await copy(['f.txt'], '../../../../escaped');
    assert.equal(entry(root, 'escaped'), 'file 640 0:0 "hello\\n"');
  });
});

test('a relative dest is taken from the working directory; `.` is the working directory itself', async () => {
  await withFixture(async ({ root, copy }) => {
    await copy(['f.txt'], 'rel', { workdir: '/w' });
    assert.equal(entry(root, 'w/rel'), 'file 640 0:0 "hello\\n"');
    await copy(['f.txt'], '.', { workdir: '/w2' });
    assert.equal(entry(root, 'w2/f.txt'), 'file 640 0:0 "hello\\n"');
    assert.equal(destinationPath('.', ''), '/');
    assert.equal(destinationPath('a/../b/', '/w'), '/w/b/');
    assert.equal(destinationPath('/', '/w'), '/');
  });
});

test('a missing source fails before anything is written, named as resolved in the source root', async () => {
  await withFixture(async ({ root, copy }) => {
    const notFound = (path: string) => (e: unknown) => {
      assert.ok(e instanceof CopySourceNotFoundError);
      assert.equal(e.message, `failed to compute cache key: "${path}" not found: not found`);
      assert.equal(e.detail, `"${path}" not found: not found`);
      assert.equal(e.exitCode, 1);
      return true;
    };
    await assert.rejects(copy(['f.txt', 'nosuch.txt'], '/out/'), notFound('/nosuch.txt'));
    assert.equal(fs.existsSync(join(root, 'out')), false);
    // `..` stops at the context root; symlinks resolve inside it
    await assert.rejects(copy(['../../etc/passwd'], '/x'), notFound('/etc/passwd'));
    await assert.rejects(copy(['esclink'], '/x'), notFound('/etc/hostname'));
    await assert.rejects(copy(['d/abs'], '/x'), notFound('/etc/passwd'));
    await assert.rejects(copy(['d/nosuch/x'], '/x'), notFound('/d/nosuch/x'));
    await copy(['../f.txt'], '/dotdot');
    assert.equal(entry(root, 'dotdot'), 'file 640 0:0 "hello\\n"');
    // a trailing slash on a file source is ignored
    await copy(['f.txt/'], '/slash');
    assert.equal(entry(root, 'slash'), 'file 640 0:0 "hello\\n"');
  });
});

test('wildcards: Go patterns from the first component that has one; no match is no error and writes nothing', async () => {
  await withFixture(async ({ ctx, root, copy }) => {
    await copy(['nomatch*'], '/nm/');
    assert.equal(fs.existsSync(join(root, 'nm')), false);
    await copy(['*.txt'], '/wild/');
    assert.deepEqual(listing(root, 'wild'), ['f.txt']);
    await copy(['[^f]*.sh'], '/w1/');
    assert.deepEqual(listing(root, 'w1'), ['exec.sh']);
    // a matched directory copies its contents; a matched symlink is followed and keeps its name
    await copy(['d/s?b'], '/w2');
    assert.deepEqual(listing(root, 'w2'), ['b.txt']);
    await copy(['link*'], '/lw/');
    assert.deepEqual(listing(root, 'lw'), ['a.txt', 'abs', 'hl1', 'hl2', 'linkf', 'lnk', 'sub', 'sub/b.txt']);
    assert.equal(entry(root, 'lw/linkf'), 'file 640 0:0 "hello\\n"');
    // a match that is a dangling symlink fails like a missing source
    fs.symlinkSync('nowhere', join(ctx, 'dangl'));
    await assert.rejects(copy(['dangl*'], '/x/'), { message: 'failed to compute cache key: "/nowhere" not found: not found' });
  });
});

test('a file over a directory fails, a directory over a file fails, a file over a file replaces it', async () => {
  await withFixture(async ({ root, copy }) => {
    fs.mkdirSync(join(root, 'tgt', 'a.txt'), { recursive: true });
    await assert.rejects(copy(['d'], '/tgt'), { message: `cannot replace to directory ${join(root, 'tgt', 'a.txt')} with file` });
    await assert.rejects(copy(['d'], '/existfile'), { message: `cannot copy to non-directory: ${join(root, 'existfile')}` });
    fs.mkdirSync(join(root, 'tgt2'));
    fs.writeFileSync(join(root, 'tgt2', 'sub'), 'file');
    await assert.rejects(copy(['d'], '/tgt2'), { message: `cannot copy to non-directory: ${join(root, 'tgt2', 'sub')}` });
    await assert.rejects(copy(['f.txt'], '/existfile/'), { message: `mkdir ${join(root, 'existfile')}: not a directory` });
    await copy(['f.txt'], '/existfile');
    assert.equal(entry(root, 'existfile'), 'file 640 0:0 "hello\\n"');
  });
});

test('inside the copied tree: an existing directory takes the metadata of the source one, a symlink is replaced by a file, a symlink to a directory is not entered', async () => {
  await withFixture(async ({ root, copy }) => {
    fs.mkdirSync(join(root, 'tgt3', 'sub'), { recursive: true });
    fs.chmodSync(join(root, 'tgt3', 'sub'), 0o777);
    own(join(root, 'tgt3', 'sub'), 5, 5);
    fs.writeFileSync(join(root, 'tgt3', 'sub', 'old'), 'keep');
    await copy(['d'], '/tgt3');
    assert.equal(entry(root, 'tgt3/sub'), 'dir 700 0:0');
    assert.deepEqual(listing(root, 'tgt3/sub'), ['b.txt', 'old']);
    // dest/<name> is not resolved: a symlink there is replaced, what it points at is untouched
    fs.mkdirSync(join(root, 'existdir2'));
    fs.symlinkSync('/etc/passwd', join(root, 'existdir2', 'f.txt'));
    await copy(['f.txt'], '/existdir2/');
    assert.equal(entry(root, 'existdir2/f.txt'), 'file 640 0:0 "hello\\n"');
    assert.match(fs.readFileSync(join(root, 'etc', 'passwd'), 'utf8'), /^root:x:0:0/);
    fs.mkdirSync(join(root, 'tgt4'));
    fs.symlinkSync('/opt/app', join(root, 'tgt4', 'sub'));
    await assert.rejects(copy(['d'], '/tgt4'), { message: `cannot copy to non-directory: ${join(root, 'tgt4', 'sub')}` });
    assert.deepEqual(listing(root, 'opt/app'), []);
  });
});

test('hard links are kept within one source, not across sources', async () => {
  await withFixture(async ({ root, copy }) => {
    await copy(['d/hl1', 'd/hl2'], '/h/');
    assert.notEqual(ino(root, 'h/hl1'), ino(root, 'h/hl2'));
    assert.equal(entry(root, 'h/hl2'), 'file 644 0:0 "hl\\n"');
    const r = await copy(['d'], '/h2/');
    assert.equal(ino(root, 'h2/hl1'), ino(root, 'h2/hl2'));
    assert.deepEqual(r.entries.filter((e) => e.type === 'hardlink'), [{ path: '/h2/hl2', type: 'hardlink', size: 0 }]);
    assert.equal(r.bytes, 2 + 3 + 2);
  });
});

test('--chown: the user and group of the target root, given to every copied entry and to the directories made', async () => {
  await withFixture(async ({ root, copy }) => {
    await copy(['f.txt', 'd'], '/chowned/x/', { chown: 'bob' });
    assert.equal(entry(root, 'chowned'), 'dir 755 1000:1000');
    assert.equal(entry(root, 'chowned/x'), 'dir 755 1000:1000');
    assert.equal(entry(root, 'chowned/x/f.txt'), 'file 640 1000:1000 "hello\\n"');
    assert.equal(entry(root, 'chowned/x/lnk'), 'link 777 1000:1000 -> a.txt');
    assert.equal(entry(root, 'chowned/x/sub'), 'dir 700 1000:1000');
    // an existing destination directory is not changed
    await copy(['d'], '/existdir', { chown: 'bob' });
    assert.equal(entry(root, 'existdir'), 'dir 700 3:4');
    assert.equal(entry(root, 'existdir/a.txt'), 'file 644 1000:1000 "a\\n"');
    // chown clears setuid: the mode is set after the owner
    await copy(['exec.sh'], '/o1', { chown: 'bob:staff' });
    assert.equal(entry(root, 'o1'), 'file 6755 1000:50 "#!/bin/sh\\n"');
  });
});

test('--chown spec rules of BuildKit v0.8', async () => {
  await withDirs(async (root) => {
    makeTarget(root);
    const cases: Array<[string, [number, number]]> = [
      ['bob:staff', [1000, 50]],
      ['1000', [1000, 1000]],
      ['root:bob', [0, 1000]],
      [':50', [0, 50]],
      ['bob:', [1000, 0]],
      ['nosuch', [0, 0]],
      ['bob:nosuchgrp', [1000, 1000]],
      ['4000:staff', [4000, 50]],
      ['4000:4001', [4000, 4001]],
    ];
    for (const [spec, [uid, gid]] of cases) assert.deepEqual(resolveChown(root, spec), { uid, gid }, spec);
    fs.rmSync(join(root, 'etc', 'group'));
    assert.throws(() => resolveChown(root, 'bob:staff'), { message: `open ${join(root, 'etc', 'group')}: no such file or directory` });
    assert.deepEqual(resolveChown(root, 'bob'), { uid: 1000, gid: 1000 });
    fs.rmSync(join(root, 'etc', 'passwd'));
    assert.throws(() => resolveChown(root, 'bob'), { message: `open ${join(root, 'etc', 'passwd')}: no such file or directory` });
    assert.deepEqual(resolveChown(root, '1:2'), { uid: 1, gid: 2 });
  });
});

test('--chmod octal changes the permission bits of files and directories copied, not of symlinks or directories made', async () => {
  await withFixture(async ({ root, copy }) => {
    await copy(['d'], '/chmodded', { chmod: '0600' });
    assert.equal(entry(root, 'chmodded'), 'dir 755 0:0');
    assert.equal(entry(root, 'chmodded/a.txt'), 'file 600 0:0 "a\\n"');
    assert.equal(entry(root, 'chmodded/sub'), 'dir 600 0:0');
    assert.equal(entry(root, 'chmodded/lnk'), 'link 777 0:0 -> a.txt');
    // v0.8 keeps setuid and setgid: only mode & 0777 is replaced
    await copy(['exec.sh'], '/chm', { chmod: '644' });
    assert.equal(entry(root, 'chm'), 'file 6644 0:0 "#!/bin/sh\\n"');
    await assert.rejects(copy(['f.txt'], '/bad', { chmod: '999' }), { message: "invalid chmod parameter: '999'. it should be octal string and between 0 and 07777" });
    assert.equal(fs.existsSync(join(root, 'bad')), false);
  });
});

test('--chmod symbolic modes follow chmod(1) as newer BuildKit does', () => {
  assert.equal(parseChmod('u+x')(0o640, false), 0o740);
  assert.equal(parseChmod('go-w')(0o666, false), 0o644);
  assert.equal(parseChmod('a=rX')(0o640, false), 0o444);
  assert.equal(parseChmod('a=rX')(0o700, true), 0o555);
  assert.equal(parseChmod('a=rX')(0o744, false), 0o555);
  assert.equal(parseChmod('u=rwx,g=u,o=')(0o644, false), 0o770);
  assert.equal(parseChmod('+t')(0o755, true), 0o1755);
  assert.equal(parseChmod('u-s')(0o4755, false), 0o755);
  assert.throws(() => parseChmod('u+q'), CairnError);
  assert.throws(() => parseChmod('x+u'), CairnError);
});

test('COPY --from keeps owners, directory times and xattrs; a device becomes an empty file, a FIFO is left out', async () => {
  await withDirs(async (base) => {
    const src = join(base, 'src');
    const root = join(base, 'root');
    fs.mkdirSync(join(src, 's', 'd2'), { recursive: true });
    fs.mkdirSync(root);
    makeTarget(root);
    fs.writeFileSync(join(src, 's', 'owned'), 'x\n');
    own(join(src, 's', 'owned'), 1234, 5678);
    fs.chmodSync(join(src, 's', 'owned'), 0o4750);
    lsetxattr(join(src, 's', 'owned'), 'user.foo', Buffer.from('bar'), 0);
    mknodat(C.AT_FDCWD, join(src, 's', 'fifo'), C.S_IFIFO | 0o644);
    mknodat(C.AT_FDCWD, join(src, 's', 'null'), C.S_IFCHR | 0o640, 1, 3);
    own(join(src, 's', 'null'), 5, 6);
    fs.writeFileSync(join(src, 's', 'd2', 'y'), 'y\n');
    own(join(src, 's', 'd2', 'y'), 21, 22);
    fs.symlinkSync('y', join(src, 's', 'd2', 'ly'));
    own(join(src, 's', 'd2', 'ly'), 31, 32);
    own(join(src, 's', 'd2'), 11, 12);
    fs.chmodSync(join(src, 's', 'd2'), 0o2770);
    setTime(join(src, 's', 'd2'), T_DIR);
    setTime(join(src, 's', 'owned'), T_FILE);
    const r = await copyInto({ sourceRoot: src, fromContext: false, sources: ['/s'], dest: '/srcall', workdir: '/', targetRoot: root });
    assert.deepEqual(listing(root, 'srcall'), ['d2', 'd2/ly', 'd2/y', 'null', 'owned']);
    assert.equal(entry(root, 'srcall'), 'dir 755 0:0');
    assert.equal(entry(root, 'srcall/d2'), 'dir 2770 11:12');
    assert.equal(mtime(root, 'srcall/d2'), T_DIR);
    assert.equal(entry(root, 'srcall/d2/ly'), 'link 777 31:32 -> y');
    assert.equal(entry(root, 'srcall/d2/y'), 'file 644 21:22 "y\\n"');
    assert.equal(entry(root, 'srcall/owned'), 'file 4750 1234:5678 "x\\n"');
    assert.equal(mtime(root, 'srcall/owned'), T_FILE);
    assert.equal(lgetxattr(join(root, 'srcall', 'owned'), 'user.foo')?.toString(), 'bar');
    assert.equal(entry(root, 'srcall/null'), 'file 640 5:6 ""');
    assert.deepEqual(r.skipped, [{ path: '/s/fifo', reason: 'a FIFO is not copied' }]);
    // a symlink source is followed: the file it names, with that file's owner
    await copyInto({ sourceRoot: src, fromContext: false, sources: ['/s/d2/ly'], dest: '/ly', workdir: '/', targetRoot: root });
    assert.equal(entry(root, 'ly'), 'file 644 21:22 "y\\n"');
    // a context drops xattrs (BuildKit v0.8 does not carry them over the transfer)
    await copyInto({ sourceRoot: src, fromContext: true, sources: ['/s/owned'], dest: '/ctxowned', workdir: '/', targetRoot: root });
    assert.equal(lgetxattr(join(root, 'ctxowned'), 'user.foo'), null);
    assert.equal(entry(root, 'ctxowned'), 'file 4750 0:0 "x\\n"');
  });
});

test('.dockerignore: what it excludes is not in the context, an exception keeps what it names', async () => {
  await withFixture(async ({ ctx, root, copy }) => {
    fs.mkdirSync(join(ctx, 'ign', 'keep'), { recursive: true });
    fs.writeFileSync(join(ctx, 'ign', 'a.log'), '1');
    fs.writeFileSync(join(ctx, 'ign', 'keep', 'b.log'), '2');
    fs.writeFileSync(join(ctx, 'secret.txt'), '3');
    const dockerignore = ['secret.txt', 'ign/*.log', 'd/sub', '!d/sub/b.txt', 'exec.sh'];
    await assert.rejects(copy(['secret.txt'], '/x', { dockerignore }), { message: 'failed to compute cache key: "/secret.txt" not found: not found' });
    await copy(['.'], '/all/', { dockerignore });
    assert.deepEqual(listing(root, 'all'), ['d', 'd/a.txt', 'd/abs', 'd/hl1', 'd/hl2', 'd/lnk', 'd/sub', 'd/sub/b.txt', 'esclink', 'f.txt', 'ign', 'ign/keep', 'ign/keep/b.log', 'linkd', 'linkf']);
    await copy(['*.txt', '*.sh'], '/t/', { dockerignore });
    assert.deepEqual(listing(root, 't'), ['f.txt']);
    // only a build context has a .dockerignore (and a stage's root keeps its owners)
    own(join(ctx, 'secret.txt'), 77, 78);
    fs.chmodSync(join(ctx, 'secret.txt'), 0o600);
    await copy(['secret.txt'], '/notctx', { dockerignore, fromContext: false });
    assert.equal(entry(root, 'notctx'), 'file 600 77:78 "3"');
  });
});

test('--exclude (newer BuildKit) leaves out paths below each source, exceptions re-include', async () => {
  await withFixture(async ({ root, copy }) => {
    await copy(['d'], '/ex/', { excludes: ['*.txt', 'hl*'] });
    assert.deepEqual(listing(root, 'ex'), ['abs', 'lnk', 'sub', 'sub/b.txt']);
    await copy(['d'], '/ex2/', { excludes: ['sub', '!sub/b.txt'] });
    assert.deepEqual(listing(root, 'ex2'), ['a.txt', 'abs', 'hl1', 'hl2', 'lnk', 'sub', 'sub/b.txt']);
    // the source itself is never excluded
    await copy(['f.txt'], '/ex3', { excludes: ['*'] });
    assert.equal(entry(root, 'ex3'), 'file 640 0:0 "hello\\n"');
  });
});

test('--parents (newer BuildKit) keeps the path of each source, from the root or a /./ pivot', async () => {
  await withFixture(async ({ root, copy }) => {
    await copy(['d/sub/b.txt', 'f.txt'], '/p/', { parents: true });
    assert.deepEqual(listing(root, 'p'), ['d', 'd/sub', 'd/sub/b.txt', 'f.txt']);
    assert.equal(entry(root, 'p/d'), 'dir 711 0:0');
    assert.equal(entry(root, 'p/d/sub'), 'dir 700 0:0');
    await copy(['d/./sub/b.txt'], '/p2/', { parents: true });
    assert.deepEqual(listing(root, 'p2'), ['sub', 'sub/b.txt']);
    await copy(['d/*.txt'], '/p3/', { parents: true });
    assert.deepEqual(listing(root, 'p3'), ['d', 'd/a.txt']);
    await assert.rejects(copy(['d/nosuch'], '/p4/', { parents: true }), CopySourceNotFoundError);
  });
});

test('Go filepath.Match and fsutil splitWildcards', () => {
  assert.equal(goMatch('*.txt', 'f.txt'), true);
  assert.equal(goMatch('*.txt', 'd/f.txt'), false);
  assert.equal(goMatch('*/b.txt', 'sub/b.txt'), true);
  assert.equal(goMatch('s?b', 'sub'), true);
  assert.equal(goMatch('[^f]*', 'exec.sh'), true);
  assert.equal(goMatch('[^f]*', 'f.txt'), false);
  assert.equal(goMatch('[a-c]x', 'bx'), true);
  assert.equal(goMatch('\\*', '*'), true);
  assert.equal(goMatch('\\*', 'a'), false);
  assert.equal(goMatch('[', '['), false);
  assert.equal(goMatch('a*b*c', 'axxbyyc'), true);
  assert.equal(goMatch('a*b', 'ab/b'), false);
  assert.deepEqual(splitWildcards('d/s?b/x'), ['/d', 's?b/x']);
  assert.deepEqual(splitWildcards('../d/./f.txt/'), ['/d/f.txt', '']);
  assert.deepEqual(splitWildcards('.'), ['/', '']);
  assert.deepEqual(splitWildcards('*'), ['/', '*']);
});
