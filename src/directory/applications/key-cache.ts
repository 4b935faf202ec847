import type { Queryable } from "../../store/database.ts";
import { type Application, applicationForKey, keyDigest } from "./applications.ts";

/**
 * Remembers which application a key belongs to for a few seconds, so a busy client costs one
 * key lookup per interval rather than one per request. A revoked key therefore stops working
 * within `ttlMilliseconds` on every node. Unknown keys are not remembered, so a key issued a
 * moment ago works at once; each costs one indexed lookup.
 */
export class ApplicationKeyCache {
  readonly #queryable: Queryable;
  readonly #ttlMilliseconds: number;
  readonly #entries = new Map<string, { application: Application; expires: number }>();

  constructor(queryable: Queryable, ttlMilliseconds = 10_000) {
    this.#queryable = queryable;
    this.#ttlMilliseconds = ttlMilliseconds;
  }

  async lookup(key: string): Promise<Application | undefined> {
    const digest = keyDigest(key);
    const now = Date.now();
    const cached = this.#entries.get(digest);
    if (cached && cached.expires > now) return cached.application;
    this.#entries.delete(digest);
    const application = await applicationForKey(this.#queryable, key);
    if (application) {
      if (this.#entries.size > 10_000) this.#entries.clear();
      this.#entries.set(digest, { application, expires: now + this.#ttlMilliseconds });
    }
    return application;
  }

  forget(): void {
    this.#entries.clear();
  }
}
