/**
 * `cairn build -`: what stdin holds, as Docker's CLI decides it (cli/command/image/build
 * DetectArchiveReader: a compressed stream, or one whose first bytes read as a tar header, is
 * an archive; anything else is a Dockerfile with an empty context).
 *
 * An archive — plain, gzip, zstd, bzip2 or xz — is extracted, streamed, into a directory (a
 * scratch directory of the store, removed by the caller) with the safe extractor
 * (container/untar.ts: every entry created below the directory, nothing written outside it or
 * through a symlink). gzip and zstd are decoded in-process (compression/); bzip2 and xz, which
 * Node cannot decode, through the host's `bzip2 -dc` / `xz -dc`.
 */
import { spawn } from 'node:child_process';
import { openSync, constants as fsc } from 'node:fs';
import { detectCompression } from '../compression/index.js';
import { CairnError, InvalidArgumentError, UnsupportedError, errnoCode } from '../errors.js';
import { untarInto } from '../container/untar.js';
import { closeFd } from '../layer/walk.js';
import { checksums, readNumeric } from '../tar/fields.js';

/** What stdin was: an archive (now extracted), or a Dockerfile's text. */
export type StdinContext = { kind: 'archive' } | { kind: 'dockerfile'; text: string };

/** Bytes Docker peeks at to decide (archiveHeaderSize * 2). */
const PEEK = 1024;

type StreamCompression = 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'none';

/** The compression of a stream by its magic number (pkg/archive DetectCompression's formats). */
export function streamCompression(head: Uint8Array): StreamCompression {
  const c = detectCompression(head);
  if (c !== 'none') return c;
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) return 'xz';
  return 'none';
}

/** Whether `head` starts with a valid tar header block (its checksum right). */
export function looksLikeTar(head: Uint8Array): boolean {
  if (head.length < 512) return false;
  const block = head.subarray(0, 512);
  if (block.every((b) => b === 0)) return false;
  const stored = readNumeric(block, 'chksum');
  const { unsigned, signed } = checksums(block);
  return stored === unsigned || stored === signed;
}

/**
 * Read stdin (`input`): extract an archive into `dir`, or return the Dockerfile's text.
 * Nothing of an archive is held in memory beyond its first KiB.
 */
export async function readStdinContext(input: AsyncIterable<Uint8Array>, dir: string): Promise<StdinContext> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let have = 0;
  let ended = false;
  while (have < PEEK) {
    const r = await it.next();
    if (r.done === true) {
      ended = true;
      break;
    }
    const b = Buffer.from(r.value);
    head.push(b);
    have += b.length;
  }
  const first = Buffer.concat(head);
  const compression = streamCompression(first);
  if (compression === 'none' && !looksLikeTar(first)) {
    const rest: Buffer[] = [first];
    if (!ended) for (let r = await it.next(); r.done !== true; r = await it.next()) rest.push(Buffer.from(r.value));
    return { kind: 'dockerfile', text: Buffer.concat(rest).toString('utf8') };
  }
  async function* whole(): AsyncGenerator<Uint8Array> {
    yield first;
    if (ended) return;
    for (let r = await it.next(); r.done !== true; r = await it.next()) yield r.value;
  }
  const tar = compression === 'bzip2' || compression === 'xz' ? external(compression, whole()) : whole();
  let fd: number;
  try {
    fd = openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  } catch (e) {
    throw new CairnError('internal', `cannot open the context directory ${dir}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  try {
    await untarInto(fd, tar, { dest: 'the build context' });
  } catch (e) {
    if (e instanceof CairnError) throw new InvalidArgumentError(`failed to read the build context from stdin: ${e.message}`, { cause: e });
    throw e;
  } finally {
    closeFd(fd);
  }
  return { kind: 'archive' };
}

/** `bytes` decompressed by the host's `bzip2 -dc` or `xz -dc`, streamed both ways. */
async function* external(kind: 'bzip2' | 'xz', bytes: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const child = spawn(kind, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (e) => {
      reject(errnoCode(e) === 'ENOENT' ? new UnsupportedError(`the build context on stdin is ${kind}-compressed and this host has no ${kind} program to decompress it`) : e);
    });
  });
  await spawned;
  const stderr: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? -1)));
  let feedError: unknown;
  const feeding = (async () => {
    try {
      for await (const c of bytes) {
        if (!child.stdin.write(c)) await new Promise<void>((resolve) => child.stdin.once('drain', () => resolve()));
      }
    } catch (e) {
      feedError = e;
    } finally {
      child.stdin.end();
    }
  })();
  // EPIPE when the decompressor stops reading (bad data): its exit status says why.
  child.stdin.on('error', (e) => {
    if (errnoCode(e) !== 'EPIPE') feedError ??= e;
  });
  try {
    for await (const c of child.stdout) yield c as Buffer;
  } finally {
    if (child.exitCode === null) child.kill();
  }
  await feeding;
  if (feedError !== undefined) throw feedError;
  const code = await exited;
  if (code !== 0) throw new InvalidArgumentError(`failed to decompress the build context (${kind}): ${Buffer.concat(stderr).toString().trim() || `exit status ${code}`}`);
}
