// IPVS for real: on a kernel with ip_vs (Debian's 6.1 and 6.12 in test/vm's guests; this
// 6.18 host has none) the lab load-balances the way Docker's routing mesh does, with an
// IPVS fwmark service in ingress-sbox, and `mesh-trace --port 1080` shows that step of the
// flow: the fwmark, the virtual service, the real server IPVS chose, the masquerade
// rewrite, then the SNAT that `-m ipvs --ipvs` applies on the way out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord, Hop } from '../../src/correlate/index.js';
import { chooseLbMode, labDown, labRequest, labUp } from '../../src/lab/index.js';
import { runTracing } from '../helpers/cli.js';
import { isRoot } from './helpers/testnet.js';

const lb = chooseLbMode();
const skip = !isRoot() ? 'kernel tests need root' : lb.mode !== 'ipvs' ? lb.reason : '';

const hopText = (h: Hop) => `${h.node} · ${h.netns}${h.device && h.what !== 'nat' && h.what !== 'lb' ? ` · ${h.device}` : ''} ${h.what}`;

describe.skipIf(!!skip)(`the lab's routing mesh through IPVS${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let flow: FlowRecord;
  let port = '';

  beforeAll(async () => {
    await labDown();
    await labUp({ lbMode: 'ipvs' });
    const r = await runTracing(['--port', '1080', '--count', '1', '--json'], () => labRequest());
    expect(r.code, r.err).toBe(0);
    const flows: FlowRecord[] = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(flows).toHaveLength(1);
    flow = flows[0];
    port = flow.client.split(':')[1];
    // the flow as the guest saw it, for the record (test:kernels keeps the output)
    process.stdout.write(`ipvs-lab forward hops:\n${flow.forward!.hops.map((h) => `  ${hopText(h)} ${h.changes.map((c) => `${c.kind} ${c.from ?? ''} → ${c.to ?? ''} [${c.rule ?? ''}]`).join('; ')}`).join('\n')}\n`);
  });
  afterAll(async () => {
    await labDown();
  });

  it('one request is one flow, delivered to the task and answered', () => {
    expect(flow).toMatchObject({ type: 'flow', proto: 'TCP', server: '192.168.60.1:1080', state: 'closed' });
    expect(flow.forward!.end).toBe('delivered');
    expect(flow.forward!.hops.at(-1)).toMatchObject({ node: 'node2', netns: 'nginx.1', what: 'in' });
    expect(flow.reply!.packet).toMatchObject({ flags: 'S.', src: '10.255.0.5:80' });
  });

  it('the IPVS hop in ingress-sbox: fwmark service, the real server it chose, the masquerade rewrite', () => {
    const hop = flow.forward!.hops.find((h) => h.what === 'lb')!;
    expect(hop, 'an IPVS hop').toBeDefined();
    expect(hop).toMatchObject({ node: 'node1', netns: 'ingress-sbox' });
    expect(hop.hooks).toContain('ipvs-nat-xmit');
    // the packet reached the fwmark service with Docker's mark, addressed to ingress-sbox itself
    expect(hop.headers?.mark).toBe(0x100);
    const ipvs = hop.changes.find((c) => c.kind === 'IPVS')!;
    expect(ipvs).toMatchObject({ field: 'dst', from: '172.18.0.2:80', to: '10.255.0.5:80', rule: 'ipvs FWM 256' });
  });

  it('every rewrite on the way, in order: DNAT on the host, IPVS, then the SNAT to the ingress network', () => {
    const changes = flow.forward!.hops.flatMap((h) => h.changes.filter((c) => c.field !== 'tunnel' && c.field !== 'mark').map((c) => `${h.node} · ${h.netns} ${c.kind} ${c.from} → ${c.to}`));
    expect(changes).toEqual([
      'node1 · host DNAT 192.168.60.1:1080 → 172.18.0.2:1080',
      'node1 · ingress-sbox REDIRECT 172.18.0.2:1080 → 172.18.0.2:80',
      'node1 · ingress-sbox IPVS 172.18.0.2:80 → 10.255.0.5:80',
      `node1 · ingress-sbox SNAT 192.168.60.100:${port} → 10.255.0.2:${port}`,
    ]);
  });
});
