/**
 * `-v`, `--volumes-from` and duplicate mount points against docker 20.10.24: what `docker create`
 * accepted (and the Mounts/HostConfig it then showed in inspect) and the message it printed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateFlagError } from './errors.js';
import { cleanPath, containerMounts, dockerMountPoint, parseVolumeFlag, parseVolumesFrom, registerMounts, volumeNameError, type MountFlag } from './mounts.js';
import { parseMountFlag } from './mountopt.js';
import { parseTmpfsFlags } from './tmpfs.js';

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

describe('mounts: --volumes-from, duplicates', () => {
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
