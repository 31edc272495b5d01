// What netfilter holds in a namespace, read from inside it: whether a netfilter link there
// could ever see a rewrite (src/probe/netfilter-presence.ts decides). Native because the
// other way, nsenter + nft + cat per namespace, cost ~0.3 s at start on this machine.
#pragma once
#include <napi.h>

namespace mt {

// netfilterState(netnsPath) -> Promise<{ nftTables, legacyTables, ipvsServices, bridgeNfCall }>
Napi::Value NetfilterState(const Napi::CallbackInfo& info);

}  // namespace mt
