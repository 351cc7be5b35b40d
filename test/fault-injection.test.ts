/**
 * Crash safety, proven by fault injection (issue 15, point 4): the harness in fault-injection.ts
 * kills the real command line with SIGKILL at random moments of every operation that writes the
 * store — 500 kills by default (CAIRN_FAULT_KILLS), from a seed it prints (CAIRN_FAULT_SEED
 * replays it), a share of them followed by a simulated power cut where this machine allows it —
 * and after each kill the store checks clean, all it lists is whole and the command works again.
 * Two stores are killed side by side (CAIRN_FAULT_LANES); CAIRN_FAULT_POWER_CUTS=0 leaves the
 * power cuts out. A longer run: scripts/fault-injection.mjs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { runFaultInjection } from './fault-injection.js';
import { tempDir } from './helpers.js';

const root = process.getuid?.() === 0;

test('SIGKILL at random moments of every writing operation leaves a store that checks clean, shows nothing half-made and runs the command again', { skip: root ? false : 'needs root (containers, mounts, a loop device)', timeout: (Number(process.env.CAIRN_FAULT_KILLS ?? 500) || 500) * 4_000 + 10 * 60_000 }, async (t) => {
  const seed = process.env.CAIRN_FAULT_SEED !== undefined ? Number(process.env.CAIRN_FAULT_SEED) : randomInt(2 ** 32);
  const kills = process.env.CAIRN_FAULT_KILLS !== undefined ? Number(process.env.CAIRN_FAULT_KILLS) : 500;
  assert.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32, `CAIRN_FAULT_SEED must be an integer in [0, 2^32): ${process.env.CAIRN_FAULT_SEED}`);
  assert.ok(Number.isInteger(kills) && kills > 0, `CAIRN_FAULT_KILLS must be a positive integer: ${process.env.CAIRN_FAULT_KILLS}`);
  // progress as it goes (stdout); the result also as the test's diagnostic, in the report
  const say = (line: string): void => console.log(line);
  say(`fault injection: seed ${seed} (CAIRN_FAULT_SEED=${seed} replays it)`);
  const dir = await tempDir('cairn-fault-');
  try {
    const lanes = process.env.CAIRN_FAULT_LANES !== undefined ? Number(process.env.CAIRN_FAULT_LANES) : 2;
    assert.ok(Number.isInteger(lanes) && lanes > 0, `CAIRN_FAULT_LANES must be a positive integer: ${process.env.CAIRN_FAULT_LANES}`);
    const report = await runFaultInjection({ seed, kills, lanes, dir: dir.path, log: say, powerCuts: process.env.CAIRN_FAULT_POWER_CUTS !== '0' });
    const cuts = report.powerCutUnavailable === undefined ? `${report.powerCuts} followed by a power cut` : `no power cuts: ${report.powerCutUnavailable}`;
    const per = Object.entries(report.perOp).sort().map(([op, n]) => `${op} ${n}`).join(', ');
    const result = (line: string): void => {
      say(line);
      t.diagnostic(line);
    };
    if (report.failures.length === 0) result(`fault injection: ${report.kills} kills (${cuts}), seed ${seed}, ${report.ops} ops, all checks clean, ${report.seconds} s [${per}]`);
    else result(`fault injection: ${report.kills} kills (${cuts}), seed ${seed}, ${report.ops} ops, ${report.failures.length} FAILED: ${report.failures.map((f) => `lane ${f.lane} iteration ${f.iteration} ${f.op} (killed after ${f.delayMs} ms${f.powerCut ? ', power cut' : ''})`).join('; ')}`);
    assert.deepEqual(report.failures, [], `replay with CAIRN_FAULT_SEED=${seed} CAIRN_FAULT_KILLS=${kills}`);
    assert.ok(report.kills >= kills);
    // the harness itself: every operation was killed at some point, and power cut where it can be
    if (kills >= 100) assert.deepEqual(Object.keys(report.perOp).sort(), ['build', 'commit', 'import', 'load', 'prune', 'pull', 'push', 'rm', 'rmi', 'run', 'save', 'tag']);
    if (kills >= 100 && report.powerCutUnavailable === undefined) assert.ok(report.powerCuts > 0);
  } finally {
    await dir.cleanup();
  }
});
