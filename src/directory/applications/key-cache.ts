import type { Queryable } from "../../store/database.ts";
import { type Listener, listenFor } from "../../store/notifications.ts";
import { type Application, applicationForKey, applicationKeysChannel, keyDigest } from "./applications.ts";

/**
 * Remembers which application a key belongs to for a few seconds, so a busy client costs one
 * key lookup per interval rather than one per request. On PostgreSQL every node listens for
 * revocations and forgets its keys when one commits, so a revoked key stops working at once on
 * every node; while the listening connection is down the cache is bypassed, since a notice could
 * be missed. Unknown keys are not remembered, so a key issued a moment ago works at once; each
 * costs one indexed lookup.
 */
export class ApplicationKeyCache {
  readonly #queryable: Queryable;
  readonly #ttlMilliseconds: number;
  readonly #entries = new Map<string, { application: Application; expires: number }>();
  readonly #listener: Listener | undefined;
  #generation = 0;

  constructor(queryable: Queryable, options: { databaseUrl?: string; ttlMilliseconds?: number } = {}) {
    this.#queryable = queryable;
    this.#ttlMilliseconds = options.ttlMilliseconds ?? 10_000;
    const forget = () => this.forget();
    this.#listener = options.databaseUrl
      ? listenFor(options.databaseUrl, applicationKeysChannel, { notice: forget, down: forget })
      : undefined;
  }

  async lookup(key: string): Promise<Application | undefined> {
    if (!this.listening) return applicationForKey(this.#queryable, key);
    const digest = keyDigest(key);
    const now = Date.now();
    const cached = this.#entries.get(digest);
    if (cached && cached.expires > now) return cached.application;
    this.#entries.delete(digest);
    const before = this.#generation;
    const application = await applicationForKey(this.#queryable, key);
    // A lookup that overlapped a revocation may have read the key before it; it is not kept.
    if (application && this.#generation === before) {
      if (this.#entries.size > 10_000) this.#entries.clear();
      this.#entries.set(digest, { application, expires: now + this.#ttlMilliseconds });
    }
    return application;
  }

  /**
   * The application of a key this node remembers and may still trust, without waiting;
   * undefined means only that `lookup` must answer.
   */
  remembered(key: string): Application | undefined {
    if (!this.listening) return undefined;
    const cached = this.#entries.get(keyDigest(key));
    return cached && cached.expires > Date.now() ? cached.application : undefined;
  }

  /** Whether revocations elsewhere reach this cache (always, without PostgreSQL: one process). */
  get listening(): boolean {
    return this.#listener?.listening() ?? true;
  }

  forget(): void {
    this.#generation++;
    this.#entries.clear();
  }

  async close(): Promise<void> {
    await this.#listener?.close();
  }
}
