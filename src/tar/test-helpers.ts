/**
 * Test helpers for the tar codec (used only by *.test.ts): build archives in memory with
 * TarWriter, read them back fully, feed bytes in odd-sized chunks, run external tools.
 */
import { spawnSync } from 'node:child_process';
import { readTar, type TarEntry, type TarReadOptions } from './reader.js';
import { TarWriter, type TarBodyInput, type TarWriteHeader, type TarWriterOptions } from './writer.js';
import type { ByteInput } from './source.js';

export async function writeArchive(entries: Array<[TarWriteHeader, TarBodyInput?]>, opts: TarWriterOptions = {}): Promise<Buffer> {
  const w = new TarWriter(opts);
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of w) chunks.push(c as Buffer);
  })();
  for (const [h, b] of entries) await w.add(h, b);
  await w.finish();
  await collected;
  return Buffer.concat(chunks);
}

export interface ReadBack {
  header: TarEntry['header'];
  headerOffset: number;
  dataOffset: number;
  body: Buffer;
}

export async function readArchive(input: ByteInput, opts: TarReadOptions = {}): Promise<ReadBack[]> {
  const out: ReadBack[] = [];
  for await (const e of readTar(input, opts)) {
    const parts: Buffer[] = [];
    for await (const c of e.body) parts.push(Buffer.from(c));
    out.push({ header: e.header, headerOffset: e.headerOffset, dataOffset: e.dataOffset, body: Buffer.concat(parts) });
  }
  return out;
}

/** Yield `buf` in chunks of `size` bytes (views). */
export function* chunked(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** Run a command synchronously; throws with stderr on failure. */
export function run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): Buffer {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}`);
  return r.stdout;
}
