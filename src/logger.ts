/**
 * The one pino logger. Redaction is always on: authorization headers, tokens and anything named like a secret
 * value are censored even if a caller logs them by mistake. Messages are constants; context goes in fields.
 * JSON lines, except on a terminal: there pino-pretty prints coloured lines (of the already redacted record).
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import { PinoPretty } from 'pino-pretty';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-flagops-signature"]',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'value',
  '*.value',
  'values',
  '*.values',
  'data',
  '*.data',
  'stringData',
  '*.stringData',
  'secret',
  '*.secret',
];

/** Coloured, human-readable lines on stdout, written synchronously like pino's own destination. */
export function prettyDestination(): DestinationStream {
  return PinoPretty({
    colorize: true,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,app',
  });
}

export function createLogger(
  level: string,
  destination: DestinationStream | undefined = process.stdout.isTTY ? prettyDestination() : undefined,
): Logger {
  return pino(
    {
      level,
      base: { app: 'flagops-data-store' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
