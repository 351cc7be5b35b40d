#!/usr/bin/env node
// The long fault-injection run, which CI does not make: the suite's test (test/fault-injection.test.ts)
// with 5,000 kills (or CAIRN_FAULT_KILLS), from CAIRN_FAULT_SEED if given (the seed is printed
// either way). Run as root after a build (`npm run build`):
//   node scripts/fault-injection.mjs [KILLS]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const test = join(root, 'dist', 'test', 'fault-injection.test.js');
if (!existsSync(test)) {
  console.error('fault-injection: dist/test/fault-injection.test.js is missing: run `npm run build` first');
  process.exit(1);
}
const kills = process.argv[2] ?? process.env.CAIRN_FAULT_KILLS ?? '5000';
if (!/^[1-9]\d*$/.test(kills)) {
  console.error(`fault-injection: the number of kills must be a positive integer: ${kills}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', test], { stdio: 'inherit', env: { ...process.env, CAIRN_FAULT_KILLS: kills } });
process.exit(r.status ?? 1);
