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
  /**
   * Durably store `bytes` under `key`; a reader never sees a partial object. Idempotent per key.
   * Once `signal` is aborted (a shutdown past its timeout) the object is not made visible any more
   * (it rejects instead), so the writer knows exactly which rows are in completed files.
   */
  put(key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** Start-up: remove temporary files a killed process left behind; how many were removed. */
  removeLeftovers?(): Promise<{ removed: number; kept: number }>;
  /** Shutdown: finish background work for up to `timeoutMs`; reports what is left (it survives a restart). */
  close?(timeoutMs: number): Promise<{ pendingFiles: number; pendingBytes: number }>;
}
