// Maps a config path such as ["pairs", 1, "primary"] back to where it is written in
// the YAML text, so that every message can carry FILE:LINE:COL.
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from "yaml";

export interface Position {
  line: number;
  col: number;
}

type Target = "value" | "key";

function hasRange(node: unknown): node is Node & { range: [number, number, number] } {
  return typeof node === "object" && node !== null && "range" in node &&
    Array.isArray((node as { range: unknown }).range);
}

/** "key:" with nothing after it parses as a zero-length null scalar; point at the key. */
function isImplicitNull(node: Node): boolean {
  return isScalar(node) && node.value === null && node.range != null &&
    node.range[0] === node.range[1];
}

/**
 * The position of the node at `path`: its key (target "key") or its value. When the path
 * does not exist in the text (a missing key), the deepest node that does exist is used,
 * which is the mapping the key is missing from.
 */
export function positionOf(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  target: Target = "value",
): Position {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  let best: number = hasRange(node) ? node.range[0] : 0;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    let nextKey: unknown;
    if (isMap(node)) {
      const pair = node.items.find((item) =>
        String(isScalar(item.key) ? item.key.value : item.key) === String(segment)
      );
      if (pair === undefined) break;
      nextKey = pair.key;
      next = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      next = node.items[segment];
      if (next === undefined) break;
    } else break;
    node = next;
    keyNode = nextKey;
    const keyOffset = hasRange(keyNode) ? keyNode.range[0] : undefined;
    if (target === "key" && keyOffset !== undefined) best = keyOffset;
    else if (hasRange(node) && !isImplicitNull(node)) best = node.range[0];
    else if (keyOffset !== undefined) best = keyOffset;
  }
  return lineCounter.linePos(best);
}
