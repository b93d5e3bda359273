import pino from "pino";

// One JSON line per log record on stdout. Secrets are redacted by path as a second line of defence:
// the code never passes them to the logger in the first place.
export const logger = pino({
  level: process.env.LOG_LEVEL ?? "info",
  base: { service: "mission-control" },
  timestamp: pino.stdTimeFunctions.isoTime,
  redact: {
    paths: ["token", "*.token", "password", "*.password", "tokenSecret", "*.tokenSecret", "authorization", "*.authorization"],
    censor: "[redacted]",
  },
});

export type Logger = typeof logger;
