/**
 * Job ids: UUID version 7 (RFC 9562), the creation time in ms, then a counter, then random bits.
 * Time order matters to the stores: ids that grow keep a B-tree keyed by id appending at its
 * right edge, where random (version 4) ids split pages all over it and leave them part empty.
 * Ids of one process also grow within a ms (the 12-bit counter of the RFC's method 1), since
 * a batch of a thousand taken in one ms, in random order, split the index's last pages as
 * random ids split all of them.
 */
let lastMs = -1;
let counter = 0;

// Random bytes drawn 4 KiB at a time, as crypto.randomUUID does: one draw per id cost more
// than the rest of an id's making.
const POOL_IDS = 256;
const pool = new Uint8Array(16 * POOL_IDS);
let pooled = 0;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A new job id, greater than every id this process made before (unless the clock went back by more than the counter's range). */
export function newJobId(now: number = Date.now()): string {
  if (pooled === 0) {
    crypto.getRandomValues(pool);
    pooled = POOL_IDS;
  }
  pooled--;
  const bytes = pool.subarray(pooled * 16, pooled * 16 + 16);
  if (now > lastMs) {
    lastMs = now;
    // Half the range at most, so a burst within the ms has room to count up.
    counter = ((bytes[6]! & 0x07) << 8) | bytes[7]!;
  } else if (counter < 0xfff) {
    counter++;
  } else {
    lastMs++;
    counter = 0;
  }
  let ms = lastMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const h = (i: number) => HEX[bytes[i]!]!;
  return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}
