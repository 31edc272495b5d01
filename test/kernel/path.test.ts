// Done-when of the probe engine: two namespaces joined by a veth pair, a bridge and a
// VXLAN tunnel; TCP to one port; the exact (namespace, device, hook) sequence for the SYN,
// the SYN-ACK and the data; nothing for traffic to another port.
// The sequence is written once (helpers/overlay.ts) with every hop any kernel can show, and
// each hop is expected exactly when the rung its hook point got here observes it:
// netfilter hops with the netfilter rung (6.4+), veth_xmit/br_*/vxlan_* hops with fentry or
// kprobe (not on this locked-down 6.18), the bridge's netfilter hops only with br_netfilter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACK, buildOverlay, expectedPath, hopLabel, OTHER_PORT, type OverlayTrace, pathOf, PORT, PSH, SYN, traceRequest } from './helpers/overlay.js';
import { isRoot, TestNet } from './helpers/testnet.js';

const skip = !isRoot() ? 'kernel tests need root (they create namespaces and load BPF programs)' : '';

describe.skipIf(!!skip)('a TCP connection across veth, bridge and VXLAN', () => {
  const net = new TestNet('mtk-path-');
  let t: OverlayTrace;

  beforeAll(async () => {
    const { bridgeNetfilter } = buildOverlay(net);
    t = await traceRequest(net, bridgeNetfilter);
  });

  afterAll(() => net.destroy());

  const hops = (flags: number, fromClient: boolean) => pathOf(t, flags, fromClient).map((e) => hopLabel(t, e));

  it('carries the request and the answer', () => {
    expect(t.reply).toBe('pong');
    expect(t.refused).toBe(true);
  });

  it('sees the SYN at every hop, in order', () => {
    expect(hops(SYN, true)).toEqual(expectedPath(t, true));
  });

  it('sees the SYN-ACK come back the same way', () => {
    expect(hops(SYN | ACK, false)).toEqual(expectedPath(t, false));
  });

  it('sees the data segment with its VXLAN header on the underlay', () => {
    expect(hops(PSH | ACK, true)).toEqual(expectedPath(t, true));
    const onUnderlay = t.events.find((e) => e.vni !== undefined && e.inner?.tcpFlags === (PSH | ACK) && e.inner.dport === PORT);
    expect(onUnderlay?.vni).toBe(42);
    expect(onUnderlay?.outer).toMatchObject({ proto: 17, dport: 4789 });
    expect(onUnderlay?.inner).toMatchObject({ saddr: '10.77.0.1', daddr: '10.77.0.2', proto: 6 });
  });

  it('sees nothing of traffic to another port', () => {
    const other = t.events.filter((e) => [e.outer, e.inner].some((h) => h && (h.dport === OTHER_PORT || h.sport === OTHER_PORT)));
    expect(other).toEqual([]);
  });
});
