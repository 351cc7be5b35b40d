/**
 * `--mount` against docker 20.10.24: the HostConfig.Mounts and Mounts inspect showed for what
 * `docker create` accepted, and the message it printed for what it refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateFlagError } from './errors.js';
import { dockerMountPoint, runtimeBind } from './mounts.js';
import { bindSourceMissingMessage, parseMountCsv, parseMountFlag } from './mountopt.js';
import { runtimeTmpfs } from './tmpfs.js';

function fails(fn: () => unknown, message: string, stage: 'flag' | 'daemon' = 'daemon'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CreateFlagError, `not a CreateFlagError: ${String(e)}`);
    assert.equal(e.message, message);
    assert.equal(e.stage, stage);
    assert.equal(e.exitCode, 125);
    return true;
  });
}

const mounts = (...values: string[]) => values.map(parseMountFlag);

describe('mounts: --mount', () => {
  it("reads Docker's CSV keys into its Mount", () => {
    // docker inspect -f '{{json .HostConfig.Mounts}}' of docker create with these --mount values.
    assert.deepEqual(parseMountCsv('type=tmpfs,dst=/scratch,tmpfs-size=1m,tmpfs-mode=1770'), { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1048576, Mode: 1016 } });
    assert.deepEqual(parseMountCsv('type=volume,src=rfvol2,dst=/v2,volume-nocopy,volume-label=a=b'), { Type: 'volume', Source: 'rfvol2', Target: '/v2', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: {} } });
    assert.deepEqual(parseMountCsv('type=bind,src=/tmp/rf/bind,dst=/b2,bind-propagation=rshared'), { Type: 'bind', Source: '/tmp/rf/bind', Target: '/b2', BindOptions: { Propagation: 'rshared' } });
    assert.deepEqual(parseMountCsv('type=volume,source=ref-inspect-vol,target=/data'), { Type: 'volume', Source: 'ref-inspect-vol', Target: '/data' });
    assert.deepEqual(parseMountCsv('type=bind,source=/srv/work/bind,target=/bind,readonly'), { Type: 'bind', Source: '/srv/work/bind', Target: '/bind', ReadOnly: true });
    assert.deepEqual(parseMountCsv('dst=/anon2'), { Type: 'volume', Target: '/anon2' });
    assert.deepEqual(parseMountCsv('TYPE=BIND,SRC=/tmp,DST=/x'), { Type: 'bind', Source: '/tmp', Target: '/x' });
    assert.deepEqual(parseMountCsv('type=volume,"dst=/x,y"'), { Type: 'volume', Target: '/x,y' });
    assert.deepEqual(parseMountCsv('type=volume,src=vv,dst=/x,volume-driver=local,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o'), {
      Type: 'volume', Source: 'vv', Target: '/x', VolumeOptions: { DriverConfig: { Name: 'local', Options: { device: 'tmpfs', o: '', type: 'tmpfs' } } },
    });
    assert.deepEqual(parseMountCsv('type=bind,src=/a,dst=/b,ro=false,bind-nonrecursive=1,consistency=Cached'), { Type: 'bind', Source: '/a', Target: '/b', Consistency: 'cached', BindOptions: { NonRecursive: true } });
  });

  it("gives the CLI's messages, as pflag wraps them", () => {
    const flag = (v: string, m: string) => fails(() => parseMountFlag(v), `invalid argument ${JSON.stringify(v)} for "--mount" flag: ${m}`, 'flag');
    flag('a:/x', "invalid field 'a:/x' must be a key=value pair");
    flag('type=volume,src=v', 'target is required');
    flag('type=,dst=/x', 'type is required');
    flag('type=bind,src=/tmp,dst=/x,volume-nocopy', "cannot mix 'volume-*' options with mount type 'bind'");
    flag('type=volume,dst=/x,bind-propagation=shared', "cannot mix 'bind-*' options with mount type 'volume'");
    flag('type=tmpfs,dst=/x,bind-propagation=shared', "cannot mix 'bind-*' options with mount type 'tmpfs'");
    flag('type=bind,src=/tmp,dst=/x,tmpfs-size=1m', "cannot mix 'tmpfs-*' options with mount type 'bind'");
    flag('type=tmpfs,dst=/x,tmpfs-size=1x', 'invalid value for tmpfs-size: 1x');
    flag('type=tmpfs,dst=/x,tmpfs-mode=999', 'invalid value for tmpfs-mode: 999');
    flag('type=volume,dst=/x,readonly=maybe', 'invalid value for readonly: maybe');
    flag('type=bind,src=/tmp,dst=/x,bind-nonrecursive=maybe', 'invalid value for bind-nonrecursive: maybe');
    flag('type=volume,dst=/x,volume-nocopy=maybe', 'invalid value for volume-nocopy: maybe');
    flag('type=volume,dst=/x,foo=bar', "unexpected key 'foo' in 'foo=bar'");
    flag('type=volume,dst=/x,foo', "invalid field 'foo' must be a key=value pair");
    flag('type=volume,dst=/x,,', "invalid field '' must be a key=value pair");
    flag('', 'EOF');
    flag('type=volume,dst=/x,"unterminated', 'parse error on line 1, column 33: extraneous or missing " in quoted-field');
  });

  it("gives the daemon's messages", () => {
    fails(() => parseMountFlag('type=foo,dst=/x'), 'invalid mount config for type "foo": mount type unknown');
    fails(() => parseMountFlag('type=bind,dst=/x'), 'invalid mount config for type "bind": field Source must not be empty');
    fails(() => parseMountFlag('type=bind,src=rel,dst=/x'), `invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`);
    fails(() => parseMountFlag('type=bind,src=/tmp,dst=x'), `invalid mount config for type "bind": invalid mount path: 'x' mount path must be absolute`);
    fails(() => parseMountFlag('type=bind,src=/tmp,dst=/'), `invalid mount config for type "bind": invalid specification: destination can't be '/'`);
    fails(() => parseMountFlag('type=bind,src=/tmp,dst=/x,bind-propagation=bogus'), 'invalid mount config for type "bind": invalid propagation mode: bogus');
    fails(() => parseMountFlag('type=tmpfs,dst=/x,src=foo'), 'invalid mount config for type "tmpfs": field Source must not be specified');
    fails(() => parseMountFlag('type=volume,dst=/x,ro'), 'invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes');
    fails(() => parseMountFlag('type=volume,dst=/x,ro=1'), 'invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes');
    assert.equal(bindSourceMissingMessage('/nonexistent'), 'invalid mount config for type "bind": bind source path does not exist: /nonexistent');
  });

  it('types the specs and shows them as inspect does', () => {
    const [tmp, vol, bind, anon] = mounts('type=tmpfs,dst=/scratch,tmpfs-size=1m,tmpfs-mode=1770', 'type=volume,src=rfvol2,dst=/v2,volume-nocopy,volume-label=a=b', 'type=bind,src=/tmp/rf/bind,dst=/b2/,bind-propagation=rshared', 'type=volume,target=/anon2');
    assert.deepEqual(tmp!.spec, { type: 'tmpfs', destination: '/scratch', readOnly: false, sizeBytes: 1048576, mode: 0o1770 });
    assert.ok(tmp!.spec.type === 'tmpfs');
    assert.deepEqual(runtimeTmpfs(tmp!.spec), { destination: '/scratch', options: ['mode=1770', 'size=1m'] });
    assert.deepEqual(dockerMountPoint(tmp!.spec), { Type: 'tmpfs', Source: '', Destination: '/scratch', Mode: '', RW: true, Propagation: '' });
    assert.deepEqual(dockerMountPoint(vol!.spec, { name: 'rfvol2', source: '/v/rfvol2/_data' }), { Type: 'volume', Name: 'rfvol2', Source: '/v/rfvol2/_data', Destination: '/v2', Driver: 'local', Mode: 'z', RW: true, Propagation: '' });
    assert.equal(vol!.spec.type === 'volume' && vol!.spec.noCopy, true);
    assert.deepEqual(vol!.spec.type === 'volume' && vol!.spec.labels, { a: 'b' });
    assert.deepEqual(dockerMountPoint(bind!.spec), { Type: 'bind', Source: '/tmp/rf/bind', Destination: '/b2', Mode: '', RW: true, Propagation: 'rshared' });
    assert.ok(bind!.spec.type === 'bind');
    assert.deepEqual(runtimeBind(bind!.spec), { source: '/tmp/rf/bind', destination: '/b2', readOnly: false, propagation: 'rshared' });
    assert.equal(bind!.spec.type === 'bind' && bind!.spec.createSource, false);
    assert.deepEqual(dockerMountPoint(anon!.spec, { name: 'a'.repeat(64), source: '/v/a/_data' }).Mode, 'z');
  });
});

