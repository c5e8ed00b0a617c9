/** @module version — product, schema and build identity. */
import pkg from "../package.json" with { type: "json" };

declare const BUILD_COMMIT: string;

export const COLLECTOR_VERSION: string = pkg.version;
export const SCHEMA_VERSION = "v1" as const;
/** Git commit baked in by `npm run build` (`--define`); "dev" when running from source. */
export const BUILD_COMMIT_ID: string = typeof BUILD_COMMIT === "string" ? BUILD_COMMIT : "dev";

export function versionLine(): string {
  return `quantlab-collector ${COLLECTOR_VERSION} (commit ${BUILD_COMMIT_ID}, schema ${SCHEMA_VERSION})`;
}
