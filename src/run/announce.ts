/** @module run/announce — the `collector_start` log line: build, instance, storage and the configuration (secrets redacted). */
import { redact, type Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { BUILD_COMMIT_ID, COLLECTOR_VERSION, SCHEMA_VERSION } from "../version.ts";

export function announceStart(log: Logger, config: Readonly<Config>, instanceId: string, storage: string): void {
  log.info("collector_start", {
    version: COLLECTOR_VERSION,
    commit: BUILD_COMMIT_ID,
    schema_version: SCHEMA_VERSION,
    instance_id: instanceId,
    pid: process.pid,
    storage,
    config: redact(config),
  });
}
