/**
 * `-v`, `--mount`, `--tmpfs`, `--volumes-from` against docker 20.10.24: what `docker create`
 * accepted (and the Mounts/HostConfig it then showed in inspect) and the message it printed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateFlagError } from './errors.js';
import {
  bindSourceMissingMessage,
  cleanPath,
  containerMounts,
  dockerMountPoint,
  parseMountCsv,
  parseMountFlag,
  parseTmpfsFlags,
  parseVolumeFlag,
  parseVolumesFrom,
  registerMounts,
  runtimeBind,
  runtimeTmpfs,
  volumeNameError,
  type MountFlag,
} from './mounts.js';

function fails(fn: () => unknown, message: string, stage: 'flag' | 'daemon' = 'daemon'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CreateFlagError, `not a CreateFlagError: ${String(e)}`);
    assert.equal(e.message, message);
    assert.equal(e.stage, stage);
    assert.equal(e.exitCode, 125);
    return true;
  });
}

const mounts = (...values: string[]): MountFlag[] => values.map(parseMountFlag);

describe('mounts: -v', () => {
  it('reads binds, named and anonymous volumes', () => {
    assert.deepEqual(parseVolumeFlag('/tmp/rf/bind:/bind:ro'), {
      text: '/tmp/rf/bind:/bind:ro',
      spec: { type: 'bind', source: '/tmp/rf/bind', destination: '/bind', readOnly: true, propagation: 'rprivate', nonRecursive: false, createSource: true, mode: 'ro' },
    });
    // docker inspect: {"Type":"bind","Source":"/tmp","Destination":"/y","Mode":"","RW":true,"Propagation":"rprivate"}
    assert.deepEqual(dockerMountPoint(parseVolumeFlag('/tmp/../tmp:/x/../y').spec), { Type: 'bind', Source: '/tmp', Destination: '/y', Mode: '', RW: true, Propagation: 'rprivate' });
    assert.deepEqual(dockerMountPoint(parseVolumeFlag('/tmp:/x:').spec), { Type: 'bind', Source: '/tmp', Destination: '/x', Mode: '', RW: true, Propagation: 'rprivate' });
    assert.deepEqual(dockerMountPoint(parseVolumeFlag('/tmp:/x:rprivate').spec), { Type: 'bind', Source: '/tmp', Destination: '/x', Mode: 'rprivate', RW: true, Propagation: 'rprivate' });
    assert.deepEqual(dockerMountPoint(parseVolumeFlag('/tmp:/x:rshared,Z,ro').spec), { Type: 'bind', Source: '/tmp', Destination: '/x', Mode: 'rshared,Z,ro', RW: false, Propagation: 'rshared' });
    assert.equal(parseVolumeFlag('/tmp:/x:Z').spec.type === 'bind' && parseVolumeFlag('/tmp:/x:z').spec.selinux, 'z');
    // A named volume without a mode shows Mode "z"; with one, the mode.
    const vol = { name: 'rfvol', source: '/var/lib/cairn/volumes/rfvol/_data' };
    assert.deepEqual(dockerMountPoint(parseVolumeFlag('rfvol:/data').spec, vol), { Type: 'volume', Name: 'rfvol', Source: vol.source, Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' });
    assert.deepEqual(dockerMountPoint(parseVolumeFlag('rfvol:/x:ro').spec, vol), { Type: 'volume', Name: 'rfvol', Source: vol.source, Destination: '/x', Driver: 'local', Mode: 'ro', RW: false, Propagation: '' });
    assert.deepEqual(parseVolumeFlag('rfvol:/x:nocopy').spec, { type: 'volume', name: 'rfvol', destination: '/x', readOnly: false, noCopy: true, driver: 'local', driverOpts: {}, labels: {}, mode: 'nocopy' });
    // An anonymous volume shows Mode "".
    const anon = parseVolumeFlag('/anon/');
    assert.deepEqual(anon.spec, { type: 'volume', destination: '/anon', readOnly: false, noCopy: false, driver: 'local', driverOpts: {}, labels: {}, mode: '' });
    assert.equal(dockerMountPoint(anon.spec, { name: 'f'.repeat(64), source: '/v' }).Mode, '');
    assert.throws(() => dockerMountPoint(anon.spec), /no name/);
  });

  it("gives the daemon's messages", () => {
    fails(() => parseVolumeFlag('a:b:c:d'), "invalid volume specification: 'a:b:c:d'");
    fails(() => parseVolumeFlag('/tmp:/x:foo'), 'invalid mode: foo');
    fails(() => parseVolumeFlag('/tmp:/x:ro,rw'), 'invalid mode: ro,rw');
    fails(() => parseVolumeFlag('a:/x:nocopy,nocopy'), 'invalid mode: nocopy,nocopy');
    fails(() => parseVolumeFlag('/tmp:/x:z,Z'), 'invalid mode: z,Z');
    fails(() => parseVolumeFlag('/tmp:/x:consistent,delegated'), 'invalid mode: consistent,delegated');
    fails(() => parseVolumeFlag('/x:/y:/z'), 'invalid mode: /z');
    fails(() => parseVolumeFlag('/x:ro'), "invalid volume specification: '/x:ro'");
    fails(() => parseVolumeFlag('/x:rw'), "invalid volume specification: '/x:rw'");
    fails(() => parseVolumeFlag('/tmp:/x:ro,Z,rshared,nocopy,cached'), `invalid volume specification: '/tmp:/x:ro,Z,rshared,nocopy,cached': invalid mount config for type "bind": field VolumeOptions must not be specified`);
    fails(() => parseVolumeFlag('/tmp:/x:nocopy'), `invalid volume specification: '/tmp:/x:nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified`);
    fails(() => parseVolumeFlag('a:/x:rshared'), `invalid volume specification: 'a:/x:rshared': invalid mount config for type "volume": field BindOptions must not be specified`);
    fails(() => parseVolumeFlag('/tmp:x'), `invalid volume specification: '/tmp:x': invalid mount config for type "bind": invalid mount path: 'x' mount path must be absolute`);
    fails(() => parseVolumeFlag('vol:x'), `invalid volume specification: 'vol:x': invalid mount config for type "volume": invalid mount path: 'x' mount path must be absolute`);
    fails(() => parseVolumeFlag('/tmp:/'), `invalid volume specification: '/tmp:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`);
  });

  it('checks anonymous volumes as the daemon checks the others (Docker 20.10 lets them through)', () => {
    fails(() => parseVolumeFlag(''), "invalid volume specification: ''");
    fails(() => parseVolumeFlag(':/x'), "invalid volume specification: ':/x'");
    fails(() => parseVolumeFlag('x'), `invalid volume specification: 'x': invalid mount config for type "volume": invalid mount path: 'x' mount path must be absolute`);
    fails(() => parseVolumeFlag('/'), `invalid volume specification: '/': invalid mount config for type "volume": invalid specification: destination can't be '/'`);
  });

  it("checks volume names as the local driver does", () => {
    assert.equal(volumeNameError('ok-name_1.x'), undefined);
    assert.equal(volumeNameError('v'), 'create v: volume name is too short, names should be at least two alphanumeric characters');
    const bad = (n: string) => `create ${n}: "${n}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`;
    fails(() => registerMounts(['bad name:/x'], [], []), bad('bad name'));
    fails(() => registerMounts(['a/b:/x'], [], []), bad('a/b'));
    fails(() => registerMounts(['./rel:/x'], [], []), bad('./rel'));
    fails(() => registerMounts([], mounts('src=v,dst=/x'), []), 'create v: volume name is too short, names should be at least two alphanumeric characters');
    fails(() => registerMounts([], mounts('type=volume,src=bad name,dst=/x'), []), bad('bad name'));
    fails(() => registerMounts([], mounts('type=volume,src=vv,dst=/x,volume-driver=nosuchdriver'), []), 'create vv: error looking up volume plugin nosuchdriver: plugin "nosuchdriver" not found');
    // Docker checks each -v in turn: a bad mode before a later bad name.
    fails(() => registerMounts(['a:/x:nocopy,nocopy', 'bad name:/y'], [], []), 'invalid mode: nocopy,nocopy');
  });
});

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
    assert.deepEqual(runtimeTmpfs(tmp!.spec as never), { destination: '/scratch', options: ['mode=1770', 'size=1m'] });
    assert.deepEqual(dockerMountPoint(tmp!.spec), { Type: 'tmpfs', Source: '', Destination: '/scratch', Mode: '', RW: true, Propagation: '' });
    assert.deepEqual(dockerMountPoint(vol!.spec, { name: 'rfvol2', source: '/v/rfvol2/_data' }), { Type: 'volume', Name: 'rfvol2', Source: '/v/rfvol2/_data', Destination: '/v2', Driver: 'local', Mode: 'z', RW: true, Propagation: '' });
    assert.equal(vol!.spec.type === 'volume' && vol!.spec.noCopy, true);
    assert.deepEqual(vol!.spec.type === 'volume' && vol!.spec.labels, { a: 'b' });
    assert.deepEqual(dockerMountPoint(bind!.spec), { Type: 'bind', Source: '/tmp/rf/bind', Destination: '/b2', Mode: '', RW: true, Propagation: 'rshared' });
    assert.deepEqual(runtimeBind(bind!.spec as never), { source: '/tmp/rf/bind', destination: '/b2', readOnly: false, propagation: 'rshared' });
    assert.equal(bind!.spec.type === 'bind' && bind!.spec.createSource, false);
    assert.deepEqual(dockerMountPoint(anon!.spec, { name: 'a'.repeat(64), source: '/v/a/_data' }).Mode, 'z');
    assert.deepEqual(runtimeTmpfs({ type: 'tmpfs', destination: '/t', readOnly: true, sizeBytes: 1000 }), { destination: '/t', options: ['ro', 'size=1000'] });
    assert.deepEqual(runtimeTmpfs({ type: 'tmpfs', destination: '/t', readOnly: false, sizeBytes: 3 * 1024 ** 3 }), { destination: '/t', options: ['size=3g'] });
  });
});

describe('mounts: --tmpfs, --volumes-from, duplicates', () => {
  it('reads --tmpfs: the last one for a destination wins', () => {
    assert.deepEqual(parseTmpfsFlags(['/run:size=1m', '/x', '/x:size=1m,mode=1777,uid=5,noexec,nr_inodes=10k']), {
      map: { '/run': 'size=1m', '/x': 'size=1m,mode=1777,uid=5,noexec,nr_inodes=10k' },
      mounts: [{ destination: '/run', options: ['size=1m'] }, { destination: '/x', options: ['size=1m', 'mode=1777', 'uid=5', 'noexec', 'nr_inodes=10k'] }],
    });
    assert.deepEqual(parseTmpfsFlags(['/x:']).mounts, [{ destination: '/x' }]);
    fails(() => parseTmpfsFlags(['rel']), "invalid mount path: 'rel' mount path must be absolute");
    fails(() => parseTmpfsFlags(['/']), "invalid specification: destination can't be '/'");
    fails(() => parseTmpfsFlags(['']), "invalid mount path: '' mount path must be absolute");
    // Docker finds this one at start: docker: Error response from daemon: invalid tmpfs option ["bogus"].
    fails(() => parseTmpfsFlags(['/x:bogus']), 'invalid tmpfs option ["bogus"]');
    fails(() => parseTmpfsFlags(['/x:foo=1']), 'invalid tmpfs option ["foo" "1"]');
  });

  it('reads --volumes-from', () => {
    assert.deepEqual(parseVolumesFrom('web'), { text: 'web', container: 'web', mode: 'rw' });
    assert.deepEqual(parseVolumesFrom('web:ro'), { text: 'web:ro', container: 'web', mode: 'ro' });
    assert.deepEqual(parseVolumesFrom('web:ro,z'), { text: 'web:ro,z', container: 'web', mode: 'ro,z' });
    fails(() => parseVolumesFrom(''), 'volumes-from specification cannot be an empty string');
    fails(() => parseVolumesFrom('x:ro,rshared'), 'invalid mode: ro,rshared');
    fails(() => parseVolumesFrom('x:foo'), 'invalid mode: foo');
    fails(() => parseVolumesFrom('x:nocopy'), 'invalid mode: nocopy');
  });

  it("refuses duplicate mount points as the daemon does", () => {
    fails(() => registerMounts(['/tmp:/x', 'vol:/x'], [], []), 'Duplicate mount point: /x');
    fails(() => registerMounts(['/tmp:/x', '/tmp:/x/'], [], []), 'Duplicate mount point: /x');
    fails(() => registerMounts(['/tmp:/x'], [], parseTmpfsFlags(['/x']).mounts), 'Duplicate mount point: /x');
    fails(() => registerMounts(['/tmp:/x'], mounts('type=volume,dst=/x'), []), 'Duplicate mount point: /x');
    fails(() => registerMounts([], mounts('type=volume,dst=/x', 'type=tmpfs,dst=/x/'), []), 'Duplicate mount point: /x/');
    // Docker accepts this one and makes a spec with two tmpfs on /x; cairn refuses it.
    fails(() => registerMounts([], mounts('type=tmpfs,dst=/x'), parseTmpfsFlags(['/x']).mounts), 'Duplicate mount point: /x');
    // Anonymous volumes yield.
    assert.equal(registerMounts(['/x', '/tmp:/x', '/x/'], [], []).length, 3);
  });

  it('lists the mounts a container gets', () => {
    const vols = registerMounts(['/x', '/tmp:/x', 'named:/n', '/anon', '/anon/', '/t'], [], []);
    const ms = mounts('type=bind,src=/etc,dst=/etc2', 'type=tmpfs,dst=/scratch');
    const tmpfs = parseTmpfsFlags(['/t', '/img-shadowed']).mounts;
    const inherited = [parseVolumeFlag('/srv:/n').spec, parseVolumeFlag('/srv:/from-other').spec];
    const list = containerMounts({ volumes: vols, mounts: ms, tmpfs, imageVolumes: ['/data', '/anon', '/img-shadowed', '/x'], inherited });
    assert.deepEqual(list.map((m) => [m.type, m.destination, m.type === 'volume' ? (m.name ?? '<anonymous>') : '']), [
      ['bind', '/from-other', ''],
      ['bind', '/x', ''],
      ['volume', '/n', 'named'],
      ['bind', '/etc2', ''],
      ['tmpfs', '/scratch', ''],
      ['volume', '/anon', '<anonymous>'],
      ['volume', '/data', '<anonymous>'],
    ]);
    assert.equal(cleanPath('/a/../../b/./c/'), '/b/c');
    assert.equal(cleanPath('a/../..'), '..');
    assert.equal(cleanPath(''), '.');
  });
});
