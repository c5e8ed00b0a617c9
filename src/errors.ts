/** @module errors — exceptional outcomes carry a stable `code`; expected ones are unions. */

/** Invalid configuration or CLI input: the CLI prints the one-line message and exits 2. */
export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** A storage operation failed; `retryable` tells the writer whether to try again. */
export class StorageError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "StorageError";
    this.code = code;
  }
}

/** One line describing any thrown value, without a stack trace. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && code !== "" ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
