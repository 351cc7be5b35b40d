# cairn's one native addon (see native/README.md): the Linux system calls Node's
# fs lacks. Plain C against Node-API; npm runs `node-gyp rebuild` on install
# because this file sits at the package root. Output: build/Release/cairn_native.node
{
  "targets": [
    {
      "target_name": "cairn_native",
      "sources": [
        "native/src/module.c",
        "native/src/common.c",
        "native/src/at.c",
        "native/src/xattr.c",
        "native/src/mount.c",
        "native/src/tree.c",
        "native/src/apply.c",
        "native/src/hash.c",
        "native/src/copy.c",
        "native/src/upper.c",
        "native/src/scan.c",
        "native/src/socket.c",
        "native/src/process.c",
        "native/src/external.c",
        "native/src/gzip.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "libraries": ["-lisal"],
      "conditions": [
        ["OS!='linux'", {
          "sources!": [
            "native/src/module.c",
            "native/src/common.c",
            "native/src/at.c",
            "native/src/xattr.c",
            "native/src/mount.c",
            "native/src/tree.c",
            "native/src/apply.c",
            "native/src/hash.c",
            "native/src/copy.c",
            "native/src/upper.c",
            "native/src/scan.c",
            "native/src/socket.c",
            "native/src/process.c",
            "native/src/external.c",
            "native/src/gzip.c"
          ]
        }]
      ]
    }
  ]
}
