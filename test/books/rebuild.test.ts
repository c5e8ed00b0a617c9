/** Scope: book-check's rebuild (books/rebuild) on hand-made rows, and its CLI's exit codes. */
import { describe, expect, test } from "bun:test";
import { rebuildBooks } from "../../src/books/rebuild.ts";
import type { BookRow } from "../../src/schema/rows.ts";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ColumnBuilder } from "../../src/pipeline/column-builder.ts";
import { encodeParquet } from "../../src/pipeline/encode.ts";
import { initParquetWasm } from "../../src/pipeline/wasm-init.ts";
import { fileMetadata } from "../../src/schema/v1.ts";
import { bookRow } from "../helpers/book-row.ts";
import { ENTRY } from "../helpers/collector.ts";
import { tmpDir } from "../helpers/tmp.ts";

const RULES = {
  binance: { rule: "prev_id" as const, restAnchored: true },
  okx: { rule: "prev_id" as const, restAnchored: false },
  bybit: { rule: "consecutive" as const, restAnchored: false },
};
let seq = 0;
const r = (o: Partial<BookRow>): BookRow => bookRow(o, ++seq);

describe("rebuildBooks", () => {
  test("OKX: snapshot + increments (qty 0 deletes); a break without a book_gap event is unexplained, with one it is explained", () => {
    const rows = [
      r({ is_snapshot: true, update_id: 10, prev_update_id: -1, bid_px: [100, 99], bid_qty: [1, 2], ask_px: [101, 102], ask_qty: [3, 4] }),
      r({ update_id: 11, prev_update_id: 10, bid_px: [99], bid_qty: [0], ask_px: [100.5], ask_qty: [7] }),
      r({ update_id: 13, prev_update_id: 12, bid_px: [98], bid_qty: [1] }), // break: never applied
      r({ is_snapshot: true, update_id: 20, prev_update_id: -1, bid_px: [100], bid_qty: [5], ask_px: [101], ask_qty: [1] }),
      r({ update_id: 21, prev_update_id: 20, ask_px: [100], ask_qty: [2] }), // crosses the book
    ];
    const [rep] = rebuildBooks(rows, [], RULES);
    expect(rep).toMatchObject({
      exchange: "okx",
      symbol: "BTCUSDT",
      segments: 2,
      rows: 5,
      applied: 4,
      breaks: 1,
      unexplained_breaks: 1,
      crossed: 1,
      final: {
        bids: [[100, 5]],
        asks: [
          [100, 2],
          [101, 1],
        ],
      },
    });
    const [ok] = rebuildBooks(rows, [{ exchange: "okx", conn_id: "c1", streams: "book:BTCUSDT" }], RULES);
    expect(ok!.unexplained_breaks).toBe(0);
  });

  test("Binance: diffs received before the REST answer and newer than it are replayed from it", () => {
    const rows = [
      r({ exchange: "binance", update_id: 105, first_update_id: 101, prev_update_id: 100, bid_px: [50], bid_qty: [1] }),
      r({ exchange: "binance", update_id: 110, first_update_id: 106, prev_update_id: 105, bid_px: [51], bid_qty: [2] }),
    ];
    // The answer (lastUpdateId 107) arrived after the second diff: it sorts after it (same recv_seq, source rest).
    rows.push({
      ...r({ exchange: "binance", source: "rest", is_snapshot: true, update_id: 107, bid_px: [50, 49], bid_qty: [1, 3], ask_px: [60], ask_qty: [1] }),
      recv_seq: rows[1]!.recv_seq,
    });
    rows.push(r({ exchange: "binance", update_id: 115, first_update_id: 111, prev_update_id: 110, ask_px: [60], ask_qty: [0] }));
    const [rep] = rebuildBooks(rows, [], RULES);
    expect(rep).toMatchObject({
      segments: 1,
      breaks: 0,
      applied: 3,
      final: {
        bids: [
          [51, 2],
          [50, 1],
          [49, 3],
        ],
        asks: [],
      },
    });
  });
});

describe("book-check CLI", () => {
  test("on real Parquet files: a break with no book_gap event exits 1 and names it; files are found whatever the layout", async () => {
    await initParquetWasm();
    using dir = tmpDir();
    const rows = [
      r({ is_snapshot: true, update_id: 10, prev_update_id: -1, bid_px: [100], bid_qty: [1], ask_px: [101], ask_qty: [1] }),
      r({ update_id: 11, prev_update_id: 10, bid_px: [100], bid_qty: [2] }),
      r({ update_id: 13, prev_update_id: 12 }), // a row lost before the files: unexplained
    ];
    const b = new ColumnBuilder("book");
    for (const x of rows) b.append(x, x.ts_recv_us);
    const sub = join(dir.path, "any", "layout");
    mkdirSync(sub, { recursive: true });
    await Bun.write(
      join(sub, "f.parquet"),
      encodeParquet(b.build(), {
        metadata: fileMetadata({ exchange: "okx", stream: "book", symbol: "BTCUSDT", instanceId: "abcd0123", collectorVersion: "t" }),
        createdBy: "t",
      }),
    );
    const p = Bun.spawnSync([process.execPath, ENTRY, "book-check", dir.path], { stdout: "pipe", stderr: "pipe" });
    expect(p.exitCode).toBe(1);
    expect(p.stdout.toString()).toContain("okx BTCUSDT: segments=1 rows=3 applied=2 breaks=1 unexplained=1");
    // Filters: another exchange has nothing to check.
    const other = Bun.spawnSync([process.execPath, ENTRY, "book-check", dir.path, "--exchange", "bybit"], { stdout: "pipe", stderr: "pipe" });
    expect(other.exitCode).toBe(0);
  });

  test("bad options exit 2 with one line; an empty directory exits 0", () => {
    using dir = tmpDir();
    for (const args of [
      ["--exchange", "kraken"],
      ["--date", "yesterday"],
      ["--symbol", "btc"],
    ]) {
      const p = Bun.spawnSync([process.execPath, ENTRY, "book-check", dir.path, ...args], { stdout: "pipe", stderr: "pipe" });
      expect(p.exitCode).toBe(2);
      expect(p.stderr.toString().trim().split("\n")).toHaveLength(1);
    }
    const missing = Bun.spawnSync([process.execPath, ENTRY, "book-check", `${dir.path}/nope`], { stdout: "pipe", stderr: "pipe" });
    expect([missing.exitCode, missing.stderr.toString()]).toEqual([2, expect.stringContaining("does not exist")]);
    const empty = Bun.spawnSync([process.execPath, ENTRY, "book-check", dir.path], { stdout: "pipe", stderr: "pipe" });
    expect(empty.exitCode).toBe(0);
    expect(empty.stdout.toString()).toContain("no book rows");
  });
});
