import { describe, expect, it } from 'vitest';
import { Hook } from '../../src/events/hooks.js';
import { hookLabel, hookList, NO_HOOKS, withLabel } from '../../src/correlate/hook-lists.js';

/** netfilter aux: hook number, and the stage byte (0 before NAT, anything else after) */
const nf = (hooknum: number, stage: number): number => (stage << 16) | (2 << 8) | hooknum;

describe('hook lists', () => {
  it('names hooks as hops show them, netfilter by hook and stage', () => {
    expect(hookList(withLabel(NO_HOOKS, hookLabel(Hook.TC_INGRESS, 0)))).toEqual(['tc-ingress']);
    expect(hookList(withLabel(NO_HOOKS, hookLabel(Hook.NF, nf(0, 0))))).toEqual(['netfilter PREROUTING (before NAT)']);
    // any stage byte but 0 is after NAT: one label, not one per value
    expect(hookLabel(Hook.NF, nf(4, 1))).toBe(hookLabel(Hook.NF, nf(4, 7)));
    expect(hookList(withLabel(NO_HOOKS, hookLabel(Hook.NF, nf(4, 7))))).toEqual(['netfilter POSTROUTING']);
    expect(hookList(withLabel(NO_HOOKS, hookLabel(250, 0)))).toEqual(['hook-250']);
  });

  it('grows a list in the order hooks come, each once, and shares equal lists', () => {
    const ingress = hookLabel(Hook.TC_INGRESS, 0);
    const recv = hookLabel(Hook.DEV_RECV, 0);
    const a = withLabel(withLabel(NO_HOOKS, ingress), recv);
    expect(hookList(a)).toEqual(['tc-ingress', 'recv']);
    expect(withLabel(a, ingress)).toBe(a);
    expect(withLabel(withLabel(NO_HOOKS, ingress), recv)).toBe(a);
    expect(hookList(withLabel(withLabel(NO_HOOKS, recv), ingress))).toEqual(['recv', 'tc-ingress']);
    expect(Object.isFrozen(hookList(a))).toBe(true);
  });
});
