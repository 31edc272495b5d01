// What the correlator asks of the topology: names for (netns, ifindex), a namespace's
// addresses, NAT rules and IPVS services (to say which rule made a rewrite), and the
// kernel's drop-reason names. Live it is a refreshed resolver; in replay, the recording's.
import type { Netns } from '../topology/model.js';
import type { Resolver, ResolvedDevice } from '../topology/resolver.js';

export interface Namer {
  device(netns: number, ifindex: number): ResolvedDevice | undefined;
  netns(inode: number): Netns | undefined;
  dropReason(code: number): string;
}

export function resolverNamer(resolver: () => Resolver | undefined, dropReason: (n: number) => string, onUnknown?: () => void): Namer {
  return {
    device: (ns, ifindex) => {
      const d = resolver()?.resolve(ns, ifindex);
      if (!d && onUnknown) onUnknown();
      return d;
    },
    netns: (inode) => resolver()?.netns(inode),
    dropReason,
  };
}
