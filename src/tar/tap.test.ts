/**
 * The reader's raw-bytes tap: every input byte is reported once, in order, as raw bytes
 * or as the current entry's body, whatever the archive's dialect (PAX local and global,
 * GNU long names and links, no end blocks, extra zero blocks, trailing bytes), however the
 * input is chunked and however much of each body the consumer reads.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { BLOCK } from './fields.js';
import { TarReader, type TarTap } from './reader.js';
import { chunked, paxGlobalHeader, run, tapLog, writeArchive } from './test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-tar-tap-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/**
 * Read `tar` through a tap (chunks of `chunk` bytes), consuming bodies per `consume`
 * ('all', 'half' or 'none', by entry index). Checks the tap's promises against the input
 * and returns the entry names seen.
 */
async function check(tar: Buffer, chunk: number, consume: (i: number) => 'all' | 'half' | 'none' = () => 'all'): Promise<string[]> {
  const log = tapLog();
  const reader = new TarReader(chunked(tar, chunk), { tap: log.tap });
  const names: string[] = [];
  const bodies: Buffer[] = [];
  const dataOffsets: number[] = [];
  let i = 0;
  for await (const e of reader) {
    names.push(e.header.name);
    dataOffsets.push(e.dataOffset);
    const how = consume(i++);
    const got: Buffer[] = [];
    if (how === 'all') for await (const c of e.body) got.push(Buffer.from(c));
    else if (how === 'half') {
      while (e.body.consumed < e.body.size / 2) {
        const c = await e.body.read();
        if (c === null) break;
        got.push(Buffer.from(c));
      }
    }
    bodies.push(Buffer.concat(got));
  }
  assert.ok(log.bytes().equals(tar), `chunk ${chunk}: raw + body bytes reproduce the input`);
  assert.equal(reader.summary.bytesRead, tar.length, 'the reader consumed the whole input');

  // Per entry: its header block was reported raw just before `entry`; then exactly
  // header.size body bytes, equal to what the consumer read (where it read).
  let pos = 0;
  let n = 0;
  for (let k = 0; k < log.events.length; k++) {
    const ev = log.events[k]!;
    if (ev.kind === 'raw') {
      pos += ev.bytes.length;
      continue;
    }
    assert.equal(ev.kind, 'entry', 'a body never comes before its entry');
    if (ev.kind !== 'entry') return names;
    assert.equal(pos, dataOffsets[n], `all header bytes of ${ev.header.name} were reported before it`);
    const parts: Buffer[] = [];
    while (log.events[k + 1]?.kind === 'body') {
      const b = log.events[++k]!;
      if (b.kind === 'body') parts.push(b.bytes);
    }
    const body = Buffer.concat(parts);
    assert.equal(body.length, ev.header.size, `body of ${ev.header.name}`);
    assert.ok(body.equals(tar.subarray(pos, pos + body.length)), `body of ${ev.header.name} at its offset`);
    const seen = bodies[n++]!;
    assert.ok(body.subarray(0, seen.length).equals(seen), `what the consumer read of ${ev.header.name}`);
    pos += body.length;
  }
  assert.equal(n, names.length, 'one entry event per entry');
  return names;
}

test('writer archives with PAX headers, bodies of every padding size and a global header reproduce exactly', async () => {
  const entries: Parameters<typeof writeArchive>[0] = [
    [{ name: 'dir/', type: 'dir', mtime: { sec: 1700000000, nsec: 5 } }],
    [{ name: 'dir/empty' }, Buffer.alloc(0)],
    [{ name: 'dir/one' }, pattern(1, 1)],
    [{ name: 'dir/511' }, pattern(511, 2)],
    [{ name: 'dir/512' }, pattern(512, 3)],
    [{ name: 'dir/513' }, pattern(513, 4)],
    [{ name: `dir/${'long-'.repeat(40)}name`, xattrs: new Map([['user.x', Buffer.from([0, 1, 2])]]) }, pattern(1000, 5)],
    [{ name: 'dir/big' }, pattern(1024 * 1024 + 3, 6)],
    [{ name: 'dir/sym', type: 'symlink', linkname: `${'t/'.repeat(80)}target` }],
    [{ name: 'dir/hard', type: 'hardlink', linkname: 'dir/one' }],
    [{ name: 'dev/null', type: 'char', devmajor: 1, devminor: 3 }],
    [{ name: 'fifo', type: 'fifo' }],
  ];
  const plain = await writeArchive(entries, { paxNanoseconds: true });
  const tar = Buffer.concat([paxGlobalHeader(new Map([['comment', 'hello'], ['SCHILY.xattr.user.g', 'gv']])), plain]);
  for (const chunk of [100, 512, 4096, tar.length]) {
    const names = await check(tar, chunk);
    assert.equal(names.length, entries.length);
  }
  // byte by byte, without the big file
  const small = Buffer.concat([paxGlobalHeader(new Map([['comment', 'x']])), await writeArchive(entries.filter(([h]) => h.name !== 'dir/big'), { paxNanoseconds: true })]);
  assert.equal((await check(small, 1)).length, entries.length - 1);
  // bodies read in part or not at all: the reader's skips are reported as body bytes
  await check(tar, 777, (i) => (i % 3 === 0 ? 'none' : i % 3 === 1 ? 'half' : 'all'));
  await check(tar, 64 * 1024, () => 'none');
});

test('GNU tar archives: long names and links (L/K), record padding after the end marker', async () => {
  const src = join(dir, 'gnu-src');
  const deep = join(src, 'x'.repeat(90), 'y'.repeat(90));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'file-with-a-long-path.txt'), pattern(3000, 7));
  symlinkSync(`../${'z'.repeat(150)}`, join(src, 'longlink'));
  linkSync(join(deep, 'file-with-a-long-path.txt'), join(src, 'hard'));
  for (const format of ['gnu', 'pax'] as const) {
    const tar = run('tar', ['--format', format, '--sort=name', '-C', src, '-cf', '-', '.']);
    assert.equal(tar.length % 10240, 0, 'GNU tar pads to a 10 KiB record');
    const names = await check(tar, 1000);
    assert.ok(names.some((n) => n.endsWith('file-with-a-long-path.txt')));
    if (format === 'gnu') assert.ok(tar.includes(Buffer.from('././@LongLink')), 'the archive really has GNU long names');
  }
});

test('an archive without end blocks or final padding, with extra zero blocks, or with junk after the end', async () => {
  const body = pattern(700, 9);
  const full = await writeArchive([[{ name: 'a' }, body], [{ name: 'b' }, pattern(10, 1)]]);
  const endOfData = full.length - 2 * BLOCK - (BLOCK - 10);
  const variants: Array<[string, Buffer]> = [
    ['no end blocks', full.subarray(0, full.length - 2 * BLOCK)],
    ['no end blocks nor padding (umoci 0.4)', full.subarray(0, endOfData)],
    ['one zero block', full.subarray(0, full.length - BLOCK)],
    ['a partial second zero block', full.subarray(0, full.length - 100)],
    ['extra zero blocks', Buffer.concat([full, Buffer.alloc(7 * BLOCK)])],
    ['junk after the end marker', Buffer.concat([full, Buffer.from('trailing junk, not a block')])],
  ];
  for (const [what, tar] of variants) {
    for (const chunk of [1, 333, tar.length]) {
      const names = await check(tar, chunk);
      assert.deepEqual(names, ['a', 'b'], what);
    }
  }
  // an empty input and an archive of only the end marker
  assert.deepEqual(await check(Buffer.alloc(0), 10), []);
  assert.deepEqual(await check(Buffer.alloc(2 * BLOCK), 10), []);
});

test('an asynchronous tap is awaited; a failing tap stops the reader with its error; a tap forbids drainTrailing: false', async () => {
  const tar = await writeArchive([[{ name: 'a' }, pattern(5000, 2)], [{ name: 'b' }, pattern(3, 3)]]);
  const out: Buffer[] = [];
  let pending = 0;
  const slow: TarTap = {
    raw: async (b) => {
      const copy = Buffer.from(b);
      pending++;
      await new Promise((r) => setImmediate(r));
      pending--;
      out.push(copy);
    },
    body: async (b) => {
      assert.equal(pending, 0, 'the previous call was awaited');
      out.push(Buffer.from(b));
    },
    entry: async () => {
      assert.equal(pending, 0);
    },
  };
  for await (const e of new TarReader(chunked(tar, 700), { tap: slow })) for await (const c of e.body) assert.ok(c.length > 0);
  assert.ok(Buffer.concat(out).equals(tar));

  const failing: TarTap = {
    raw: () => undefined,
    body: () => undefined,
    entry: (h) => {
      if (h.name === 'b') throw new InvalidArgumentError('tap refuses b');
    },
  };
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const e of new TarReader(chunked(tar, 700), { tap: failing })) seen.push(e.header.name);
  }, /tap refuses b/);
  assert.deepEqual(seen, ['a']);

  assert.throws(() => new TarReader([tar], { tap: tapLog().tap, drainTrailing: false }), InvalidArgumentError);
});
