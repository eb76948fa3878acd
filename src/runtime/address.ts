/** Runtimes report IPv6 addresses with or without brackets; vipless keeps them without. */
export function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
