/**
 * Content negotiation for `/`: people's browsers get the HTML status page, scripts and
 * `curl` (any type accepted, or no Accept) keep getting JSON.
 */

/** The q-value the Accept header gives `type/subtype`, by its most specific match. */
function quality(accept: string, type: string, subtype: string): number {
  let best = -1;
  let q = 0;
  for (const part of accept.split(",")) {
    const [range = "", ...params] = part.trim().toLowerCase().split(";");
    const [t, s] = range.trim().split("/");
    const specificity = t === type && s === subtype
      ? 2
      : t === type && s === "*"
      ? 1
      : t === "*" && s === "*"
      ? 0
      : -1;
    if (specificity <= best) continue;
    best = specificity;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    q = Number.isFinite(value) ? value : 0;
  }
  return q;
}

/** True when the client prefers text/html to application/json (a tie goes to JSON). */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  return quality(accept, "text", "html") > quality(accept, "application", "json");
}
