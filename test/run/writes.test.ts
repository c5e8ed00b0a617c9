/**
 * Scope: src/run/writes.ts — where the writer's and the storage's own counters meet in /metrics and
 * the state inputs: local storage reports the writer's stores; the S3 spool reports its uploads (the
 * writer's lost files still count as failures); write_errors_total adds both owners' failures.
 */
import { describe, expect, test } from "bun:test";
import type { WriterStats } from "../../src/pipeline/writer.ts";
import { writeFacts, writeHealth } from "../../src/run/writes.ts";
import type { UploadStats } from "../../src/storage/types.ts";

const writerStats: WriterStats = {
  rowsWritten: 900,
  filesWritten: 12,
  pendingRows: 35,
  activeBuffers: 5,
  putsInFlight: 2,
  failedAttempts: 3,
  lostFiles: 1,
  writeErrors: 5, // 1 failed probe + 3 attempts + 1 lost file
  failing: true,
  lastStoredMs: 1000,
};
const uploadStats: UploadStats = {
  uploadsInFlight: 4,
  uploadFailures: 7,
  filesUploaded: 10,
  lastUploadMs: 900,
  uploadsFailing: true,
  spoolFiles: 2,
  spoolBytes: 2048,
  spoolOldestMs: 500,
  spoolFull: true,
};
const writer = { stats: () => writerStats };

describe("run/writes", () => {
  test("local storage: the writer's stores are the writes", () => {
    const f = writeFacts({ writer, storage: {} });
    expect(f).toEqual({
      writer: {
        total_written: 900,
        files_written: 12,
        pending_events: 35,
        active_buffers: 5,
        in_flight_uploads: 2,
        upload_failures: 4,
        files_uploaded: 0,
        spool_files: 0,
        spool_bytes: 0,
      },
      spoolOldestMs: null,
      writeErrorsTotal: 5,
      lastWriteTsMs: 1000,
    });
    expect(writeHealth({ writer, storage: {} })).toEqual({
      writerFailing: true,
      uploadsFailing: false,
      spoolFull: false,
      writeErrorsTotal: 5,
      lastWriteTsMs: 1000,
    });
  });

  test("S3 spool: uploads and the spool come from the storage; the writer's lost files still count as failures", () => {
    const storage = { stats: () => uploadStats };
    expect(writeFacts({ writer, storage })).toEqual({
      writer: {
        total_written: 900,
        files_written: 12,
        pending_events: 35,
        active_buffers: 5,
        in_flight_uploads: 4,
        upload_failures: 8,
        files_uploaded: 10,
        spool_files: 2,
        spool_bytes: 2048,
      },
      spoolOldestMs: 500,
      writeErrorsTotal: 12,
      lastWriteTsMs: 900,
    });
    expect(writeHealth({ writer, storage })).toEqual({ writerFailing: true, uploadsFailing: true, spoolFull: true, writeErrorsTotal: 12, lastWriteTsMs: 900 });
  });
});
