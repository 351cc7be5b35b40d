#!/usr/bin/env node
// The longer concurrency run CI does not make: test/concurrency-commands.test.ts with more rounds
// and more processes at once (WIDTH processes of each kind: 8 x WIDTH), repeated RUNS times, each
// run on a fresh root. Needs a build (npm run build) and root, as the test suite does.
//   node scripts/concurrency.mjs [ROUNDS=10] [WIDTH=2] [RUNS=3]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const [rounds = '10', width = '2', runs = '3'] = process.argv.slice(2);
const file = join(root, 'dist', 'test', 'concurrency-commands.test.js');
for (let i = 1; i <= Number(runs); i++) {
  console.log(`concurrency: run ${i} of ${runs}: ${rounds} rounds of ${8 * Number(width)} processes at once`);
  const r = spawnSync(process.execPath, ['--test', file], {
    stdio: 'inherit',
    env: { ...process.env, CAIRN_CONCURRENCY_ROUNDS: rounds, CAIRN_CONCURRENCY_WIDTH: width },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
