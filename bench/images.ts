/**
 * Benchmark: cairn beside the peer engines on the same machine, in the same run.
 *
 *   - CLI start-up: `images` and `--version` on a store holding 100 images (warm: median of
 *     N runs after one warm-up; cold: caches dropped before each run).
 *   - `save` and `load` of a ~250 MB multi-layer image (5 layers x 50 MB of incompressible,
 *     deterministically generated data), load always into an empty store.
 *   - the store's growth caused by one load into an empty store (`du -s -B1`), per engine.
 *   - beside the loads, "node floor" (bench/load-floor.ts): a Node process that only reads,
 *     hashes and writes the archive's bytes — no engine, the least a Node `load` must do.
 *
 * Peers: podman (own storage root, overlay driver), skopeo (an OCI layout is its "store":
 * save = `copy oci: -> docker-archive:`, load = `copy docker-archive: -> oci:`), and docker
 * 20.10 (Debian's /usr/bin/docker and /usr/sbin/dockerd; the daemon is started when it does not
 * answer, and stopped again at the end only if this script started it; see
 * ../shared/notes/peers.md). Docker has one store, /var/lib/docker: the image is removed
 * (`docker rmi`) before every timed load and at the end. Every engine reads the same input
 * archive (written by skopeo from the generated OCI layout) and writes the same format
 * (docker-archive). Caches are dropped (`sync; echo 1 > /proc/sys/vm/drop_caches`) before every
 * timed save/load step, for every engine alike, and the engines take turns (rotated order) so
 * that disk effects fall on all of them. Peak RSS and CPU time come from
 * `/usr/bin/time -f '%M %U %S'` around each command; for docker that is the client, so the
 * daemon's CPU time (from /proc/PID/stat) is added to it and its peak RSS (VmHWM, reset through
 * /proc/PID/clear_refs before the step) is reported beside the client's.
 *
 * Store growth: cairn, its --root; podman, its DIR (graphroot, runroot and tmpdir); skopeo,
 * the OCI layout; docker, /var/lib/docker's `overlay2` and `image` directories (one `du`, so
 * hard links count once), measured right before and right after the load.
 *
 * A script that prints Markdown tables (and writes every sample as JSON, by default to
 * /var/tmp/cairn-bench-images.json), not a test. Run as root:
 *
 *   node dist/bench/images.js [--runs 3] [--startup-runs 20] [--layers 5] [--layer-mb 50]
 *                             [--images 100] [--dir DIR] [--json FILE] [--keep] [--only startup|io]
 *                             [--no-docker]
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, createWriteStream, renameSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, totalmem, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTarWriter } from '../src/tar/index.js';
import { makeDockerArchive, makeTar } from '../test/helpers.js';
import { DOCKER, DOCKERD, ensureDockerd, type DockerDaemon } from '../test/docker.js';
import { dropCaches, duBytes, median, sh, timed, type Sample as BaseSample } from './common.js';

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
  /** Leave docker out even when dockerd is installed. */
  noDocker: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 3, startupRuns: 20, layers: 5, layerMb: 50, images: 100, dir: '', json: '', keep: false, noDocker: false };
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
    else if (a === '--no-docker') o.noDocker = true;
    else if (a === '--only') {
      const x = v();
      if (x !== 'startup' && x !== 'io') throw new Error('--only startup|io');
      o.only = x;
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!o.dir) o.dir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  else mkdirSync(o.dir, { recursive: true });
  if (!o.json) o.json = '/var/tmp/cairn-bench-images.json'; // outside DIR, which is removed unless --keep
  return o;
}

// ---------------------------------------------------------------------------------------------
// Running and timing commands

/** A step's sample; for docker, cpuMs adds the daemon's CPU time. */
interface Sample extends BaseSample {
  /** docker only: the daemon's peak RSS during the step and its CPU time. */
  daemonRssKb?: number;
  daemonCpuMs?: number;
}

/** Run argv (command first). */
function runArgv(argv: string[]): string {
  return sh(argv[0]!, argv.slice(1));
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

// docker: one store for the whole machine; Debian's CLI by path (DOCKER, see peers.md).
const DOCKER_ROOT = '/var/lib/docker';

function dockerHas(ref: string): boolean {
  return spawnSync(DOCKER, ['image', 'inspect', ref], { stdio: 'ignore' }).status === 0;
}

function dockerRmi(ref: string): void {
  if (dockerHas(ref)) sh(DOCKER, ['rmi', ref]);
}

/** The part of docker's store that a load grows: layer contents (overlay2) and image/layer metadata (image). */
function dockerStoreBytes(): number {
  return duBytes([join(DOCKER_ROOT, 'overlay2'), join(DOCKER_ROOT, 'image')]);
}

/** The one running dockerd's pid, or undefined when there is not exactly one. */
function dockerdPid(): number | undefined {
  const r = spawnSync('pidof', ['dockerd'], { encoding: 'utf8' });
  const pids = r.status === 0 ? r.stdout.trim().split(/\s+/).map(Number) : [];
  return pids.length === 1 ? pids[0] : undefined;
}

const CLK_TCK = Number(sh('getconf', ['CLK_TCK']).trim());

/** User + system CPU time of a process (all its threads) so far. */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after "(comm)": state is field 3, utime 14, stime 15
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1000;
}

function procPeakRssKb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB$/m);
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]);
}

/** timed(), plus the daemon's CPU time during the command and its peak RSS (reset first). */
function timedWithDaemon(argv: string[], env: NodeJS.ProcessEnv, rssFile: string, pid: number): Sample {
  writeFileSync(`/proc/${pid}/clear_refs`, '5\n'); // resets VmHWM to the current RSS
  const cpu0 = procCpuMs(pid);
  const s = timed(argv, env, rssFile);
  const daemonCpuMs = procCpuMs(pid) - cpu0;
  return { ...s, cpuMs: s.cpuMs + daemonCpuMs, daemonCpuMs, daemonRssKb: procPeakRssKb(pid) };
}

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
  /** load only: engine -> bytes the store grew by, one per run. */
  growth?: Record<string, number[]>;
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

const fmtBytes = (n: number): string => `${n.toLocaleString('en-US')} B`;
const fmtKb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;

function rotate<T>(xs: T[], k: number): T[] {
  const n = k % xs.length;
  return [...xs.slice(n), ...xs.slice(0, n)];
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root (drop_caches, podman storage)');
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing (apt package "time")`);
  const useDocker = !o.noDocker && existsSync(DOCKERD) && existsSync(DOCKER);
  let daemon: DockerDaemon | undefined;
  let dockerVersion = o.noDocker ? 'left out (--no-docker)' : `unavailable: no ${DOCKERD} on this machine`;
  const dockerRef = 'bench/big:1';
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
      let dockerd: number | undefined;
      if (useDocker) {
        daemon = await ensureDockerd();
        log(daemon.started ? 'started dockerd (stopped again at the end)' : 'dockerd was running already (left running)');
        dockerVersion = `${sh(DOCKER, ['version', '--format', '{{.Server.Version}}']).trim()} (${DOCKER}, storage driver ${sh(DOCKER, ['info', '--format', '{{.Driver}}']).trim()})`;
        dockerd = dockerdPid();
        if (dockerd === undefined) log('WARNING: not exactly one dockerd process: its CPU time and memory are not counted');
        if (!dockerHas(dockerRef)) sh(DOCKER, ['load', '-q', '-i', input]); // for save
      }
      const out = join(o.dir, 'out.tar');
      const fresh = join(o.dir, 'fresh');
      interface IoStep {
        engine: string;
        argv: string[];
        /** Run before caches are dropped (untimed). */
        prepare: () => void;
        /** The bytes of the engine's store (load only), taken after prepare and after the step. */
        storeBytes?: () => number;
        /** docker: count the daemon's CPU time and memory too. */
        daemon?: boolean;
      }
      const clearOut = () => rmSync(out, { force: true });
      const clearFresh = () => rmSync(fresh, { recursive: true, force: true });
      const freshBytes = () => duBytes([fresh]);
      const saveSteps: IoStep[] = [
        { engine: 'cairn', argv: cairnEngine.argv(cSave, ['save', '-o', out, dockerRef]), prepare: clearOut },
        ...(podmanEngine.available ? [{ engine: 'podman', argv: podmanEngine.argv(pSave, ['save', '-q', '-o', out, dockerRef]), prepare: clearOut }] : []),
        { engine: 'skopeo', argv: ['skopeo', 'copy', '-q', `oci:${layout}:bench`, `docker-archive:${out}:${dockerRef}`], prepare: clearOut },
        ...(useDocker ? [{ engine: 'docker', argv: [DOCKER, 'save', '-o', out, dockerRef], prepare: clearOut, daemon: true }] : []),
      ];
      const loadSteps: IoStep[] = [
        { engine: 'cairn', argv: cairnEngine.argv(fresh, ['load', '-q', '-i', input]), prepare: clearFresh, storeBytes: freshBytes },
        ...(podmanEngine.available ? [{ engine: 'podman', argv: podmanEngine.argv(fresh, ['load', '-q', '-i', input]), prepare: clearFresh, storeBytes: freshBytes }] : []),
        { engine: 'skopeo', argv: ['skopeo', 'copy', '-q', '--dest-oci-accept-uncompressed-layers', `docker-archive:${input}`, `oci:${fresh}:bench`], prepare: clearFresh, storeBytes: freshBytes },
        // not an engine: the least a Node process loading this archive must do (bench/load-floor.ts)
        { engine: 'node floor', argv: [process.execPath, join(REPO, 'dist', 'bench', 'load-floor.js'), input, fresh], prepare: clearFresh },
        ...(useDocker ? [{ engine: 'docker', argv: [DOCKER, 'load', '-q', '-i', input], prepare: () => dockerRmi(dockerRef), storeBytes: dockerStoreBytes, daemon: true }] : []),
      ];
      const mb = Math.round(inputSize / 1e6);
      for (const [work, steps] of [[`save ${mb} MB (${o.layers} layers)`, saveSteps], [`load ${mb} MB (${o.layers} layers), empty store`, loadSteps]] as const) {
        const row: Row = { work, samples: {} };
        for (let r = 0; r < o.runs; r++) {
          for (const st of rotate([...steps], r)) {
            st.prepare();
            const before = st.storeBytes?.();
            dropCaches();
            const sample = st.daemon && dockerd !== undefined ? timedWithDaemon(st.argv, baseEnv, rss, dockerd) : timed(st.argv, baseEnv, rss);
            (row.samples[st.engine] ??= []).push(sample);
            if (st.storeBytes !== undefined) ((row.growth ??= {})[st.engine] ??= []).push(st.storeBytes() - before!);
          }
          log(`${work}: run ${r + 1}/${o.runs}`);
        }
        clearOut();
        clearFresh();
        rows.push(row);
      }
    }
  } finally {
    if (daemon !== undefined) {
      try {
        dockerRmi(dockerRef);
      } finally {
        await daemon.stop();
      }
    }
    if (!o.keep) {
      // podman's overlay storage may hold mounts only while a command runs; none remain here.
      rmSync(o.dir, { recursive: true, force: true });
    }
  }

  // --- report ---
  // 'node floor' is no peer (see bench/load-floor.ts); docker stays last (its columns add the daemon)
  const engines = ['cairn', 'cairn (no NODE_EXTRA_CA_CERTS)', 'podman', 'skopeo', 'node floor', 'docker'];
  const peers = ['podman', 'skopeo', 'docker'];
  const ratio = (c: number | undefined, p: number | undefined): string => (c !== undefined && p ? (c / p).toFixed(2) : '—');
  const lines: string[] = [];
  lines.push(`| work | ${engines.join(' | ')} | ${peers.map((p) => `cairn / ${p}`).join(' | ')} | cairn / best peer | cairn peak RSS |`);
  lines.push(`|---|${engines.map(() => '---:').join('|')}|${peers.map(() => '---:').join('|')}|---:|---:|`);
  const summary = [];
  for (const row of rows) {
    const med = (e: string) => (row.samples[e] ? median(row.samples[e]!.map((s) => s.ms)) : undefined);
    const peerMeds = peers.map(med).filter((x): x is number => x !== undefined);
    const fastest = peerMeds.length ? Math.min(...peerMeds) : undefined;
    const c = med('cairn');
    const rssMax = row.samples.cairn ? Math.max(...row.samples.cairn.map((s) => s.rssKb)) : undefined;
    lines.push(`| ${row.work} | ${engines.map((e) => (med(e) !== undefined ? fmtMs(med(e)!) : '—')).join(' | ')} | ${peers.map((p) => ratio(c, med(p))).join(' | ')} | ${ratio(c, fastest)} | ${rssMax !== undefined ? fmtKb(rssMax) : '—'} |`);
    let growth: Record<string, number> | undefined;
    if (row.growth) {
      // the last run's growth (every run loads the same image into an empty store)
      growth = Object.fromEntries(Object.entries(row.growth).map(([e, g]) => [e, g.at(-1)!]));
      const peerGrowth = peers.map((p) => growth![p]).filter((x): x is number => x !== undefined);
      const smallest = peerGrowth.length ? Math.min(...peerGrowth) : undefined;
      lines.push(`| store growth after load | ${engines.map((e) => (growth![e] !== undefined ? fmtBytes(growth![e]!) : '—')).join(' | ')} | ${peers.map((p) => ratio(growth!.cairn, growth![p])).join(' | ')} | ${ratio(growth.cairn, smallest)} | — |`);
    }
    summary.push({
      work: row.work,
      medianMs: Object.fromEntries(Object.keys(row.samples).map((e) => [e, med(e)])),
      peakRssKb: Object.fromEntries(Object.entries(row.samples).map(([e, s]) => [e, Math.max(...s.map((x) => x.rssKb))])),
      ...(row.samples.docker?.[0]?.daemonRssKb !== undefined ? { dockerdPeakRssKb: Math.max(...row.samples.docker.map((x) => x.daemonRssKb!)) } : {}),
      ...(growth ? { storeGrowthBytes: growth, storeGrowthBytesPerRun: row.growth } : {}),
      samples: row.samples,
    });
    const varying = Object.entries(row.growth ?? {}).filter(([, g]) => new Set(g).size > 1);
    for (const [e, g] of varying) process.stderr.write(`bench: note: ${e}'s store growth varied between runs: ${g.join(', ')} B (the table shows the last)\n`);
  }
  // Peak RSS (max of runs); docker: the CLI, and the daemon beside it.
  lines.push('', `| work (peak RSS, max of runs) | ${engines.slice(0, -1).join(' | ')} | docker (client + dockerd) |`, `|---|${engines.map(() => '---:').join('|')}|`);
  for (const row of rows) {
    const peak = (e: string, f: (s: Sample) => number | undefined) => {
      const xs = (row.samples[e] ?? []).map(f).filter((x): x is number => x !== undefined);
      return xs.length ? Math.max(...xs) : undefined;
    };
    const cell = (e: string) => {
      const client = peak(e, (s) => s.rssKb);
      if (client === undefined) return '—';
      const d = e === 'docker' ? peak(e, (s) => s.daemonRssKb) : undefined;
      return d !== undefined ? `${fmtKb(client)} + ${fmtKb(d)}` : fmtKb(client);
    };
    lines.push(`| ${row.work} | ${engines.map(cell).join(' | ')} |`);
  }
  // CPU time (user + system, medians): independent of how busy the machine is.
  lines.push('', `| work (CPU time, user + sys) | ${engines.slice(0, -1).join(' | ')} | docker (client + dockerd) |`, `|---|${engines.map(() => '---:').join('|')}|`);
  for (const row of rows) {
    const cpu = (e: string) => (row.samples[e] ? fmtMs(median(row.samples[e]!.map((x) => x.cpuMs))) : '—');
    lines.push(`| ${row.work} | ${engines.map(cpu).join(' | ')} |`);
  }
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, kernel ${release()}, node ${process.version}`;
  const versions = {
    podman: podmanEngine.available ? sh('podman', ['--version']).trim() : 'unavailable',
    skopeo: which('skopeo') ? sh('skopeo', ['--version']).trim() : 'unavailable',
    docker: useDocker && o.only === 'startup' ? 'not used by the start-up rows' : dockerVersion,
  };
  const load = `load average (1/5/15 min) at start ${loadBefore}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
  const text = [`machine: ${machine}`, load, `peers: ${versions.podman}; ${versions.skopeo}; docker ${versions.docker}`, `runs: ${o.runs} (start-up warm: ${o.startupRuns})`, '', ...lines].join('\n');
  process.stdout.write(`${text}\n`);
  writeFileSync(o.json, JSON.stringify({ machine, load, versions, options: o, rows: summary }, null, 2));
  log(`samples written to ${o.json}`);
}

await main();
