/** @module storage/types — where encoded files go; the writer sees only this. */

export interface Storage {
  /** Human-readable location for logs (never contains credentials). */
  readonly describe: string;
  /**
   * True when the storage itself maintains `writer.in_flight_uploads` and `writer.upload_failures`
   * (the S3 spool: `put` makes the file durable locally and the real uploads happen later).
   */
  readonly countsUploads?: boolean;
  /** Check at start-up that files can be written; throws StorageError when not. */
  probe(): Promise<void>;
  /** Durably store `bytes` under `key`; a reader never sees a partial object. Idempotent per key. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Shutdown: finish background work for up to `timeoutMs`; reports what is left (it survives a restart). */
  close?(timeoutMs: number): Promise<{ pendingFiles: number; pendingBytes: number }>;
}
