/**
 * Benchmark (issue 13): `cairn registry serve` beside Docker's Distribution registry 2.8.2, in
 * the same run, with skopeo as the client of both.
 *
 * The image: the Debian minbase root filesystem plus five layers of 25 MB of incompressible data
 * (~250 MB; bench/registry.ts's image A), gzip'd once into an OCI layout that skopeo pushes from.
 * Per run and per server (the order rotated from run to run), a fresh server with an empty
 * store, the page cache dropped and a few seconds of quiet before every timed step:
 *   - push: `skopeo copy oci:LAYOUT docker://SERVER/bench/a:1`;
 *   - pull: `skopeo copy docker://SERVER/bench/a:1 oci:DIR` into an empty directory;
 *   - 8 pulls: eight such copies at once (the wall time until the last ends);
 * and the server's peak resident memory over the run (VmHWM). Prints Markdown tables; samples
 * go to a JSON file. Run as root after `node dist/bench/unpack.js --only import`:
 *
 *   node dist/bench/serve.js [--runs 3] [--dir /var/tmp/cairn-bench-serve] [--settle 3]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs as parseArgsUtil } from 'node:util';
import { performance } from 'node:perf_hooks';
import { makeDockerArchive, makeTar } from '../test/helpers.js';
import { startCairnRegistry, startRegistry, type Registry } from '../test/registry.js';
import { median, pseudoRandom, settleDown, sh, timed, type Sample } from './common.js';

const REPO = new URL('../../', import.meta.url).pathname;
const CAIRN = join(REPO, 'bin', 'cairn');
const DEBIAN_TAR = '/var/tmp/cairn-bench-unpack/debian.tar';
const CLIENTS = 8;

interface Options {
  runs: number;
  dir: string;
  settle: number;
}

function parseArgs(argv: string[]): Options {
  const { values } = parseArgsUtil({ args: argv, options: { runs: { type: 'string', default: '3' }, dir: { type: 'string', default: '/var/tmp/cairn-bench-serve' }, settle: { type: 'string', default: '3' } } });
  return { runs: Number(values.runs), dir: values.dir, settle: Number(values.settle) };
}

/** Peak resident memory of a process so far, in KiB (VmHWM). */
function peakKb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Run `n` commands at once; the wall time until the last ends. */
async function atOnce(cmds: string[][]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    cmds.map(
      (argv) =>
        new Promise<void>((resolve, reject) => {
          const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          c.stderr.on('data', (d: Buffer) => (err += d.toString()));
          c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`))));
        }),
    ),
  );
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root (drop_caches)');
  if (!existsSync(DEBIAN_TAR)) throw new Error(`${DEBIAN_TAR} is missing: run node dist/bench/unpack.js --only import first`);
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(o.dir, { recursive: true });
  const rss = join(o.dir, 'time.txt');
  const servers: Registry[] = [];
  try {
    // --- inputs: image A gzip'd into an OCI layout (through a scratch Distribution registry)
    const layers: Buffer[] = [readFileSync(DEBIAN_TAR)];
    for (let i = 0; i < 5; i++) layers.push(await makeTar([{ path: `data/layer-${i}.bin`, content: pseudoRandom(25 << 20, i) }]));
    const archive = join(o.dir, 'image.tar');
    writeFileSync(archive, await makeDockerArchive([{ layers, repoTags: ['bench/a:1'] }]));
    const scratch = await startRegistry(join(o.dir, 'scratch'));
    servers.push(scratch);
    const seed = join(o.dir, 'seed');
    sh(CAIRN, ['--root', seed, 'load', '-i', archive]);
    sh(CAIRN, ['--root', seed, 'tag', 'bench/a:1', `${scratch.host}/bench/a:1`]);
    sh(CAIRN, ['--root', seed, 'push', `${scratch.host}/bench/a:1`]);
    const layout = join(o.dir, 'layout');
    sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${scratch.host}/bench/a:1`, `oci:${layout}:a`]);
    await scratch.stop();
    const manifest = JSON.parse(sh('skopeo', ['inspect', '--raw', `oci:${layout}:a`])) as { layers: Array<{ size: number }> };
    const bytes = manifest.layers.reduce((s, l) => s + l.size, 0);
    process.stderr.write(`inputs ready: ${(bytes / 1e6).toFixed(0)} MB gzip'd in ${manifest.layers.length} layers\n`);

    const kinds = [
      { name: 'cairn serve', start: (d: string) => startCairnRegistry(d) },
      { name: 'distribution', start: (d: string) => startRegistry(d) },
    ];
    const samples: Record<string, Record<string, number[]>> = {};
    const peaks: Record<string, number[]> = {};
    const add = (step: string, k: string, ms: number): void => void ((samples[step] ??= {})[k] ??= []).push(ms);
    for (let run = 0; run < o.runs; run++) {
      for (const k of run % 2 === 0 ? kinds : [...kinds].reverse()) {
        const dir = join(o.dir, `${k.name.replace(/ /g, '-')}-${run}`);
        const server = await k.start(dir);
        servers.push(server);
        const ref = `docker://${server.host}/bench/a:1`;
        settleDown(o.settle);
        const push: Sample = timed(['skopeo', 'copy', '-q', '--dest-tls-verify=false', `oci:${layout}:a`, ref], process.env, rss);
        add('push', k.name, push.ms);
        const out = join(o.dir, `pull-${run}`);
        rmSync(out, { recursive: true, force: true });
        settleDown(o.settle);
        add('pull', k.name, timed(['skopeo', 'copy', '-q', '--src-tls-verify=false', ref, `oci:${out}:a`], process.env, rss).ms);
        const outs = Array.from({ length: CLIENTS }, (_, i) => join(o.dir, `pulls-${run}-${i}`));
        for (const d of [out, ...outs]) rmSync(d, { recursive: true, force: true });
        settleDown(o.settle);
        add(`${CLIENTS} pulls at once`, k.name, await atOnce(outs.map((d) => ['skopeo', 'copy', '-q', '--src-tls-verify=false', ref, `oci:${d}:a`])));
        for (const d of outs) rmSync(d, { recursive: true, force: true });
        (peaks[k.name] ??= []).push(peakKb(server.pid));
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
        process.stderr.write(`run ${run + 1}/${o.runs} ${k.name}: ${Object.keys(samples).map((s) => `${s} ${(samples[s]![k.name]!.at(-1)! / 1000).toFixed(2)} s`).join(', ')}\n`);
      }
    }

    const names = kinds.map((k) => k.name);
    const mb = (bytes * 1) / 1e6;
    const lines = [
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${o.runs} runs, medians; image ${mb.toFixed(0)} MB gzip'd in ${manifest.layers.length} layers; client skopeo`,
      '',
      `| step | ${names.join(' | ')} | ratio (cairn / distribution) |`,
      `|---|${names.map(() => '---:').join('|')}|---:|`,
    ];
    for (const [step, by] of Object.entries(samples)) {
      const meds = names.map((n) => median(by[n]!));
      const scale = step.startsWith(`${CLIENTS} `) ? CLIENTS : 1;
      lines.push(`| ${step} | ${meds.map((m) => `${(m / 1000).toFixed(2)} s (${((mb * scale) / (m / 1000)).toFixed(0)} MB/s)`).join(' | ')} | ${(meds[0]! / meds[1]!).toFixed(2)}× |`);
    }
    lines.push(`| server peak RSS (max) | ${names.map((n) => `${(Math.max(...peaks[n]!) / 1024).toFixed(0)} MB`).join(' | ')} | |`);
    process.stdout.write(lines.join('\n') + '\n');
    writeFileSync(join(o.dir, 'samples.json'), JSON.stringify({ samples, peaks, bytes }, null, 2));
  } finally {
    for (const s of servers) await s.stop().catch((e: unknown) => process.stderr.write(`bench/serve: stopping a server: ${(e as Error).message}\n`));
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/serve: ${(e as Error).message}\n`);
  process.exit(1);
});
