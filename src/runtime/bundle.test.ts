/**
 * secureSpec: every mount destination and the working directory resolved inside the root
 * filesystem (or inside the bind source that holds them), with hostile images.
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PreconditionError } from '../errors.js';
import { secureSpec, writeBundle } from './bundle.js';
import { CAPABILITIES } from './host.js';
import { buildSpec, type RunOptions } from './spec.js';

let base: string;

function makeSpec(rootfs: string, options: Partial<RunOptions>) {
  return buildSpec({
    id: 'x',
    image: { Cmd: ['sh'] },
    rootfs,
    options: { user: { uid: 0, gid: 0, additionalGids: [], home: '/' }, hostname: 'x', securityOpt: ['seccomp=unconfined'], ...options },
    host: { rlimits: {}, capabilities: [...CAPABILITIES], cpus: 2, cgroup2: false, swapLimit: true, arch: 'amd64' },
    kernel: '6.18',
  }).spec;
}

describe('bundle', () => {
  before(() => {
    base = mkdtempSync(join(tmpdir(), 'cairn-bundle-'));
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  it('resolves binds, the /etc files and the working directory inside the root, through hostile links', () => {
    const root = join(base, 'r1');
    mkdirSync(join(root, 'etc'), { recursive: true });
    symlinkSync('/', join(root, 'data'));
    symlinkSync('../../../../tmp', join(root, 'work'));
    symlinkSync('/etc/target-hosts', join(root, 'etc', 'hosts'));
    symlinkSync('/data/vol', join(root, 'alias'));
    const src = join(base, 'src');
    mkdirSync(join(src, 'inner'), { recursive: true });
    symlinkSync('/', join(src, 'escape'));
    const files = join(base, 'files');
    mkdirSync(files);
    writeFileSync(join(files, 'hosts'), '127.0.0.1 localhost\n');
    const spec = secureSpec(makeSpec(root, {
      binds: [
        { source: src, destination: '/data/vol' },
        { source: src, destination: '/data/vol/escape/nested' },
        // Reaches the first bind through another link of the image: resolved inside the bind's source too.
        { source: src, destination: '/alias/escape/deep/er' },
      ],
      tmpfs: [{ destination: '/dev/../run' }],
      workdir: '/work/app',
      etcFiles: { hosts: join(files, 'hosts') },
    }));
    const byDest = (d: string) => spec.mounts.find((m) => m.destination === d);
    assert.ok(byDest('/vol'), 'the bind below /data -> / lands at /vol');
    assert.ok(lstatSync(join(root, 'vol')).isDirectory());
    // Below the first bind: resolved inside its source, where escape -> / means the source's root.
    assert.ok(byDest('/vol/nested'));
    assert.ok(lstatSync(join(src, 'nested')).isDirectory());
    assert.equal(existsSync('/nested'), false);
    assert.ok(byDest('/vol/deep/er'));
    assert.ok(lstatSync(join(src, 'deep', 'er')).isDirectory());
    assert.equal(existsSync('/deep'), false);
    assert.ok(byDest('/run'));
    assert.ok(byDest('/etc/target-hosts'));
    assert.ok(lstatSync(join(root, 'etc', 'target-hosts')).isFile());
    assert.equal(spec.process.cwd, '/tmp/app');
    assert.ok(lstatSync(join(root, 'tmp', 'app')).isDirectory());
    // Below /dev (a fresh tmpfs) nothing of the image is consulted.
    assert.ok(byDest('/dev/shm'));
    assert.equal(existsSync(join(root, 'dev', 'shm')), false);
    for (const d of ['/proc', '/sys', '/dev']) assert.ok(lstatSync(join(root, d)).isDirectory(), d);
  });

  it('refuses a symlink at /proc, a working directory that is a file, a file bound over a directory', () => {
    const root = join(base, 'r2');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'passwd'), '');
    symlinkSync('/etc', join(root, 'proc'));
    assert.throws(() => secureSpec(makeSpec(root, {})), (e: unknown) =>
      e instanceof PreconditionError && e.message === "the image's /proc is a symbolic link (to /etc): refusing to mount proc there");
    rmSync(join(root, 'proc'));
    assert.throws(() => secureSpec(makeSpec(root, { workdir: '/etc/passwd' })), { message: 'Cannot mkdir: /etc/passwd is not a directory' });
    const file = join(base, 'a-file');
    writeFileSync(file, 'x');
    assert.throws(() => secureSpec(makeSpec(root, { binds: [{ source: file, destination: '/etc' }] })), /mount target "\/etc" .* is a directory, not a file/);
    assert.throws(() => secureSpec(makeSpec(root, { binds: [{ source: join(base, 'missing'), destination: '/m' }] })), /bind source path does not exist/);
  });

  it('writes config.json', () => {
    const root = join(base, 'r3');
    mkdirSync(root);
    const file = writeBundle(join(base, 'bundle'), makeSpec(root, {}));
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).root.path, root);
    assert.equal(lstatSync(file).mode & 0o777, 0o600);
  });
});
