/**
 * One layer unpack with cairn's applier, as a process of its own, for bench/unpack.ts: the
 * benchmark runs it under `/usr/bin/time` so that its wall time includes Node's start-up and
 * module loading (as a CLI command would) and its peak RSS is the whole process's.
 *
 *   node dist/bench/unpack-one.js LAYER DIR [--mode overlay|oci-remove] [--trusted DIGEST,DIFFID]
 *
 * LAYER is a file (tar, gzip or zstd, recognised by content), DIR an existing empty directory.
 * With --trusted the digests are passed as `trusted` (not hashed), as cairn's store does when
 * it unpacks a blob its content store verified on the way in; without, both are computed.
 * Prints one JSON line: the applier's result, `applyMs` (applyLayer alone, from opening the
 * file to the last directory time set), `startMs` (process start to the call: Node's
 * bootstrap and this script's imports), and the largest anonymous and file-backed resident
 * memory seen (`peakAnonKb`, `peakFileKb`: /proc/self/status sampled every 10 ms and at the
 * end). The split matters because the peak RSS that `/usr/bin/time` reports also counts the
 * mapped pages of the node binary, which vary between runs of the same command; the
 * anonymous part is what the applier allocates.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { applyLayer, type ApplyOptions, type WhiteoutMode } from '../src/layer/apply.js';
import type { Digest } from '../src/digest/digest.js';

/** RssAnon and RssFile of this process, in kB. */
function rss(): { anon: number; file: number } {
  const status = readFileSync('/proc/self/status', 'latin1');
  const field = (k: string): number => Number(status.match(new RegExp(`^${k}:\\s*(\\d+) kB`, 'm'))?.[1] ?? NaN);
  return { anon: field('RssAnon'), file: field('RssFile') };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let mode: WhiteoutMode = 'overlay';
  let trusted: ApplyOptions['trusted'];
  const pos: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--mode') {
      const m = args[++i];
      if (m !== 'overlay' && m !== 'oci-remove') throw new Error('--mode overlay|oci-remove');
      mode = m;
    } else if (a === '--trusted') {
      const [digest, diffId] = (args[++i] ?? '').split(',');
      if (!digest || !diffId) throw new Error('--trusted DIGEST,DIFFID');
      trusted = { digest: digest as Digest, diffId: diffId as Digest };
    } else pos.push(a);
  }
  if (pos.length !== 2) throw new Error('usage: unpack-one.js LAYER DIR [--mode overlay|oci-remove] [--trusted DIGEST,DIFFID]');
  const [layer, dir] = pos as [string, string];
  let peakAnonKb = 0;
  let peakFileKb = 0;
  const sample = (): void => {
    const m = rss();
    peakAnonKb = Math.max(peakAnonKb, m.anon);
    peakFileKb = Math.max(peakFileKb, m.file);
  };
  const timer = setInterval(sample, 10);
  const startMs = performance.now();
  const r = await applyLayer({ dir, whiteoutMode: mode }, createReadStream(layer, { highWaterMark: 1 << 20 }), { what: layer, ...(trusted ? { trusted } : {}) });
  const applyMs = performance.now() - startMs;
  clearInterval(timer);
  sample();
  process.stdout.write(`${JSON.stringify({ ...r, startMs, applyMs, peakAnonKb, peakFileKb })}\n`);
}

await main();
