import pino from "pino";
import { configuredLogLevel } from "./config";

// One JSON line per log record on stdout. Secrets are redacted by path as a second line of defence:
// the code never passes them to the logger in the first place.
export const loggerOptions: pino.LoggerOptions = {
  level: configuredLogLevel(),
  base: { service: "mission-control" },
  timestamp: pino.stdTimeFunctions.isoTime,
  redact: {
    paths: [
      "token",
      "*.token",
      "password",
      "*.password",
      "passwordHash",
      "*.passwordHash",
      "tokenSecret",
      "*.tokenSecret",
      "tokenHash",
      "*.tokenHash",
      "previousTokenHash",
      "*.previousTokenHash",
      "authorization",
      "*.authorization",
      "cookie",
      "*.cookie",
      "headers.authorization",
      "headers.cookie",
      'headers["x-agent-token"]',
      '*.headers["x-agent-token"]',
      '*.headers["set-cookie"]',
    ],
    censor: "[redacted]",
  },
};

export const logger = pino(loggerOptions);

/** The same configuration (redaction included) writing elsewhere: tests capture what production would log. */
export function createLogger(destination: pino.DestinationStream, level = "trace"): pino.Logger {
  return pino({ ...loggerOptions, level }, destination);
}

export type Logger = typeof logger;
