/**
 * The one pino logger. Redaction is always on: authorization headers, tokens and anything named like a secret
 * value are censored even if a caller logs them by mistake. Messages are constants; context goes in fields.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

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

export function createLogger(level: string, destination?: DestinationStream): Logger {
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
