/**
 * Benchmark (issue 12, point 8): the builder. `cairn build` beside Docker 20.10's BuildKit
 * (`DOCKER_BUILDKIT=1 /usr/bin/docker build --network=none`) and buildah (`buildah bud --layers
 * --isolation oci`: crun, as /etc/containers/containers.conf.d configures it — netns none,
 * cgroupfs, file events logger, clamped rlimits; see scripts/setup.sh), in the same run.
 *
 * The build: a multi-stage Dockerfile on a Debian minbase base image (bench/debian.ts: the
 * debootstrap root filesystem bench/unpack.ts uses too, ~122 MB, ~6,700 entries) —
 *   - stage `gen`: a RUN that writes 5,000 small files (50 directories × 100);
 *   - the final stage: WORKDIR, a COPY of a ~50 MB context of 2,000 files (40 directories,
 *     1–48 KiB each, incompressible), a RUN over them (sha256sum of every file, sorted, and
 *     `find | wc -l`), a COPY --from=gen of the generated tree, a CMD.
 * The same base image (one docker-archive made here from the Debian tar) is loaded into each
 * engine: `docker load`, `buildah pull docker-archive:`, `cairn load`.
 *
 * Three cases, per engine, in an order rotated from run to run:
 *   - cold: the build cache empty and the built image gone, the base image present — cairn: a
 *     fresh --root with the base loaded; docker: `rmi` of the built image and `docker builder
 *     prune -af`; buildah: a fresh storage root (--root/--runroot) with the base pulled;
 *   - unchanged: the same build again, nothing changed;
 *   - one file changed: one context file rewritten (same size, new bytes), then the build.
 * Before every timed build, for every engine alike: `sync; echo 1 > /proc/sys/vm/drop_caches`
 * and `--settle` seconds of quiet (ext4 here creates files 3–5× slower right after a mass
 * deletion unless the caches are dropped: ../shared/notes/peers.md). Each build is timed around
 * its process (posix_spawn, bench/common.ts timedQuick) under /usr/bin/time; cairn's peak RSS
 * is time's maximum resident set of the process tree — the largest single process, which is
 * cairn's Node process: the RUN commands (sh, find, sort, sha256sum) are a few MB each and
 * time reports a maximum, not a sum. Each build's progress output is parsed for the steps that
 * ran and the steps taken from the cache, to show that a cold build is cold and an unchanged
 * one all cached. After the first run's changed build, each engine's image is run once and its
 * /app/COUNT, the hash of its /app/SHA256SUMS and the number of generated files compared.
 *
 * Leaves nothing behind: the images (named cairn-bench-build/...) are removed from docker and
 * its build cache pruned; the cairn and buildah stores, the context and the archive live in
 * --dir, which is unmounted and removed (unless --keep). Samples go to --json.
 * A script that prints Markdown tables, not a test. Run as root, with nothing else running:
 *
 *   node dist/bench/build.js [--runs 3] [--settle 1] [--dir /var/tmp/cairn-bench-build]
 *                            [--debian-cache /var/tmp/cairn-bench-unpack] [--mirror URL]
 *                            [--json /var/tmp/cairn-bench-build.json] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs as parseArgsUtil } from 'node:util';
import { makeDockerArchive, unmountUnder } from '../test/helpers.js';
import { ensureDockerd, DOCKER } from '../test/docker.js';
import { median, pseudoRandom, settleDown, sh, timedQuick, type Sample } from './common.js';
import { prepareDebian } from './debian.js';

const REPO = new URL('../../', import.meta.url).pathname;
const CAIRN = join(REPO, 'bin', 'cairn');
const PREFIX = 'cairn-bench-build';
const BASE = `${PREFIX}/debian:base`;
const OUT = `${PREFIX}/out:1`;
const CHECK_CONTAINER = `${PREFIX}-check`;
const CONTEXT_FILES = 2000;
const CONTEXT_DIRS = 40;
/** The context file rewritten for the "one file changed" case. */
const CHANGED = 'src/m00/f0000.dat';

const DOCKERFILE = `FROM ${BASE} AS gen
RUN mkdir /gen && cd /gen && for d in $(seq 0 49); do mkdir d$d; for f in $(seq 0 99); do echo "generated $d/$f" > d$d/f$f.txt; done; done

FROM ${BASE}
WORKDIR /app
COPY src/ /app/src/
RUN find /app/src -type f -print0 | sort -z | xargs -0 sha256sum > /app/SHA256SUMS && find /app/src | wc -l > /app/COUNT
COPY --from=gen /gen /app/gen
CMD ["cat", "/app/COUNT"]
`;
/** What the built image holds, the same for every engine: entries under /app/src, the checksums' hash, generated files. */
const CHECK = 'echo "$(cat /app/COUNT) $(sha256sum < /app/SHA256SUMS | cut -c1-16) $(find /app/gen -type f | wc -l)"';

type Case = 'cold' | 'unchanged' | 'one file changed';
const CASES: Case[] = ['cold', 'unchanged', 'one file changed'];

interface Options {
  runs: number;
  settle: number;
  dir: string;
  debianCache: string;
  mirror: string;
  json: string;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const { values } = parseArgsUtil({
    args: argv,
    options: {
      runs: { type: 'string', default: '3' },
      settle: { type: 'string', default: '1' },
      dir: { type: 'string', default: '/var/tmp/cairn-bench-build' },
      'debian-cache': { type: 'string', default: '/var/tmp/cairn-bench-unpack' },
      mirror: { type: 'string', default: '' },
      json: { type: 'string', default: '/var/tmp/cairn-bench-build.json' },
      keep: { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: a whole number of at least 1, not ${values.runs}`);
  const settle = Number(values.settle);
  if (!(settle >= 0)) throw new Error(`--settle: seconds, not ${values.settle}`);
  return { runs, settle, dir: values.dir, debianCache: values['debian-cache'], mirror: values.mirror, json: values.json, keep: values.keep };
}

const log = (s: string): void => {
  process.stderr.write(`bench: ${s}\n`);
};

/** Run a command, ignoring its failure (cleanup). */
function attempt(argv: string[]): void {
  spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
}

/** One context file's bytes: incompressible, 1–48 KiB (mean ~25 KiB: ~50 MB in 2,000 files). */
function contextFile(i: number, seed: number): Buffer {
  return pseudoRandom(1024 * (1 + ((i * 7919) % 48)), seed);
}

function writeContext(ctx: string): number {
  rmSync(ctx, { recursive: true, force: true });
  let bytes = 0;
  for (let d = 0; d < CONTEXT_DIRS; d++) mkdirSync(join(ctx, 'src', `m${String(d).padStart(2, '0')}`), { recursive: true });
  for (let i = 0; i < CONTEXT_FILES; i++) {
    const b = contextFile(i, i);
    bytes += b.length;
    writeFileSync(join(ctx, 'src', `m${String(i % CONTEXT_DIRS).padStart(2, '0')}`, `f${String(i).padStart(4, '0')}.dat`), b);
  }
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  return bytes;
}

/** Steps of a build's output that ran and that came from the cache (FROM lines not counted). */
interface Steps {
  ran: number;
  cached: number;
  /** Plain progress only: the seconds each step that ran took by the engine's own account (`#N DONE 5.5s`), by step name. */
  durations?: Record<string, number>;
}

/** BuildKit's plain progress (cairn writes the same): `#N [stage i/n] ...`, then `#N CACHED` or `#N DONE t`. */
function plainSteps(text: string): Steps {
  const names = new Map<string, string>();
  const ran = new Set<string>();
  const cached = new Set<string>();
  const seconds = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (m === null) continue;
    const n = m[1]!;
    const rest = m[2]!;
    if (!names.has(n)) names.set(n, rest);
    else if (rest === 'CACHED') cached.add(n);
    else if (/^DONE /.test(rest)) {
      ran.add(n);
      seconds.set(n, Number(/^DONE ([\d.]+)s/.exec(rest)?.[1] ?? NaN));
    }
  }
  const isStep = (n: string): boolean => {
    const name = names.get(n)!;
    return /^\[[^\]]*\d+\/\d+\]/.test(name) && !/^\[[^\]]*\] FROM /.test(name);
  };
  const durations: Record<string, number> = {};
  for (const n of [...ran].filter(isStep)) durations[names.get(n)!] = seconds.get(n)!;
  return { ran: [...ran].filter(isStep).length, cached: [...cached].filter(isStep).length, durations };
}

/** buildah's output: `[s/n] STEP i/m: ...`, then `--> Using cache ID` when cached or `--> ID` when run. */
function buildahSteps(text: string): Steps {
  let ran = 0;
  let cached = 0;
  let current: string | null = null;
  let usedCache = false;
  const close = (): void => {
    if (current !== null && !/: FROM /.test(current)) {
      if (usedCache) cached++;
      else ran++;
    }
    current = null;
    usedCache = false;
  };
  for (const line of text.split('\n')) {
    if (/^\[\d+\/\d+\] STEP \d+\/\d+: /.test(line) || /^STEP \d+\/\d+: /.test(line) || /^\[\d+\/\d+\] COMMIT/.test(line) || /^COMMIT/.test(line)) {
      close();
      if (/STEP/.test(line)) current = line;
    } else if (/^--> Using cache /.test(line)) usedCache = true;
  }
  close();
  return { ran, cached };
}

interface Engine {
  name: string;
  /** The build cache emptied, the built image gone, the base image present. */
  makeCold(): void;
  build: string[];
  /** Where its progress goes: 'stderr' (plain progress) or 'stdout' (buildah). */
  steps(stdout: string, stderr: string): Steps;
  /** What CHECK prints in its image. */
  check(): string;
  /** Remove everything this engine holds for the benchmark. */
  cleanup(): void;
}

function cairnEngine(o: Options, ctx: string, archive: string): Engine {
  const root = join(o.dir, 'cairn');
  const cairn = (...a: string[]): string[] => [CAIRN, '--root', root, ...a];
  const cleanup = (): void => {
    unmountUnder(root);
    rmSync(root, { recursive: true, force: true });
  };
  return {
    name: 'cairn',
    makeCold: () => {
      cleanup();
      sh(CAIRN, ['--root', root, 'load', '-q', '-i', archive]);
    },
    build: cairn('build', '-t', OUT, '--network', 'none', '--progress', 'plain', ctx),
    steps: (_out, err) => plainSteps(err),
    check: () => sh(CAIRN, ['--root', root, 'run', '--rm', '--network', 'none', OUT, 'sh', '-c', CHECK]).trim(),
    cleanup,
  };
}

function dockerEngine(o: Options, ctx: string): Engine {
  // Every image a build makes, by ID: a rebuild moves the tag and leaves the one before untagged,
  // and those would keep the Debian base's layers in docker's store for other benchmarks.
  const iidfile = join(o.dir, 'docker-iid');
  const built = new Set<string>();
  const removeBuilt = (): void => {
    attempt([DOCKER, 'rmi', '-f', OUT]);
    for (const id of built) attempt([DOCKER, 'rmi', '-f', id]);
    built.clear();
  };
  return {
    name: 'docker',
    makeCold: () => {
      removeBuilt();
      sh(DOCKER, ['builder', 'prune', '-af']);
    },
    build: [DOCKER, 'build', '--progress=plain', '--network=none', '--iidfile', iidfile, '-t', OUT, ctx],
    steps: (_out, err) => {
      if (existsSync(iidfile)) built.add(readFileSync(iidfile, 'utf8').trim());
      return plainSteps(err);
    },
    check: () => sh(DOCKER, ['run', '--rm', '--network', 'none', OUT, 'sh', '-c', CHECK]).trim(),
    cleanup: () => {
      removeBuilt();
      attempt([DOCKER, 'rmi', '-f', BASE]);
      attempt([DOCKER, 'builder', 'prune', '-af']);
    },
  };
}

function buildahEngine(o: Options, ctx: string, archive: string): Engine {
  const base = join(o.dir, 'buildah');
  const b = ['buildah', '--root', join(base, 'root'), '--runroot', join(base, 'run'), '--storage-driver', 'overlay'];
  const cleanup = (): void => {
    if (existsSync(base)) {
      attempt([...b, 'rm', '--all']);
      attempt([...b, 'rmi', '--all', '--force']);
    }
    unmountUnder(base);
    rmSync(base, { recursive: true, force: true });
  };
  return {
    name: 'buildah',
    makeCold: () => {
      cleanup();
      sh(b[0]!, [...b.slice(1), 'pull', '-q', `docker-archive:${archive}`]);
    },
    build: [...b, 'bud', '--layers', '--pull-never', '--isolation', 'oci', '--network', 'none', '-t', OUT, ctx],
    steps: (out) => buildahSteps(out),
    check: () => {
      sh(b[0]!, [...b.slice(1), 'from', '--pull-never', '--name', CHECK_CONTAINER, OUT]);
      try {
        return sh(b[0]!, [...b.slice(1), 'run', '--network', 'none', CHECK_CONTAINER, '--', 'sh', '-c', CHECK]).trim();
      } finally {
        attempt([...b, 'rm', CHECK_CONTAINER]);
      }
    },
    cleanup,
  };
}

interface Result {
  samples: Sample[];
  steps: Steps[];
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root (drop_caches, the engines\' stores)');
  for (const c of ['/usr/bin/time', '/usr/sbin/debootstrap', '/usr/bin/buildah', DOCKER]) if (!existsSync(c)) throw new Error(`${c} is missing: run scripts/setup.sh`);
  if (!existsSync(join(REPO, 'dist', 'cairn.cjs'))) throw new Error('dist/cairn.cjs is missing: run npx tsc -p . && node scripts/bundle.mjs');
  process.env.DOCKER_BUILDKIT = '1'; // timedQuick's commands get this process's environment

  mkdirSync(o.debianCache, { recursive: true });
  const debianTar = prepareDebian(o.debianCache, o.mirror, log);
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(o.dir, { recursive: true });
  const ctx = join(o.dir, 'ctx');
  const contextBytes = writeContext(ctx);
  const original = readFileSync(join(ctx, CHANGED));
  const archive = join(o.dir, 'base.tar');
  writeFileSync(archive, await makeDockerArchive([{
    layers: [readFileSync(debianTar)],
    repoTags: [BASE],
    config: { config: { Cmd: ['bash'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] } },
  }]));
  log(`context: ${CONTEXT_FILES} files, ${(contextBytes / 1e6).toFixed(1)} MB; base image archive ${(readFileSync(archive).length / 1e6).toFixed(0)} MB`);

  const dockerd = await ensureDockerd();
  const engines = [cairnEngine(o, ctx, archive), dockerEngine(o, ctx), buildahEngine(o, ctx, archive)];
  const versions = [
    `docker ${sh(DOCKER, ['version', '-f', '{{.Server.Version}}']).trim()} (BuildKit)`,
    sh('buildah', ['--version']).trim(),
    `crun ${sh('crun', ['--version']).split('\n')[0]!.replace(/^crun version /, '')}`,
    `node ${process.version}`,
  ].join('; ');
  const rss = join(o.dir, 'time.txt');
  const outFile = join(o.dir, 'stdout.txt');
  const results: Record<string, Record<Case, Result>> = {};
  const checks: Record<string, string> = {};
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const started = new Date().toISOString();
  try {
    attempt([DOCKER, 'rmi', '-f', OUT]);
    sh(DOCKER, ['load', '-q', '-i', archive]);
    for (const e of engines) results[e.name] = { cold: { samples: [], steps: [] }, unchanged: { samples: [], steps: [] }, 'one file changed': { samples: [], steps: [] } };
    for (let run = 0; run < o.runs; run++) {
      const order = engines.map((_, i) => engines[(i + run) % engines.length]!);
      for (const e of order) {
        writeFileSync(join(ctx, CHANGED), original);
        e.makeCold();
        for (const c of CASES) {
          if (c === 'one file changed') writeFileSync(join(ctx, CHANGED), contextFile(0, 1_000_000 + run));
          settleDown(o.settle);
          let sample: Sample;
          try {
            sample = await timedQuick(e.build, rss, outFile);
          } catch (err) {
            throw new Error(`${e.name}, ${c} build (run ${run + 1}) failed: ${err instanceof Error ? err.message : String(err)}`);
          }
          const steps = e.steps(readFileSync(outFile, 'utf8'), readFileSync(`${rss}.stderr`, 'utf8'));
          results[e.name]![c].samples.push(sample);
          results[e.name]![c].steps.push(steps);
          log(`run ${run + 1}/${o.runs} ${e.name} ${c}: ${(sample.ms / 1000).toFixed(3)} s, ${steps.ran} steps run, ${steps.cached} cached, peak RSS ${(sample.rssKb / 1024).toFixed(0)} MB`);
        }
        if (run === 0) checks[e.name] = e.check();
        writeFileSync(join(ctx, CHANGED), original);
      }
    }
  } finally {
    for (const e of engines) e.cleanup();
    await dockerd.stop();
    if (!o.keep) {
      unmountUnder(o.dir);
      rmSync(o.dir, { recursive: true, force: true });
    }
  }

  // --- report
  const med = (e: string, c: Case): number => median(results[e]![c].samples.map((s) => s.ms));
  const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
  const stepsOf = (e: string, c: Case): string => {
    const ran = [...new Set(results[e]![c].steps.map((s) => s.ran))].join('/');
    const cached = [...new Set(results[e]![c].steps.map((s) => s.cached))].join('/');
    return `${ran} run, ${cached} cached`;
  };
  const lines: string[] = [];
  lines.push(`Machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}; ${versions}.`);
  lines.push(`Started ${started}; load average (1/5/15 min) at start ${loadBefore}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}. ${o.runs} runs, page cache dropped and ${o.settle} s of quiet before every build.`);
  lines.push(`Context: ${CONTEXT_FILES} files, ${(contextBytes / 1e6).toFixed(1)} MB; base: Debian bookworm minbase (one layer, ${(readFileSync(debianTar).length / 1e6).toFixed(0)} MB tar).`);
  const same = new Set(Object.values(checks)).size === 1;
  lines.push(`Images (first run, after the changed build; /app/COUNT, SHA256SUMS hash, generated files): ${Object.entries(checks).map(([e, v]) => `${e} \`${v}\``).join(', ')} — ${same ? 'the same' : '**DIFFERENT**'}.`, '');
  lines.push('| case (median of runs) | cairn | docker (BuildKit) | buildah | steps run / cached: cairn; docker; buildah |', '|---|---:|---:|---:|---|');
  for (const c of CASES) lines.push(`| ${c} | ${fmt(med('cairn', c))} | ${fmt(med('docker', c))} | ${fmt(med('buildah', c))} | ${engines.map((e) => stepsOf(e.name, c)).join('; ')} |`);
  lines.push('', '| ratio (cairn / peer, medians) | vs docker | vs buildah | cairn peak RSS (max of runs) |', '|---|---:|---:|---:|');
  const peakKb = (c: Case): number => Math.max(...results.cairn![c].samples.map((s) => s.rssKb));
  for (const c of CASES) lines.push(`| ${c} | ${(med('cairn', c) / med('docker', c)).toFixed(2)} | ${(med('cairn', c) / med('buildah', c)).toFixed(2)} | ${(peakKb(c) / 1024).toFixed(0)} MB |`);
  const range = (e: string, c: Case): string => {
    const xs = results[e]![c].samples.map((s) => s.ms);
    return `${fmt(Math.min(...xs))} – ${fmt(Math.max(...xs))}`;
  };
  lines.push('', '| spread (min – max) | cairn | docker | buildah |', '|---|---:|---:|---:|');
  for (const c of CASES) lines.push(`| ${c} | ${range('cairn', c)} | ${range('docker', c)} | ${range('buildah', c)} |`);
  // where the time goes, by cairn's and docker's own accounts of each step that ran
  const stepNames = [...new Set(['cairn', 'docker'].flatMap((e) => CASES.flatMap((c) => results[e]![c].steps.flatMap((s) => Object.keys(s.durations ?? {})))))];
  const stepTime = (e: string, c: Case, name: string): string => {
    const xs = results[e]![c].steps.map((s) => s.durations?.[name]).filter((x): x is number => x !== undefined);
    return xs.length === 0 ? '' : `${median(xs).toFixed(1)} s`;
  };
  lines.push('', '| step (median of its own DONE time; blank: cached) | cairn cold | docker cold | cairn one file changed | docker one file changed |', '|---|---:|---:|---:|---:|');
  for (const n of stepNames) {
    const label = n.length > 70 ? `${n.slice(0, 67)}...` : n;
    lines.push(`| \`${label.replace(/\|/g, '\\|')}\` | ${stepTime('cairn', 'cold', n)} | ${stepTime('docker', 'cold', n)} | ${stepTime('cairn', 'one file changed', n)} | ${stepTime('docker', 'one file changed', n)} |`);
  }
  const faster = (c: Case): boolean => med('cairn', c) < Math.min(med('docker', c), med('buildah', c));
  const peak = Math.max(...CASES.map(peakKb)) / 1024;
  lines.push('', '| target (issue 12) | measured | verdict |', '|---|---|---|');
  for (const c of CASES) lines.push(`| ${c}: faster than both peers | cairn ${fmt(med('cairn', c))}, fastest peer ${fmt(Math.min(med('docker', c), med('buildah', c)))} | ${faster(c) ? 'met' : '**not met**'} |`);
  lines.push(`| unchanged rebuild under 150 ms | ${fmt(med('cairn', 'unchanged'))} | ${med('cairn', 'unchanged') < 150 ? 'met' : '**not met**'} |`);
  lines.push(`| peak memory under 200 MB | ${peak.toFixed(0)} MB | ${peak < 200 ? 'met' : '**not met**'} |`);
  console.log(lines.join('\n'));
  writeFileSync(o.json, JSON.stringify({ started, versions, options: o, contextBytes, checks, results }, null, 1));
  log(`samples written to ${o.json}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
