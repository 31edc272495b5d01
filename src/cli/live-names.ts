// Names for a live session: a topology snapshot taken at start and re-taken (at most once
// a second) when an event comes from a device it does not know yet (a container that just
// started). Event lines and the correlator both read through it.
import type { PacketEvent } from '../events/decode.js';
import { collectTopology, createResolver, type Resolver, type TopologySnapshot } from '../topology/index.js';

export interface LiveNames {
  ready: Promise<void>;
  resolver(): Resolver | undefined;
  snapshot(): TopologySnapshot | undefined;
  /** ask for a fresh snapshot (rate-limited) */
  refresh(): void;
  where(e: PacketEvent): string;
}

/** onSnapshot sees every snapshot as it is installed (a recording stores each one) */
export function liveNames(docker: string[], onSnapshot?: (snap: TopologySnapshot) => void): LiveNames {
  let resolver: Resolver | undefined;
  let snap: TopologySnapshot | undefined;
  let refreshing = false;
  let last = 0;
  const refresh = async () => {
    if (refreshing || Date.now() - last < 1000) return;
    refreshing = true;
    last = Date.now();
    try {
      snap = await collectTopology({ docker });
      resolver = createResolver(snap);
      onSnapshot?.(snap);
    } catch {
      /* names stay as they were */
    } finally {
      refreshing = false;
    }
  };
  const ready = refresh();
  return {
    ready,
    resolver: () => resolver,
    snapshot: () => snap,
    refresh: () => void refresh(),
    where: (e) => {
      if (!e.ifindex) return e.netns ? `netns ${e.netns}` : '-';
      const r = resolver?.resolve(e.netns, e.ifindex);
      if (r) return r.label;
      void refresh();
      return resolver ? resolver.label(e.netns, e.ifindex) : `netns ${e.netns} · if ${e.ifindex}`;
    },
  };
}
