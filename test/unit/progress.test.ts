// The replay progress line: on a terminal only, only after the first second, at most five
// times a second, and wiped before flows are printed; nothing at all on a pipe.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Progress } from '../../src/cli/progress.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { s: { isTTY, write: (t: string) => (writes.push(t), true) } as unknown as NodeJS.WriteStream, writes };
}

afterEach(() => vi.useRealTimers());

describe('replay progress', () => {
  it('draws position, share and events/s on a TTY after a second, then clears itself', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { s, writes } = stream(true);
    const p = new Progress(200e6, 'replay', s);
    p.update(1e6, 1000);
    expect(writes).toEqual([]); // the first second stays quiet
    vi.setSystemTime(1_000_000 + 2000);
    p.update(100e6, 3_000_000);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toBe('\rreplay [############............]  50%  100.0 MB/200.0 MB  1.50 M events/s ');
    p.update(101e6, 3_000_001); // within 200 ms of the last draw
    expect(writes).toHaveLength(1);
    p.done();
    expect(writes[1]).toBe('\r\x1b[K');
  });

  it('writes nothing on a pipe', () => {
    vi.useFakeTimers({ now: 0 });
    const { s, writes } = stream(false);
    const p = new Progress(10, 'replay', s);
    vi.setSystemTime(5000);
    p.update(5, 5);
    p.done();
    expect(writes).toEqual([]);
  });
});
