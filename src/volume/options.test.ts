import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.js';
import { constants } from '../native/index.js';
import { mountCallError, mountCalls, needsMount, parseMountOptions, validateOptions } from './options.js';

test('driver options: Docker\'s local driver accepts type, device and o, each with what it needs', () => {
  validateOptions('v', {});
  validateOptions('v', { type: 'tmpfs', device: 'tmpfs' });
  validateOptions('v', { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
  const fails = (o: Record<string, string>, message: string) =>
    assert.throws(() => validateOptions('v', o), (e: unknown) => e instanceof InvalidArgumentError && e.message === message, JSON.stringify(o));
  fails({ foo: 'bar' }, 'create v: invalid option: "foo"');
  fails({ type: 'tmpfs,device=tmpfs' }, 'create v: missing required option: "device"');
  fails({ o: 'x' }, 'create v: missing required option: "device"');
  fails({ device: 'x' }, 'create v: missing required option: "type"');
  fails({ type: 'x', o: 'y' }, 'create v: missing required option: "device"');
  fails({ size: '10m' }, 'create v: quota size requested but no quota support');
});

test('needsMount: a type or a device', () => {
  assert.equal(needsMount(null), false);
  assert.equal(needsMount({}), false);
  assert.equal(needsMount({ o: 'size=1m' }), false);
  assert.equal(needsMount({ type: 'tmpfs', device: 'tmpfs' }), true);
  assert.equal(needsMount({ type: '', device: '/x' }), true);
});

test('o= splits into mount flags and file-system data as moby/sys/mount does', () => {
  const c = constants;
  assert.deepEqual(parseMountOptions('size=1m,uid=1000'), { flags: 0, data: 'size=1m,uid=1000' });
  assert.deepEqual(parseMountOptions('ro,size=1m'), { flags: c.MS_RDONLY, data: 'size=1m' });
  assert.deepEqual(parseMountOptions('bind'), { flags: c.MS_BIND, data: '' });
  assert.deepEqual(parseMountOptions('rbind,ro,rw,noexec,defaults'), { flags: c.MS_BIND | c.MS_REC | c.MS_NOEXEC, data: 'defaults' });
});

test('mount calls: the mount, a propagation change, a read-only remount of a read-only bind', () => {
  const c = constants;
  assert.deepEqual(mountCalls({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' }), [{ op: 'mount', source: 'tmpfs', fstype: 'tmpfs', flags: 0, data: 'size=1m' }]);
  // rprivate's MS_REC stays with the mount flags (moby takes only the propagation types away): a recursive bind
  assert.deepEqual(mountCalls({ type: 'none', device: '/src', o: 'bind,ro,rprivate' }), [
    { op: 'mount', source: '/src', fstype: 'none', flags: c.MS_BIND | c.MS_RDONLY | c.MS_REC, data: '' },
    { op: 'remount', source: null, fstype: null, flags: c.MS_PRIVATE | c.MS_REC, data: null },
    { op: 'remount-ro', source: null, fstype: null, flags: c.MS_BIND | c.MS_RDONLY | c.MS_REC | c.MS_REMOUNT, data: null },
  ]);
  // a device of "none" is a remount request: no mount unless it carries data
  assert.deepEqual(mountCalls({ type: 'tmpfs', device: 'none' }), []);
  assert.equal(mountCalls({ type: 'tmpfs', device: 'none', o: 'size=1m' }).length, 1);
  const bind = mountCalls({ type: 'none', device: '/nonexist', o: 'bind' })[0]!;
  assert.equal(mountCallError(bind, '/r/volumes/v/_data', 'no such file or directory'), 'mount /nonexist:/r/volumes/v/_data, flags: 0x1000: no such file or directory');
  const tmpfs = mountCalls({ type: 'tmpfs', device: 'tmpfs', o: 'bogus=1' })[0]!;
  assert.equal(mountCallError(tmpfs, '/d', 'invalid argument'), 'mount tmpfs:/d, data: bogus=1: invalid argument');
});
