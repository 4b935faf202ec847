import { sql } from "kysely";
import type { Db } from "../../store/database.ts";

/** A key's count in its window so far (this request included), and the milliseconds the window has left. */
type Counted = { current: number; ttl: number };

type Counter = { windowStart: number; windowMilliseconds: number; total: number; pending: number };

/** How often a node adds its requests to the fleet's count and reads the fleet's total back. */
const flushMilliseconds = 1000;

/**
 * An API's per-key rate limits counted by the whole fleet. A request is decided at once, in
 * memory, on the fleet's total last read plus this node's requests since; every second each
 * node adds what it counted to PostgreSQL in one statement and reads the totals back. So a key
 * gets its limit across all nodes, give or take one second's worth of requests per node, and no
 * request waits on the database. Windows are fixed and aligned, alike on every node.
 */
export class FleetRateLimits {
  readonly #db: Db;
  readonly #counters = new Map<string, Counter>();
  readonly #timer: NodeJS.Timeout;
  #flushing: Promise<void> | undefined;
  #cleanedAt = 0;

  constructor(db: Db) {
    this.#db = db;
    this.#timer = setInterval(() => void this.flush().catch(() => {}), flushMilliseconds);
    this.#timer.unref();
  }

  /** Counts a request under `key` (an API's name and the application's id, so each API counts apart). */
  count(key: string, windowMilliseconds: number, now = Date.now()): Counted {
    const windowStart = now - (now % windowMilliseconds);
    let counter = this.#counters.get(key);
    if (!counter || counter.windowStart !== windowStart) {
      counter = { windowStart, windowMilliseconds, total: 0, pending: 0 };
      this.#counters.set(key, counter);
    }
    counter.pending++;
    return { current: counter.total + counter.pending, ttl: windowStart + windowMilliseconds - now };
  }

  /** Adds this node's counts to the fleet's and reads the totals back (one statement). */
  async flush(now = Date.now()): Promise<void> {
    await this.#flushing;
    this.#flushing = this.#write(now);
    try {
      await this.#flushing;
    } finally {
      this.#flushing = undefined;
    }
  }

  async #write(now: number): Promise<void> {
    const sent = new Map<string, { counter: Counter; added: number }>();
    for (const [key, counter] of this.#counters) {
      if (counter.windowStart + counter.windowMilliseconds <= now) this.#counters.delete(key);
      else sent.set(key, { counter, added: counter.pending });
    }
    if (sent.size === 0) return;
    const keys = [...sent.keys()];
    const rows = await sql<{ key: string; count: number }>`
      INSERT INTO api_rate_limits (key, window_start, count)
      SELECT * FROM unnest(
        ${keys}::text[],
        ${keys.map((key) => new Date(sent.get(key)?.counter.windowStart ?? now).toISOString())}::timestamptz[],
        ${keys.map((key) => sent.get(key)?.added ?? 0)}::integer[])
      ON CONFLICT (key, window_start) DO UPDATE SET count = api_rate_limits.count + EXCLUDED.count
      RETURNING key, count`.execute(this.#db);
    for (const row of rows.rows) {
      const entry = sent.get(row.key);
      if (!entry) continue;
      // Requests counted while the statement ran stay pending for the next flush.
      entry.counter.pending -= entry.added;
      entry.counter.total = row.count;
    }
    if (now - this.#cleanedAt < 60_000) return;
    this.#cleanedAt = now;
    await sql`DELETE FROM api_rate_limits WHERE window_start < ${new Date(now - 86_400_000)}`.execute(
      this.#db,
    );
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
