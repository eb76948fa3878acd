/** One problem in a config file. line and col are 1-based; null when the file was not read. */
export interface ConfigError {
  file: string;
  line: number | null;
  col: number | null;
  message: string;
}

/** "FILE:LINE:COL: message", or "FILE: message" when there is no position. */
export function formatConfigError(error: ConfigError): string {
  if (error.line === null) return `${error.file}: ${error.message}`;
  return `${error.file}:${error.line}:${error.col ?? 1}: ${error.message}`;
}

/** Orders errors as they appear in the file; errors without a position come first. */
export function byPosition(a: ConfigError, b: ConfigError): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0);
}
