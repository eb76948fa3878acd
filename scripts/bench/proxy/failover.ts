import type { Settings, Target } from "./targets.ts";
export interface FailoverOptions {
  rate: number;
  seconds: number;
  settings: Settings;
  dir: string;
}
export async function runFailover(_t: Target[], _o: FailoverOptions): Promise<void> {}
