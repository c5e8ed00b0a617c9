/**
 * @module run/writes — the write side of /metrics and of the state, pulled from its two owners:
 * the writer (files encoded and stored: Writer.stats()) and, with STORAGE_BACKEND=s3, the spool
 * (uploads to S3 and the files waiting for them: Storage.stats()). Each counts only what it does;
 * this is where their numbers meet.
 *
 * With local storage a stored file is written: `in_flight_uploads` / `upload_failures` /
 * `last_write_ts` are the writer's. With the spool a stored file is only durable locally: they are
 * the spool's uploads (the writer's lost files still count as failures), `last_write_ts` is the last
 * upload S3 confirmed. `write_errors_total` adds both owners' failures.
 */
import type { WriterStats } from "../pipeline/writer.ts";
import type { WriteFacts } from "../state/snapshot.ts";
import type { UploadStats } from "../storage/types.ts";

/** The deriveState inputs fed by writes (see run/health.ts). */
export interface WriteHealth {
  writerFailing: boolean;
  uploadsFailing: boolean;
  spoolFull: boolean;
  writeErrorsTotal: number;
  lastWriteTsMs: number | null;
}

export interface WriteSources {
  writer: { stats(): WriterStats };
  storage: { stats?(): UploadStats };
}

export function writeFacts(s: WriteSources): WriteFacts {
  const w = s.writer.stats();
  const u = s.storage.stats?.();
  return {
    writer: {
      total_written: w.rowsWritten,
      files_written: w.filesWritten,
      pending_events: w.pendingRows,
      active_buffers: w.activeBuffers,
      in_flight_uploads: u ? u.uploadsInFlight : w.putsInFlight,
      upload_failures: (u ? u.uploadFailures : w.failedAttempts) + w.lostFiles,
      files_uploaded: u?.filesUploaded ?? 0,
      spool_files: u?.spoolFiles ?? 0,
      spool_bytes: u?.spoolBytes ?? 0,
    },
    spoolOldestMs: u?.spoolOldestMs ?? null,
    writeErrorsTotal: w.writeErrors + (u?.uploadFailures ?? 0),
    lastWriteTsMs: u ? u.lastUploadMs : w.lastStoredMs,
  };
}

export function writeHealth(s: WriteSources): WriteHealth {
  const w = s.writer.stats();
  const u = s.storage.stats?.();
  return {
    writerFailing: w.failing,
    uploadsFailing: u?.uploadsFailing ?? false,
    spoolFull: u?.spoolFull ?? false,
    writeErrorsTotal: w.writeErrors + (u?.uploadFailures ?? 0),
    lastWriteTsMs: u ? u.lastUploadMs : w.lastStoredMs,
  };
}
