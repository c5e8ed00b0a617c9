/** @module run/status — the status API on STATUS_HOST:STATUS_PORT; a port that cannot be bound is a configuration error (exit 2). */
import type { Config } from "../config.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Snapshot } from "../state/snapshot.ts";
import { explainBindError, startStatusServer, type StatusServer } from "../status/server.ts";

export async function openStatus(config: Readonly<Config>, snapshot: () => Snapshot, log: Logger): Promise<StatusServer> {
  let status: StatusServer;
  try {
    status = startStatusServer(config.STATUS_HOST, config.STATUS_PORT, snapshot, log);
  } catch (err) {
    // A configuration problem (exit 2: systemd does not restart-loop on it), named in one line.
    throw new ConfigError(await explainBindError(config.STATUS_HOST, config.STATUS_PORT, err));
  }
  log.info("status_api_start", { host: config.STATUS_HOST, port: status.port });
  return status;
}
