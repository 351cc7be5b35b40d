/**
 * Benchmark (issue 15, point 7): how much a store grows on disk for five images that each add a
 * 1 MB layer on one shared Debian minbase — loaded, pulled and built on — cairn beside podman and
 * docker 20.10, the same images in the same run. Disk bytes, not time: `du -s -B1` (one `du` per
 * store, so a hard-linked file counts once), right before and right after each scenario.
 *
 * Scenarios, each into an empty store (docker: the benchmark's images, any image holding its
 * layers, and the daemon's build cache removed first):
 *   - load: one docker-archive holding the five images (`load -i`);
 *   - pull: the five images from a loopback Distribution registry (seeded once by cairn's push,
 *     gzip'd), one `pull` each;
 *   - build: the Debian base loaded, then five builds of `FROM base` + `COPY data-N.bin /data.bin`
 *     (cairn build, podman build, docker build with BuildKit); their build cache stays, as it
 *     would on a user's machine.
 * cairn runs twice where it matters: with its default (a pulled or loaded gzip'd layer keeps its
 * compressed blob, so that push and save keep its digest) and with `--storage-opt
 * compressed-blobs=drop`. The kept compressed blobs are reported on their own (`du` of the
 * store's content directory minus what the drop store holds there).
 *
 * Stores: cairn, its --root; podman, its graphroot, runroot and tmpdir; docker, /var/lib/docker's
 * `overlay2`, `image` and `buildkit` directories. Run as root, after `node dist/bench/unpack.js
 * --only import` has made the Debian tar:
 *
 *   node dist/bench/disk.js [--dir /var/tmp/cairn-bench-disk] [--json FILE] [--no-docker] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs as parseArgsUtil } from 'node:util';
import { makeDockerArchive, makeTar } from '../test/helpers.js';
import { DOCKER, ensureDockerd, type DockerDaemon } from '../test/docker.js';
import { startRegistry, type Registry } from '../test/registry.js';
import { dockerImagesHolding, duBytes, pseudoRandom, sh } from './common.js';

const REPO = new URL('../../', import.meta.url).pathname;
const CAIRN = join(REPO, 'bin', 'cairn');
const DEBIAN_TAR = '/var/tmp/cairn-bench-unpack/debian.tar';
const DOCKER_ROOT = '/var/lib/docker';
const IMAGES = 5;

interface Options {
  dir: string;
  json: string;
  docker: boolean;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const { values } = parseArgsUtil({
    args: argv,
    options: {
      dir: { type: 'string', default: '/var/tmp/cairn-bench-disk' },
      json: { type: 'string', default: '/var/tmp/cairn-bench-disk.json' },
      'no-docker': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  return { dir: values.dir, json: values.json, docker: !values['no-docker'], keep: values.keep };
}

type Scenario = 'load' | 'pull' | 'build';

interface Inputs {
  /** docker-archive of the five images (bench/disk-N:1). */
  archive: string;
  /** docker-archive of the Debian base alone (bench/disk-base:1). */
  base: string;
  /** Build contexts: a Dockerfile and data-N.bin each. */
  contexts: string[];
  /** The five images in the registry. */
  remote: string[];
}

interface Engine {
  name: string;
  /** Make the store empty (of this benchmark's images). */
  reset(store: string): void;
  /** The paths whose `du` is the store. */
  paths(store: string): string[];
  run(store: string, s: Scenario, inputs: Inputs): void;
}

const podman = (store: string, ...args: string[]): string[] => [
  '--root', join(store, 'root'), '--runroot', join(store, 'run'), '--tmpdir', join(store, 'tmp'), '--storage-driver', 'overlay', '--events-backend', 'none', ...args,
];

function cairnEngine(name: string, storageOpts: string[]): Engine {
  const c = (store: string, ...args: string[]): string => sh(CAIRN, ['--root', store, ...storageOpts, ...args]);
  return {
    name,
    reset: (store) => rmSync(store, { recursive: true, force: true }),
    paths: (store) => [store],
    run: (store, s, inputs) => {
      if (s === 'load') c(store, 'load', '-q', '-i', inputs.archive);
      if (s === 'pull') for (const r of inputs.remote) c(store, 'pull', '-q', r);
      if (s === 'build') {
        c(store, 'load', '-q', '-i', inputs.base);
        inputs.contexts.forEach((ctx, i) => c(store, 'build', '-q', '-t', `bench/disk-built-${i}:1`, ctx));
      }
    },
  };
}

function podmanEngine(): Engine {
  return {
    name: 'podman',
    reset: (store) => {
      if (existsSync(join(store, 'root'))) spawnSync('podman', [...podman(store, 'system', 'reset', '-f')], { stdio: 'ignore' });
      rmSync(store, { recursive: true, force: true });
    },
    paths: (store) => [store],
    run: (store, s, inputs) => {
      if (s === 'load') sh('podman', podman(store, 'load', '-q', '-i', inputs.archive));
      if (s === 'pull') for (const r of inputs.remote) sh('podman', podman(store, 'pull', '-q', '--tls-verify=false', r));
      if (s === 'build') {
        sh('podman', podman(store, 'load', '-q', '-i', inputs.base));
        inputs.contexts.forEach((ctx, i) => sh('podman', podman(store, 'build', '-q', '--layers', '-t', `bench/disk-built-${i}:1`, ctx)));
      }
    },
  };
}

function dockerEngine(benchLayers: Set<string>): Engine {
  return {
    name: 'docker',
    reset: () => {
      for (const line of sh(DOCKER, ['images', '--format', '{{.Repository}}:{{.Tag}}']).split('\n')) {
        if (line.includes('bench/disk-')) spawnSync(DOCKER, ['rmi', '-f', line], { stdio: 'ignore' });
      }
      for (const id of dockerImagesHolding(benchLayers)) spawnSync(DOCKER, ['rmi', '-f', id], { stdio: 'ignore' });
      const left = dockerImagesHolding(benchLayers);
      if (left.length > 0) throw new Error(`docker still holds the benchmark's layers in ${left.join(', ')} (a container using them?)`);
      // the daemon's whole build cache (the benchmark's builds are in it; a bench machine's daemon)
      sh(DOCKER, ['builder', 'prune', '-af']);
    },
    paths: () => ['overlay2', 'image', 'buildkit'].map((d) => join(DOCKER_ROOT, d)),
    run: (_store, s, inputs) => {
      if (s === 'load') sh(DOCKER, ['load', '-q', '-i', inputs.archive]);
      if (s === 'pull') for (const r of inputs.remote) sh(DOCKER, ['pull', '-q', r]);
      if (s === 'build') {
        sh(DOCKER, ['load', '-q', '-i', inputs.base]);
        inputs.contexts.forEach((ctx, i) => sh(DOCKER, ['build', '-q', '-t', `bench/disk-built-${i}:1`, ctx], { ...process.env, DOCKER_BUILDKIT: '1' }));
      }
    },
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root (docker, podman)');
  if (!existsSync(DEBIAN_TAR)) throw new Error(`${DEBIAN_TAR} is missing: run node dist/bench/unpack.js --only import first (it makes it with debootstrap)`);
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(o.dir, { recursive: true });
  let daemon: DockerDaemon | undefined;
  let registry: Registry | undefined;
  let engines: Engine[] = [];
  try {
    if (o.docker) daemon = await ensureDockerd();
    // --- inputs
    const debian = readFileSync(DEBIAN_TAR);
    const data = Array.from({ length: IMAGES }, (_, i) => pseudoRandom(1 << 20, 100 + i));
    const layers = await Promise.all(data.map((d) => makeTar([{ path: 'data.bin', content: d }])));
    const inputs: Inputs = { archive: join(o.dir, 'images.tar'), base: join(o.dir, 'base.tar'), contexts: [], remote: [] };
    writeFileSync(inputs.archive, await makeDockerArchive(layers.map((l, i) => ({ layers: [debian, l], repoTags: [`bench/disk-${i}:1`] }))));
    writeFileSync(inputs.base, await makeDockerArchive([{ layers: [debian], repoTags: ['bench/disk-base:1'] }]));
    for (let i = 0; i < IMAGES; i++) {
      const ctx = join(o.dir, `context-${i}`);
      mkdirSync(ctx, { recursive: true });
      writeFileSync(join(ctx, `data-${i}.bin`), data[i]!);
      writeFileSync(join(ctx, 'Dockerfile'), `FROM bench/disk-base:1\nCOPY data-${i}.bin /data.bin\n`);
      inputs.contexts.push(ctx);
    }
    registry = await startRegistry(join(o.dir, 'registry'));
    const seed = join(o.dir, 'seed');
    sh(CAIRN, ['--root', seed, 'load', '-q', '-i', inputs.archive]);
    for (let i = 0; i < IMAGES; i++) {
      const r = `${registry.host}/bench/disk-${i}:1`;
      sh(CAIRN, ['--root', seed, 'tag', `bench/disk-${i}:1`, r]);
      sh(CAIRN, ['--root', seed, 'push', '-q', r]);
      inputs.remote.push(r);
    }
    rmSync(seed, { recursive: true, force: true });
    // the compressed layers' size: each distinct layer blob of the five manifests once
    const blobs = new Map<string, number>();
    for (let i = 0; i < IMAGES; i++) {
      const res = await fetch(`http://${registry.host}/v2/bench/disk-${i}/manifests/1`, {
        headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
      });
      if (!res.ok) throw new Error(`manifest of bench/disk-${i}:1: HTTP ${res.status}`);
      for (const l of ((await res.json()) as { layers: Array<{ digest: string; size: number }> }).layers) blobs.set(l.digest, l.size);
    }
    const compressedLayers = [...blobs.values()].reduce((a, b) => a + b, 0);
    const benchLayers = new Set([debian, ...layers].map((t) => `sha256:${createHash('sha256').update(t).digest('hex')}`));

    engines = [cairnEngine('cairn', []), cairnEngine('cairn (compressed-blobs=drop)', ['--storage-opt', 'compressed-blobs=drop']), podmanEngine()];
    if (o.docker) engines.push(dockerEngine(benchLayers));
    const growth: Record<string, Record<string, number>> = {};
    const kept: Record<string, number> = {};
    const df: Record<string, string> = {};
    for (const s of ['load', 'pull', 'build'] as const) {
      for (const e of engines) {
        const store = join(o.dir, `store-${s}-${e.name.replace(/[^a-z]+/g, '-')}`);
        e.reset(store);
        sh('sync', []);
        const before = duBytes(e.paths(store));
        e.run(store, s, inputs);
        sh('sync', []);
        (growth[s] ??= {})[e.name] = duBytes(e.paths(store)) - before;
        if (e.name.startsWith('cairn')) {
          kept[`${s} ${e.name}`] = duBytes([join(store, 'content')]);
          // what `system df` says of the same store: its rows' sizes, the compressed blobs on their own line
          const rows = sh(CAIRN, ['--root', store, 'system', 'df', '--format', '{{json .}}']).trim().split('\n').map((l) => JSON.parse(l) as { Type: string; Size: string });
          df[`${s} ${e.name}`] = rows.map((r) => `${r.Type} ${r.Size}`).join(', ');
        }
        process.stderr.write(`${s} ${e.name}: ${(growth[s]![e.name]! / 1e6).toFixed(1)} MB\n`);
        if (!o.keep) e.reset(store);
      }
    }

    // --- report
    const names = engines.map((e) => e.name);
    const mb = (n: number | undefined): string => (n === undefined ? '—' : `${(n / 1e6).toFixed(1)} MB`);
    const lines = [
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${IMAGES} images of Debian minbase (${(debian.length / 1e6).toFixed(0)} MB tar) + 1 MB each`,
      '',
      `| store growth (du -s -B1) | ${names.join(' | ')} | smallest peer | cairn's content/ (blobs, records) default / drop |`,
      `|---|${names.map(() => '---:').join('|')}|---:|---:|`,
    ];
    for (const [s, by] of Object.entries(growth)) {
      const peers = names.filter((n) => !n.startsWith('cairn') && by[n] !== undefined).map((n) => by[n]!);
      lines.push(`| ${s} | ${names.map((n) => mb(by[n])).join(' | ')} | ${mb(peers.length ? Math.min(...peers) : undefined)} | ${mb(kept[`${s} cairn`])} / ${mb(kept[`${s} cairn (compressed-blobs=drop)`])} |`);
    }
    const pulled = growth.pull ?? {};
    const extra = (pulled.cairn ?? 0) - (pulled['cairn (compressed-blobs=drop)'] ?? 0);
    lines.push('', `Pulled with the default (compressed blobs kept): ${mb(extra)} more than with compressed-blobs=drop; the five images' distinct compressed layers are ${mb(compressedLayers)}.`);
    lines.push('', '`cairn system df` of each cairn store:', '');
    for (const [k, v] of Object.entries(df)) lines.push(`- ${k}: ${v}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    writeFileSync(o.json, JSON.stringify({ options: o, growth, content: kept, compressedLayers, systemDf: df }, null, 2));
  } finally {
    await registry?.stop().catch(() => undefined);
    for (const e of engines) if (e.name === 'docker') e.reset('');
    await daemon?.stop();
    if (!o.keep) rmSync(o.dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
