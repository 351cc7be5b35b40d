/**
 * rootpath against hostile root filesystems: symlinks to `/`, to `../../..`, to host paths,
 * loops, a symlink as the last component. Each test builds a root beside an "outside"
 * directory that stands for the host, and proves that nothing outside the root is read,
 * made or changed (the tree outside is compared before and after).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PreconditionError } from '../errors.js';
import { MAX_SYMLINK_HOPS, SymlinkLoopError, ensureInRoot, readFileInRoot, resolveInRoot } from './rootpath.js';

let base: string;
let root: string;
let outside: string;

function treeOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      out.push(`${r} ${st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : `file ${st.size}`}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

describe('rootpath', () => {
  let outsideBefore: string[];
  before(() => {
    base = mkdtempSync(join(tmpdir(), 'cairn-rootpath-'));
    root = join(base, 'root');
    outside = join(base, 'outside');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'usr', 'lib'), { recursive: true });
    mkdirSync(join(outside, 'etc'), { recursive: true });
    writeFileSync(join(outside, 'etc', 'passwd'), 'host:x:0:0::/:/bin/sh\n');
    writeFileSync(join(root, 'etc', 'passwd'), 'image:x:0:0::/:/bin/sh\n');
    writeFileSync(join(root, 'file'), 'x');
    // Hostile links: absolute to '/', relative far above the root, to the host's path of "outside".
    symlinkSync('/', join(root, 'slash'));
    symlinkSync('../../../../../../..', join(root, 'up'));
    symlinkSync(outside, join(root, 'hostabs'));
    symlinkSync(`../../outside`, join(root, 'usr', 'rel-out'));
    symlinkSync('loop2', join(root, 'loop1'));
    symlinkSync('loop1', join(root, 'loop2'));
    symlinkSync('/etc/passwd', join(root, 'passwd-link'));
    symlinkSync('/nonexistent/deeper', join(root, 'dangling'));
    symlinkSync('../file', join(root, 'usr', 'to-file'));
    mkfifo(join(root, 'etc', 'fifo'));
    outsideBefore = treeOf(outside);
  });
  after(() => {
    assert.deepEqual(treeOf(outside), outsideBefore, 'nothing outside the root changed');
    assert.deepEqual(readdirSync(base).sort(), ['outside', 'root'], 'nothing made beside the root');
    for (const p of ['/cairn-new', '/made', '/nonexistent', '/hosts-target', '/outside']) assert.equal(existsSync(p), false, p);
    rmSync(base, { recursive: true, force: true });
  });

  it('clamps .. and absolute symlinks at the root', () => {
    assert.equal(resolveInRoot(root, '/../../etc').path, '/etc');
    assert.equal(resolveInRoot(root, 'slash/etc/passwd').path, '/etc/passwd');
    assert.equal(resolveInRoot(root, '/up/etc').path, '/etc');
    assert.equal(resolveInRoot(root, '/usr/rel-out/etc').path, '/outside/etc');
    assert.equal(resolveInRoot(root, '/usr/rel-out/etc').kind, undefined);
    // A link to the host's absolute path lands at that path below the root, which does not exist.
    const r = resolveInRoot(root, '/hostabs/etc/passwd');
    assert.equal(r.path, `${outside}/etc/passwd`);
    assert.equal(r.hostPath, join(root, outside, 'etc', 'passwd'));
    assert.equal(r.kind, undefined);
  });

  it('reports what is there', () => {
    assert.deepEqual(resolveInRoot(root, '/'), { path: '/', hostPath: root, kind: 'dir' });
    assert.equal(resolveInRoot(root, '/etc').kind, 'dir');
    assert.equal(resolveInRoot(root, '/etc/passwd').kind, 'file');
    assert.equal(resolveInRoot(root, '/etc/fifo').kind, 'other');
    assert.equal(resolveInRoot(root, '/passwd-link').path, '/etc/passwd');
    assert.equal(resolveInRoot(root, '/usr/to-file').path, '/file');
    // Lexical after a missing component, as securejoin: a later .. climbs back.
    assert.deepEqual(resolveInRoot(root, '/missing/../etc'), { path: '/etc', hostPath: join(root, 'etc'), kind: 'dir' });
    assert.equal(resolveInRoot(root, '/dangling/x').path, '/nonexistent/deeper/x');
  });

  it('gives a clear error for a loop and for too many hops', () => {
    assert.throws(() => resolveInRoot(root, '/loop1/x'), (e: unknown) => e instanceof SymlinkLoopError && /too many levels of symbolic links/.test(e.message));
    // A chain longer than the limit (each link one hop further) fails the same way.
    const chain = join(root, 'chain');
    mkdirSync(chain);
    for (let i = 0; i <= MAX_SYMLINK_HOPS; i++) symlinkSync(`l${i + 1}`, join(chain, `l${i}`));
    mkdirSync(join(chain, `l${MAX_SYMLINK_HOPS + 1}`));
    assert.throws(() => resolveInRoot(root, '/chain/l0'), SymlinkLoopError);
    assert.equal(resolveInRoot(root, `/chain/l1`).path, `/chain/l${MAX_SYMLINK_HOPS + 1}`);
  });

  it('refuses a path through a file', () => {
    assert.throws(() => resolveInRoot(root, '/file/x'), (e: unknown) => e instanceof PreconditionError && /\/file is not a directory/.test(e.message));
  });

  it('makes directories inside the root, never outside, through hostile links', () => {
    const a = ensureInRoot(root, '/slash/etc/cairn-new/dir', 'dir');
    assert.equal(a.path, '/etc/cairn-new/dir');
    assert.ok(lstatSync(join(root, 'etc', 'cairn-new', 'dir')).isDirectory());
    assert.equal(existsSync('/etc/cairn-new'), false);
    const b = ensureInRoot(root, '/up/up/made', 'dir');
    assert.equal(b.path, '/made');
    assert.ok(lstatSync(join(root, 'made')).isDirectory());
    const c = ensureInRoot(root, '/hostabs/etc/vol', 'dir');
    assert.equal(c.path, `${outside}/etc/vol`);
    assert.ok(lstatSync(join(root, outside, 'etc', 'vol')).isDirectory());
    const d = ensureInRoot(root, '/usr/rel-out/etc/vol2', 'dir');
    assert.equal(d.path, '/outside/etc/vol2');
    assert.ok(lstatSync(join(root, 'outside', 'etc', 'vol2')).isDirectory());
    // Through a dangling absolute link: made where the link points, inside the root.
    const e = ensureInRoot(root, '/dangling/vol', 'dir');
    assert.equal(e.path, '/nonexistent/deeper/vol');
    assert.ok(lstatSync(join(root, 'nonexistent', 'deeper', 'vol')).isDirectory());
    // An existing directory is fine as it is.
    assert.equal(ensureInRoot(root, '/etc', 'dir').path, '/etc');
  });

  it('makes a file mount target, following a last-component symlink inside the root only', () => {
    const h = ensureInRoot(root, '/slash/etc/hosts', 'file');
    assert.equal(h.path, '/etc/hosts');
    assert.ok(lstatSync(join(root, 'etc', 'hosts')).isFile());
    // passwd-link -> /etc/passwd: the image's file, never the host's.
    const p = ensureInRoot(root, '/passwd-link', 'file');
    assert.equal(p.hostPath, join(root, 'etc', 'passwd'));
    symlinkSync('/hosts-target', join(root, 'etc', 'resolv.conf'));
    const r = ensureInRoot(root, '/etc/resolv.conf', 'file');
    assert.equal(r.path, '/hosts-target');
    assert.ok(lstatSync(join(root, 'hosts-target')).isFile());
  });

  it('refuses an existing entry of the wrong kind in one line', () => {
    assert.throws(() => ensureInRoot(root, '/file', 'dir', 'working directory'), (e: unknown) =>
      e instanceof PreconditionError && e.message === 'Cannot mkdir: /file is not a directory');
    assert.throws(() => ensureInRoot(root, '/etc', 'file', 'mount target'), /mount target "\/etc" \(\/etc in the root filesystem\) is a directory, not a file/);
    assert.throws(() => ensureInRoot(root, '/etc/fifo', 'file'), /is not a regular file or directory/);
    assert.throws(() => ensureInRoot(root, '/file/sub', 'dir'), /\/file is not a directory/);
    assert.throws(() => ensureInRoot(root, '/loop1', 'dir'), SymlinkLoopError);
  });

  it('reads files through the root only', () => {
    assert.equal(readFileInRoot(root, '/etc/passwd'), 'image:x:0:0::/:/bin/sh\n');
    assert.equal(readFileInRoot(root, '/slash/up/etc/passwd'), 'image:x:0:0::/:/bin/sh\n');
    assert.equal(readFileInRoot(root, '/passwd-link'), 'image:x:0:0::/:/bin/sh\n');
    assert.equal(readFileInRoot(root, '/hostabs/etc/passwd'), undefined);
    assert.equal(readFileInRoot(root, '/usr/rel-out/etc/passwd'), undefined);
    assert.equal(readFileInRoot(root, '/file/passwd'), undefined, 'a file on the way: no such file');
    assert.throws(() => readFileInRoot(root, '/etc/fifo'), /not a regular file/);
    assert.throws(() => readFileInRoot(root, '/etc'), /not a regular file/);
    assert.throws(() => readFileInRoot(root, '/loop1'), SymlinkLoopError);
  });
});
