/**
 * Benchmark: unpacking one layer into an empty directory, cairn's applier beside `tar -x`
 * (the practical floor) and umoci, on the same disk, in the same run (issue 5, point 7).
 *
 * Layers (prepared once into a cache directory, reused by later runs):
 *   - debian: a Debian minbase root filesystem made with `debootstrap --variant=minbase`
 *     (apt's lists and downloaded .debs removed, as Debian's container images do), tarred
 *     with GNU tar (sorted names, numeric owners, PAX with xattrs): ~122 MB, ~6,700 entries;
 *   - big: 16 files x 64 MiB of AES-CTR keystream (deterministic, incompressible), tarred
 *     the same way: 1 GiB;
 *   each uncompressed and gzip'ed (`gzip -6 -n`). An OCI layout holds one single-layer image
 *   per file (the blobs are hard links to the same files) for umoci.
 *
 * Engines, each a process of its own, timed around the process, under `/usr/bin/time` for
 * peak RSS and CPU time:
 *   - tar:          `tar -x [-z] -f LAYER -C OUT` (with -z, GNU tar runs `gzip -d` beside it);
 *   - cairn:        `node dist/bench/unpack-one.js LAYER OUT` (applyLayer in 'overlay' mode
 *                   on a file stream, computing the digest and diffID as a first apply does;
 *                   Node start-up included; the in-process apply time and
 *                   the peak anonymous / file-backed resident memory it samples are reported
 *                   too, because the peak RSS counts the node binary's mapped pages, which
 *                   vary between runs);
 *   - cairn, trusted: the same with the digests passed as `trusted` (not hashed), which is
 *                   what cairn's store does when it unpacks a blob it verified on the way in;
 *   - umoci:        `umoci unpack --image LAYOUT:TAG OUT` (a whole runtime bundle: rootfs,
 *                   config.json, and an mtree manifest of the rootfs, which umoci computes
 *                   by walking and hashing every file it unpacked);
 *   - umoci raw:    `umoci raw unpack --image LAYOUT:TAG OUT` (the root filesystem only).
 * Before every timed step: the previous output is removed, then `sync; echo 1 >
 * /proc/sys/vm/drop_caches` (on this disk ext4 creates files 3-5x slower right after a mass
 * deletion unless the caches are dropped; see ../shared/notes/peers.md), optionally after
 * `--settle S` seconds. Engines take turns in a rotated order each round. After the first
 * run of each engine its tree is compared with tar's: type, mode, owner, mtime (ns), size,
 * link count and symlink target of every entry.
 *
 * Import (issue 9): `bin/cairn --root STORE import LAYER bench/debian:1` (the CLI users run: a
 * whole one-layer image made in a fresh store, Node start-up included) beside `tar -x` of the
 * same file into an empty directory, for debian.tar and debian.tar.gz; the same method (fresh
 * targets, caches dropped before every step, rotated order, medians), throughput in MB/s of
 * the uncompressed tar for both, the ratio of cairn's throughput to tar's, peak RSS, and the
 * bytes each leaves on disk (`du -s -B1` of the store / of the directory). After cairn's first
 * import, `cairn inspect bench/debian:1` must find the image.
 *
 * A script that prints Markdown tables (and writes JSON), not a test. Run as root:
 *
 *   node dist/bench/unpack.js [--dir /var/tmp/cairn-bench-unpack] [--runs 3]
 *                             [--only debian|big|import] [--no-import]
 *                             [--settle 0] [--mirror URL] [--json FILE]
 *
 * Without --only: the unpack rows of both layers, then the import rows. --only debian|big:
 * that layer's unpack rows only; --only import: the import rows only (needs only the Debian
 * layer; umoci and the 1 GiB layer are not touched).
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { prepareDebian, tarDir } from './debian.js';

const REPO = new URL('../../', import.meta.url).pathname;
const ONE = join(REPO, 'dist', 'bench', 'unpack-one.js');
// The entry point users run (a shell wrapper around dist's CLI).
const CAIRN = join(REPO, 'bin', 'cairn');
const IMPORT_REF = 'bench/debian:1';
const TIME = '/usr/bin/time';
const BIG_FILES = 16;
const BIG_FILE_BYTES = 64 << 20;

interface Options {
  dir: string;
  runs: number;
  only?: 'debian' | 'big' | 'import';
  noImport: boolean;
  settle: number;
  mirror: string;
  json: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { dir: '/var/tmp/cairn-bench-unpack', runs: 3, noImport: false, settle: 0, mirror: '', json: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--dir') o.dir = v();
    else if (a === '--runs') o.runs = Number(v());
    else if (a === '--settle') o.settle = Number(v());
    else if (a === '--mirror') o.mirror = v();
    else if (a === '--json') o.json = v();
    else if (a === '--only') {
      const x = v();
      if (x !== 'debian' && x !== 'big' && x !== 'import') throw new Error('--only debian|big|import');
      o.only = x;
    } else if (a === '--no-import') o.noImport = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a positive integer');
  if (o.only === 'import' && o.noImport) throw new Error('--only import and --no-import exclude each other');
  if (!(o.settle >= 0)) throw new Error('--settle must be a number of seconds');
  mkdirSync(o.dir, { recursive: true });
  if (!o.json) o.json = join(o.dir, 'results.json');
  return o;
}

const log = (s: string): void => {
  process.stderr.write(`bench: ${s}\n`);
};

// ---------------------------------------------------------------------------------------------
// Running and timing commands

function sh(cmd: string, args: string[], opts: { stdoutFile?: string } = {}): string {
  let fd: number | undefined;
  if (opts.stdoutFile !== undefined) fd = openSync(opts.stdoutFile, 'w');
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', fd ?? 'pipe', 'pipe'] });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout ?? '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function dropCaches(): void {
  sh('sync', []);
  writeFileSync('/proc/sys/vm/drop_caches', '1\n');
}

interface Sample {
  ms: number;
  rssKb: number;
  /** User + system CPU time of the command and its children. */
  cpuMs: number;
  /** cairn only: applyLayer's own time, and the process's time before it. */
  applyMs?: number;
  startMs?: number;
  /** cairn only: largest anonymous and file-backed resident memory sampled in the process. */
  peakAnonKb?: number;
  peakFileKb?: number;
}

/** Run argv under /usr/bin/time; wall time measured here (the spawn overhead is the same for all). */
function timed(argv: string[], rssFile: string): { sample: Sample; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(TIME, ['-f', '%M %U %S', '-o', rssFile, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  const [rss, user, sys] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { sample: { ms, rssKb: rss!, cpuMs: (user! + sys!) * 1000 }, stdout: r.stdout.toString() };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function rotate<T>(xs: T[], k: number): T[] {
  const n = k % xs.length;
  return [...xs.slice(n), ...xs.slice(0, n)];
}

function sleep(seconds: number): void {
  if (seconds > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

// ---------------------------------------------------------------------------------------------
// Inputs

function gzipFile(src: string, file: string): void {
  const tmp = `${file}.tmp`;
  sh('gzip', ['-6', '-n', '-c', src], { stdoutFile: tmp });
  renameSync(tmp, file);
}

/** Deterministic incompressible bytes: AES-128-CTR over zeros, keyed by the seed. */
function writeRandomFile(file: string, size: number, seed: string): void {
  const key = createHash('sha256').update(`cairn-bench-${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  const fd = openSync(file, 'w', 0o644);
  try {
    for (let left = size; left > 0; left -= zeros.length) {
      const b = cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    }
  } finally {
    closeSync(fd);
  }
}

function prepareDebianLayers(dir: string, mirror: string): void {
  prepareDebian(dir, mirror, log);
  if (!existsSync(join(dir, 'debian.tar.gz'))) gzipFile(join(dir, 'debian.tar'), join(dir, 'debian.tar.gz'));
}

function prepareBig(dir: string): void {
  const rootfs = join(dir, 'big.rootfs');
  if (!existsSync(rootfs)) {
    const partial = `${rootfs}.partial`;
    rmSync(partial, { recursive: true, force: true });
    log(`writing ${BIG_FILES} x ${BIG_FILE_BYTES >> 20} MiB of pseudo-random data`);
    mkdirSync(join(partial, 'data'), { recursive: true });
    for (let i = 0; i < BIG_FILES; i++) writeRandomFile(join(partial, 'data', `file-${String(i).padStart(2, '0')}.bin`), BIG_FILE_BYTES, `big-${i}`);
    renameSync(partial, rootfs);
  }
  if (!existsSync(join(dir, 'big.tar'))) tarDir(rootfs, join(dir, 'big.tar'));
  if (!existsSync(join(dir, 'big.tar.gz'))) {
    log('gzip of the 1 GiB layer, about half a minute');
    gzipFile(join(dir, 'big.tar'), join(dir, 'big.tar.gz'));
  }
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

interface Layer {
  /** e.g. "debian.tar.gz" */
  name: string;
  file: string;
  gzip: boolean;
  /** Bytes of the file. */
  bytes: number;
  /** Bytes of the uncompressed tar (the throughput basis). */
  tarBytes: number;
  entries: number;
  /** Tag of its single-layer image in the OCI layout. */
  tag: string;
  digest: string;
  diffId: string;
}

function putBlob(layout: string, data: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(data).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** Describe the four layer files (cached in layers.json) and build the OCI layout over them. */
async function prepareLayers(dir: string): Promise<Layer[]> {
  const meta = join(dir, 'layers.json');
  const layout = join(dir, 'oci');
  if (existsSync(meta) && existsSync(join(layout, 'index.json'))) return JSON.parse(readFileSync(meta, 'utf8')) as Layer[];
  log('hashing the layers, writing the OCI layout');
  const layers: Layer[] = [];
  for (const base of ['debian', 'big']) {
    const tar = join(dir, `${base}.tar`);
    const diffId = `sha256:${await sha256File(tar)}`;
    const entries = sh('tar', ['-tf', tar]).split('\n').filter((l) => l !== '').length;
    const tarBytes = statSync(tar).size;
    for (const gzip of [false, true]) {
      const file = gzip ? `${tar}.gz` : tar;
      const digest = gzip ? `sha256:${await sha256File(file)}` : diffId;
      layers.push({ name: `${base}.tar${gzip ? '.gz' : ''}`, file, gzip, bytes: statSync(file).size, tarBytes, entries, tag: `${base}${gzip ? '-gz' : ''}`, digest, diffId });
    }
  }
  rmSync(layout, { recursive: true, force: true });
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests = [];
  const created = '2024-01-01T00:00:00Z';
  for (const l of layers) {
    const blob = join(layout, 'blobs', 'sha256', l.digest.slice(7));
    if (!existsSync(blob)) linkSync(l.file, blob);
    const config = putBlob(layout, Buffer.from(JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created,
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [l.diffId] },
      history: [{ created, created_by: `bench layer ${l.name}` }],
    })));
    const manifest = putBlob(layout, Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: `application/vnd.oci.image.layer.v1.tar${l.gzip ? '+gzip' : ''}`, digest: l.digest, size: l.bytes }],
    })));
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': l.tag } });
  }
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  writeFileSync(meta, JSON.stringify(layers, null, 2));
  return layers;
}

// ---------------------------------------------------------------------------------------------
// Engines

interface Engine {
  name: string;
  /** Whether OUT must exist (empty) before the command, or must not exist. */
  makeOut: boolean;
  argv(l: Layer, layout: string, out: string): string[];
  /** The unpacked root filesystem inside OUT. */
  rootfs(out: string): string;
}

const ENGINES: Engine[] = [
  { name: 'tar -x', makeOut: true, argv: (l, _, out) => ['tar', '-x', ...(l.gzip ? ['-z'] : []), '-f', l.file, '-C', out], rootfs: (out) => out },
  { name: 'cairn', makeOut: true, argv: (l, _, out) => [process.execPath, ONE, l.file, out], rootfs: (out) => out },
  { name: 'cairn, trusted', makeOut: true, argv: (l, _, out) => [process.execPath, ONE, l.file, out, '--trusted', `${l.digest},${l.diffId}`], rootfs: (out) => out },
  { name: 'umoci unpack', makeOut: false, argv: (l, layout, out) => ['umoci', 'unpack', '--image', `${layout}:${l.tag}`, out], rootfs: (out) => join(out, 'rootfs') },
  { name: 'umoci raw unpack', makeOut: false, argv: (l, layout, out) => ['umoci', 'raw', 'unpack', '--image', `${layout}:${l.tag}`, out], rootfs: (out) => out },
];

/**
 * Every entry under a directory with its metadata (type, mode, owner, mtime to the
 * nanosecond, size, link count, symlink target), sorted by path: equal listings mean equal
 * trees as far as tar's metadata goes. The directory itself is listed as ".".
 */
function listing(root: string): string[] {
  const out = spawnSync('find', ['.', '-printf', '%p\\t%y %m %U:%G %T@ %s %n %l\\n'], { cwd: root, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (out.status !== 0) throw new Error(`find in ${root} failed: ${out.stderr}`);
  return out.stdout.split('\n').filter((l) => l !== '').sort();
}

/** "same as tar -x" or how many entries differ, with the first difference. */
function compareListings(ref: string[], got: string[]): string {
  const a = new Set(ref);
  const b = new Set(got);
  const missing = ref.filter((l) => !b.has(l));
  const extra = got.filter((l) => !a.has(l));
  if (missing.length === 0 && extra.length === 0) return 'same';
  return `${missing.length} of tar's ${ref.length} entries differ or are missing, ${extra.length} differ or are extra (first: tar "${missing[0] ?? ''}" vs "${extra[0] ?? ''}")`;
}

// ---------------------------------------------------------------------------------------------
// Import: cairn's CLI making an image of a root filesystem tar, beside `tar -x` of it

/** A root filesystem tar to import: a layer of the cache without its image bookkeeping. */
type ImportInput = Pick<Layer, 'name' | 'file' | 'gzip' | 'bytes' | 'tarBytes' | 'entries'>;

/** debian.tar, and debian.tar.gz when the cache has it. */
function importInputs(dir: string): ImportInput[] {
  const tar = join(dir, 'debian.tar');
  const tarBytes = statSync(tar).size;
  const entries = sh('tar', ['-tf', tar]).split('\n').filter((l) => l !== '').length;
  return [tar, `${tar}.gz`]
    .filter((f) => existsSync(f))
    .map((file) => ({ name: file.slice(dir.length + 1), file, gzip: file.endsWith('.gz'), bytes: statSync(file).size, tarBytes, entries }));
}

interface ImportEngine {
  name: string;
  /** Whether OUT must exist (empty) before the command, or must not exist. */
  makeOut: boolean;
  argv(l: ImportInput, out: string): string[];
}

const IMPORT_ENGINES: ImportEngine[] = [
  { name: 'tar -x', makeOut: true, argv: (l, out) => ['tar', '-x', ...(l.gzip ? ['-z'] : []), '-f', l.file, '-C', out] },
  { name: 'cairn import', makeOut: false, argv: (l, out) => [CAIRN, '--root', out, 'import', l.file, IMPORT_REF] },
];

interface ImportRow {
  input: ImportInput;
  samples: Record<string, Sample[]>;
  /** Per engine: bytes on disk after its first run (`du -s -B1` of OUT). */
  onDisk: Record<string, number>;
}

function duBytes(path: string): number {
  return Number(sh('du', ['-s', '-B1', path]).split('\t')[0]);
}

function runImports(o: Options, inputs: ImportInput[], out: string, rss: string): ImportRow[] {
  const rows: ImportRow[] = [];
  rmSync(out, { recursive: true, force: true });
  for (const l of inputs) {
    const row: ImportRow = { input: l, samples: {}, onDisk: {} };
    for (let r = 0; r < o.runs; r++) {
      for (const e of rotate(IMPORT_ENGINES, r)) {
        rmSync(out, { recursive: true, force: true });
        if (e.makeOut) mkdirSync(out);
        sleep(o.settle);
        dropCaches();
        const { sample, stdout } = timed(e.argv(l, out), rss);
        (row.samples[e.name] ??= []).push(sample);
        if (row.onDisk[e.name] === undefined) {
          if (e.name === 'cairn import') {
            if (!/^sha256:[0-9a-f]{64}$/.test(stdout.trim())) throw new Error(`cairn import printed ${JSON.stringify(stdout)}, not an image ID`);
            sh(CAIRN, ['--root', out, 'inspect', IMPORT_REF]);
          }
          row.onDisk[e.name] = duBytes(out);
        }
      }
      log(`import ${l.name}: run ${r + 1}/${o.runs}: ${IMPORT_ENGINES.map((e) => `${e.name} ${fmtS(row.samples[e.name]!.at(-1)!.ms)}`).join(', ')}`);
    }
    rmSync(out, { recursive: true, force: true });
    rows.push(row);
  }
  return rows;
}

function importTables(rows: ImportRow[]): string[] {
  const lines: string[] = [];
  lines.push('| tar (import) | engine | time | MB/s | entries/s | peak RSS (max of runs) | CPU (user+sys) | on disk after |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
  const summary = ['| tar (import) | cairn import / `tar -x` throughput | cairn import MB/s | `tar -x` MB/s | cairn import peak RSS (max of runs) | cairn store / `tar -x` tree on disk |', '|---|---:|---:|---:|---:|---:|'];
  for (const row of rows) {
    const l = row.input;
    const med = (e: string): number => median(row.samples[e]!.map((s) => s.ms));
    const label = `${l.name} (${(l.tarBytes / 1e6).toFixed(0)} MB tar${l.gzip ? `, ${(l.bytes / 1e6).toFixed(0)} MB gz` : ''}, ${l.entries.toLocaleString('en-US')} entries)`;
    for (const e of IMPORT_ENGINES) {
      const s = row.samples[e.name]!;
      const m = med(e.name);
      lines.push(`| ${label} | ${e.name} | ${fmtS(m)} | ${fmtMBs(l.tarBytes, m)} | ${fmtRate(l.entries, m)} | ${fmtMB(Math.max(...s.map((x) => x.rssKb)))} | ${fmtS(median(s.map((x) => x.cpuMs)))} | ${row.onDisk[e.name]!.toLocaleString('en-US')} B |`);
    }
    const c = med('cairn import');
    const t = med('tar -x');
    summary.push(`| ${l.name} | ${(t / c).toFixed(2)} | ${fmtMBs(l.tarBytes, c)} | ${fmtMBs(l.tarBytes, t)} | ${fmtMB(Math.max(...row.samples['cairn import']!.map((s) => s.rssKb)))} | ${(row.onDisk['cairn import']! / row.onDisk['tar -x']!).toFixed(2)} |`);
  }
  return [...lines, '', ...summary];
}

// ---------------------------------------------------------------------------------------------
// The benchmark

interface Row {
  layer: Layer;
  samples: Record<string, Sample[]>;
  /** Per engine: 'same' (as tar -x, first run) or the difference. */
  checks: Record<string, string>;
}

const fmtS = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const fmtMBs = (bytes: number, ms: number): string => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)}`;
const fmtRate = (n: number, ms: number): string => `${Math.round(n / (ms / 1000)).toLocaleString('en-US')}`;
const fmtMB = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root (drop_caches, debootstrap, owners)');
  const doUnpack = o.only !== 'import';
  const doImport = !o.noImport && (o.only === undefined || o.only === 'import');
  for (const c of [TIME, '/usr/sbin/debootstrap', ...(doUnpack ? ['/usr/bin/umoci'] : [])]) if (!existsSync(c)) throw new Error(`${c} is missing (apt packages time, debootstrap, umoci)`);
  if (doUnpack && !existsSync(ONE)) throw new Error(`${ONE} is missing: run npx tsc -p . first`);
  if (doImport && !existsSync(join(REPO, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/src/cli/main.js is missing: run npx tsc -p . first');
  const t0 = performance.now();
  prepareDebianLayers(o.dir, o.mirror);
  // both bases for unpack (layers.json and the layout cover both); each step is skipped when done
  if (doUnpack) prepareBig(o.dir);
  const layers = doUnpack ? (await prepareLayers(o.dir)).filter((l) => o.only === undefined || l.name.startsWith(o.only)) : [];
  const imports = doImport ? importInputs(o.dir) : [];
  log(`inputs ready in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${[...layers, ...imports.map((l) => ({ ...l, name: `${l.name} (import)` }))].map((l) => `${l.name} ${(l.bytes / 1e6).toFixed(0)} MB`).join(', ')}`);

  const layout = join(o.dir, 'oci');
  const out = join(o.dir, 'out');
  const rss = join(o.dir, 'time.txt');
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const rows: Row[] = [];
  rmSync(out, { recursive: true, force: true });
  for (const l of layers) {
    const row: Row = { layer: l, samples: {}, checks: {} };
    let ref: string[] | undefined;
    for (let r = 0; r < o.runs; r++) {
      for (const e of rotate(ENGINES, r)) {
        rmSync(out, { recursive: true, force: true });
        if (e.makeOut) mkdirSync(out);
        sleep(o.settle);
        dropCaches();
        const { sample, stdout } = timed(e.argv(l, layout, out), rss);
        if (e.name.startsWith('cairn')) {
          const res = JSON.parse(stdout) as { applyMs: number; startMs: number; peakAnonKb: number; peakFileKb: number; diffId: string };
          if (res.diffId !== l.diffId) throw new Error(`cairn: diffID ${res.diffId}, expected ${l.diffId}`);
          sample.applyMs = res.applyMs;
          sample.startMs = res.startMs;
          sample.peakAnonKb = res.peakAnonKb;
          sample.peakFileKb = res.peakFileKb;
        }
        (row.samples[e.name] ??= []).push(sample);
        if (row.checks[e.name] === undefined) {
          const got = listing(e.rootfs(out));
          if (e.name === 'tar -x') {
            ref = got;
            row.checks[e.name] = 'same';
          } else if (ref !== undefined) {
            row.checks[e.name] = compareListings(ref, got);
          }
        }
      }
      log(`${l.name}: run ${r + 1}/${o.runs}: ${ENGINES.map((e) => `${e.name} ${fmtS(row.samples[e.name]!.at(-1)!.ms)}`).join(', ')}`);
    }
    rmSync(out, { recursive: true, force: true });
    for (const [e, c] of Object.entries(row.checks)) if (c !== 'same') log(`WARNING ${l.name}: ${e}: ${c}`);
    rows.push(row);
  }
  const importRows = runImports(o, imports, out, rss);

  // --- report ---
  const lines: string[] = [];
  lines.push('| layer | engine | time | MB/s | entries/s | peak RSS | CPU (user+sys) |');
  lines.push('|---|---|---:|---:|---:|---:|---:|');
  const summary: string[] = ['| layer | cairn / `tar -x` throughput | cairn vs `umoci unpack` | cairn vs `umoci raw unpack` | cairn apply (in-process) | cairn peak RSS (max of runs) | cairn peak anonymous memory | cairn, trusted / `tar -x` | cairn, trusted, apply (in-process) |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const row of rows) {
    const l = row.layer;
    const med = (e: string): number => median(row.samples[e]!.map((s) => s.ms));
    const label = `${l.name} (${(l.tarBytes / 1e6).toFixed(0)} MB tar${l.gzip ? `, ${(l.bytes / 1e6).toFixed(0)} MB gz` : ''}, ${l.entries.toLocaleString('en-US')} entries)`;
    for (const e of ENGINES) {
      const s = row.samples[e.name]!;
      const m = med(e.name);
      const cpu = median(s.map((x) => x.cpuMs));
      const anon = e.name.startsWith('cairn') ? ` (anon ${fmtMB(Math.max(...s.map((x) => x.peakAnonKb!)))}, file ${fmtMB(Math.min(...s.map((x) => x.peakFileKb!)))}–${fmtMB(Math.max(...s.map((x) => x.peakFileKb!)))})` : '';
      lines.push(`| ${label} | ${e.name} | ${fmtS(m)} | ${fmtMBs(l.tarBytes, m)} | ${fmtRate(l.entries, m)} | ${fmtMB(Math.max(...s.map((x) => x.rssKb)))}${anon} | ${fmtS(cpu)} |`);
    }
    const c = med('cairn');
    const apply = median(row.samples.cairn!.map((s) => s.applyMs!));
    const ct = med('cairn, trusted');
    const applyT = median(row.samples['cairn, trusted']!.map((s) => s.applyMs!));
    summary.push(`| ${l.name} | ${(med('tar -x') / c * 100).toFixed(0)} % | ${(med('umoci unpack') / c).toFixed(2)}× as fast | ${(med('umoci raw unpack') / c).toFixed(2)}× as fast | ${fmtS(apply)} (${fmtMBs(l.tarBytes, apply)} MB/s) | ${fmtMB(Math.max(...row.samples.cairn!.map((s) => s.rssKb)))} | ${fmtMB(Math.max(...row.samples.cairn!.map((s) => s.peakAnonKb!)))} | ${(med('tar -x') / ct * 100).toFixed(0)} % | ${fmtS(applyT)} |`);
  }
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, kernel ${release()}, node ${process.version}`;
  const versions = [sh('tar', ['--version']).split('\n')[0]!, sh('gzip', ['--version']).split('\n')[0]!, ...(doUnpack ? [sh('umoci', ['--version']).trim()] : [])].join('; ');
  const load = `load average (1/5/15 min) at start ${loadBefore}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
  const checks = rows.map((r) => `${r.layer.name}, trees (type, mode, owner, mtime, size, links, target of every entry) against tar -x's: ${Object.entries(r.checks).filter(([e]) => e !== 'tar -x').map(([e, c]) => `${e} ${c === 'same' ? 'same' : `DIFFERENT: ${c}`}`).join('; ')}`);
  const text = [
    `machine: ${machine}`,
    load,
    `tools: ${versions}`,
    `runs: ${o.runs}, settle ${o.settle} s`,
    ...checks,
    ...(rows.length ? ['', ...lines, '', ...summary] : []),
    ...(importRows.length ? ['', ...importTables(importRows)] : []),
  ].join('\n');
  process.stdout.write(`${text}\n`);
  const importJson = importRows.map((r) => ({ input: r.input, onDiskBytes: r.onDisk, samples: r.samples }));
  writeFileSync(o.json, JSON.stringify({ machine, load, versions, options: o, rows: rows.map((r) => ({ layer: r.layer, checks: r.checks, samples: r.samples })), imports: importJson }, null, 2));
  log(`samples written to ${o.json}`);
}

await main();
