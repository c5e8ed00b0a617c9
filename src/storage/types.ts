/** @module storage/types — where encoded files go; the writer sees only this. */

export interface Storage {
  /** Human-readable location for logs (never contains credentials). */
  readonly describe: string;
  /** Check at start-up that files can be written; throws StorageError when not. */
  probe(): Promise<void>;
  /** Durably store `bytes` under `key`; a reader never sees a partial object. Idempotent per key. */
  put(key: string, bytes: Uint8Array): Promise<void>;
}
