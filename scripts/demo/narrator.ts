/**
 * The demo's voice: one short line per thing worth seeing, stamped with the seconds since
 * the demo started, so a newcomer can line the kill up with the switchover.
 */

import process from "node:process";

/** Colour only on a terminal, and never when NO_COLOR is set (no-color.org). */
const useColor = (): boolean => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;

export class Narrator {
  readonly startedAt = Date.now();
  readonly color = useColor();

  /** Seconds since the start, as "12.3s". */
  stamp(at = Date.now()): string {
    return `${((at - this.startedAt) / 1000).toFixed(1)}s`;
  }

  /** A timestamped line; continuation lines are indented under the text. */
  say(text: string, at = Date.now()): void {
    const head = `[${this.stamp(at).padStart(5)}] `;
    const [first, ...rest] = text.split("\n");
    const pad = " ".repeat(head.length);
    console.log([head + first, ...rest.map((l) => pad + l)].join("\n"));
  }

  /** A line without a timestamp (banner, tally). */
  plain(text = ""): void {
    console.log(text);
  }

  bold(s: string): string {
    return this.color ? `\x1b[1m${s}\x1b[0m` : s;
  }
  red(s: string): string {
    return this.color ? `\x1b[31m${s}\x1b[0m` : s;
  }
  green(s: string): string {
    return this.color ? `\x1b[32m${s}\x1b[0m` : s;
  }
  yellow(s: string): string {
    return this.color ? `\x1b[33m${s}\x1b[0m` : s;
  }
  dim(s: string): string {
    return this.color ? `\x1b[2m${s}\x1b[0m` : s;
  }
}
