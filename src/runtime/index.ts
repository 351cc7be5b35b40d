/**
 * The container runtime's foundation: paths resolved inside a root filesystem (rootpath),
 * `-u` against the image's passwd and group (user), the OCI runtime spec made from an image
 * config and run options (spec, with the machine's facts from host and the default seccomp
 * profile from seccomp), bundles made safe and written (bundle), and the OCI runtimes that
 * run them (oci-runtime: crun and runc).
 */
export { MAX_SYMLINK_HOPS, SymlinkLoopError, ensureInRoot, openInRoot, readFileInRoot, resolveInRoot, type EntryKind, type RootPath } from './rootpath.js';
export { UnknownUserError, execUserFrom, resolveUser, type ExecUser } from './user.js';
export { CAPABILITIES, ULIMIT_NAMES, boundingCapabilities, goArch, parseLimits, readHostDevices, readHostFacts, type HostFacts, type OciDevice, type Rlimit, type RlimitType, type UlimitName } from './host.js';
export { DEFAULT_SECCOMP_PROFILE, fromProfile, loadSeccompProfile, parseSeccompProfile, seccompForSpec, type OciSeccomp, type SeccompProfile, type SeccompSource, type SeccompTarget } from './seccomp.js';
export {
  DEFAULT_CAPABILITIES, DEFAULT_PATH, MASKED_PATHS, READONLY_PATHS, RLIM_INFINITY,
  buildSpec, capabilitySet, mergeEnv, parseSecurityOpts, parseUlimit,
  type BindMount, type EtcFiles, type OciMount, type OciProcess, type OciSpec, type RunOptions, type SpecInputs, type SpecResult, type TmpfsMount, type Ulimit,
} from './spec.js';
export { secureSpec, specJson, writeBundle } from './bundle.js';
export {
  CrunRuntime, RUNTIME_NAMES, RuncRuntime, RuntimeFailure, exitCodeFor, ociRuntime,
  type ContainerState, type ContainerStatus, type ContainerStdio, type OciRuntime, type RuntimeName, type RuntimeProcess, type Stdio, type StdioMode,
} from './oci-runtime.js';
