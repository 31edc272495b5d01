import { describe, expect, it } from 'vitest';
import { ClockNumbers, MAX_CLOCKS, skbKey, skbOfKey } from '../../src/events/skb-key.js';

describe('skb keys across clocks', () => {
  it('numbers clocks in the order they come, the same name the same number', () => {
    const c = new ClockNumbers();
    expect([c.of('node1'), c.of('node2'), c.of('node1')]).toEqual([0, 1, 0]);
  });

  it('keeps the skb address exact on the last clock it tells apart', () => {
    const skb = 2 ** 48 - 1;
    const key = skbKey(MAX_CLOCKS - 1, skb);
    expect(Number.isSafeInteger(key)).toBe(true);
    expect(skbOfKey(key)).toBe(skb);
    expect(skbKey(0, skb)).not.toBe(skbKey(1, skb));
  });

  it('refuses one clock more than it can tell apart, saying what to do', () => {
    const c = new ClockNumbers();
    for (let n = 0; n < MAX_CLOCKS; n++) c.of(`node${n}`);
    expect(() => c.of('one-too-many')).toThrow(/more than 31 clocks.*cannot be correlated together/);
  });
});
