import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { DataCorruptError } from '../errors.js';
import { parseLogRecord, readLog, writeLogLines, type LogLine, type LogStream, type ReadLogOptions } from './logfile.js';
import { formatLogTime } from './logtime.js';

const T0 = 1_800_000_000n * 1_000_000_000n;

/** A k8s-file record as conmon writes it (zone +00:00, nine digits). */
function rec(i: number, stream: LogStream, tag: 'P' | 'F', message: string): string {
  const t = formatLogTime(T0 + BigInt(i) * 1_000_000n).replace('Z', '+00:00');
  return `${t} ${stream} ${tag} ${message}\n`;
}

async function lines(path: string, opts?: ReadLogOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLog(path, opts)) out.push(`${l.stream}:${l.line.toString()}${l.partial ? '…' : ''}`);
  return out;
}

/** Deterministic pseudo-random numbers. */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

describe('k8s-file records', () => {
  it('parses time, stream, tag and message', () => {
    const r = parseLogRecord(Buffer.from('2026-12-04T23:19:08.895767234+00:00 stderr P half a li'))!;
    assert.equal(r.stream, 'stderr');
    assert.equal(r.partial, true);
    assert.equal(r.message.toString(), 'half a li');
    assert.equal(formatLogTime(r.unixNano), '2026-12-04T23:19:08.895767234Z');
    const empty = parseLogRecord(Buffer.from('2026-12-04T23:19:08.895767234+01:00 stdout F '))!;
    assert.equal(empty.message.length, 0);
    assert.equal(formatLogTime(empty.unixNano), '2026-12-04T22:19:08.895767234Z');
    assert.equal(parseLogRecord(Buffer.from('2026-12-04T23:19:08.895767234+00:00 stdout F a  b \r'))!.message.toString(), 'a  b \r');
    for (const bad of ['', 'x stdout F a', '2026-12-04T23:19:08Z stdin F a', '2026-12-04T23:19:08Z stdout X a', '2026-12-04T23:19:08Z stdout Fa']) {
      assert.equal(parseLogRecord(Buffer.from(bad)), undefined, bad);
    }
  });
});

describe('readLog', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-logfile-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const file = (text: string) => {
    const p = join(dir, `log-${++n}`);
    writeFileSync(p, text);
    return p;
  };

  it('joins pieces per stream, in the order lines were completed; an unfinished line ends as partial', async () => {
    const p = file(rec(1, 'stdout', 'P', 'hel') + rec(2, 'stderr', 'F', 'oops') + rec(3, 'stdout', 'P', 'lo ') + rec(4, 'stdout', 'F', 'world') + rec(5, 'stderr', 'P', 'no end'));
    assert.deepEqual(await lines(p), ['stderr:oops', 'stdout:hello world', 'stderr:no end…']);
    const first: LogLine[] = [];
    for await (const l of readLog(p)) first.push(l);
    assert.equal(first[1]!.unixNano, T0 + 1_000_000n, "a joined line has its first piece's time");
  });

  it('a missing file is an empty log; a record that is not k8s-file is an error; an unfinished last record is not read', async () => {
    assert.deepEqual(await lines(join(dir, 'absent')), []);
    await assert.rejects(lines(file(rec(1, 'stdout', 'F', 'ok') + 'garbage\n')), DataCorruptError);
    assert.deepEqual(await lines(file(rec(1, 'stdout', 'F', 'ok') + rec(2, 'stdout', 'F', 'half').slice(0, 30))), ['stdout:ok']);
  });

  it('hands out a very long line in parts', async () => {
    const p = file(rec(1, 'stdout', 'P', 'a'.repeat(600)) + rec(2, 'stdout', 'P', 'b'.repeat(600)) + rec(3, 'stdout', 'F', 'c'));
    const got: LogLine[] = [];
    for await (const l of readLog(p, { maxLineBytes: 1000 })) got.push(l);
    assert.deepEqual(got.map((l) => [l.line.length, l.partial]), [[1200, true], [1, false]]);
  });

  it('reads a log of many chunks whole, as it was when reading began: lines appended meanwhile are not shown, with or without --tail', async () => {
    // 10,000 lines, ~600 KB: many 64 KiB chunks and batches of lines
    let text = '';
    for (let i = 0; i < 10_000; i++) text += rec(i, i % 3 === 0 ? 'stderr' : 'stdout', 'F', `line ${i}`);
    const expected = Array.from({ length: 10_000 }, (_, i) => `${i % 3 === 0 ? 'stderr' : 'stdout'}:line ${i}`);
    for (const tail of [undefined, 6_000]) {
      const p = file(text);
      const got: string[] = [];
      for await (const l of readLog(p, tail === undefined ? {} : { tail })) {
        // the container writes on while `logs` reads
        if (got.length === 0) for (let i = 0; i < 100; i++) appendFileSync(p, rec(20_000 + i, 'stdout', 'F', `later ${i}`));
        got.push(`${l.stream}:${l.line.toString()}`);
      }
      assert.deepEqual(got, tail === undefined ? expected : expected.slice(-tail), `tail ${tail}`);
    }
  });

  it('--tail N gives the last N lines, read from the end, pieces interleaved across streams included', async () => {
    const rand = prng(7);
    for (let round = 0; round < 40; round++) {
      // Lines of both streams, some in pieces, the pieces of one stream interleaved with the other's records.
      let text = '';
      let i = 0;
      const open: Record<LogStream, boolean> = { stdout: false, stderr: false };
      const count = 1 + Math.floor(rand() * 60);
      for (let k = 0; k < count; k++) {
        const stream: LogStream = rand() < 0.5 ? 'stdout' : 'stderr';
        const piece = rand() < 0.3;
        text += rec(++i, stream, piece ? 'P' : 'F', `${stream}-${k}-${'x'.repeat(Math.floor(rand() * (round % 4 === 0 ? 70_000 : 40)))}`);
        open[stream] = piece;
      }
      for (const s of ['stdout', 'stderr'] as const) if (open[s]) text += rec(++i, s, 'F', 'end');
      const p = file(text);
      const all = await lines(p);
      for (const tail of [0, 1, 2, 3, 5, 17, all.length, all.length + 3]) {
        assert.deepEqual(await lines(p, { tail }), tail === 0 ? [] : all.slice(-tail), `round ${round}, tail ${tail}`);
      }
      rmSync(p);
    }
  });

  it('--since and --until by the time of each line', async () => {
    const p = file([1, 2, 3, 4, 5].map((i) => rec(i * 10, i % 2 ? 'stdout' : 'stderr', 'F', `l${i}`)).join(''));
    const at = (i: number) => T0 + BigInt(i * 10) * 1_000_000n;
    assert.deepEqual(await lines(p, { since: at(3) }), ['stdout:l3', 'stderr:l4', 'stdout:l5']);
    assert.deepEqual(await lines(p, { since: at(3) + 1n }), ['stderr:l4', 'stdout:l5']);
    assert.deepEqual(await lines(p, { until: at(2) }), ['stdout:l1', 'stderr:l2']);
    assert.deepEqual(await lines(p, { since: at(2), until: at(4) }), ['stderr:l2', 'stdout:l3', 'stderr:l4']);
    assert.deepEqual(await lines(p, { tail: 2, since: at(5) }), ['stdout:l5']);
  });

  it('--follow reads what is appended, and what remains once stopped, then ends', async () => {
    const p = file(rec(1, 'stdout', 'F', 'first'));
    let stopped = false;
    const seen: string[] = [];
    const reading = (async () => {
      for await (const l of readLog(p, { follow: true, stopped: () => stopped, pollMs: 5 })) seen.push(l.line.toString());
    })();
    await waitFor(() => seen.length === 1);
    appendFileSync(p, rec(2, 'stdout', 'P', 'sec'));
    appendFileSync(p, rec(3, 'stderr', 'F', 'err').slice(0, 10)); // a record being written
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(seen, ['first'], 'nothing half-written is handed out');
    appendFileSync(p, rec(3, 'stderr', 'F', 'err').slice(10) + rec(4, 'stdout', 'F', 'ond'));
    await waitFor(() => seen.length === 3);
    appendFileSync(p, rec(5, 'stdout', 'F', 'last'));
    stopped = true;
    await reading;
    assert.deepEqual(seen, ['first', 'err', 'second', 'last']);
  });

  it('--follow goes on in a log conmon started again (log-size-max), waits for a log not there yet, and stops on abort', async () => {
    const p = join(dir, 'rotating');
    const ac = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const l of readLog(p, { follow: true, pollMs: 5, signal: ac.signal })) seen.push(l.line.toString());
    })();
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(p, rec(1, 'stdout', 'F', 'one') + rec(2, 'stdout', 'F', 'two'));
    await waitFor(() => seen.length === 2);
    writeFileSync(`${p}.tmp`, rec(3, 'stdout', 'F', 'three'));
    renameSync(`${p}.tmp`, p);
    await waitFor(() => seen.length === 3);
    ac.abort();
    await reading;
    assert.deepEqual(seen, ['one', 'two', 'three']);
  });

  it('writes lines as docker logs prints them', async () => {
    const p = file(rec(1, 'stdout', 'F', 'out') + rec(2, 'stderr', 'F', 'err') + rec(3, 'stdout', 'P', 'tail'));
    const out = new PassThrough();
    const err = new PassThrough();
    let o = '';
    let e = '';
    out.on('data', (d: Buffer) => (o += d.toString()));
    err.on('data', (d: Buffer) => (e += d.toString()));
    await writeLogLines(readLog(p), { stdout: out, stderr: err });
    assert.equal(o, 'out\ntail');
    assert.equal(e, 'err\n');
    o = '';
    await writeLogLines(readLog(p), { stdout: out, stderr: new PassThrough() }, { timestamps: true });
    assert.equal(o, `${formatLogTime(T0 + 1_000_000n)} out\n${formatLogTime(T0 + 3_000_000n)} tail`);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  const end = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > end) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
