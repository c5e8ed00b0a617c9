import { describe, expect, test } from "bun:test";
import { objectKey, parseObjectKey, partitionDir } from "../../src/storage/paths.ts";
import { KEY_RE } from "../helpers/layout.ts";

describe("storage/paths: the documented layout, date= the only hive key", () => {
  const key = objectKey({ exchange: "okx", stream: "open_interest", symbol: "BTCUSDT", firstTsRecvUs: 1_764_547_200_123_456, instanceId: "ab12cd34", seq: 7 });

  test("objectKey builds v1/<exchange>/<stream>/<SYMBOL>/date=<UTC date>/<first_ts>-<instance>-<n>.parquet", () => {
    expect(key).toBe("v1/okx/open_interest/BTCUSDT/date=2025-12-01/1764547200123456-ab12cd34-7.parquet");
    expect(key).toMatch(KEY_RE);
    expect(partitionDir({ exchange: "binance", stream: "connection", symbol: "ALL", date: "2026-01-02" })).toBe("v1/binance/connection/ALL/date=2026-01-02");
  });

  test("parseObjectKey inverts objectKey and rejects anything else", () => {
    expect(parseObjectKey(key)).toEqual({
      exchange: "okx",
      stream: "open_interest",
      symbol: "BTCUSDT",
      date: "2025-12-01",
      file: "1764547200123456-ab12cd34-7.parquet",
    });
    for (const bad of [
      "v1/exchange=okx/stream=bbo/symbol=BTCUSDT/date=2025-12-01/1-ab12cd34-1.parquet", // the old hive-keyed layout
      "v2/okx/bbo/BTCUSDT/date=2025-12-01/1-ab12cd34-1.parquet",
      "v1/okx/bbo/BTCUSDT/2025-12-01/1-ab12cd34-1.parquet",
      "v1/okx/bbo/BTCUSDT/date=2025-12-01/.123-1.tmp",
      "v1/okx/bbo/BTCUSDT/date=2025-12-01/.x.parquet",
      "v1/okx/../BTCUSDT/date=2025-12-01/1-ab12cd34-1.parquet",
      "v1/okx/bbo/BTC USDT/date=2025-12-01/1-ab12cd34-1.parquet",
      "v1/okx/bbo/BTCUSDT/date=2025-12-01/x/1.parquet",
    ])
      expect({ bad, parsed: parseObjectKey(bad) }).toEqual({ bad, parsed: null });
  });
});
