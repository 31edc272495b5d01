// Every TypeScript offset of the record and the filter equals what the C compiler laid out
// for bpf/events.h (read from the addon, compiled from the same header).
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { EVENT_VERSION, FILTER_SIZE, FilterOff, HEADERS_SIZE, HdrOff, MAX_NETNS, Off, RECORD_SIZE, SNAPLEN_MAX } from '../../src/events/layout.js';
import { addonPath, loadAddon } from '../../src/probe/native.js';

describe.skipIf(!existsSync(addonPath()))('bpf/events.h layout', () => {
  const c = existsSync(addonPath()) ? loadAddon().recordLayout() : undefined;

  it('has the same size and version', () => {
    expect(RECORD_SIZE).toBe(c!.size);
    expect(EVENT_VERSION).toBe(c!.version);
    expect(HEADERS_SIZE).toBe(c!.headersSize);
    expect(FILTER_SIZE).toBe(c!.filterSize);
    expect(MAX_NETNS).toBe(c!.maxNetns);
    expect(SNAPLEN_MAX).toBe(c!.snaplenMax);
  });
  it('puts every event field where C does', () => {
    expect(Off).toEqual(c!.event);
  });
  it('puts every header field where C does', () => {
    expect(HdrOff).toEqual(c!.headers);
  });
  it('puts every filter field where C does', () => {
    expect(FilterOff).toEqual(c!.filter);
  });
});
