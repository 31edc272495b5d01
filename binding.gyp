{
  "targets": [
    {
      "target_name": "bpf_objects",
      "type": "none",
      "actions": [
        {
          "action_name": "build_bpf",
          "inputs": [
            "<!@(ls bpf/*.bpf.c bpf/*.h bpf/hooks/*.h)",
            "scripts/build-bpf.sh"
          ],
          "outputs": ["<(SHARED_INTERMEDIATE_DIR)/bpf/mesh_trace.skel.h"],
          "action": ["bash", "scripts/build-bpf.sh", "<(SHARED_INTERMEDIATE_DIR)/bpf"]
        }
      ]
    },
    {
      "target_name": "mesh_trace",
      "dependencies": ["bpf_objects"],
      "sources": [
        "native/addon.cc",
        "native/errors.cc",
        "native/netns.cc",
        "native/links.cc",
        "native/netlink.cc",
        "native/netfilter_state.cc",
        "native/session.cc",
        "native/link_watcher.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(SHARED_INTERMEDIATE_DIR)/bpf"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
