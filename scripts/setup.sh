#!/usr/bin/env bash
# cairn's one setup script: the single source of truth for what a machine needs.
# Idempotent and quick when everything is present. Run as root on Debian 12 with Node 20.
#   - operating-system packages (apt-get): the peers used by interop tests and benchmarks,
#     and the inputs of the demo (busybox-static)
#   - npm dependencies (npm ci, native ones built from source by node-gyp: no prebuilt downloads here)
#   - the TypeScript build and cairn's own native addon
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# --- operating-system packages -------------------------------------------------------------
APT_PACKAGES=(
  busybox-static   # the demo's base image and test fixtures
  skopeo umoci     # interop tests (archives, OCI layouts)
  jq               # used by the demo
  podman crun conmon fuse-overlayfs uidmap  # peers for benchmarks; crun: the default OCI runtime (src/runtime)
  buildah                                   # peer: the builder benchmark (bench/build.ts); configured with podman's containers.conf below
  runc                                      # the other OCI runtime (src/runtime/oci-runtime.ts)
  tini                                      # `run --init`: tini-static, bind-mounted as the container's PID 1
  golang-github-containers-common           # /usr/share/containers/seccomp.json: the default seccomp profile, read at run time
  docker.io                                 # peer: interop tests (docker save); started by test/docker.ts
  docker-registry apache2-utils openssl     # Distribution registry for pull/push tests (test/registry.ts); htpasswd; token certificates
  hyperfine debootstrap time                # benchmarks (time: /usr/bin/time for peak memory)
  bzip2 xz-utils                            # build: ADD unpacks .tar.bz2 / .tar.xz through them (src/build/add.ts)
  libisal-dev                               # ISA-L's igzip: the native addon's gzip (native/src/gzip.c), linked at npm ci
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing packages ${missing[*]}; run this script as root to install them"; exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# podman and buildah (which reads the same containers.conf) as benchmark peers need a root configuration that works on this machine
# (no systemd, no bridge networking, nofile hard limit): see docs/MACHINE.md.
if command -v podman >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && [ ! -f /etc/containers/containers.conf.d/cairn-peer.conf ]; then
  mkdir -p /etc/containers/containers.conf.d
  cat > /etc/containers/containers.conf.d/cairn-peer.conf <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
[engine]
runtime = "crun"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  say "configured podman for this machine (/etc/containers/containers.conf.d/cairn-peer.conf)"
fi

# crun refuses every container on a hybrid cgroup machine whose cgroup2 mount still holds a
# controller ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"): here
# the VM leaves hugetlb at /sys/fs/cgroup/unified. Mounting each such controller as a cgroup v1
# hierarchy moves it off the cgroup2 mount. runc is not affected. Idempotent.
unified=/sys/fs/cgroup/unified
if [ "$(id -u)" = 0 ] && [ -r "$unified/cgroup.controllers" ] && [ -n "$(cat "$unified/cgroup.controllers")" ]; then
  moved=()
  for c in $(cat "$unified/cgroup.controllers"); do
    mkdir -p "/sys/fs/cgroup/$c"
    if ! mountpoint -q "/sys/fs/cgroup/$c"; then
      mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
      moved+=("$c")
    fi
  done
  if [ ${#moved[@]} -gt 0 ]; then
    say "moved cgroup controllers ${moved[*]} from the hybrid cgroup2 mount to cgroup v1 hierarchies (crun needs it)"
  fi
fi

# --- npm dependencies ----------------------------------------------------------------------
stamp=node_modules/.cairn-setup-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  say "installing npm dependencies (native ones build from source: about 2 minutes the first time)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

# --- build ---------------------------------------------------------------------------------
if [ -f binding.gyp ]; then
  if [ ! -f build/Release/cairn_native.node ] || [ -n "$(find native binding.gyp -newer build/Release/cairn_native.node -print -quit)" ]; then
    say "building the native addon"
    npm run --silent build:native >/dev/null
  fi
fi
say "compiling TypeScript"
npx --no-install tsc -p .
say "bundling the CLI (dist/cairn.cjs)"
node scripts/bundle.mjs
