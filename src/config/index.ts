// Public API of the configuration module. Import from here, not from the parts.
export { describeConfig } from "./describe.ts";
export { formatDuration, parseDuration } from "./duration.ts";
export { type ConfigError, formatConfigError } from "./errors.ts";
export { type ConfigResult, loadConfigFile, parseConfig } from "./parse.ts";
export {
  type Config,
  configSchema,
  DEFAULT_LISTEN,
  DEFAULT_UP_CODES,
  type HttpSpec,
  type ListenSpec,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogLevel,
  type MemberSpec,
  type PairSpec,
  type ProbeSpec,
  type Transport,
} from "./schema.ts";
export {
  parseStatusRanges,
  parseUpCodes,
  statusMatcher,
  type StatusRange,
  upCodeRanges,
} from "./status-codes.ts";
export { hostForUri, parseListenUri, parseMemberUri } from "./address.ts";
