/**
 * Benchmark (issue 11): containers, cairn beside docker 20.10 and podman (crun) in the same
 * run, with bare `crun run` on an unpacked bundle as the floor.
 *
 * One busybox image (Debian's busybox-static with every applet linked) imported into each
 * tool's own fresh store. Per tool, the order rotated from run to run:
 *   - run --rm: `run --rm IMAGE true`, `--reps` times in a row (latency per run; cairn's first
 *     run in a store also compiles the seccomp filter: it is one of the warm-up runs);
 *   - run -d: `run -d IMAGE sh -c 'trap "exit 0" TERM; sleep 100000 & wait'` (until it
 *     returns), then `stop` of it (the container ends at once on SIGTERM);
 *   - exec: `exec C true` into a running container, `--reps` times;
 *   - commit: a container that wrote 100 MB in 1,000 files (100 KB each, random), then
 *     `commit C` timed, page cache dropped and the machine left quiet first;
 *   - peak resident memory of each cairn command (/usr/bin/time's max RSS).
 * Prints Markdown tables with medians and ratios (cairn / peer); samples go to a JSON file.
 * Run as root, with nothing else running (the numbers are per-process latencies):
 *
 *   node dist/bench/containers.js [--runs 3] [--reps 10] [--settle 2] [--dir /var/tmp/cairn-bench-containers]
 *                                 [--only STEP[,STEP...]] [--commits N]
 *
 * `--only` times just those steps (`run --rm`, `run -d`, `stop`, `exec`, `commit`; `run -d`,
 * `stop` and `exec` share their container, so any of them runs all three); `--commits N`
 * commits each run's writer container N times (an image removed before the next commit),
 * each timed the same way — more samples of one step, the same work for every tool.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs as parseArgsUtil } from 'node:util';
import { busyboxRunTar } from '../test/helpers.js';
import { ensureDockerd, DOCKER } from '../test/docker.js';
import { median, settleDown, sh, timedQuick, type Sample } from './common.js';

const REPO = new URL('../../', import.meta.url).pathname;
const CAIRN = join(REPO, 'bin', 'cairn');
// SIGTERM ends it at once: `wait` returns on a trapped signal (a `sleep 1` loop ran its trap only
// after the current sleep, so `stop` measured where in that second the signal arrived)
const LOOP = 'trap "exit 0" TERM; sleep 100000 & wait';
const WRITE_100MB = 'mkdir -p /data && i=0; while [ $i -lt 1000 ]; do head -c 102400 /dev/urandom > /data/f$i; i=$((i+1)); done';

interface Options {
  runs: number;
  reps: number;
  settle: number;
  dir: string;
  /** The steps timed (all when not given). */
  only: Step[];
  /** Commits of each run's writer container. */
  commits: number;
}

function parseArgs(argv: string[]): Options {
  const { values } = parseArgsUtil({
    args: argv,
    options: {
      runs: { type: 'string', default: '3' },
      reps: { type: 'string', default: '10' },
      settle: { type: 'string', default: '2' },
      dir: { type: 'string', default: '/var/tmp/cairn-bench-containers' },
      only: { type: 'string', multiple: true },
      commits: { type: 'string', default: '1' },
    },
  });
  const only = (values.only ?? []).flatMap((v) => v.split(',')).map((v) => v.trim());
  for (const v of only) if (!(STEPS as string[]).includes(v)) throw new Error(`--only: unknown step ${JSON.stringify(v)} (one of ${STEPS.join(', ')})`);
  const commits = Number(values.commits);
  if (!Number.isInteger(commits) || commits < 1) throw new Error(`--commits: a whole number of at least 1, not ${values.commits}`);
  return { runs: Number(values.runs), reps: Number(values.reps), settle: Number(values.settle), dir: values.dir, only: only.length > 0 ? (only as Step[]) : STEPS, commits };
}

/** A container engine's command line, each in its own store. */
interface Tool {
  name: string;
  argv: (...args: string[]) => string[];
  image: string;
}

type Step = 'run --rm' | 'run -d' | 'stop' | 'exec' | 'commit';
const STEPS: Step[] = ['run --rm', 'run -d', 'stop', 'exec', 'commit'];

function quiet(argv: string[]): string {
  return sh(argv[0]!, argv.slice(1)).trim();
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root');
  const timing = (step: Step): boolean => o.only.includes(step);
  const detached = timing('run -d') || timing('stop') || timing('exec');
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(o.dir, { recursive: true });
  const rss = join(o.dir, 'time.txt');
  const tar = join(o.dir, 'busybox.tar');
  writeFileSync(tar, await busyboxRunTar());
  const dockerd = await ensureDockerd();
  const podmanDir = join(o.dir, 'podman');
  const podman = ['podman', '--root', join(podmanDir, 'root'), '--runroot', join(podmanDir, 'run'), '--tmpdir', join(podmanDir, 'tmp'), '--storage-driver', 'overlay', '--events-backend', 'none'];
  const cairnRoot = join(o.dir, 'cairn');
  const tools: Tool[] = [
    { name: 'cairn', argv: (...a) => [CAIRN, '--root', cairnRoot, ...a], image: 'bench-bb:1' },
    { name: 'docker', argv: (...a) => [DOCKER, ...a], image: 'bench-bb:1' },
    { name: 'podman', argv: (...a) => [...podman, ...a], image: 'localhost/bench-bb:1' },
  ];
  const samples: Record<string, Record<Step, Sample[]>> = {};
  const peakKb: Record<string, number> = {};
  try {
    for (const t of tools) {
      samples[t.name] = { 'run --rm': [], 'run -d': [], stop: [], exec: [], commit: [] };
      quiet(t.argv('import', tar, t.image));
    }
    // The floor: crun on an unpacked bundle (rootfs extracted, `crun spec`'s config running `true`).
    const bundle = join(o.dir, 'bundle');
    mkdirSync(join(bundle, 'rootfs'), { recursive: true });
    sh('tar', ['-C', join(bundle, 'rootfs'), '-xf', tar]);
    sh('crun', ['spec', '-b', bundle]);
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { process: { terminal: boolean; args: string[] } };
    spec.process.terminal = false;
    spec.process.args = ['true'];
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const floor: Sample[] = [];

    // Warm-up: each tool's first run (cairn compiles and keeps the seccomp filter; every tool's binaries come into the page cache).
    for (const t of tools) for (let i = 0; i < 2; i++) quiet(t.argv('run', '--rm', '--network', 'none', t.image, 'true'));

    for (let run = 0; run < o.runs; run++) {
      const order = tools.map((_, i) => tools[(i + run) % tools.length]!);
      for (const t of order) {
        if (timing('run --rm')) {
          settleDown(o.settle);
          for (let i = 0; i < o.reps; i++) samples[t.name]!['run --rm'].push(await timedQuick(t.argv('run', '--rm', '--network', 'none', t.image, 'true'), rss));
        }
        if (detached) {
          settleDown(o.settle);
          const name = `bench-${t.name}-${run}`;
          samples[t.name]!['run -d'].push(await timedQuick(t.argv('run', '-d', '--network', 'none', '--name', name, t.image, 'sh', '-c', LOOP), rss));
          spawnSync('sleep', ['0.5']);
          for (let i = 0; i < o.reps; i++) samples[t.name]!.exec.push(await timedQuick(t.argv('exec', name, 'true'), rss));
          samples[t.name]!.stop.push(await timedQuick(t.argv('stop', name), rss));
          quiet(t.argv('rm', name));
        }
        if (timing('commit')) {
          // commit of 100 MB in 1,000 files
          const writer = `bench-${t.name}-w${run}`;
          quiet(t.argv('run', '--network', 'none', '--name', writer, t.image, 'sh', '-c', WRITE_100MB));
          for (let k = 0; k < o.commits; k++) {
            const committed = `bench-committed:${run}-${k}`;
            settleDown(o.settle);
            samples[t.name]!.commit.push(await timedQuick(t.argv('commit', writer, committed), rss));
            quiet(t.argv('rmi', `${t.name === 'podman' ? 'localhost/' : ''}${committed}`));
          }
          quiet(t.argv('rm', writer));
        }
      }
      if (timing('run --rm')) {
        settleDown(o.settle);
        for (let i = 0; i < o.reps; i++) floor.push(await timedQuick(['crun', 'run', '-b', bundle, `bench-floor-${run}-${i}`], rss));
      }
    }
    const steps = STEPS.filter(timing);
    for (const step of steps) peakKb[step] = Math.max(...samples.cairn![step].map((s) => s.rssKb));

    // --- report
    const ms = (xs: Sample[]) => median(xs.map((s) => s.ms));
    const lines: string[] = [];
    lines.push(`Machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}, load ${loadavg()[0]!.toFixed(2)}; ${o.runs} runs × ${o.reps} reps, ${o.commits} commit(s) per run.`, '');
    lines.push('| step (median ms) | cairn | docker | podman | crun (floor) |', '|---|---:|---:|---:|---:|');
    for (const step of steps) {
      const f = step === 'run --rm' ? ms(floor).toFixed(1) : '';
      lines.push(`| ${step} | ${ms(samples.cairn![step]).toFixed(1)} | ${ms(samples.docker![step]).toFixed(1)} | ${ms(samples.podman![step]).toFixed(1)} | ${f} |`);
    }
    lines.push('', '| ratio (cairn / peer, medians) | vs docker | vs podman | vs fastest peer | cairn peak RSS |', '|---|---:|---:|---:|---:|');
    for (const step of steps) {
      const c = ms(samples.cairn![step]);
      const d = ms(samples.docker![step]);
      const p = ms(samples.podman![step]);
      lines.push(`| ${step} | ${(c / d).toFixed(2)} | ${(c / p).toFixed(2)} | ${(c / Math.min(d, p)).toFixed(2)} | ${(peakKb[step]! / 1024).toFixed(0)} MB |`);
    }
    // how noisy: the range of each step's samples
    const range = (xs: Sample[]) => `${Math.min(...xs.map((x) => x.ms)).toFixed(0)}–${Math.max(...xs.map((x) => x.ms)).toFixed(0)}`;
    lines.push('', '| spread (min–max ms, samples) | cairn | docker | podman |', '|---|---:|---:|---:|');
    for (const step of steps) lines.push(`| ${step} (${samples.cairn![step].length}) | ${range(samples.cairn![step])} | ${range(samples.docker![step])} | ${range(samples.podman![step])} |`);
    console.log(lines.join('\n'));
    writeFileSync(join(o.dir, 'samples.json'), JSON.stringify({ samples, floor, peakKb }, null, 1));
  } finally {
    for (const t of tools) {
      const ids = spawnSync(t.argv('ps', '-aq')[0]!, t.argv('ps', '-aq').slice(1), { encoding: 'utf8' }).stdout?.split('\n').filter((l) => l.startsWith('') && l !== '') ?? [];
      const mine = t.name === 'docker' ? ids.filter((id) => spawnSync(DOCKER, ['inspect', '-f', '{{.Name}}', id], { encoding: 'utf8' }).stdout.startsWith('/bench-')) : ids;
      if (mine.length > 0) spawnSync(t.argv('rm', '-f', ...mine)[0]!, t.argv('rm', '-f', ...mine).slice(1), { stdio: 'ignore' });
      spawnSync(t.argv('rmi', '-f', t.image)[0]!, t.argv('rmi', '-f', t.image).slice(1), { stdio: 'ignore' });
    }
    spawnSync('podman', ['--root', join(podmanDir, 'root'), '--runroot', join(podmanDir, 'run'), 'system', 'reset', '-f'], { stdio: 'ignore' });
    await dockerd.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
