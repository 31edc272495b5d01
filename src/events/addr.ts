// IP addresses as bytes in network order -> text, the way `ip` and tcpdump print them.

/** `10.0.0.1:80`, `[fd00::1]:80`, or the bare address when there are no ports */
export function endpointText(addr: string, family: 4 | 6, port: number, l4: boolean): string {
  if (!l4) return addr;
  return family === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** IPv4 text by address: a flow's few addresses are printed for every event decoded, and
 * a new string each time was a large share of a replay's garbage */
const v4Text = new Map<number, string>();
const V4_CACHE_MAX = 65536;

/** an IPv4 address given as a 32-bit number (network order, most significant byte first) */
export function formatV4(addr: number): string {
  // keyed by the signed 32-bit form: a small integer, where half of all addresses as
  // unsigned numbers would be boxed doubles, slower to hash
  const key = addr | 0;
  let text = v4Text.get(key);
  if (text === undefined) {
    if (v4Text.size >= V4_CACHE_MAX) v4Text.clear();
    text = `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
    v4Text.set(key, text);
  }
  return text;
}

export function formatAddr(b: Uint8Array, o: number, family: 4 | 6): string {
  if (family === 4) return formatV4(((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[o + 2 * i] << 8) | b[o + 2 * i + 1]);
  // RFC 5952: the longest run of two or more zero words becomes "::"
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** "10.0.0.0/24", "192.168.1.1", "fd00::1/64" -> 16 bytes in network order and a prefix length */
export function parseCidr(text: string): { bytes: Uint8Array; prefix: number; v6: boolean } | undefined {
  const [addr, len, extra] = text.trim().split('/');
  if (extra !== undefined || !addr) return undefined;
  const bytes = new Uint8Array(16);
  let v6 = false;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(addr)) {
    const parts = addr.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    bytes.set(parts, 0);
  } else if (addr.includes(':')) {
    v6 = true;
    const halves = addr.split('::');
    if (halves.length > 2) return undefined;
    const head = halves[0] ? halves[0].split(':') : [];
    const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
    if (halves.length === 1 && head.length !== 8) return undefined;
    if (head.length + tail.length > 8) return undefined;
    const words = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
    for (let i = 0; i < 8; i++) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(words[i])) return undefined;
      const w = parseInt(words[i], 16);
      bytes[2 * i] = w >> 8;
      bytes[2 * i + 1] = w & 0xff;
    }
  } else {
    return undefined;
  }
  const max = v6 ? 128 : 32;
  const prefix = len === undefined ? max : Number(len);
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > max || (len !== undefined && !/^\d+$/.test(len))) return undefined;
  return { bytes, prefix, v6 };
}
