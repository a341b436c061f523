import { Data } from "effect";

/**
 * The stable codes an app's start (or a command of its CLI) stops with, each printed first on the
 * line it leaves on stderr (`pocket-node: PORT_IN_USE: Port 8545 …`), so a supervisor, a script or
 * an operator's search tells the failures apart without parsing their words. The operator docs list
 * the same table (docs/start-errors.md).
 */
export const START_CODES = {
  INVALID_CONFIG: {
    meaning: "the configuration (file, environment override, catalog, tasks) is unreadable or cannot work",
    fix: "change the field the message names",
  },
  PORT_IN_USE: {
    meaning: "another process listens on the configured port",
    fix: "stop that process, or set the port setting the message names to a free port",
  },
  LISTEN_FAILED: {
    meaning: "the configured address cannot be listened on (not this machine's, or a privileged port)",
    fix: "set the listen host and port to an address of this machine the user may bind",
  },
  DATA_DIR_LOCKED: {
    meaning: "another process of the same app uses the data folder",
    fix: "stop it, or give this one a dataDir of its own",
  },
  DATA_DIR_UNAVAILABLE: {
    meaning: "the data folder cannot be created or written",
    fix: "choose a folder the app's user may write to, or fix its owner and mode",
  },
  KEY_FILE_MISSING: {
    meaning: "no key file where the configuration points",
    fix: "create one with the CLI's `keys generate`, or set privateKeyFile to the right path",
  },
  KEY_FILE_UNREADABLE: {
    meaning: "the key file cannot be read or created (a folder, permissions)",
    fix: "point privateKeyFile at the key file itself and let the app's user read it",
  },
  KEY_FILE_EXISTS: {
    meaning: "`keys generate --out` names a file that exists: a key is never overwritten",
    fix: "choose another --out; to replace a key, back it up and move it aside first",
  },
  KEY_INVALID: {
    meaning: "the key file or privateKey holds no valid secp256k1 private key",
    fix: "restore the backed-up key, or create one with `keys generate`",
  },
  DATABASE_UNAVAILABLE: {
    meaning: "the database cannot be opened, reached or migrated",
    fix: "follow the message: restore a damaged file, free disk space, or check the PostgreSQL server and URL",
  },
  DATABASE_NEWER_THAN_APP: {
    meaning: "a newer release of the app migrated the database: this one does not know its tables",
    fix: "start the newer release again, or restore the backup taken before it first started",
  },
  BACKEND_START_FAILED: {
    meaning: "a node backend cannot start (a model file, an engine binding)",
    fix: "fix the backend the message names; `pocket-node check` probes each one",
  },
  BACKEND_CHECK_FAILED: {
    meaning: "`pocket-node check` found a backend that cannot start or does not do what it declares",
    fix: "fix each backend the report above marks, then run the check again",
  },
  WORKER_START_FAILED: {
    meaning: "a node worker process exited before it listened",
    fix: "read the worker's log lines above the message",
  },
  UNKNOWN_NODE: {
    meaning: "`pocket-evaluator run --node` names a node the configuration does not list",
    fix: "name a configured node's address, or add it under nodes:",
  },
  START_FAILED: {
    meaning: "the local network could not bring up one of its parts (registration, keys, rates)",
    fix: "read the log lines above the message; delete the localnet data folder to start afresh",
  },
  INTERNAL: {
    meaning: "a defect in the app: it stopped on an error it does not expect",
    fix: "report it with the line printed (the error's name and message) and what you ran",
  },
} as const satisfies Record<string, { readonly meaning: string; readonly fix: string }>;

/** One of {@link START_CODES}. */
export type StartCode = keyof typeof START_CODES;

export function isStartCode(code: unknown): code is StartCode {
  return typeof code === "string" && Object.hasOwn(START_CODES, code);
}

/** The start code a failure carries in its `code` field, if it carries one of {@link START_CODES}. */
export function startCodeOf(error: unknown): StartCode | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return isStartCode(error.code) ? error.code : undefined;
}

/** `text` with `code: ` in front, unless it starts with it already. */
export function withStartCode(code: StartCode, text: string): string {
  return text.startsWith(`${code}:`) ? text : `${code}: ${text}`;
}

/**
 * A start failure of an app with no error class of its own for it: its code and what to do
 * (`reason`); the message is `CODE: reason`.
 */
export class StartFailure extends Data.TaggedError("StartFailure")<{
  readonly code: StartCode;
  readonly reason: string;
}> {
  override get message(): string {
    return withStartCode(this.code, this.reason);
  }

  /**
   * Another failure as one of an app's start, with `context` (the part that failed) in front of
   * its words: its own start code, else `fallback`.
   */
  static of(error: unknown, fallback: StartCode, context?: string): StartFailure {
    const code = startCodeOf(error) ?? fallback;
    const words = messageOf(error);
    const bare = words.startsWith(`${code}: `) ? words.slice(code.length + 2) : words;
    return new StartFailure({ code, reason: context === undefined ? bare : `${context}: ${bare}` });
  }
}

/** A failure's message: an `Error`'s, an object's `message`, else the value as a string. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message);
  return String(error);
}
