/**
 * @module books/rest-fetch — the edge where the product makes its one kind of HTTP request: a REST
 * order-book snapshot (issue 11). Returns status, body and Retry-After; never throws for HTTP errors.
 */
export interface FetchResult {
  status: number;
  text: string;
  /** Retry-After in seconds when the venue sent one (429/418). */
  retryAfterS: number | null;
}

export type FetchText = (url: string, timeoutMs: number) => Promise<FetchResult>;

export const fetchText: FetchText = async (url, timeoutMs) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
  const text = await res.text();
  const ra = res.headers.get("retry-after");
  const n = ra !== null && /^\d+$/.test(ra.trim()) ? Number(ra.trim()) : null;
  return { status: res.status, text, retryAfterS: n };
};
