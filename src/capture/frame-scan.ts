// How far a run of bytes holds whole, sound frames: each frame's length within bounds and
// its CRC-32 matching. The prefetching thread checks frames with this ahead of the replay,
// which then decodes them without checking again; whatever this stops at (a frame not yet
// all read, or damage) the reader reaches on its own and reports as it always has.
import { checksum, FRAME_HEADER_SIZE, MAX_FRAME_SIZE } from './format.js';

export interface FrameScan {
  /** one past the last whole, sound frame (0 when the first is not) */
  end: number;
  /** why the scan stopped at end: the bytes ran out inside a frame, or the frame there is
   * damaged (a length out of bounds, a checksum that does not match) */
  stop: 'partial' | 'damaged';
  /** partial: the size of the frame begun at end (header and payload), when its header
   * is there to say so */
  need?: number;
}

export function scanFrames(buf: Uint8Array, length = buf.byteLength): FrameScan {
  const dv = new DataView(buf.buffer, buf.byteOffset, length);
  let p = 0;
  for (;;) {
    if (p + FRAME_HEADER_SIZE > length) return { end: p, stop: 'partial' };
    const len = dv.getUint32(p, true);
    if (len > MAX_FRAME_SIZE) return { end: p, stop: 'damaged' };
    const next = p + FRAME_HEADER_SIZE + len;
    if (next > length) return { end: p, stop: 'partial', need: FRAME_HEADER_SIZE + len };
    if (checksum(buf.subarray(p + FRAME_HEADER_SIZE, next)) !== dv.getUint32(p + 4, true)) return { end: p, stop: 'damaged' };
    p = next;
  }
}
