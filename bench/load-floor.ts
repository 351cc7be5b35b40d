/**
 * A floor under `load` in Node, for the images benchmark's load row: the least work any Node
 * program that loads the ~250 MB archive must do — read the archive once (1 MiB reads), hash
 * every byte (sha256 on libuv's pool, as cairn hashes each layer) and write every byte into
 * files of 10 MiB (what the layers hold) under OUT, with four writes in flight. No tar
 * parsing, no store, no metadata. `node dist/bench/load-floor.js ARCHIVE OUT` prints the digest.
 * Its time beside skopeo's tells how far below skopeo a Node process doing this work can go on
 * this machine.
 */
import { closeSync, createReadStream, mkdirSync, openSync, write } from 'node:fs';
import { join } from 'node:path';
import { PoolDigester } from '../src/digest/pool.js';

const FILE_BYTES = 10 << 20;

async function main(): Promise<void> {
  const [archive, out] = process.argv.slice(2);
  if (archive === undefined || out === undefined) throw new Error('usage: load-floor ARCHIVE OUT');
  mkdirSync(out, { recursive: true });
  const digest = new PoolDigester();
  const pwrite = (fd: number, b: Buffer, pos: number) => new Promise<void>((res, rej) => write(fd, b, 0, b.length, pos, (e) => (e ? rej(e) : res())));
  let fd = -1;
  let files = 0;
  let left = 0;
  let inFlight: Promise<void>[] = [];
  for await (const c of createReadStream(archive, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const room = digest.update(c);
    if (room !== undefined) await room;
    let off = 0;
    while (off < c.length) {
      if (left === 0) {
        await Promise.all(inFlight);
        inFlight = [];
        if (fd >= 0) closeSync(fd);
        fd = openSync(join(out, `f${files++}`), 'w', 0o644);
        left = FILE_BYTES;
      }
      const n = Math.min(left, c.length - off);
      inFlight.push(pwrite(fd, c.subarray(off, off + n), FILE_BYTES - left));
      if (inFlight.length >= 4) await inFlight.shift();
      left -= n;
      off += n;
    }
  }
  await Promise.all(inFlight);
  if (fd >= 0) closeSync(fd);
  process.stdout.write(`${await digest.digest()}\n`);
}

await main();
