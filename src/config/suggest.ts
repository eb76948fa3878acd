// "Did you mean" hints for unknown keys and names: a typo in an HA config must be
// easy to spot, so the nearest known spelling is offered when one is close enough.

/** Levenshtein edit distance between two strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, substitution);
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word`, or undefined when none is close: within a third
 * of the word's length in edits (at least one), or one is a prefix of the other.
 * A tie between candidates suggests nothing: "site-c" is no more "site-a" than "site-b".
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  let tied = false;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    let d = editDistance(lower, c);
    if (d > limit && lower.length >= 3 && (c.startsWith(lower) || lower.startsWith(c))) d = limit;
    if (d > limit) continue;
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
      tied = false;
    } else if (d === bestDistance && c !== best?.toLowerCase()) tied = true;
  }
  return tied ? undefined : best;
}

/** " (did you mean 'x'?)" or "" — ready to append to a message. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const hint = closest(word, candidates);
  return hint === undefined ? "" : ` (did you mean '${hint}'?)`;
}
