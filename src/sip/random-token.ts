/**
 * Unpredictable tokens for the branches and tags vipless generates (RFC 3261 §8.1.1.7
 * and §19.3 ask for them to be unguessable): an off-path host that cannot see our
 * messages cannot forge an answer to one. Web Crypto, in both runtimes; bytes are drawn
 * in batches because a call per token costs more than the token.
 */
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** `bytes` random bytes as lower-case hex (2 characters each). */
export function randomToken(bytes = 8): string {
  if (used + bytes > POOL_BYTES) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  let s = "";
  for (let i = 0; i < bytes; i++) s += HEX[pool[used++]!];
  return s;
}
