/**
 * Benchmark: cairn beside the peer engines on the same machine, in the same run.
 *
 *   - CLI start-up: `images` and `--version` on a store holding 100 images (warm: median of
 *     N runs after one warm-up; cold: caches dropped before each run).
 *   - `save` and `load` of a ~250 MB multi-layer image (5 layers x 50 MB of incompressible,
 *     deterministically generated data), load always into an empty store.
 *
 * Peers: podman (own storage root, overlay driver), skopeo (an OCI layout is its "store":
 * save = `copy oci: -> docker-archive:`, load = `copy docker-archive: -> oci:`), docker when a
 * dockerd can be started (/usr/sbin/dockerd; see ../shared/notes/peers.md). Every engine reads
 * the same input archive (written by skopeo from the generated OCI layout) and writes the same
 * format (docker-archive). Caches are dropped (`sync; echo 1 > /proc/sys/vm/drop_caches`)
 * before every timed save/load step, for every engine alike, and the engines take turns
 * (rotated order) so that disk effects fall on all of them. Peak RSS and CPU time come from
 * `/usr/bin/time -f '%M %U %S'` around each command.
 *
 * A script that prints a Markdown table (and writes JSON beside it), not a test. Run as root:
 *
 *   node dist/bench/images.js [--runs 5] [--startup-runs 20] [--layers 5] [--layer-mb 50]
 *                             [--images 100] [--dir DIR] [--json FILE] [--keep] [--only startup|io]
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, createWriteStream, renameSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, totalmem, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createTarWriter } from '../src/tar/index.js';
import { makeDockerArchive, makeTar } from '../test/helpers.js';

const REPO = new URL('../../', import.meta.url).pathname;
// The entry point users run (a shell wrapper that keeps Node from loading NODE_EXTRA_CA_CERTS).
const CAIRN = join(REPO, 'bin', 'cairn');
const TIME = '/usr/bin/time';

interface Options {
  runs: number;
  startupRuns: number;
  layers: number;
  layerMb: number;
  images: number;
  dir: string;
  json: string;
  keep: boolean;
  only?: 'startup' | 'io';
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 5, startupRuns: 20, layers: 5, layerMb: 50, images: 100, dir: '', json: '', keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--runs') o.runs = Number(v());
    else if (a === '--startup-runs') o.startupRuns = Number(v());
    else if (a === '--layers') o.layers = Number(v());
    else if (a === '--layer-mb') o.layerMb = Number(v());
    else if (a === '--images') o.images = Number(v());
    else if (a === '--dir') o.dir = v();
    else if (a === '--json') o.json = v();
    else if (a === '--keep') o.keep = true;
    else if (a === '--only') {
      const x = v();
      if (x !== 'startup' && x !== 'io') throw new Error('--only startup|io');
      o.only = x;
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!o.dir) o.dir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  else mkdirSync(o.dir, { recursive: true });
  if (!o.json) o.json = join(o.dir, 'results.json');
  return o;
}

// ---------------------------------------------------------------------------------------------
// Running and timing commands

interface Sample {
  ms: number;
  rssKb: number;
  /** User + system CPU time of the command and its children. */
  cpuMs: number;
}

/** Run argv (command first). */
function runArgv(argv: string[]): string {
  return sh(argv[0]!, argv.slice(1));
}

function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...(env ? { env } : {}) });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function dropCaches(): void {
  sh('sync', []);
  writeFileSync('/proc/sys/vm/drop_caches', '1\n');
}

/** Run argv under /usr/bin/time; wall time measured here (spawn overhead is the same for all). */
function timed(argv: string[], env: NodeJS.ProcessEnv, rssFile: string): Sample {
  const t0 = performance.now();
  const r = spawnSync(TIME, ['-f', '%M %U %S', '-o', rssFile, ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  const [rss, user, sys] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { ms, rssKb: rss!, cpuMs: (user! + sys!) * 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---------------------------------------------------------------------------------------------
// Engines

interface Engine {
  name: string;
  available: boolean;
  why?: string;
  /** argv prefix for a command on a given store. */
  argv(store: string, args: string[]): string[];
}

const baseEnv: NodeJS.ProcessEnv = { ...process.env };
/** Node 20 loads NODE_EXTRA_CA_CERTS eagerly at start-up (see peers.md): also measured without. */
const envNoCa: NodeJS.ProcessEnv = { ...process.env };
delete envNoCa.NODE_EXTRA_CA_CERTS;

const cairnEngine: Engine = {
  name: 'cairn',
  available: true,
  argv: (store, args) => [CAIRN, '--root', store, ...args],
};

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

const podmanEngine: Engine = {
  name: 'podman',
  available: which('podman'),
  why: 'podman is not installed',
  argv: (store, args) => ['podman', '--root', join(store, 'root'), '--runroot', join(store, 'run'), '--tmpdir', join(store, 'tmp'), '--storage-driver', 'overlay', '--events-backend', 'none', ...args],
};

// ---------------------------------------------------------------------------------------------
// Inputs

/** Deterministic incompressible bytes: AES-128-CTR over zeros, keyed by the seed. */
async function* pseudoRandom(size: number, seed: number): AsyncGenerator<Uint8Array> {
  const key = createHash('sha256').update(`cairn-bench-${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  for (let left = size; left > 0; left -= zeros.length) yield cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
}

/** One layer tar (5 files of random data plus a small text file) written to `file`; returns its digest. */
async function writeLayer(file: string, index: number, bytes: number): Promise<{ digest: string; size: number }> {
  const tar = createTarWriter();
  const hash = createHash('sha256');
  let size = 0;
  const out = createWriteStream(file);
  const done = new Promise<void>((resolve, reject) => {
    tar.on('data', (c: Buffer) => {
      hash.update(c);
      size += c.length;
      if (!out.write(c)) {
        tar.pause();
        out.once('drain', () => tar.resume());
      }
    });
    tar.on('end', () => out.end(resolve));
    tar.on('error', reject);
    out.on('error', reject);
  });
  const files = 5;
  await tar.add({ name: `layer${index}/`, type: 'dir', mode: 0o755, mtime: 1700000000 });
  for (let f = 0; f < files; f++) {
    const n = Math.floor(bytes / files);
    await tar.add({ name: `layer${index}/data${f}.bin`, mode: 0o644, mtime: 1700000000, size: n }, pseudoRandom(n, index * 100 + f));
  }
  const text = Buffer.from(`layer ${index}\n`.repeat(1000));
  await tar.add({ name: `layer${index}/README`, mode: 0o644, mtime: 1700000000, size: text.length }, text);
  await tar.finish();
  await done;
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

function putBlob(layout: string, data: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(data).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** An OCI layout holding the big image, tagged `bench`; uncompressed layers. */
async function makeBigLayout(layout: string, layers: number, layerBytes: number): Promise<void> {
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const descs = [];
  for (let i = 0; i < layers; i++) {
    const tmp = join(layout, `layer-${i}.tmp`);
    const l = await writeLayer(tmp, i, layerBytes);
    renameSync(tmp, join(layout, 'blobs', 'sha256', l.digest.slice(7)));
    descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l });
  }
  const created = '2024-01-01T00:00:00Z';
  const config = putBlob(layout, Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created,
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: descs.map((d) => d.digest) },
    history: descs.map((_, i) => ({ created, created_by: `bench layer ${i}` })),
  })));
  const manifest = putBlob(layout, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: descs,
  })));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'bench' } }],
  }));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

/** A docker-archive of `count` small distinct images (one tiny layer each). */
async function makeSmallImages(file: string, count: number): Promise<void> {
  const images = [];
  for (let i = 0; i < count; i++) {
    const layer = await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/image', content: `image ${i}\n` }, { path: `data-${i}.txt`, content: `${i}`.repeat(100) }]);
    images.push({ layers: [layer], repoTags: [`bench/small${i}:1`], config: { created: new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString() } });
  }
  writeFileSync(file, await makeDockerArchive(images));
}

// ---------------------------------------------------------------------------------------------
// The benchmark

interface Row {
  work: string;
  /** engine -> samples */
  samples: Record<string, Sample[]>;
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

function rotate<T>(xs: T[], k: number): T[] {
  const n = k % xs.length;
  return [...xs.slice(n), ...xs.slice(0, n)];
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root (drop_caches, podman storage)');
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing (apt package "time")`);
  const dockerd = existsSync('/usr/sbin/dockerd');
  const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
  const rss = join(o.dir, 'rss.txt');
  const rows: Row[] = [];
  log(`working in ${o.dir}`);
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');

  try {
    if (o.only !== 'io') {
      // --- start-up on a store holding N images ---
      const small = join(o.dir, 'small.tar');
      await makeSmallImages(small, o.images);
      const cStore = join(o.dir, 'cairn-small');
      const pStore = join(o.dir, 'podman-small');
      sh(CAIRN, ['--root', cStore, 'load', '-q', '-i', small]);
      const listed = sh(CAIRN, ['--root', cStore, 'images', '-q']).trim().split('\n').length;
      if (listed !== o.images) throw new Error(`cairn lists ${listed} images, expected ${o.images}`);
      if (podmanEngine.available) runArgv(podmanEngine.argv(pStore, ['load', '-q', '-i', small]));
      log(`start-up: ${o.images} images in each store`);
      const startup: Array<{ work: string; steps: Array<{ engine: string; argv: string[]; env: NodeJS.ProcessEnv }> }> = [
        {
          work: `images (${o.images} images)`,
          steps: [
            { engine: 'cairn', argv: cairnEngine.argv(cStore, ['images']), env: baseEnv },
            { engine: 'cairn (no NODE_EXTRA_CA_CERTS)', argv: cairnEngine.argv(cStore, ['images']), env: envNoCa },
            ...(podmanEngine.available ? [{ engine: 'podman', argv: podmanEngine.argv(pStore, ['images']), env: baseEnv }] : []),
          ],
        },
        {
          work: '--version',
          steps: [
            { engine: 'cairn', argv: [CAIRN, '--version'], env: baseEnv },
            { engine: 'cairn (no NODE_EXTRA_CA_CERTS)', argv: [CAIRN, '--version'], env: envNoCa },
            ...(podmanEngine.available ? [{ engine: 'podman', argv: ['podman', '--version'], env: baseEnv }] : []),
            ...(which('skopeo') ? [{ engine: 'skopeo', argv: ['skopeo', '--version'], env: baseEnv }] : []),
          ],
        },
      ];
      for (const s of startup) {
        const warm: Row = { work: `${s.work}, warm`, samples: {} };
        const cold: Row = { work: `${s.work}, cold (caches dropped)`, samples: {} };
        for (const st of s.steps) timed(st.argv, st.env, rss); // warm-up
        for (let r = 0; r < o.startupRuns; r++) {
          for (const st of rotate(s.steps, r)) (warm.samples[st.engine] ??= []).push(timed(st.argv, st.env, rss));
        }
        for (let r = 0; r < Math.min(o.runs, o.startupRuns); r++) {
          for (const st of rotate(s.steps, r)) {
            dropCaches();
            (cold.samples[st.engine] ??= []).push(timed(st.argv, st.env, rss));
          }
        }
        rows.push(warm, cold);
        log(`${s.work}: done`);
      }
    }

    if (o.only !== 'startup') {
      // --- save / load of the big image ---
      const layerBytes = o.layerMb << 20;
      const layout = join(o.dir, 'layout');
      log(`generating ${o.layers} x ${o.layerMb} MB layers`);
      await makeBigLayout(layout, o.layers, layerBytes);
      const input = join(o.dir, 'big-docker.tar');
      sh('skopeo', ['copy', '-q', 'oci:' + layout + ':bench', `docker-archive:${input}:bench/big:1`]);
      const inputSize = Number(sh('stat', ['-c', '%s', input]).trim());
      log(`input archive ${(inputSize / 1e6).toFixed(0)} MB`);
      // Stores holding the image, for save.
      const cSave = join(o.dir, 'cairn-big');
      const pSave = join(o.dir, 'podman-big');
      sh(CAIRN, ['--root', cSave, 'load', '-q', '-i', input]);
      if (podmanEngine.available) runArgv(podmanEngine.argv(pSave, ['load', '-q', '-i', input]));
      const out = join(o.dir, 'out.tar');
      const fresh = join(o.dir, 'fresh');
      interface IoStep {
        engine: string;
        argv: string[];
        /** Run before caches are dropped (untimed). */
        prepare: () => void;
      }
      const clearOut = () => rmSync(out, { force: true });
      const clearFresh = () => rmSync(fresh, { recursive: true, force: true });
      const saveSteps: IoStep[] = [
        { engine: 'cairn', argv: cairnEngine.argv(cSave, ['save', '-o', out, 'bench/big:1']), prepare: clearOut },
        ...(podmanEngine.available ? [{ engine: 'podman', argv: podmanEngine.argv(pSave, ['save', '-q', '-o', out, 'bench/big:1']), prepare: clearOut }] : []),
        { engine: 'skopeo', argv: ['skopeo', 'copy', '-q', `oci:${layout}:bench`, `docker-archive:${out}:bench/big:1`], prepare: clearOut },
      ];
      const loadSteps: IoStep[] = [
        { engine: 'cairn', argv: cairnEngine.argv(fresh, ['load', '-q', '-i', input]), prepare: clearFresh },
        ...(podmanEngine.available ? [{ engine: 'podman', argv: podmanEngine.argv(fresh, ['load', '-q', '-i', input]), prepare: clearFresh }] : []),
        { engine: 'skopeo', argv: ['skopeo', 'copy', '-q', '--dest-oci-accept-uncompressed-layers', `docker-archive:${input}`, `oci:${fresh}:bench`], prepare: clearFresh },
      ];
      const mb = Math.round(inputSize / 1e6);
      for (const [work, steps] of [[`save ${mb} MB (${o.layers} layers)`, saveSteps], [`load ${mb} MB (${o.layers} layers), empty store`, loadSteps]] as const) {
        const row: Row = { work, samples: {} };
        for (let r = 0; r < o.runs; r++) {
          for (const st of rotate([...steps], r)) {
            st.prepare();
            dropCaches();
            (row.samples[st.engine] ??= []).push(timed(st.argv, baseEnv, rss));
          }
          log(`${work}: run ${r + 1}/${o.runs}`);
        }
        clearOut();
        clearFresh();
        rows.push(row);
      }
    }
  } finally {
    if (!o.keep) {
      // podman's overlay storage may hold mounts only while a command runs; none remain here.
      rmSync(o.dir, { recursive: true, force: true });
    }
  }

  // --- report ---
  const engines = ['cairn', 'cairn (no NODE_EXTRA_CA_CERTS)', 'podman', 'skopeo'];
  const lines: string[] = [];
  lines.push(`| work | ${engines.join(' | ')} | docker | cairn / fastest peer | cairn peak RSS |`);
  lines.push(`|---|${engines.map(() => '---:').join('|')}|---|---:|---:|`);
  const summary = [];
  for (const row of rows) {
    const med = (e: string) => (row.samples[e] ? median(row.samples[e]!.map((s) => s.ms)) : undefined);
    const peerMeds = ['podman', 'skopeo'].map(med).filter((x): x is number => x !== undefined);
    const fastest = peerMeds.length ? Math.min(...peerMeds) : undefined;
    const c = med('cairn');
    const rssMax = row.samples.cairn ? Math.max(...row.samples.cairn.map((s) => s.rssKb)) : undefined;
    lines.push(`| ${row.work} | ${engines.map((e) => (med(e) !== undefined ? fmtMs(med(e)!) : '—')).join(' | ')} | ${dockerd ? 'not run' : 'n/a'} | ${c !== undefined && fastest ? (c / fastest).toFixed(2) : '—'} | ${rssMax !== undefined ? `${(rssMax / 1024).toFixed(0)} MB` : '—'} |`);
    summary.push({
      work: row.work,
      medianMs: Object.fromEntries(Object.keys(row.samples).map((e) => [e, med(e)])),
      peakRssKb: Object.fromEntries(Object.entries(row.samples).map(([e, s]) => [e, Math.max(...s.map((x) => x.rssKb))])),
      samples: row.samples,
    });
  }
  // CPU time (user + system, medians): independent of how busy the machine is.
  lines.push('', `| work (CPU time, user + sys) | ${engines.join(' | ')} |`, `|---|${engines.map(() => '---:').join('|')}|`);
  for (const row of rows) {
    const cpu = (e: string) => (row.samples[e] ? fmtMs(median(row.samples[e]!.map((x) => x.cpuMs))) : '—');
    lines.push(`| ${row.work} | ${engines.map(cpu).join(' | ')} |`);
  }
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, kernel ${release()}, node ${process.version}`;
  const versions = {
    podman: podmanEngine.available ? sh('podman', ['--version']).trim() : 'unavailable',
    skopeo: which('skopeo') ? sh('skopeo', ['--version']).trim() : 'unavailable',
    docker: dockerd ? 'dockerd present but not run by this script' : 'unavailable: no /usr/sbin/dockerd on this machine',
  };
  const load = `load average (1/5/15 min) at start ${loadBefore}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
  const text = [`machine: ${machine}`, load, `peers: ${versions.podman}; ${versions.skopeo}; docker ${versions.docker}`, `runs: ${o.runs} (start-up warm: ${o.startupRuns})`, '', ...lines].join('\n');
  process.stdout.write(`${text}\n`);
  if (o.keep || o.json !== join(o.dir, 'results.json')) writeFileSync(o.json, JSON.stringify({ machine, load, versions, options: o, rows: summary }, null, 2));
}

await main();
