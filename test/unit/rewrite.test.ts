// Naming a header change by what made it, from the namespace's own rules and addresses.
import { describe, expect, it } from 'vitest';
import { nameChange } from '../../src/correlate/rewrite.js';
import type { Netns } from '../../src/topology/model.js';
import { rule } from './helpers/packets.js';

function ns(o: Partial<Netns>): Netns {
  return { inode: 1, path: '', names: [], source: 'netns', node: 'n', display: 'task', role: 'container', devices: [], routes: [], rules: [], errors: [], ...o };
}

describe('nameChange', () => {
  it('a destination rewritten to an address of the namespace itself is a REDIRECT, with its rule', () => {
    const task = ns({
      devices: [{ ifindex: 2, name: 'eth0', kind: 'veth', mtu: 1450, state: 'UP', up: true, addresses: ['10.0.0.4/24'] }],
      rules: [rule('PREROUTING', 'REDIRECT', { toPorts: '80' })],
    });
    expect(nameChange({ field: 'dst', from: '10.0.0.4:1080', to: '10.0.0.4:80', mark: 0 }, 'forward', task)).toEqual({
      kind: 'REDIRECT',
      field: 'dst',
      from: '10.0.0.4:1080',
      to: '10.0.0.4:80',
      rule: 'nat PREROUTING REDIRECT → :80',
    });
  });

  it('IPVS: a destination changed to a real server of a fwmark service the packet was marked for', () => {
    const sbox = ns({ ipvs: [{ protocol: 'FWM', fwmark: 256, scheduler: 'rr', realServers: [{ address: '10.0.0.4', port: 0, forward: 'Masq', weight: 1, activeConns: 0, inactiveConns: 0 }] }] });
    expect(nameChange({ field: 'dst', from: '172.18.0.2:1080', to: '10.0.0.4:1080', mark: 256 }, 'forward', sbox)).toMatchObject({ kind: 'IPVS', rule: 'ipvs FWM 256 rr' });
  });

  it('a source change with only a MASQUERADE rule is a MASQUERADE; on the reply the same changes are conntrack undoing them', () => {
    const host = ns({ rules: [rule('POSTROUTING', 'MASQUERADE', { match: { src: '172.18.0.0/16' } })] });
    expect(nameChange({ field: 'src', from: '172.18.0.3:4000', to: '192.168.1.5:4000', mark: 0 }, 'forward', host).kind).toBe('MASQUERADE');
    expect(nameChange({ field: 'src', from: '10.0.0.4:80', to: '172.18.0.2:1080', mark: 0 }, 'reply', host).kind).toBe('un-DNAT');
    expect(nameChange({ field: 'dst', from: '10.0.0.2:4000', to: '192.168.1.9:4000', mark: 0 }, 'reply', host).kind).toBe('un-SNAT');
    expect(nameChange({ field: 'dst', from: 'a', to: 'b', mark: 0 }, 'forward', undefined)).toEqual({ kind: 'DNAT', field: 'dst', from: 'a', to: 'b' });
  });

  it('a NAT is named by the first rule whose target covers the new endpoint: ranges by their first address and port, a target without a port for any', () => {
    const host = ns({
      rules: [
        rule('DOCKER', 'DNAT', { to: '10.0.0.5-10.0.0.9:8080-8090' }),
        rule('DOCKER', 'DNAT', { to: '10.0.0.5' }),
        rule('POSTROUTING', 'SNAT', { to: '10.255.0.2' }),
      ],
    });
    const dnat = (to: string) => nameChange({ field: 'dst', from: '192.168.1.5:80', to, mark: 0 }, 'forward', host);
    expect(dnat('10.0.0.5:8080').rule).toMatch(/8080-8090/);
    expect(dnat('10.0.0.5:80').rule).toMatch(/→ 10\.0\.0\.5$/);
    expect(dnat('10.0.0.6:8080')).toEqual({ kind: 'DNAT', field: 'dst', from: '192.168.1.5:80', to: '10.0.0.6:8080' });
    // the same rule for every flow through it, each with its own client port
    for (const port of [40001, 40002]) expect(nameChange({ field: 'src', from: `10.0.0.3:${port}`, to: `10.255.0.2:${port}`, mark: 0 }, 'forward', host)).toMatchObject({ kind: 'SNAT', rule: expect.stringMatching(/SNAT/) });
  });
});
