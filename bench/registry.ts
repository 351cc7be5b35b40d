/**
 * Benchmark (issue 10): pull and push through a loopback Distribution registry, cairn beside
 * docker 20.10, podman and skopeo in the same run.
 *
 * The image: the Debian minbase root filesystem (bench/unpack.ts makes it: debootstrap) plus
 * five layers of 25 MB of incompressible data — ~250 MB — and a second image sharing the
 * Debian base with one 5 MB layer of its own. They are loaded into a seed cairn store from a
 * docker-archive and pushed (gzip'd on the way) to a registry that every pull reads from.
 *
 * Steps, per engine, the engines rotated from run to run, caches dropped before every timed
 * step (`sync; echo 1 > /proc/sys/vm/drop_caches`) and a few seconds of quiet before it:
 *   - pull: the 250 MB image into an empty store (docker: its layers removed first; skopeo:
 *     `copy docker://… oci:DIR`, blobs only, no unpacking);
 *   - pull 2nd: then the second image (only its own layer is new);
 *   - push: the 250 MB image from the engine's store to a new, empty registry (a fresh
 *     docker-registry on its own port): docker and podman compress the layers they hold
 *     uncompressed; skopeo copies its OCI layout's gzip'd blobs as they are; cairn twice —
 *     "cairn push" from the store it pulled into (the compressed blobs are kept, so nothing is
 *     compressed) and "cairn push (compressing)" from the seed store, where the layers were
 *     loaded uncompressed and are gzip'd while they upload;
 *   - push 2nd: then the second image to the same registry.
 * skopeo pushes twice too: from its OCI layout (blobs as they are) and "skopeo (compressing)" from
 * the docker-archive, gzip'ing the layers on the way as cairn's compressing push does. The size of
 * image A's layers as each engine pushed them is reported (their compression differs). A last
 * column, "registry floor (curl)", times the registry alone taking image A's gzip'd layers from
 * curl (three at once, nothing read, compressed or hashed by the client): no push of those bytes
 * to that registry on this machine can be faster.
 *
 * Prints Markdown tables; every sample goes to a JSON file. Run as root, after
 * `node dist/bench/unpack.js --only import` has made the Debian tar:
 *
 *   node dist/bench/registry.js [--runs 3] [--dir /var/tmp/cairn-bench-registry] [--json FILE]
 *                               [--settle 3] [--no-docker]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs as parseArgsUtil } from 'node:util';
import { performance } from 'node:perf_hooks';
import { makeDockerArchive, makeTar } from '../test/helpers.js';
import { DOCKER, ensureDockerd, type DockerDaemon } from '../test/docker.js';
import { startRegistry, type Registry } from '../test/registry.js';
import { dockerImagesHolding, median, pseudoRandom, settleDown, sh, timed, type Sample } from './common.js';

const REPO = new URL('../../', import.meta.url).pathname;
const CAIRN = join(REPO, 'bin', 'cairn');
const DEBIAN_TAR = '/var/tmp/cairn-bench-unpack/debian.tar';

interface Options {
  runs: number;
  dir: string;
  json: string;
  settle: number;
  docker: boolean;
}

function parseArgs(argv: string[]): Options {
  const { values } = parseArgsUtil({
    args: argv,
    options: {
      runs: { type: 'string', default: '3' },
      dir: { type: 'string', default: '/var/tmp/cairn-bench-registry' },
      json: { type: 'string', default: '/var/tmp/cairn-bench-registry.json' },
      settle: { type: 'string', default: '3' },
      'no-docker': { type: 'boolean', default: false },
    },
  });
  return { runs: Number(values.runs), dir: values.dir, json: values.json, settle: Number(values.settle), docker: !values['no-docker'] };
}

interface Engine {
  name: string;
  /** Make the engine's store empty (of these images) before a pull. */
  reset(dir: string): void;
  pull(dir: string, ref: string): string[];
  push(dir: string, local: string, remote: string): string[];
  /** Name `remote` for the local image `local` (before a push), if the engine needs it. */
  tag?(dir: string, local: string, remote: string): void;
}

const podmanArgs = (dir: string): string[] => ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--storage-driver', 'overlay', '--events-backend', 'none'];

/** The name of an image in skopeo's OCI layout: repository and tag (both images are tagged 1). */
const layoutTag = (ref: string): string => ref.split('/').pop()!.replace(':', '-');

/** The column of the registry's ingest floor (see floorScript). */
const FLOOR = 'registry floor (curl)';

/** The files of image `tag`'s layers in skopeo's OCI layout `dir`, with their digests. */
function layoutLayers(dir: string, tag: string): Array<{ digest: string; file: string }> {
  const blob = (d: string): string => join(dir, 'blobs', ...d.split(':'));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const m = index.manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (m === undefined) throw new Error(`${tag} is not in the OCI layout ${dir}`);
  const manifest = JSON.parse(readFileSync(blob(m.digest), 'utf8')) as { layers: Array<{ digest: string }> };
  return manifest.layers.map((l) => ({ digest: l.digest, file: blob(l.digest) }));
}

/**
 * What a push cannot go below on this machine: the registry taking the layers' bytes, with no
 * client work beside it — curl, three uploads at once (as the engines), each a POST for an upload
 * URL and one PUT of the file (-T streams it) with its digest.
 */
function floorScript(host: string, layers: Array<{ digest: string; file: string }>): string {
  const up = [
    'up() {',
    `  loc=$(curl -sf -D - -o /dev/null -X POST "http://${host}/v2/floor/x/blobs/uploads/" | tr -d '\\r' | sed -n 's/^location: //Ip')`,
    `  case $loc in http*) ;; *) loc="http://${host}$loc" ;; esac`,
    '  case $loc in *\\?*) sep="&" ;; *) sep="?" ;; esac',
    '  curl -sf -o /dev/null -X PUT -H "Content-Type: application/octet-stream" -T "$2" "$loc${sep}digest=$1"',
    '}',
  ].join('\n');
  const lines = layers.map((l) => `${l.digest} ${l.file}`).join('\n');
  return `set -eo pipefail\n${up}\nexport -f up\nprintf '%s\\n' '${lines.replace(/\n/g, "' '")}' | xargs -P 3 -L 1 bash -c 'up "$0" "$1"'`;
}

function engines(o: Options, benchLayers: Set<string>): Engine[] {
  const list: Engine[] = [
    {
      name: 'cairn',
      reset: (dir) => rmSync(dir, { recursive: true, force: true }),
      pull: (dir, ref) => [CAIRN, '--root', dir, 'pull', ref],
      push: (dir, local, remote) => [CAIRN, '--root', dir, 'push', remote],
      tag: (dir, local, remote) => void sh(CAIRN, ['--root', dir, 'tag', local, remote]),
    },
    {
      name: 'podman',
      reset: (dir) => {
        if (existsSync(join(dir, 'root'))) spawnSync('podman', [...podmanArgs(dir), 'system', 'reset', '-f'], { stdio: 'ignore' });
        rmSync(dir, { recursive: true, force: true });
      },
      pull: (dir, ref) => ['podman', ...podmanArgs(dir), 'pull', '-q', '--tls-verify=false', ref],
      push: (dir, local, remote) => ['podman', ...podmanArgs(dir), 'push', '-q', '--tls-verify=false', local, `docker://${remote}`],
    },
    {
      name: 'skopeo',
      reset: (dir) => rmSync(dir, { recursive: true, force: true }),
      pull: (dir, ref) => ['skopeo', 'copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}:${layoutTag(ref)}`],
      push: (dir, local, remote) => ['skopeo', 'copy', '-q', '--dest-tls-verify=false', `oci:${dir}:${layoutTag(local)}`, `docker://${remote}`],
    },
  ];
  if (o.docker) {
    list.push({
      name: 'docker',
      reset: () => {
        for (const line of sh(DOCKER, ['images', '--format', '{{.Repository}}:{{.Tag}}']).split('\n')) {
          if (line.includes('/bench/reg-')) spawnSync(DOCKER, ['rmi', '-f', line], { stdio: 'ignore' });
        }
        // any other image on the same layers (untagged ones included) goes too, or the pull reuses them
        for (const id of dockerImagesHolding(benchLayers)) spawnSync(DOCKER, ['rmi', '-f', id], { stdio: 'ignore' });
        const left = dockerImagesHolding(benchLayers);
        if (left.length > 0) throw new Error(`docker still holds the benchmark's layers in ${left.join(', ')} (a container using them?): its pull would not download them`);
      },
      pull: (_dir, ref) => [DOCKER, 'pull', '-q', ref],
      push: (_dir, _local, remote) => [DOCKER, 'push', remote],
      tag: (_dir, local, remote) => void sh(DOCKER, ['tag', local, remote]),
    });
  }
  return list;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root (drop_caches, docker)');
  if (!existsSync(DEBIAN_TAR)) throw new Error(`${DEBIAN_TAR} is missing: run node dist/bench/unpack.js --only import first (it makes it with debootstrap)`);
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(o.dir, { recursive: true });
  const rss = join(o.dir, 'time.txt');
  let daemon: DockerDaemon | undefined;
  const registries: Registry[] = [];
  let es: Engine[] = [];
  try {
    if (o.docker) daemon = await ensureDockerd();
    // --- inputs
    const t0 = performance.now();
    const debian = readFileSync(DEBIAN_TAR);
    const layers = [];
    for (let i = 0; i < 5; i++) layers.push(await makeTar([{ path: `data/layer-${i}.bin`, content: pseudoRandom(25 << 20, i) }]));
    const own = await makeTar([{ path: 'data/second.bin', content: pseudoRandom(5 << 20, 99) }]);
    const archive = join(o.dir, 'images.tar');
    writeFileSync(archive, await makeDockerArchive([
      { layers: [debian, ...layers], repoTags: ['bench/reg-a:1'] },
      { layers: [debian, own], repoTags: ['bench/reg-b:1'] },
    ]));
    const source = await startRegistry(join(o.dir, 'registry-source'));
    registries.push(source);
    const seed = join(o.dir, 'seed');
    sh(CAIRN, ['--root', seed, 'load', '-i', archive]);
    const A = `${source.host}/bench/reg-a:1`;
    const B = `${source.host}/bench/reg-b:1`;
    for (const [l, r] of [['bench/reg-a:1', A], ['bench/reg-b:1', B]] as const) {
      sh(CAIRN, ['--root', seed, 'tag', l, r]);
      sh(CAIRN, ['--root', seed, 'push', r]);
    }
    const aBytes = JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${A}`])) as { layers: Array<{ size: number }> };
    const compressed = aBytes.layers.reduce((s, l) => s + l.size, 0);
    process.stderr.write(`inputs ready in ${((performance.now() - t0) / 1000).toFixed(0)} s: image A ${(compressed / 1e6).toFixed(0)} MB compressed in ${aBytes.layers.length} layers\n`);

    // the diffIDs of the benchmark's layers (the tars are uncompressed: their sha256)
    const benchLayers = new Set([debian, ...layers, own].map((t) => `sha256:${createHash('sha256').update(t).digest('hex')}`));
    es = engines(o, benchLayers);
    const samples: Record<string, Record<string, Sample[]>> = {};
    const add = (step: string, engine: string, s: Sample): void => void ((samples[step] ??= {})[engine] ??= []).push(s);
    // bytes of image A's layers as each engine pushed them (its compression)
    const pushedBytes: Record<string, number> = {};
    const pushed = (engine: string, host: string): void => {
      const m = JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${host}/bench/reg-a:1`])) as { layers: Array<{ size: number }> };
      pushedBytes[engine] = m.layers.reduce((n, l) => n + l.size, 0);
    };
    for (let run = 0; run < o.runs; run++) {
      const order = es.map((_, i) => es[(i + run) % es.length]!);
      for (const e of order) {
        const dir = join(o.dir, `store-${e.name}`);
        e.reset(dir);
        settleDown(o.settle);
        add('pull', e.name, timed(e.pull(dir, A), process.env, rss));
        settleDown(o.settle);
        add('pull 2nd', e.name, timed(e.pull(dir, B), process.env, rss));
        // push to a new, empty registry
        const target = await startRegistry(join(o.dir, `registry-${e.name}-${run}`));
        registries.push(target);
        const pA = `${target.host}/bench/reg-a:1`;
        const pB = `${target.host}/bench/reg-b:1`;
        e.tag?.(dir, A, pA);
        e.tag?.(dir, B, pB);
        settleDown(o.settle);
        add('push', e.name, timed(e.push(dir, A, pA), process.env, rss));
        pushed(e.name, target.host);
        settleDown(o.settle);
        add('push 2nd', e.name, timed(e.push(dir, B, pB), process.env, rss));
        await target.stop();
        rmSync(target.dir, { recursive: true, force: true });
        if (e.name === 'cairn') {
          // the same pushes from the seed store, where the layers are held uncompressed
          const t2 = await startRegistry(join(o.dir, `registry-cairn-seed-${run}`));
          registries.push(t2);
          sh(CAIRN, ['--root', seed, 'tag', 'bench/reg-a:1', `${t2.host}/bench/reg-a:1`]);
          sh(CAIRN, ['--root', seed, 'tag', 'bench/reg-b:1', `${t2.host}/bench/reg-b:1`]);
          settleDown(o.settle);
          add('push', 'cairn (compressing)', timed([CAIRN, '--root', seed, 'push', `${t2.host}/bench/reg-a:1`], process.env, rss));
          pushed('cairn (compressing)', t2.host);
          settleDown(o.settle);
          add('push 2nd', 'cairn (compressing)', timed([CAIRN, '--root', seed, 'push', `${t2.host}/bench/reg-b:1`], process.env, rss));
          await t2.stop();
          rmSync(t2.dir, { recursive: true, force: true });
        }
        if (e.name === 'skopeo') {
          // skopeo from the docker-archive, whose layers are uncompressed: it gzips them on the way
          // (containers/image's pgzip), as cairn's compressing push does from the seed store
          const t2 = await startRegistry(join(o.dir, `registry-skopeo-archive-${run}`));
          registries.push(t2);
          for (const [step, name] of [['push', 'bench/reg-a:1'], ['push 2nd', 'bench/reg-b:1']] as const) {
            settleDown(o.settle);
            add(step, 'skopeo (compressing)', timed(['skopeo', 'copy', '-q', '--dest-tls-verify=false', `docker-archive:${archive}:${name}`, `docker://${t2.host}/${name}`], process.env, rss));
            if (step === 'push') pushed('skopeo (compressing)', t2.host);
          }
          await t2.stop();
          rmSync(t2.dir, { recursive: true, force: true });
          // the registry's own floor: image A's gzip'd layers sent by curl, 3 at once, nothing else
          const t3 = await startRegistry(join(o.dir, `registry-floor-${run}`));
          registries.push(t3);
          settleDown(o.settle);
          add('push', FLOOR, timed(['bash', '-c', floorScript(t3.host, layoutLayers(dir, layoutTag(A)))], process.env, rss));
          await t3.stop();
          rmSync(t3.dir, { recursive: true, force: true });
        }
        process.stderr.write(`run ${run + 1}/${o.runs} ${e.name}: ${['pull', 'pull 2nd', 'push', 'push 2nd'].map((s) => `${s} ${(samples[s]![e.name]!.at(-1)!.ms / 1000).toFixed(2)} s`).join(', ')}\n`);
      }
    }

    // --- report
    const names = [...new Set(Object.values(samples).flatMap((s) => Object.keys(s)))];
    const lines = [
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${o.runs} runs, medians; image A ${(compressed / 1e6).toFixed(0)} MB gzip'd in ${aBytes.layers.length} layers`,
      '',
      `| step | ${names.join(' | ')} |`,
      `|---|${names.map(() => '---:').join('|')}|`,
    ];
    for (const [step, by] of Object.entries(samples)) {
      lines.push(`| ${step} | ${names.map((n) => (by[n] ? `${(median(by[n]!.map((s) => s.ms)) / 1000).toFixed(2)} s` : '—')).join(' | ')} |`);
    }
    lines.push(`| peak RSS (max) | ${names.map((n) => {
      const all = Object.values(samples).flatMap((by) => by[n] ?? []);
      return all.length ? `${(Math.max(...all.map((s) => s.rssKb)) / 1024).toFixed(0)} MB` : '—';
    }).join(' | ')} |`);
    lines.push(`| image A as pushed | ${names.map((n) => (pushedBytes[n] !== undefined ? `${(pushedBytes[n]! / 1e6).toFixed(1)} MB` : '—')).join(' | ')} |`);
    lines.push('', `| ratio (cairn / peer, medians) | vs docker | vs podman | vs skopeo | vs skopeo (compressing) | vs ${FLOOR} |`, '|---|---:|---:|---:|---:|---:|');
    for (const [step, by] of Object.entries(samples)) {
      for (const c of ['cairn', 'cairn (compressing)']) {
        if (!by[c]) continue;
        const m = median(by[c]!.map((s) => s.ms));
        const r = (p: string): string => (by[p] ? (m / median(by[p]!.map((s) => s.ms))).toFixed(2) : '—');
        lines.push(`| ${step}: ${c} | ${r('docker')} | ${r('podman')} | ${r('skopeo')} | ${r('skopeo (compressing)')} | ${r(FLOOR)} |`);
      }
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    writeFileSync(o.json, JSON.stringify({ options: o, compressedBytes: compressed, samples }, null, 2));
  } finally {
    for (const r of registries) await r.stop().catch(() => undefined);
    for (const e of es) if (e.name === 'docker') e.reset('');
    await daemon?.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
