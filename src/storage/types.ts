/** @module storage/types — where encoded files go; the writer sees only this. */

export interface Storage {
  /** Human-readable location for logs (never contains credentials). */
  readonly describe: string;
  /**
   * A storage that uploads in the background (the S3 spool: `put` makes the file durable locally,
   * the real uploads happen later) reports its uploads and its spool here; pure data, pulled by the
   * status snapshot and the health. A storage that writes in `put` has nothing of its own to report.
   */
  stats?(): UploadStats;
  /** Check at start-up that files can be written; throws StorageError when not. */
  probe(): Promise<void>;
  /**
   * Durably store `bytes` under `key`; a reader never sees a partial object. Idempotent per key.
   * Once `signal` is aborted (a shutdown past its timeout) the object is not made visible any more
   * (it rejects instead), so the writer knows exactly which rows are in completed files.
   * `bytes` must not be kept once the promise resolves: the writer frees them then (pipeline/uploads).
   */
  put(key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** Start-up: remove temporary files a killed process left behind; how many were removed. */
  removeLeftovers?(): Promise<{ removed: number; kept: number }>;
  /** Shutdown: finish background work for up to `timeoutMs`; reports what is left (it survives a restart). */
  close?(timeoutMs: number): Promise<{ pendingFiles: number; pendingBytes: number }>;
}

/** What a background-uploading storage counts (the S3 spool); read, never written, by the caller. */
export interface UploadStats {
  /** PUTs to the object store in progress. */
  uploadsInFlight: number;
  /** Failed upload attempts (each retried from the spool). */
  uploadFailures: number;
  /** Files the object store confirmed, removed from the spool. */
  filesUploaded: number;
  /** When the object store last confirmed a file (ms), null until the first. */
  lastUploadMs: number | null;
  /** Uploads are failing and being retried: files wait in the spool (DEGRADED). */
  uploadsFailing: boolean;
  /** Files (and their bytes) durable in the local spool, waiting for the object store. */
  spoolFiles: number;
  spoolBytes: number;
  /** When the oldest spooled file entered the spool (ms), null when empty. */
  spoolOldestMs: number | null;
  /** The spool refused a file: over SPOOL_MAX_BYTES or the disk is full (ERROR). */
  spoolFull: boolean;
}
