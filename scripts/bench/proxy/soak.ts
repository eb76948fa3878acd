import type { Settings, Target } from "./targets.ts";
export interface SoakOptions {
  steadyRate: number;
  steadySeconds: number;
  soakRate: number;
  soakSeconds: number;
  settings: Settings;
  dir: string;
}
export async function runSoak(_t: Target[], _o: SoakOptions): Promise<void> {}
