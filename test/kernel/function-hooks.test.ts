// The kernel-function rungs against the device hooks: where the kernel allows fentry and
// kprobes (Debian's 6.1 and 6.12 in test/vm; not this locked-down 6.18), the hops seen
// through veth_xmit, br_handle_frame, br_forward, vxlan_xmit_one and vxlan_rcv are the
// same whichever of the two rungs attaches them, and each one sits where the device hooks
// (tc, and the tracepoints where they are attached) say the packet is: veth_xmit right
// after the driver took the frame on that veth (or tc saw it leave),
// br_handle_frame right after tc ingress on the port, br_forward towards the port tc then
// sees leaving, vxlan_xmit_one right after the vxlan device's transmit and before the outer
// packet on the underlay, vxlan_rcv after the underlay's INPUT and before the vxlan
// device's receive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PacketEvent } from '../../src/events/decode.js';
import type { RungKind } from '../../src/probe/hook-points.js';
import { buildOverlay, hopLabel, type OverlayTrace, pathOf, SYN, traceRequest } from './helpers/overlay.js';
import { isRoot, TestNet } from './helpers/testnet.js';

const FUNCTION_HOOKS = ['veth-xmit', 'bridge-in', 'bridge-forward', 'vxlan-encap', 'vxlan-decap'];
const skip = !isRoot() ? 'kernel tests need root (they create namespaces and load BPF programs)' : '';

/** the SYN's function hops, as seen from the device hooks around them */
const FUNCTION_HOPS = [
  'client/eth0 veth-xmit',
  'nodeA/b0 bridge-in',
  'nodeA/b0 bridge-forward→vx0',
  'nodeA/vx0 vxlan-encap',
  'nodeA/u0 veth-xmit',
  'nodeB/u0 vxlan-decap',
  'nodeB/vx0 bridge-in',
  'nodeB/vx0 bridge-forward→b1',
  'nodeB/b1 veth-xmit',
];

describe.skipIf(!!skip)('veth, bridge and VXLAN functions seen through fentry and kprobes', () => {
  const net = new TestNet('mtk-fn-');
  const traces = new Map<RungKind, OverlayTrace>();
  let bridgeNetfilter = false;

  beforeAll(() => {
    ({ bridgeNetfilter } = buildOverlay(net));
  });
  afterAll(() => net.destroy());

  for (const rung of ['fentry', 'kprobe'] as const) {
    it(`${rung}: the same hops, each where the tracepoints and tc put the packet`, async (ctx) => {
      const forced = Object.fromEntries(FUNCTION_HOOKS.map((h) => [h, rung]));
      const t = await traceRequest(net, bridgeNetfilter, { forcedRungs: forced });
      const missing = FUNCTION_HOOKS.filter((h) => t.rungs[h] !== rung);
      if (missing.length) {
        // the locked-down host: fentry refused, no kprobes (`mesh-trace doctor` says why)
        ctx.skip(`this kernel gives ${missing.join(', ')} no ${rung} rung (mesh-trace doctor --rung ${missing[0]}=${rung} says why)`);
        return;
      }
      traces.set(rung, t);
      expect(t.reply).toBe('pong');
      const path = pathOf(t, SYN, true);
      const label = (e: PacketEvent) => hopLabel(t, e);
      expect(path.filter((e) => FUNCTION_HOOKS.includes(e.hookName)).map(label)).toEqual(FUNCTION_HOPS);

      const dev = (e: PacketEvent | undefined) => (e ? label(e).split(' ')[0] : 'nothing');
      // the device's own transmit/receive event: the tracepoint where it is attached, else
      // tc on the same device (the tracepoints are left to tc where tc is attached)
      const xmit = t.rungs['device-xmit'] === 'tp_btf' ? 'xmit' : 'tc-egress';
      const recv = t.rungs['device-recv'] === 'tp_btf' ? 'recv' : 'tc-ingress';
      path.forEach((e, i) => {
        const before = path.slice(0, i).reverse();
        const after = path.slice(i + 1);
        const lastDevice = (hook: string) => before.find((p) => p.hookName === hook);
        const nextDevice = (hook: string) => after.find((p) => p.hookName === hook);
        switch (e.hookName) {
          case 'veth-xmit':
            // the driver of this veth took the frame just before (net_dev_start_xmit)
            expect(label(path[i - 1]), label(e)).toBe(`${dev(e)} ${xmit}`);
            break;
          case 'bridge-in':
            expect(label(path[i - 1]), label(e)).toBe(`${dev(e)} tc-ingress`);
            break;
          case 'bridge-forward':
            // the port the bridge chose is the next device tc sees the frame leave by
            expect(`${dev(e).split('/')[0]}/${label(e).split('→')[1]}`, label(e)).toBe(dev(nextDevice('tc-egress')));
            expect(dev(lastDevice('tc-ingress')), label(e)).toBe(dev(e));
            break;
          case 'vxlan-encap':
            expect(label(path[i - 1]), label(e)).toBe(`${dev(e)} ${xmit}`);
            expect(e.vni, 'the inner frame, not yet encapsulated').toBeUndefined();
            expect(nextDevice('tc-egress')?.vni, 'the next device sees the outer packet').toBe(42);
            break;
          case 'vxlan-decap':
            expect(e.vni).toBe(42);
            expect(dev(lastDevice('tc-ingress')), label(e)).toBe(dev(e));
            expect(dev(nextDevice(recv)), label(e)).toBe(`${dev(e).split('/')[0]}/vx0`);
            expect(nextDevice(recv)?.vni, 'decapsulated').toBeUndefined();
            break;
        }
      });
    });
  }

  it('fentry and kprobes see the same hops in the same places', (ctx) => {
    const [f, k] = [traces.get('fentry'), traces.get('kprobe')];
    if (!f || !k) {
      ctx.skip('needs both the fentry and the kprobe rung (see above)');
      return;
    }
    const hops = (t: OverlayTrace) => pathOf(t, SYN, true).map((e) => hopLabel(t, e));
    expect(hops(k)).toEqual(hops(f));
  });
});
