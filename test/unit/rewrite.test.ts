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
});
