#!/usr/bin/env bun
/** Entry point: `bun bin/quantlab-collector.ts …` from source, or the compiled `bin/quantlab-collector`. */
import { main } from "../src/cli.ts";

process.exit(await main(process.argv.slice(2)));
