/**
 * tar-split cost and speed on one layer tar (uncompressed):
 *
 *   node dist/bench/tarsplit.js LAYER [--runs N] [--mode overlay|oci-remove] [--level 1..9]
 *
 * Per run, each step after `sync; echo 1 > /proc/sys/vm/drop_caches` (this disk is slow right
 * after deletions, so every step starts cold alike):
 *   apply      applyLayer (trusted digests, as the store unpacks) into a fresh directory
 *   apply+rec  the same with a TarSplitRecorder on the tap (record written to a file)
 *   reemit     reassembleTar from that directory and record, hashed (diffID checked)
 *   read blob  reading the layer file itself and hashing it: what `save` does today
 * Prints medians (ms, MB/s of tar bytes) and the record's size. Run as root.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';

import { digestStream, type Digest } from '../src/digest/digest.js';
import { applyLayer, type WhiteoutMode } from '../src/layer/apply.js';
import { reassembleTar, TarSplitRecorder } from '../src/layer/tarsplit.js';

function dropCaches(): void {
  spawnSync('sync');
  spawnSync('sh', ['-c', 'echo 1 > /proc/sys/vm/drop_caches']);
}

function rmrf(p: string): void {
  const r = spawnSync('rm', ['-rf', '--one-file-system', p]);
  if (r.status !== 0) throw new Error(`rm -rf ${p}: ${r.stderr.toString()}`);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let runs = 5;
  let mode: WhiteoutMode = 'overlay';
  let level = 1;
  const pos: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--runs') runs = Number(args[++i]);
    else if (a === '--mode') mode = args[++i] as WhiteoutMode;
    else if (a === '--level') level = Number(args[++i]);
    else pos.push(a);
  }
  if (pos.length !== 1) throw new Error('usage: tarsplit.js LAYER [--runs N] [--mode overlay|oci-remove] [--level 1..9]');
  const layer = pos[0]!;
  const size = statSync(layer).size;
  const { digest } = await digestStream(createReadStream(layer));
  const diffId: Digest = digest;
  const trusted = { digest, diffId };
  const work = mkdtempSync(join(tmpdir(), 'cairn-bench-tarsplit-'));
  const t: Record<string, number[]> = { apply: [], 'apply+rec': [], reemit: [], 'read blob': [] };
  let recordBytes = 0;
  try {
    for (let r = 0; r < runs; r++) {
      const plain = join(work, `plain-${r}`);
      const withRec = join(work, `rec-${r}`);
      const record = join(work, `record-${r}.gz`);
      spawnSync('mkdir', [plain, withRec]);

      dropCaches();
      let s = performance.now();
      await applyLayer({ dir: plain, whiteoutMode: mode }, createReadStream(layer, { highWaterMark: 1 << 20 }), { trusted });
      t.apply!.push(performance.now() - s);

      dropCaches();
      s = performance.now();
      const rec = new TarSplitRecorder((out) => pipeline(out, createWriteStream(record)), { level });
      await applyLayer({ dir: withRec, whiteoutMode: mode }, createReadStream(layer, { highWaterMark: 1 << 20 }), { trusted, tap: rec.tap });
      const res = await rec.finish();
      t['apply+rec']!.push(performance.now() - s);
      if (!res.reproducible) throw new Error(`not reproducible: ${res.reason}`);
      recordBytes = statSync(record).size;

      dropCaches();
      s = performance.now();
      await digestStream(reassembleTar(createReadStream(record), withRec, { expectedDiffId: diffId }));
      t.reemit!.push(performance.now() - s);

      dropCaches();
      s = performance.now();
      await digestStream(createReadStream(layer, { highWaterMark: 1 << 20 }));
      t['read blob']!.push(performance.now() - s);

      rmrf(plain);
      rmrf(withRec);
    }
  } finally {
    rmrf(work);
  }
  const entries = Number(spawnSync('sh', ['-c', `tar -tf '${layer}' | wc -l`]).stdout.toString().trim());
  console.log(`layer ${layer}: ${(size / 1e6).toFixed(1)} MB, ${entries} entries; mode ${mode}; ${runs} runs; record ${recordBytes} bytes (gzip -${level})`);
  for (const [k, xs] of Object.entries(t)) {
    const m = median(xs);
    console.log(`${k.padEnd(10)} ${m.toFixed(0).padStart(6)} ms  ${(size / 1e6 / (m / 1000)).toFixed(0).padStart(5)} MB/s`);
  }
}

await main();
