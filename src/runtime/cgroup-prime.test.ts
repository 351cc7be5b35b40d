import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ownCgroupProcs, primeCgroupAttach } from './cgroup-prime.js';

test('ownCgroupProcs: the first v1 hierarchy (named ones by their name), or v2\'s unified one', () => {
  const hybrid = ['12:hugetlb:/', '9:name=systemd:/user.slice/session-1.scope', '4:memory:/process_api/ab15', '0::/user.slice', ''].join('\n');
  assert.equal(ownCgroupProcs(hybrid), '/sys/fs/cgroup/hugetlb/cgroup.procs');
  assert.equal(ownCgroupProcs('9:name=systemd:/user.slice/x.scope\n4:memory:/m\n'), '/sys/fs/cgroup/systemd/user.slice/x.scope/cgroup.procs');
  assert.equal(ownCgroupProcs('2:cpu,cpuacct:/a/b\n'), '/sys/fs/cgroup/cpu,cpuacct/a/b/cgroup.procs');
  assert.equal(ownCgroupProcs('0::/system.slice/cairn.service\n'), '/sys/fs/cgroup/system.slice/cairn.service/cgroup.procs');
  assert.equal(ownCgroupProcs(''), undefined);
  assert.equal(ownCgroupProcs('garbage\n'), undefined);
});

test('primeCgroupAttach moves this process into the cgroup it is in (nothing changes); at most two writes at once', async () => {
  const before = readFileSync('/proc/self/cgroup', 'utf8');
  assert.ok(ownCgroupProcs(before) !== undefined, 'this machine has cgroups');
  const first = primeCgroupAttach();
  const second = primeCgroupAttach();
  assert.notEqual(second, first, 'a second write while the first waits');
  assert.equal(primeCgroupAttach(), second, 'a third call shares the last of the two in flight');
  assert.deepEqual(await Promise.all([first, second]), [true, true], 'the writes were made (as root)');
  const later = primeCgroupAttach();
  assert.notEqual(later, second, 'another write once they have ended');
  assert.equal(await later, true);
  assert.equal(readFileSync('/proc/self/cgroup', 'utf8'), before);
});
