/**
 * @module inspect/events — the connection stream's events inspect explains gaps with: every
 * `disconnect`, and the `book_gap` events (a break of a book the collector saw and resynced).
 */
import { at } from "../compact/columns.ts";
import type { Objects } from "../storage/objects.ts";
import { FileColumns, numberOrNull, textOrNull } from "./columns.ts";
import type { BookGapEvent, Disconnect } from "./report.ts";

export interface ConnectionEvents {
  /** Sorted by time. */
  disconnects: Disconnect[];
  /** By `exchange/SYMBOL`, in file order. */
  bookGaps: Map<string, BookGapEvent[]>;
}

/** Read the events of these connection-stream files (of one or more exchanges). */
export async function readConnectionEvents(objects: Objects, files: readonly { key: string; exchange: string }[]): Promise<ConnectionEvents> {
  const disconnects: Disconnect[] = [];
  const bookGaps = new Map<string, BookGapEvent[]>();
  for (const f of files) {
    const c = new FileColumns(await objects.get(f.key), ["exchange", "conn_id", "event", "reason", "close_code", "ts_us", "streams"]);
    const [connId, tsUs, reason, closeCode, streams] = [c.cells("conn_id"), c.cells("ts_us"), c.cells("reason"), c.cells("close_code"), c.cells("streams")];
    for (const [i, event] of c.cells("event").entries()) {
      if (event === "book_gap") {
        // `streams` = `book:<SYMBOL>` (docs/books.md, "A break").
        for (const item of String(at(streams, i) ?? "").split(",")) {
          if (!item.startsWith("book:")) continue;
          const id = `${f.exchange}/${item.slice(5)}`;
          let list = bookGaps.get(id);
          if (!list) bookGaps.set(id, (list = []));
          list.push({ conn_id: String(at(connId, i)), ts_us: Number(at(tsUs, i)), reason: textOrNull(at(reason, i)) });
        }
        continue;
      }
      if (event !== "disconnect") continue;
      disconnects.push({
        exchange: f.exchange,
        conn_id: String(at(connId, i)),
        ts_us: Number(at(tsUs, i)),
        reason: textOrNull(at(reason, i)),
        close_code: numberOrNull(at(closeCode, i)),
        streams: textOrNull(at(streams, i)),
      });
    }
  }
  disconnects.sort((a, b) => a.ts_us - b.ts_us);
  return { disconnects, bookGaps };
}
