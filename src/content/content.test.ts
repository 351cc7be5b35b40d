import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { contentStoreSuite } from './conformance.js';
import { LocalContentStore } from './local.js';
import { MemoryContentStore } from './memory.js';

contentStoreSuite('memory', async () => ({ store: new MemoryContentStore(), cleanup: async () => {} }));

contentStoreSuite('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-content-'));
  const store = new LocalContentStore(dir);
  await store.init();
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

test('local: a writer killed mid-ingest leaves no visible blob, and its leftovers are cleaned later', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-content-'));
  try {
    const modUrl = new URL('./local.js', import.meta.url).href;
    // A child process starts an ingest, writes part of it, reports, then waits to be killed.
    const script = `
      import { LocalContentStore } from ${JSON.stringify(modUrl)};
      const s = new LocalContentStore(${JSON.stringify(dir)});
      await s.init();
      const w = await s.writer();
      await w.write(Buffer.alloc(1 << 20, 7));
      process.stdout.write('written\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('written')) resolve(); });
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    assert.equal((await readdir(join(dir, 'ingest'))).length, 1);
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    const store = new LocalContentStore(dir);
    const blobs = [];
    for await (const b of store.walk()) blobs.push(b);
    assert.deepEqual(blobs, [], 'no blob is visible');
    await store.init(); // start-up cleans leftovers of dead processes
    assert.deepEqual(await readdir(join(dir, 'ingest')), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('local: cleanIngest keeps the files of live processes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-content-'));
  try {
    const store = new LocalContentStore(dir);
    await store.init();
    await writeFile(join(dir, 'ingest', `1-deadbeef`), 'x'); // pid 1 is alive (init)
    await writeFile(join(dir, 'ingest', `999999999-dead`), 'x'); // no such pid
    await writeFile(join(dir, 'ingest', `garbage`), 'x');
    assert.equal(await store.cleanIngest(), 2);
    assert.deepEqual(await readdir(join(dir, 'ingest')), ['1-deadbeef']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
