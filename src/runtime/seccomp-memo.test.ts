/**
 * Tests of seccomp-memo.ts: the profile's conversions kept per inputs, against the real profile
 * containers-common installs (copied into a temporary directory, so it can be changed).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { PreconditionError } from '../errors.js';
import { DEFAULT_SECCOMP_PROFILE, loadSeccompProfile, seccompForSpec, type SeccompTarget } from './seccomp.js';
import { fnv1a64, MAX_ENTRIES, memoisedProfile } from './seccomp-memo.js';
import { DEFAULT_CAPABILITIES } from './spec.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-seccomp-memo-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const target: SeccompTarget = { capabilities: DEFAULT_CAPABILITIES, arch: 'amd64', kernel: '6.18.44' };
let n = 0;
/** A fresh memo directory and a copy of the real profile. */
function fresh(): { memo: string; profile: string } {
  const base = join(dir, `case-${++n}`);
  const profile = `${base}-seccomp.json`;
  copyFileSync(DEFAULT_SECCOMP_PROFILE, profile);
  return { memo: join(base, 'memo'), profile };
}
const entries = (memo: string): string[] => readdirSync(memo).filter((f) => f.endsWith('.json'));

describe('memoisedProfile', () => {
  it("gives the profile's conversion for the target, and keeps it: a later source reads it back instead of converting", () => {
    const { memo, profile } = fresh();
    const expected = seccompForSpec(loadSeccompProfile(profile), target);
    assert.deepEqual(memoisedProfile(memo, profile).section(target), expected);
    const [name] = entries(memo);
    assert.ok(name !== undefined && entries(memo).length === 1);
    // what is kept is what is given back: mark the kept section, and a new source returns the mark
    const file = join(memo, name);
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { inputs: string; section: { defaultAction: string } };
    kept.section.defaultAction = 'SCMP_ACT_MARKED';
    writeFileSync(file, JSON.stringify(kept));
    assert.equal(memoisedProfile(memo, profile).section(target).defaultAction, 'SCMP_ACT_MARKED');
  });

  it('converts again for another target, a changed profile file, or a damaged entry', () => {
    const { memo, profile } = fresh();
    const source = memoisedProfile(memo, profile);
    source.section(target);
    // capabilities in another order are the same target; another set is another
    assert.deepEqual(source.section({ ...target, capabilities: [...DEFAULT_CAPABILITIES].reverse() }), source.section(target));
    assert.equal(entries(memo).length, 1);
    const admin = { ...target, capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'] };
    assert.deepEqual(source.section(admin), seccompForSpec(loadSeccompProfile(profile), admin));
    assert.equal(entries(memo).length, 2);
    assert.deepEqual(source.section({ ...target, kernel: '4.19.0' }), seccompForSpec(loadSeccompProfile(profile), { ...target, kernel: '4.19.0' }));
    assert.equal(entries(memo).length, 3);
    // the profile edited: its conversion, not the kept one
    const edited = JSON.parse(readFileSync(profile, 'utf8')) as { defaultAction: string };
    edited.defaultAction = 'SCMP_ACT_KILL';
    writeFileSync(profile, JSON.stringify(edited));
    utimesSync(profile, new Date(), new Date(Date.now() + 5000));
    assert.equal(source.section(target).defaultAction, 'SCMP_ACT_KILL');
    // a damaged entry: converted and written again
    for (const f of entries(memo)) writeFileSync(join(memo, f), '{"inputs": "trunc');
    assert.equal(memoisedProfile(memo, profile).section(target).defaultAction, 'SCMP_ACT_KILL');
    const whole = entries(memo).filter((f) => !readFileSync(join(memo, f), 'utf8').startsWith('{"inputs": "trunc'));
    assert.equal(whole.length, 1, 'the damaged entry of the target was written again');
    assert.equal(JSON.parse(readFileSync(join(memo, whole[0]!), 'utf8')).section.defaultAction, 'SCMP_ACT_KILL');
  });

  it(`keeps at most ${MAX_ENTRIES} entries, and no temporary file`, () => {
    const { memo, profile } = fresh();
    const source = memoisedProfile(memo, profile);
    for (let i = 0; i < MAX_ENTRIES + 8; i++) source.section({ ...target, kernel: `6.${i}.0` });
    assert.equal(entries(memo).length, MAX_ENTRIES);
    assert.deepEqual(readdirSync(memo).filter((f) => !f.endsWith('.json')), []);
  });

  it('fails as loadSeccompProfile does when the profile is missing, whatever is kept', () => {
    const { memo, profile } = fresh();
    memoisedProfile(memo, profile).section(target);
    rmSync(profile);
    assert.throws(() => memoisedProfile(memo, profile).section(target), (e: unknown) => e instanceof PreconditionError && /seccomp profile .* is missing/.test((e as Error).message));
  });
});

describe('fnv1a64', () => {
  it('is 64-bit FNV-1a over UTF-16 code units', () => {
    const reference = (t: string): string => {
      let h = 0xcbf29ce484222325n;
      for (let i = 0; i < t.length; i++) h = ((h ^ BigInt(t.charCodeAt(i))) * 0x100000001b3n) & 0xffffffffffffffffn;
      return h.toString(16).padStart(16, '0');
    };
    for (const t of ['', 'a', 'hello world', 'x'.repeat(1000), 'h\u00e9llo \u{1F600}']) assert.equal(fnv1a64(t), reference(t), JSON.stringify(t));
    assert.equal(fnv1a64(''), 'cbf29ce484222325');
  });
});
