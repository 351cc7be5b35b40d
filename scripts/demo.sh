#!/usr/bin/env bash
# The main job, on the default store ($CAIRN_ROOT, else /var/lib/cairn for root):
# make a small base image from Debian's busybox-static, import it, list it, show its history
# and inspect it; then save it to an archive and load it back; mount it; check and build an
# example application from its multi-stage Dockerfile (examples/app), run it, show its history
# and build it again from the cache; run containers from it — one that writes and deletes
# files, its diff, a commit of it as a new layer, a named volume that outlives its containers;
# then serve the store as a registry, push to it and pull back.
set -euo pipefail
cd "$(dirname "$0")/.."
cairn() { bin/cairn "$@"; }
step() { printf '\n\033[1m$ cairn %s\033[0m\n' "$*"; cairn "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A busybox root filesystem: the static binary and one symlink per applet.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/rootfs/root"
cp /bin/busybox "$work/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$work/rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$work/rootfs/etc/passwd"
printf 'root:x:0:\n' > "$work/rootfs/etc/group"
chmod 1777 "$work/rootfs/tmp"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/rootfs" -czf "$work/busybox.tar.gz" .

step import --change 'CMD ["sh"]' --change 'ENV PATH=/bin' --message 'busybox from Debian busybox-static' "$work/busybox.tar.gz" busybox:demo
step images
step history busybox:demo
step inspect busybox:demo
step save -o "$work/busybox.tar" busybox:demo
step rmi busybox:demo
step load -i "$work/busybox.tar"
step images --format json
# The image's layers, unpacked once and stacked read-only: look inside, then let go.
printf '\n\033[1m$ cairn image mount busybox:demo\033[0m\n'
mnt=$(cairn image mount busybox:demo)
echo "$mnt"
ls "$mnt"; echo "$(ls "$mnt/bin" | wc -l) entries in $mnt/bin"
step image umount busybox:demo
step build --check examples/app

# Building: examples/app's multi-stage Dockerfile made into an image (RUN in a real container,
# COPY straight into the step's layer), run, and its history: one layer per file-system
# instruction. A second build takes every step from the cache. (Progress goes to stderr, as
# BuildKit's; shown here with the rest.)
step build -t example/app:1 examples/app 2>&1
step run --rm example/app:1
step history example/app:1
step build -t example/app:1 examples/app 2>&1

# Containers: a thin writable layer on the image's layers, no daemon. One writes and deletes
# files; diff shows its layer, commit turns it into one new layer of a new image.
cairn rm -f demo-writer >/dev/null 2>&1 || true
step run --rm busybox:demo sh -c 'echo "hello from a container on $(uname -s)"'
step run --name demo-writer busybox:demo sh -c 'echo hi > /greeting; rm /bin/vi; mkdir /notes; echo one > /notes/a'
step diff demo-writer
step commit --author 'cairn demo' --message 'a greeting, and no vi' demo-writer busybox:greeting
step history busybox:greeting
step run --rm busybox:greeting sh -c 'cat /greeting; ls /bin/vi 2>&1; true'
step rm demo-writer
# A named volume lives outside every layer: its data outlives the containers that used it.
step run --rm -v demo-data:/data busybox:demo sh -c 'echo "written by the first container" > /data/note'
step volume ls
step run --rm -v demo-data:/data busybox:demo cat /data/note
step volume rm demo-data
step rmi busybox:greeting

# Sharing images needs nothing but cairn: this store served as a registry on a free loopback
# port. An image with the same layer as busybox:demo (another config) is pushed, removed here,
# and pulled back: its layer "Already exists" (busybox:demo has it), only its config moves.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '\n\033[1m$ cairn registry serve --addr 127.0.0.1:%s &\033[0m\n' "$port"
bin/cairn registry serve --addr "127.0.0.1:$port" &  # bin/cairn execs node: $! is the server
server=$!
stop_server() { if kill "$server" 2>/dev/null; then wait "$server" 2>/dev/null || true; fi; }
trap 'stop_server; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
step import --change 'CMD ["sh", "-l"]' --message 'busybox, a login shell' "$work/busybox.tar.gz" "127.0.0.1:$port/demo/busybox:login"
step push "127.0.0.1:$port/demo/busybox:login"
step rmi "127.0.0.1:$port/demo/busybox:login"
step pull "127.0.0.1:$port/demo/busybox:login"
printf '\n\033[1m$ curl http://127.0.0.1:%s/v2/_catalog\033[0m\n' "$port"
curl -s "http://127.0.0.1:$port/v2/_catalog"; echo
stop_server
