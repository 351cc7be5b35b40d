/**
 * What `docker inspect` printed for two containers just made by `docker create` on Docker
 * 20.10.24 (Debian's docker.io, overlay2, cgroup v1, dockerd --bridge=none), captured for
 * inspect.test.ts; ids and the data-root replaced by placeholders. The image `bb` was a
 * busybox root filesystem imported with `docker import` (no Env, no Cmd).
 *
 * PLAIN:  docker create --name rf-plain bb sleep 10
 * FULL:   docker create --name rf-full --network none -v /tmp/rf/bind:/bind:ro -v rfvol:/data -v /anon
 *           --mount type=tmpfs,dst=/scratch,tmpfs-size=1m,tmpfs-mode=1770
 *           --mount type=volume,src=rfvol2,dst=/v2,volume-nocopy,volume-label=a=b
 *           --mount type=bind,src=/tmp/rf/bind,dst=/b2,bind-propagation=rshared --tmpfs /run:size=1m
 *           -e FOO=bar -e EMPTY= --label ref.kind=full -w /data -u 1000:1000 --entrypoint /bin/sh
 *           --hostname myhost --memory 64m --memory-swap 128m --shm-size 32m --cpus 1.5 --pids-limit 100
 *           --ulimit nofile=100:200 --cap-add SYS_ADMIN --cap-drop NET_RAW --security-opt no-new-privileges
 *           --init --read-only --stop-signal SIGINT --stop-timeout 5 --health-cmd true --health-interval 30s
 *           --health-retries 3 --health-timeout 5s --health-start-period 1s --rm -i -t bb -c 'sleep 10'
 */
export const DOCKER_INSPECT_PLAIN = {
  "Id": "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
  "Created": "2026-12-04T23:18:27.109615747Z",
  "Path": "sleep",
  "Args": [
    "10"
  ],
  "State": {
    "Status": "created",
    "Running": false,
    "Paused": false,
    "Restarting": false,
    "OOMKilled": false,
    "Dead": false,
    "Pid": 0,
    "ExitCode": 0,
    "Error": "",
    "StartedAt": "0001-01-01T00:00:00Z",
    "FinishedAt": "0001-01-01T00:00:00Z"
  },
  "Image": "sha256:iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii",
  "ResolvConfPath": "",
  "HostnamePath": "",
  "HostsPath": "",
  "LogPath": "",
  "Name": "/rf-plain",
  "RestartCount": 0,
  "Driver": "overlay2",
  "Platform": "linux",
  "MountLabel": "",
  "ProcessLabel": "",
  "AppArmorProfile": "",
  "ExecIDs": null,
  "HostConfig": {
    "Binds": null,
    "ContainerIDFile": "",
    "LogConfig": {
      "Type": "json-file",
      "Config": {}
    },
    "NetworkMode": "default",
    "PortBindings": {},
    "RestartPolicy": {
      "Name": "no",
      "MaximumRetryCount": 0
    },
    "AutoRemove": false,
    "VolumeDriver": "",
    "VolumesFrom": null,
    "CapAdd": null,
    "CapDrop": null,
    "CgroupnsMode": "host",
    "Dns": [],
    "DnsOptions": [],
    "DnsSearch": [],
    "ExtraHosts": null,
    "GroupAdd": null,
    "IpcMode": "private",
    "Cgroup": "",
    "Links": null,
    "OomScoreAdj": 0,
    "PidMode": "",
    "Privileged": false,
    "PublishAllPorts": false,
    "ReadonlyRootfs": false,
    "SecurityOpt": null,
    "UTSMode": "",
    "UsernsMode": "",
    "ShmSize": 67108864,
    "Runtime": "runc",
    "ConsoleSize": [
      0,
      0
    ],
    "Isolation": "",
    "CpuShares": 0,
    "Memory": 0,
    "NanoCpus": 0,
    "CgroupParent": "",
    "BlkioWeight": 0,
    "BlkioWeightDevice": [],
    "BlkioDeviceReadBps": null,
    "BlkioDeviceWriteBps": null,
    "BlkioDeviceReadIOps": null,
    "BlkioDeviceWriteIOps": null,
    "CpuPeriod": 0,
    "CpuQuota": 0,
    "CpuRealtimePeriod": 0,
    "CpuRealtimeRuntime": 0,
    "CpusetCpus": "",
    "CpusetMems": "",
    "Devices": [],
    "DeviceCgroupRules": null,
    "DeviceRequests": null,
    "KernelMemory": 0,
    "KernelMemoryTCP": 0,
    "MemoryReservation": 0,
    "MemorySwap": 0,
    "MemorySwappiness": null,
    "OomKillDisable": false,
    "PidsLimit": null,
    "Ulimits": null,
    "CpuCount": 0,
    "CpuPercent": 0,
    "IOMaximumIOps": 0,
    "IOMaximumBandwidth": 0,
    "MaskedPaths": [
      "/proc/asound",
      "/proc/acpi",
      "/proc/kcore",
      "/proc/keys",
      "/proc/latency_stats",
      "/proc/timer_list",
      "/proc/timer_stats",
      "/proc/sched_debug",
      "/proc/scsi",
      "/sys/firmware"
    ],
    "ReadonlyPaths": [
      "/proc/bus",
      "/proc/fs",
      "/proc/irq",
      "/proc/sys",
      "/proc/sysrq-trigger"
    ]
  },
  "GraphDriver": {
    "Data": {
      "LowerDir": "/var/lib/docker/overlay2/3333333333333333333333333333333333333333333333333333333333333333-init/diff:/var/lib/docker/overlay2/2222222222222222222222222222222222222222222222222222222222222222/diff",
      "MergedDir": "/var/lib/docker/overlay2/3333333333333333333333333333333333333333333333333333333333333333/merged",
      "UpperDir": "/var/lib/docker/overlay2/3333333333333333333333333333333333333333333333333333333333333333/diff",
      "WorkDir": "/var/lib/docker/overlay2/3333333333333333333333333333333333333333333333333333333333333333/work"
    },
    "Name": "overlay2"
  },
  "Mounts": [],
  "Config": {
    "Hostname": "cccccccccccc",
    "Domainname": "",
    "User": "",
    "AttachStdin": false,
    "AttachStdout": true,
    "AttachStderr": true,
    "Tty": false,
    "OpenStdin": false,
    "StdinOnce": false,
    "Env": null,
    "Cmd": [
      "sleep",
      "10"
    ],
    "Image": "bb",
    "Volumes": null,
    "WorkingDir": "",
    "Entrypoint": null,
    "OnBuild": null,
    "Labels": {}
  },
  "NetworkSettings": {
    "Bridge": "",
    "SandboxID": "",
    "HairpinMode": false,
    "LinkLocalIPv6Address": "",
    "LinkLocalIPv6PrefixLen": 0,
    "Ports": {},
    "SandboxKey": "",
    "SecondaryIPAddresses": null,
    "SecondaryIPv6Addresses": null,
    "EndpointID": "",
    "Gateway": "",
    "GlobalIPv6Address": "",
    "GlobalIPv6PrefixLen": 0,
    "IPAddress": "",
    "IPPrefixLen": 0,
    "IPv6Gateway": "",
    "MacAddress": "",
    "Networks": {
      "bridge": {
        "IPAMConfig": null,
        "Links": null,
        "Aliases": null,
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "",
        "DriverOpts": null
      }
    }
  }
};

export const DOCKER_INSPECT_FULL = {
  "Id": "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
  "Created": "2026-12-04T23:18:27.150252785Z",
  "Path": "/bin/sh",
  "Args": [
    "-c",
    "sleep 10"
  ],
  "State": {
    "Status": "created",
    "Running": false,
    "Paused": false,
    "Restarting": false,
    "OOMKilled": false,
    "Dead": false,
    "Pid": 0,
    "ExitCode": 0,
    "Error": "",
    "StartedAt": "0001-01-01T00:00:00Z",
    "FinishedAt": "0001-01-01T00:00:00Z"
  },
  "Image": "sha256:iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii",
  "ResolvConfPath": "",
  "HostnamePath": "",
  "HostsPath": "",
  "LogPath": "",
  "Name": "/rf-full",
  "RestartCount": 0,
  "Driver": "overlay2",
  "Platform": "linux",
  "MountLabel": "",
  "ProcessLabel": "",
  "AppArmorProfile": "",
  "ExecIDs": null,
  "HostConfig": {
    "Binds": [
      "/tmp/rf/bind:/bind:ro",
      "rfvol:/data"
    ],
    "ContainerIDFile": "",
    "LogConfig": {
      "Type": "json-file",
      "Config": {}
    },
    "NetworkMode": "none",
    "PortBindings": {},
    "RestartPolicy": {
      "Name": "no",
      "MaximumRetryCount": 0
    },
    "AutoRemove": true,
    "VolumeDriver": "",
    "VolumesFrom": null,
    "CapAdd": [
      "SYS_ADMIN"
    ],
    "CapDrop": [
      "NET_RAW"
    ],
    "CgroupnsMode": "host",
    "Dns": [],
    "DnsOptions": [],
    "DnsSearch": [],
    "ExtraHosts": null,
    "GroupAdd": null,
    "IpcMode": "private",
    "Cgroup": "",
    "Links": null,
    "OomScoreAdj": 0,
    "PidMode": "",
    "Privileged": false,
    "PublishAllPorts": false,
    "ReadonlyRootfs": true,
    "SecurityOpt": [
      "no-new-privileges"
    ],
    "Tmpfs": {
      "/run": "size=1m"
    },
    "UTSMode": "",
    "UsernsMode": "",
    "ShmSize": 33554432,
    "Runtime": "runc",
    "ConsoleSize": [
      0,
      0
    ],
    "Isolation": "",
    "CpuShares": 0,
    "Memory": 67108864,
    "NanoCpus": 1500000000,
    "CgroupParent": "",
    "BlkioWeight": 0,
    "BlkioWeightDevice": [],
    "BlkioDeviceReadBps": null,
    "BlkioDeviceWriteBps": null,
    "BlkioDeviceReadIOps": null,
    "BlkioDeviceWriteIOps": null,
    "CpuPeriod": 0,
    "CpuQuota": 0,
    "CpuRealtimePeriod": 0,
    "CpuRealtimeRuntime": 0,
    "CpusetCpus": "",
    "CpusetMems": "",
    "Devices": [],
    "DeviceCgroupRules": null,
    "DeviceRequests": null,
    "KernelMemory": 0,
    "KernelMemoryTCP": 0,
    "MemoryReservation": 0,
    "MemorySwap": 134217728,
    "MemorySwappiness": null,
    "OomKillDisable": false,
    "PidsLimit": 100,
    "Ulimits": [
      {
        "Name": "nofile",
        "Hard": 200,
        "Soft": 100
      }
    ],
    "CpuCount": 0,
    "CpuPercent": 0,
    "IOMaximumIOps": 0,
    "IOMaximumBandwidth": 0,
    "Mounts": [
      {
        "Type": "tmpfs",
        "Target": "/scratch",
        "TmpfsOptions": {
          "SizeBytes": 1048576,
          "Mode": 1016
        }
      },
      {
        "Type": "volume",
        "Source": "rfvol2",
        "Target": "/v2",
        "VolumeOptions": {
          "NoCopy": true,
          "Labels": {
            "a": "b"
          },
          "DriverConfig": {}
        }
      },
      {
        "Type": "bind",
        "Source": "/tmp/rf/bind",
        "Target": "/b2",
        "BindOptions": {
          "Propagation": "rshared"
        }
      }
    ],
    "MaskedPaths": [
      "/proc/asound",
      "/proc/acpi",
      "/proc/kcore",
      "/proc/keys",
      "/proc/latency_stats",
      "/proc/timer_list",
      "/proc/timer_stats",
      "/proc/sched_debug",
      "/proc/scsi",
      "/sys/firmware"
    ],
    "ReadonlyPaths": [
      "/proc/bus",
      "/proc/fs",
      "/proc/irq",
      "/proc/sys",
      "/proc/sysrq-trigger"
    ],
    "Init": true
  },
  "GraphDriver": {
    "Data": {
      "LowerDir": "/var/lib/docker/overlay2/0000000000000000000000000000000000000000000000000000000000000000-init/diff:/var/lib/docker/overlay2/3333333333333333333333333333333333333333333333333333333333333333/diff",
      "MergedDir": "/var/lib/docker/overlay2/0000000000000000000000000000000000000000000000000000000000000000/merged",
      "UpperDir": "/var/lib/docker/overlay2/0000000000000000000000000000000000000000000000000000000000000000/diff",
      "WorkDir": "/var/lib/docker/overlay2/0000000000000000000000000000000000000000000000000000000000000000/work"
    },
    "Name": "overlay2"
  },
  "Mounts": [
    {
      "Type": "tmpfs",
      "Source": "",
      "Destination": "/scratch",
      "Mode": "",
      "RW": true,
      "Propagation": ""
    },
    {
      "Type": "volume",
      "Name": "rfvol2",
      "Source": "/var/lib/docker/volumes/rfvol2/_data",
      "Destination": "/v2",
      "Driver": "local",
      "Mode": "z",
      "RW": true,
      "Propagation": ""
    },
    {
      "Type": "bind",
      "Source": "/tmp/rf/bind",
      "Destination": "/b2",
      "Mode": "",
      "RW": true,
      "Propagation": "rshared"
    },
    {
      "Type": "volume",
      "Name": "4444444444444444444444444444444444444444444444444444444444444444",
      "Source": "/var/lib/docker/volumes/4444444444444444444444444444444444444444444444444444444444444444/_data",
      "Destination": "/anon",
      "Driver": "local",
      "Mode": "",
      "RW": true,
      "Propagation": ""
    },
    {
      "Type": "bind",
      "Source": "/tmp/rf/bind",
      "Destination": "/bind",
      "Mode": "ro",
      "RW": false,
      "Propagation": "rprivate"
    },
    {
      "Type": "volume",
      "Name": "rfvol",
      "Source": "/var/lib/docker/volumes/rfvol/_data",
      "Destination": "/data",
      "Driver": "local",
      "Mode": "z",
      "RW": true,
      "Propagation": ""
    }
  ],
  "Config": {
    "Hostname": "myhost",
    "Domainname": "",
    "User": "1000:1000",
    "AttachStdin": true,
    "AttachStdout": true,
    "AttachStderr": true,
    "Tty": true,
    "OpenStdin": true,
    "StdinOnce": true,
    "Env": [
      "FOO=bar",
      "EMPTY="
    ],
    "Cmd": [
      "-c",
      "sleep 10"
    ],
    "Healthcheck": {
      "Test": [
        "CMD-SHELL",
        "true"
      ],
      "Interval": 30000000000,
      "Timeout": 5000000000,
      "StartPeriod": 1000000000,
      "Retries": 3
    },
    "Image": "bb",
    "Volumes": {
      "/anon": {}
    },
    "WorkingDir": "/data",
    "Entrypoint": [
      "/bin/sh"
    ],
    "OnBuild": null,
    "Labels": {
      "ref.kind": "full"
    },
    "StopSignal": "SIGINT",
    "StopTimeout": 5
  },
  "NetworkSettings": {
    "Bridge": "",
    "SandboxID": "",
    "HairpinMode": false,
    "LinkLocalIPv6Address": "",
    "LinkLocalIPv6PrefixLen": 0,
    "Ports": {},
    "SandboxKey": "",
    "SecondaryIPAddresses": null,
    "SecondaryIPv6Addresses": null,
    "EndpointID": "",
    "Gateway": "",
    "GlobalIPv6Address": "",
    "GlobalIPv6PrefixLen": 0,
    "IPAddress": "",
    "IPPrefixLen": 0,
    "IPv6Gateway": "",
    "MacAddress": "",
    "Networks": {
      "none": {
        "IPAMConfig": null,
        "Links": null,
        "Aliases": null,
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "",
        "DriverOpts": null
      }
    }
  }
};
