/**
 * Test helpers for the tar codec (used only by *.test.ts): build archives in memory with
 * TarWriter, read them back fully, feed bytes in odd-sized chunks, run external tools.
 */
import { spawnSync } from 'node:child_process';
import { BLOCK, writeChecksum } from './fields.js';
import { formatPaxRecords } from './pax.js';
import { readTar, type TarEntry, type TarReadOptions, type TarTap } from './reader.js';
import type { TarHeader } from './types.js';
import { encodeHeader, TarWriter, type TarBodyInput, type TarWriteHeader, type TarWriterOptions } from './writer.js';
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

/** A PAX global ('g') header with its data blocks, as GNU tar and Python write one at the start of an archive. */
export function paxGlobalHeader(records: Map<string, string | Uint8Array>): Buffer {
  const data = formatPaxRecords(records);
  const { blocks } = encodeHeader({ name: 'pax_global_header', size: data.length, mtime: 0 });
  const h = Buffer.from(blocks);
  h[156] = 0x67; // 'g'
  writeChecksum(h);
  return Buffer.concat([h, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);
}

/** Every byte a tap reported, as events in order (raw and body bytes copied). */
export interface TapLog {
  tap: TarTap;
  events: Array<{ kind: 'raw' | 'body'; bytes: Buffer } | { kind: 'entry'; header: TarHeader }>;
  /** raw and body bytes concatenated. */
  bytes(): Buffer;
}

export function tapLog(): TapLog {
  const events: TapLog['events'] = [];
  return {
    events,
    tap: {
      raw: (b) => void events.push({ kind: 'raw', bytes: Buffer.from(b) }),
      body: (b) => void events.push({ kind: 'body', bytes: Buffer.from(b) }),
      entry: (header) => void events.push({ kind: 'entry', header }),
    },
    bytes: () => Buffer.concat(events.flatMap((e) => (e.kind === 'entry' ? [] : [e.bytes]))),
  };
}
