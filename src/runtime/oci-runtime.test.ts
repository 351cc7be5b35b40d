/**
 * The OciRuntime conformance suite against both implementations (real crun and runc, as
 * root), and the pieces of the interface that need no runtime.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.js';
import { runtimeConformance } from './conformance.js';
import { CrunRuntime, RuncRuntime, exitCodeFor, ociRuntime } from './oci-runtime.js';

describe('oci-runtime', () => {
  it('picks a runtime by name, crun by default', () => {
    assert.equal(ociRuntime('/tmp/x').name, 'crun');
    assert.equal(ociRuntime('/tmp/x', 'runc').name, 'runc');
    assert.throws(() => ociRuntime('/tmp/x', 'kata'), (e: unknown) => e instanceof InvalidArgumentError && e.message === 'unknown OCI runtime "kata": cairn knows crun and runc');
  });

  it("maps the runtimes' messages to Docker's exit codes", () => {
    assert.equal(exitCodeFor('executable file `nosuch` not found in $PATH: No such file or directory'), 127);
    assert.equal(exitCodeFor('runc run failed: unable to start container process: exec: "nosuch": executable file not found in $PATH'), 127);
    assert.equal(exitCodeFor('runc run failed: unable to start container process: exec: "/no/such": stat /no/such: no such file or directory'), 127);
    assert.equal(exitCodeFor('open executable: Permission denied'), 126);
    assert.equal(exitCodeFor('open executable: Operation not permitted'), 126);
    assert.equal(exitCodeFor('container does not exist'), 125);
    assert.equal(exitCodeFor('exec: "/etc": is a directory'), 126);
  });
});

runtimeConformance('crun', (state) => new CrunRuntime(state));
runtimeConformance('runc', (state) => new RuncRuntime(state));
