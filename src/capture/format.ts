// The framing of a capture file (proto/capture.proto's opening comment): magic, then
// frames of [u32 length][u32 CRC-32][payload]. Shared by the writer and the reader.
import { crc32 } from 'node:zlib';

export const MAGIC = Buffer.from([0x89, 0x4d, 0x54, 0x52, 0x43, 0x0d, 0x0a, 0x1a]); // \x89MTRC\r\n\x1a
export const FRAME_HEADER_SIZE = 8;
/** the version of the framing and its messages; readers refuse newer ones */
export const FORMAT_VERSION = 1;
/** a batch is at most a few hundred KB; anything this large is damage, not data */
export const MAX_FRAME_SIZE = 64 << 20;

export function frameHeader(payload: Uint8Array): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_SIZE);
  h.writeUInt32LE(payload.byteLength, 0);
  h.writeUInt32LE(crc32(payload) >>> 0, 4);
  return h;
}

export function checksum(payload: Uint8Array): number {
  return crc32(payload) >>> 0;
}

export function isCapture(head: Uint8Array): boolean {
  return head.byteLength >= MAGIC.length && MAGIC.equals(head.subarray(0, MAGIC.length));
}
