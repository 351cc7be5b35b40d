/**
 * Test helpers shared by the integration tests: temporary store roots, running the real CLI,
 * and image inputs made here (root filesystem tars written with cairn's own tar writer).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync, readlinkSync, lstatSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createTarWriter, type TarWriter } from '../src/tar/index.js';

/** The repository root (tests run from dist/test/). */
export const REPO = new URL('../../', import.meta.url).pathname;
export const CAIRN = join(REPO, 'bin', 'cairn.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function tempDir(prefix = 'cairn-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Run `cairn --root ROOT ARGS...`; never throws on a non-zero exit. */
export function cairn(root: string, args: string[], opts: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // "--" first, as bin/cairn passes it: Node 20 would read a later "--env-file" itself
    const child = spawn(process.execPath, [CAIRN, '--', '--root', root, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Like cairn() but fails the test on a non-zero exit. */
export async function cairnOk(root: string, args: string[], opts: { input?: Buffer | string } = {}): Promise<RunResult> {
  const r = await cairn(root, args, opts);
  if (r.code !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

export interface FileSpec {
  path: string;
  type?: 'file' | 'dir' | 'symlink';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

/** The bytes of a tar that `fill` writes with cairn's tar writer (then finished), optionally gzip-compressed. */
export async function tarBytes(fill: (tar: TarWriter) => Promise<void>, compress: 'none' | 'gzip' = 'none'): Promise<Buffer> {
  const tar = createTarWriter();
  const chunks: Buffer[] = [];
  const sink = compress === 'gzip' ? tar.pipe(createGzip()) : tar;
  const done = new Promise<void>((resolve, reject) => {
    sink.on('data', (c: Buffer) => chunks.push(c));
    sink.on('end', resolve);
    sink.on('error', reject);
  });
  await fill(tar);
  await tar.finish();
  await done;
  return Buffer.concat(chunks);
}

/** A root filesystem tar from a list of entries, optionally gzip-compressed. */
export function makeTar(entries: FileSpec[], compress: 'none' | 'gzip' = 'none'): Promise<Buffer> {
  return tarBytes(async (tar) => {
    for (const e of entries) {
      const type = e.type ?? 'file';
      if (type === 'file') {
        const data = Buffer.from(e.content ?? '');
        await tar.add({ name: e.path, type, mode: e.mode ?? 0o644, mtime: 1700000000, size: data.length }, data);
      } else {
        await tar.add({ name: e.path, type, mode: e.mode ?? (type === 'dir' ? 0o755 : 0o777), mtime: 1700000000, ...(e.linkname ? { linkname: e.linkname } : {}) });
      }
    }
  }, compress);
}

/** A small busybox root filesystem (from Debian's busybox-static) as a tar. */
export async function busyboxTar(compress: 'none' | 'gzip' = 'none'): Promise<Buffer> {
  const bin = readFileSync('/bin/busybox');
  const entries: FileSpec[] = [
    { path: 'bin/', type: 'dir' },
    { path: 'bin/busybox', content: bin, mode: 0o755 },
    ...['sh', 'ls', 'cat', 'echo', 'true'].map((a) => ({ path: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
    { path: 'etc/', type: 'dir' },
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { path: 'tmp/', type: 'dir', mode: 0o1777 },
  ];
  return makeTar(entries, compress);
}

/**
 * A busybox image for containers: the static binary with every applet it has linked in /bin,
 * passwd and group with root and nobody, /tmp, and a file the tests change (/etc/motd).
 */
export async function busyboxRunTar(): Promise<Buffer> {
  const list = spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => a !== '' && a !== 'busybox');
  return makeTar([
    { path: 'bin/', type: 'dir' },
    { path: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 },
    ...list.map((a) => ({ path: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
    { path: 'etc/', type: 'dir' },
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
    { path: 'etc/group', content: 'root:x:0:\nnogroup:x:65534:\n' },
    { path: 'etc/motd', content: 'from the image\n' },
    { path: 'tmp/', type: 'dir', mode: 0o1777 },
  ]);
}

/** Deterministic pseudo-random bytes (incompressible), for layers of a given size. */
export function randomBytesSeeded(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i + 4 <= size ? i : 0);
  }
  return b;
}

export function readableOf(b: Buffer): Readable {
  return Readable.from([b]);
}

/** Whether a command is installed (interop tests need the peers the setup script installs). */
export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Every file under `dir` with its size, for "the store is exactly as before" checks. */
export function snapshotTree(dir: string, skip: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const abs = join(dir, rel);
    for (const name of readdirSync(abs)) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) walk(r);
      else out.set(r, st.isSymbolicLink() ? `-> ${readlinkSync(join(dir, r))}` : `${st.size}`);
    }
  };
  walk('');
  return out;
}

export interface ArchiveImageSpec {
  /** Layer tars (uncompressed), base first. */
  layers: Buffer[];
  repoTags?: string[];
  /** Extra/overriding fields of the image config (history, config, created, ...). */
  config?: Record<string, unknown>;
}

/**
 * A legacy-style docker-archive (manifest.json + `<hex>.json` config + `<hex>/layer.tar`),
 * as `docker save` of Docker 20.10 writes it, made here from raw layer tars.
 */
export async function makeDockerArchive(images: ArchiveImageSpec[]): Promise<Buffer> {
  const { createHash } = await import('node:crypto');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  return tarBytes(async (tar) => {
    const written = new Set<string>();
    const manifest = [];
    for (const img of images) {
      const diffIds = img.layers.map((l) => `sha256:${sha(l)}`);
      const config = Buffer.from(JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '2023-11-14T22:13:20Z',
        config: { Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: img.layers.map(() => ({ created: '2023-11-14T22:13:20Z', created_by: 'test layer' })),
        ...img.config,
      }));
      const configName = `${sha(config)}.json`;
      if (!written.has(configName)) {
        written.add(configName);
        await tar.add({ name: configName, size: config.length, mtime: 0 }, config);
      }
      const layerPaths = [];
      for (const l of img.layers) {
        const dir = sha(l);
        if (!written.has(dir)) {
          written.add(dir);
          await tar.add({ name: `${dir}/`, type: 'dir', mtime: 0 });
          await tar.add({ name: `${dir}/layer.tar`, size: l.length, mtime: 0 }, l);
        }
        layerPaths.push(`${dir}/layer.tar`);
      }
      manifest.push({ Config: configName, RepoTags: img.repoTags ?? [], Layers: layerPaths });
    }
    const m = Buffer.from(JSON.stringify(manifest));
    await tar.add({ name: 'manifest.json', size: m.length, mtime: 0 }, m);
  });
}

/** Lazily unmount everything mounted under `path`: a test's cleanup, whatever failed. */
export function unmountUnder(path: string): void {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const target = line.split(' ')[1];
    if (target?.startsWith(path)) spawnSync('umount', ['-l', target]);
  }
}

/**
 * Every entry under `root`, for "the same file system" checks: type, mode, content hash or
 * link target, and (unless turned off) owner, size and mtime (seconds) of non-directories.
 */
export function fileTree(root: string, opts: { ownersAndTimes?: boolean } = {}): Record<string, string> {
  const full = opts.ownersAndTimes ?? true;
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = lstatSync(p);
      const what = st.isSymbolicLink() ? `link ${readlinkSync(p)}` : st.isDirectory() ? 'dir' : `file ${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)}`;
      const extra = full ? ` ${st.uid}:${st.gid} ${st.isDirectory() ? '' : `${st.size} ${Math.floor(st.mtimeMs / 1000)}`}` : '';
      out[r] = `${what} ${(st.mode & 0o7777).toString(8)}${extra}`;
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

/**
 * Run podman isolated in its own storage under `base` (vfs: no mounts to clean up), without
 * events; its stdout, or an error with its stderr.
 */
export function podmanIn(base: string, args: string[]): string {
  const r = spawnSync('podman', ['--root', join(base, 'root'), '--runroot', join(base, 'run'), '--tmpdir', join(base, 'tmp'), '--storage-driver', 'vfs', '--events-backend', 'none', ...args], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export interface LegacyImageSpec {
  /** The v1 ID: the image's directory. */
  id: string;
  /** The `json` member as written (its bytes decide the image ID). */
  json: string;
  /** The `layer.tar` member. */
  layer: Buffer;
}

/**
 * A docker-archive as Docker before 1.10 wrote it: no manifest.json; per image a directory
 * named by its v1 ID with `VERSION`, `json` and `layer.tar`, in name order; then `repositories`
 * (left out when null).
 */
export function makeLegacyArchive(images: LegacyImageSpec[], repositories: Record<string, Record<string, string>> | null): Promise<Buffer> {
  return tarBytes(async (tar) => {
    for (const img of [...images].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      await tar.add({ name: `${img.id}/`, type: 'dir', mtime: 1433160000 });
      await tar.add({ name: `${img.id}/VERSION`, size: 3, mtime: 1433160000 }, Buffer.from('1.0'));
      const json = Buffer.from(img.json);
      await tar.add({ name: `${img.id}/json`, size: json.length, mtime: 1433160000 }, json);
      await tar.add({ name: `${img.id}/layer.tar`, size: img.layer.length, mtime: 1433160000 }, img.layer);
    }
    if (repositories !== null) {
      const r = Buffer.from(JSON.stringify(repositories));
      await tar.add({ name: 'repositories', size: r.length, mtime: 1433160000 }, r);
    }
  });
}

/**
 * Run `argv` with a pseudo-terminal of `cols` columns as its stdin, stdout and stderr (python3's
 * pty module); its output as the terminal got it (the line discipline's "\r\n" included) and its
 * exit code.
 */
export function onTerminal(argv: string[], cols: number): { output: string; code: number } {
  const script = [
    'import os, pty, sys, fcntl, termios, struct, json, base64',
    'pid, fd = pty.fork()',
    'if pid == 0:',
    `    fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack('HHHH', 40, ${cols}, 0, 0))`,
    '    os.execvp(sys.argv[1], sys.argv[1:])',
    'out = b""',
    'while True:',
    '    try:',
    '        d = os.read(fd, 65536)',
    '    except OSError:',
    '        break',
    '    if not d:',
    '        break',
    '    out += d',
    '_, st = os.waitpid(pid, 0)',
    'print(json.dumps({"output": base64.b64encode(out).decode(), "code": os.waitstatus_to_exitcode(st)}))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script, ...argv], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python3 pty: ${r.stderr}`);
  const { output, code } = JSON.parse(r.stdout) as { output: string; code: number };
  return { output: Buffer.from(output, 'base64').toString('utf8'), code };
}
