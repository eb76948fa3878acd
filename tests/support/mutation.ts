// Byte mutations of a message, as a fuzzer makes them, for the fast-check properties
// of the proxy core: a byte flipped, a text inserted (each test names its own texts),
// a run cut out. `at` wraps around the message's length.
import fc from "fast-check";

export type Mutation =
  | { kind: "flip"; at: number; byte: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "cut"; at: number; len: number };

/** Mutations whose inserts are drawn from `inserts`. */
export function mutations(inserts: readonly string[]): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({
      kind: fc.constant("flip" as const),
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({
      kind: fc.constant("insert" as const),
      at: fc.nat(),
      text: fc.constantFrom(...inserts),
    }),
    fc.record({
      kind: fc.constant("cut" as const),
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 8 }),
    }),
  );
}

/** `bytes` with the mutations applied in order. */
export function mutate(bytes: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  const out = Array.from(bytes);
  for (const m of ms) {
    const at = m.at % (out.length + 1);
    if (m.kind === "flip") out[at] = m.byte;
    else if (m.kind === "insert") out.splice(at, 0, ...new TextEncoder().encode(m.text));
    else out.splice(at, m.len);
  }
  return new Uint8Array(out);
}
