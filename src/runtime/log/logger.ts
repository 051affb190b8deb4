import { pino, type Logger as PinoLogger } from 'pino';

/**
 * JSON logs with the keys Flux's controllers write (`ts`, `level`, `msg`,
 * `controllerKind`, `name`, `namespace`), so existing log queries keep working.
 */
export type Logger = PinoLogger;

export type LogLevel = 'trace' | 'debug' | 'info' | 'error' | 'warn';

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const REDACT_PATHS = [
  'password', '*.password', 'token', '*.token', 'bearerToken', '*.bearerToken',
  'identity', '*.identity', 'authorization', '*.authorization', 'headers.authorization',
  'data', '*.data', 'stringData', '*.stringData', 'secret', '*.secret',
];

export function createLogger(level: LogLevel = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      messageKey: 'msg',
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      base: null,
      redact: { paths: REDACT_PATHS, censor: '***' },
    },
    destination ?? process.stderr,
  );
}

/** A logger that writes nothing, for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
