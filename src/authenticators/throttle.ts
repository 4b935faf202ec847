import { type OperationNodeSource, sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";

/**
 * Sign-in throttles (NIST SP 800-63B section 5.2.2, rate limiting): counters held in
 * PostgreSQL, so every node behind a load balancer counts the same attempts. A counter counts
 * within a fixed window aligned to the epoch (a day's window is the UTC day). A window limit
 * refuses once its attempts are used; a back-off limit lets `free` attempts through, then makes
 * each further one wait twice as long as the one before, up to `maxDelaySeconds`, rather than
 * locking. docs/assurance.md shows this table; its test keeps the two alike.
 */
type WindowLimit = { kind: "window"; attempts: number; windowSeconds: number; counts: string };
type BackOffLimit = {
  kind: "back-off";
  free: number;
  firstDelaySeconds: number;
  maxDelaySeconds: number;
  windowSeconds: number;
  counts: string;
};
export type Limit = WindowLimit | BackOffLimit;

export const signInLimits = {
  // A whole trust may reach the service from one NAT address: the address limits are set for
  // that, and the account limits below do the close guarding.
  identifyPerAddress: {
    kind: "window",
    attempts: 300,
    windowSeconds: 60,
    counts: "identify steps from one client address",
  },
  failuresPerAddress: {
    kind: "window",
    attempts: 100,
    windowSeconds: 300,
    counts:
      "wrong passwords, codes, security-key answers and refused NHS.net Connect returns from one client address, at any accounts",
  },
  passwordFailuresPerAccountAndAddress: {
    kind: "back-off",
    free: 5,
    firstDelaySeconds: 30,
    maxDelaySeconds: 900,
    windowSeconds: 86_400,
    counts: "wrong passwords for one account from one client address (a right password starts again)",
  },
  securityKeyFailuresPerAccountAndAddress: {
    kind: "back-off",
    free: 5,
    firstDelaySeconds: 30,
    maxDelaySeconds: 900,
    windowSeconds: 86_400,
    counts: "refused security-key answers for one account from one client address",
  },
  guessesPerAccountPerDay: {
    kind: "window",
    attempts: 100,
    windowSeconds: 86_400,
    counts: "wrong passwords and wrong codes for one account, from any address (an RA's unlock clears it)",
  },
  selfUnlockCodesPerCard: {
    kind: "window",
    attempts: 5,
    windowSeconds: 86_400,
    counts: "self-service unlock codes asked for one smartcard serial, known or not",
  },
  selfUnlockCodesPerPerson: {
    kind: "window",
    attempts: 5,
    windowSeconds: 86_400,
    counts: "self-service unlock codes sent to one person, for any of their cards",
  },
} as const satisfies Record<string, Limit>;

export type LimitName = keyof typeof signInLimits;

/** One counter an attempt uses: a limit, whom it counts (an address, an account, or both). */
export type Counter = { limit: LimitName; subject: string; person?: string };
/** A counter as the attempt left it, so that an attempt that turns out right can be given back. */
export type Counted = Counter & { key: string; windowStart: Date };
export type Attempt =
  | { allowed: true; counted: Counted[] }
  | { allowed: false; limit: LimitName; retryAt: Date; retryAfterSeconds: number };

function throttleKey(counter: Counter): string {
  return `${counter.limit}:${counter.subject}`;
}

function windowStartOf(limit: Limit, now: Date): Date {
  const size = limit.windowSeconds * 1000;
  return new Date(Math.floor(now.getTime() / size) * size);
}

type Row = { key: string; window_start: Date; count: number; last_attempt_at: Date };

/** When the counter lets its next attempt through; undefined when it lets one through now. */
function refusedUntil(limit: Limit, row: Row, now: Date): Date | undefined {
  const windowStart = windowStartOf(limit, now);
  if (row.window_start.getTime() !== windowStart.getTime()) return undefined;
  if (limit.kind === "window")
    return row.count >= limit.attempts
      ? new Date(windowStart.getTime() + limit.windowSeconds * 1000)
      : undefined;
  if (row.count < limit.free) return undefined;
  const wait = backOffDelaySeconds(limit, row.count);
  const until = new Date(row.last_attempt_at.getTime() + wait * 1000);
  return until > now ? until : undefined;
}

/** The wait after the `count`-th counted attempt of a back-off limit, in seconds. */
export function backOffDelaySeconds(limit: BackOffLimit, count: number): number {
  if (count < limit.free) return 0;
  return Math.min(limit.maxDelaySeconds, limit.firstDelaySeconds * 2 ** (count - limit.free));
}

type Keyed = Counter & { key: string };
type Refusal = Extract<Attempt, { allowed: false }>;

/** The counters in key order: two nodes locking the same keys then wait for each other. */
function keyedCounters(counters: Counter[]): Keyed[] {
  return counters
    .map((counter) => ({ ...counter, key: throttleKey(counter) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Creates the missing counters and locks them all, in key order, in one statement: the no-op
 * update on conflict locks an existing row and returns it as it stands.
 */
async function lockCounters(tx: Tx, keyed: Keyed[], now: Date): Promise<Map<string, Row>> {
  if (keyed.length === 0) return new Map();
  const rows = await lockStatement(tx, keyed, now).execute();
  return new Map(rows.map((row) => [row.key, row]));
}

function lockStatement(tx: Tx, keyed: Keyed[], now: Date) {
  return tx
    .insertInto("sign_in_throttles")
    .values(
      keyed.map((counter) => ({
        key: counter.key,
        window_start: windowStartOf(signInLimits[counter.limit], now),
        count: 0,
        last_attempt_at: now,
      })),
    )
    .onConflict((conflict) => conflict.column("key").doUpdateSet((eb) => ({ key: eb.ref("excluded.key") })))
    .returningAll();
}

/** The latest of the counters' refusals, if any refuses. */
function refusalOf(keyed: Keyed[], rowOf: Map<string, Row>, now: Date): Refusal | undefined {
  let refusal: { limit: LimitName; retryAt: Date } | undefined;
  for (const counter of keyed) {
    const row = rowOf.get(counter.key);
    const until = row ? refusedUntil(signInLimits[counter.limit], row, now) : undefined;
    if (until && (!refusal || until > refusal.retryAt)) refusal = { limit: counter.limit, retryAt: until };
  }
  return (
    refusal && {
      allowed: false,
      ...refusal,
      retryAfterSeconds: Math.max(1, Math.ceil((refusal.retryAt.getTime() - now.getTime()) / 1000)),
    }
  );
}

/** Counts one attempt on every counter, in one statement; the attempt that reaches a limit is audited. */
async function countAttempt(
  tx: Tx,
  actor: Actor,
  keyed: Keyed[],
  rowOf: Map<string, Row>,
  now: Date,
): Promise<Counted[]> {
  if (keyed.length === 0) return [];
  const counted = keyed.map((counter) => {
    const windowStart = windowStartOf(signInLimits[counter.limit], now);
    const row = rowOf.get(counter.key);
    const count = row && row.window_start.getTime() === windowStart.getTime() ? row.count + 1 : 1;
    return { ...counter, windowStart, count };
  });
  await sql`UPDATE sign_in_throttles AS t SET window_start = v.window_start, count = v.count, last_attempt_at = ${now}
    FROM (VALUES ${sql.join(counted.map((counter) => sql`(${counter.key}, ${counter.windowStart}::timestamptz, ${counter.count}::integer)`))})
      AS v (key, window_start, count)
    WHERE t.key = v.key`.execute(tx);
  for (const { count, ...counter } of counted)
    await recordLimitReached(tx, actor, counter, signInLimits[counter.limit], count, now);
  return counted.map(({ count: _, ...counter }) => counter);
}

/**
 * Counts one attempt on every counter, or on none: if any counter refuses, nothing changes and
 * the answer says when to try again (the latest of the refusals). The rows are locked in key
 * order, so two nodes counting the same keys at once wait for each other rather than both
 * letting an attempt through. The attempt that reaches a limit is recorded in the audit log.
 */
export async function takeAttempt(
  queryable: Queryable,
  actor: Actor,
  counters: Counter[],
  now = new Date(),
): Promise<Attempt> {
  return (await takeAttemptReading(queryable, actor, counters, undefined, now)).attempt;
}

/**
 * `takeAttempt` with a read the caller makes next anyway (a SELECT), made in the counting's
 * statement where the count takes one (a lone window counter): one round trip fewer. The rows
 * come back as JSON.
 */
export async function takeAttemptReading(
  queryable: Queryable,
  actor: Actor,
  counters: Counter[],
  read: OperationNodeSource | undefined,
  now = new Date(),
): Promise<{ attempt: Attempt; rows: unknown[] }> {
  const keyed = keyedCounters(counters);
  const below = await countBelowWindowLimit(queryable, keyed, now, read);
  if (below?.counted) return { attempt: { allowed: true, counted: [below.counted] }, rows: below.rows };
  const attempt = await countInTransaction(queryable, actor, keyed, now);
  if (below || !read || !attempt.allowed) return { attempt, rows: below?.rows ?? [] };
  const { rows } = await sql<{ rows: unknown[] }>`SELECT ${jsonRows(read)} AS rows`.execute(queryable);
  return { attempt, rows: rows[0]?.rows ?? [] };
}

/** A read's rows as one JSON array, so they come back alike whichever statement made them. */
function jsonRows(read: OperationNodeSource) {
  return sql`(SELECT coalesce(json_agg(read_row), '[]') FROM (${read}) AS read_row)`;
}

/** The counting in a transaction: the counters locked in key order, then refused, or counted. */
async function countInTransaction(
  queryable: Queryable,
  actor: Actor,
  keyed: Keyed[],
  now: Date,
): Promise<Attempt> {
  if (keyed.length === 0) return { allowed: true, counted: [] };
  return inTransaction(queryable, async (tx) => {
    const rowOf = await lockCounters(tx, keyed, now);
    return (
      refusalOf(keyed, rowOf, now) ?? {
        allowed: true,
        counted: await countAttempt(tx, actor, keyed, rowOf, now),
      }
    );
  });
}

/**
 * The common case of a lone window counter (each identify step's), in one autocommit statement
 * instead of four (BEGIN, lock, count, COMMIT): the counter is created or counted only if its new
 * count stays below the limit, so neither a refusal nor the audit of reaching the limit can be
 * due. Otherwise it changes nothing and answers undefined, and `takeAttempt` goes the
 * transactional way, which refuses, or counts the attempt that reaches the limit and audits it
 * in the count's transaction. A new window counts 1, below any limit of two attempts or more.
 */
async function countBelowWindowLimit(
  queryable: Queryable,
  keyed: Keyed[],
  now: Date,
  read: OperationNodeSource | undefined,
): Promise<{ counted?: Counted; rows: unknown[] } | undefined> {
  const [counter, ...others] = keyed;
  if (!counter || others.length > 0) return undefined;
  const limit = signInLimits[counter.limit];
  if (limit.kind !== "window" || limit.attempts < 2) return undefined;
  const windowStart = windowStartOf(limit, now);
  const count = sql`INSERT INTO sign_in_throttles (key, window_start, count, last_attempt_at)
    VALUES (${counter.key}, ${windowStart}, 1, ${now})
    ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start,
      count = CASE WHEN sign_in_throttles.window_start = excluded.window_start THEN sign_in_throttles.count + 1 ELSE 1 END,
      last_attempt_at = excluded.last_attempt_at
    WHERE sign_in_throttles.window_start <> excluded.window_start OR sign_in_throttles.count + 1 < ${limit.attempts}
    RETURNING key`;
  if (!read) {
    const { rows } = await count.execute(queryable);
    return { counted: rows.length === 1 ? { ...counter, windowStart } : undefined, rows: [] };
  }
  const { rows } = await sql<{ counted: boolean; rows: unknown[] }>`WITH counted AS (${count})
    SELECT EXISTS (SELECT FROM counted) AS counted, ${jsonRows(read)} AS rows`.execute(queryable);
  const answer = rows[0];
  return { counted: answer?.counted ? { ...counter, windowStart } : undefined, rows: answer?.rows ?? [] };
}

/**
 * An attempt judged while its counters are held: refused as `takeAttempt` refuses; otherwise
 * `judge` answers in the same transaction, a wrong answer is counted and a right one starts the
 * back-offs again. What `takeAttempt`, the answer's writes and `giveBack(everyLimit)` did in
 * three commits, in one. `judge` must answer wrong rather than throw: a throw undoes the count.
 */
export async function judgeAttempt<T>(
  queryable: Queryable,
  actor: Actor,
  counters: Counter[],
  judge: (tx: Tx, locked: unknown) => Promise<{ right: boolean; answer: T }>,
  now = new Date(),
  /**
   * A row the judge needs locked (a SELECT ... FOR UPDATE of a row the counting does not touch:
   * one the statement updates is not there to lock again), read with the counters and given to
   * `judge` as JSON; undefined when there is none.
   */
  lockedRead?: OperationNodeSource,
): Promise<Refusal | { allowed: true; answer: T }> {
  const keyed = keyedCounters(counters);
  return inTransaction(queryable, async (tx) => {
    const { rowOf, locked } = lockedRead
      ? await lockCountersReading(tx, keyed, now, lockedRead)
      : { rowOf: await lockCounters(tx, keyed, now), locked: undefined };
    const refusal = refusalOf(keyed, rowOf, now);
    if (refusal) return refusal;
    const { right, answer } = await judge(tx, locked);
    if (!right) await countAttempt(tx, actor, keyed, rowOf, now);
    else await restartBackOffs(tx, keyed, rowOf, now);
    return { allowed: true as const, answer };
  });
}

/**
 * `lockCounters` and the judge's own locked read in one statement, one round trip fewer: the
 * counters are created and locked first (the CTE runs as the first column asks for it), then
 * the row is read and locked; the answer is JSON, whose times are read back as dates.
 */
async function lockCountersReading(
  tx: Tx,
  keyed: Keyed[],
  now: Date,
  read: OperationNodeSource,
): Promise<{ rowOf: Map<string, Row>; locked: unknown }> {
  type Counters = Array<
    Omit<Row, "window_start" | "last_attempt_at"> & Record<"window_start" | "last_attempt_at", string>
  >;
  const lockedRow = sql`(SELECT to_json(locked_row) FROM (${read}) AS locked_row)`;
  const { rows } = await (keyed.length > 0
    ? sql<{ counters: Counters; locked: unknown }>`WITH counters AS (${lockStatement(tx, keyed, now)})
          SELECT (SELECT json_agg(counters) FROM counters) AS counters, ${lockedRow} AS locked`
    : sql<{ counters: Counters; locked: unknown }>`SELECT '[]'::json AS counters, ${lockedRow} AS locked`
  ).execute(tx);
  const counted = (rows[0]?.counters ?? []).map((row) => ({
    ...row,
    window_start: new Date(row.window_start),
    last_attempt_at: new Date(row.last_attempt_at),
  }));
  return { rowOf: new Map(counted.map((row) => [row.key, row])), locked: rows[0]?.locked ?? undefined };
}

/** A right answer starts its back-offs again; a window it was not counted in is left as it is. */
async function restartBackOffs(tx: Tx, keyed: Keyed[], rowOf: Map<string, Row>, now: Date): Promise<void> {
  const counting = keyed.filter((counter) => {
    const limit = signInLimits[counter.limit];
    const row = rowOf.get(counter.key);
    return (
      limit.kind === "back-off" &&
      row !== undefined &&
      row.count > 0 &&
      row.window_start.getTime() === windowStartOf(limit, now).getTime()
    );
  });
  if (counting.length > 0)
    await tx
      .updateTable("sign_in_throttles")
      .set({ count: 0 })
      .where(
        "key",
        "in",
        counting.map((counter) => counter.key),
      )
      .execute();
}

async function recordLimitReached(
  tx: Tx,
  actor: Actor,
  counter: Counter,
  limit: Limit,
  count: number,
  now: Date,
): Promise<void> {
  const threshold = limit.kind === "window" ? limit.attempts : limit.free;
  if (count !== threshold) return;
  const until = refusedUntil(
    limit,
    { key: "", window_start: windowStartOf(limit, now), count, last_attempt_at: now },
    now,
  );
  await recordEvent(tx, actor, {
    action: "sign-in.limit-reached",
    subject: counter.person ? { type: "person", id: counter.person } : undefined,
    after: { limit: counter.limit, subject: counter.subject, until: until?.toISOString() ?? null },
  });
}

/**
 * Gives back what an attempt counted on the named limits, once it has turned out right: a right
 * answer is no guess to count. A back-off starts again; a window's count goes down by one (only
 * in the window the attempt was counted in).
 */
export async function giveBack(queryable: Queryable, counted: Counted[], limits: LimitName[]): Promise<void> {
  const given = counted.filter((candidate) => limits.includes(candidate.limit));
  if (given.length === 0) return;
  await sql`UPDATE sign_in_throttles AS t SET count = CASE WHEN v.restart THEN 0 ELSE t.count - 1 END
    FROM (VALUES ${sql.join(given.map((counter) => sql`(${counter.key}, ${counter.windowStart}::timestamptz, ${signInLimits[counter.limit].kind === "back-off"}::boolean)`))})
      AS v (key, window_start, restart)
    WHERE t.key = v.key AND t.window_start = v.window_start AND (v.restart OR t.count > 0)`.execute(
    queryable,
  );
}

/**
 * Clears every counter of a person's account (a Registration Authority's unlock): the daily cap
 * and the back-offs from each address. Says whether the daily cap was refusing.
 */
export async function releaseAccount(
  tx: Tx,
  uuid: string,
  now = new Date(),
): Promise<{ wasCapped: boolean }> {
  const rows = await tx
    .deleteFrom("sign_in_throttles")
    .where((eb) =>
      eb.or([
        eb("key", "=", throttleKey({ limit: "guessesPerAccountPerDay", subject: uuid })),
        eb("key", "like", `%:${uuid}@%`),
      ]),
    )
    .returningAll()
    .execute();
  const daily = rows.find((row) => row.key.startsWith("guessesPerAccountPerDay:"));
  return {
    wasCapped:
      daily !== undefined && refusedUntil(signInLimits.guessesPerAccountPerDay, daily, now) !== undefined,
  };
}

/** Until when the day's cap refuses a person's passwords and codes, if it does. */
export async function accountCappedUntil(
  queryable: Queryable,
  uuid: string,
  now = new Date(),
): Promise<Date | undefined> {
  const row = await queryable
    .selectFrom("sign_in_throttles")
    .selectAll()
    .where("key", "=", throttleKey({ limit: "guessesPerAccountPerDay", subject: uuid }))
    .executeTakeFirst();
  return row ? refusedUntil(signInLimits.guessesPerAccountPerDay, row, now) : undefined;
}

/** Removes counters whose window has ended: they refuse nothing any more. */
export async function forgetEndedThrottles(queryable: Queryable, now = new Date()): Promise<void> {
  for (const [name, limit] of Object.entries(signInLimits) as Array<[LimitName, Limit]>)
    await queryable
      .deleteFrom("sign_in_throttles")
      .where("key", "like", `${name}:%`)
      .where("window_start", "<", new Date(now.getTime() - limit.windowSeconds * 1000))
      .execute();
}

/**
 * The counters each sign-in step uses. `account` is the person's UUID, or for an identifier that
 * names no one a digest of it, so that unknown identifiers are throttled exactly as known ones.
 */
export const signInCounters = {
  identify: (address: string): Counter[] => [{ limit: "identifyPerAddress", subject: address }],
  password: (account: SignInAccount, address: string): Counter[] => [
    { limit: "failuresPerAddress", subject: address },
    {
      limit: "passwordFailuresPerAccountAndAddress",
      subject: `${account.key}@${address}`,
      person: account.uuid,
    },
    { limit: "guessesPerAccountPerDay", subject: account.key, person: account.uuid },
  ],
  // The upstream checked the person's password; what is guessed here is whose upstream answer
  // (a code, a state) gets accepted, so a return is counted by address until it signs someone in.
  federated: (address: string): Counter[] => [{ limit: "failuresPerAddress", subject: address }],
  securityKey: (account: SignInAccount, address: string): Counter[] => [
    { limit: "failuresPerAddress", subject: address },
    {
      limit: "securityKeyFailuresPerAccountAndAddress",
      subject: `${account.key}@${address}`,
      person: account.uuid,
    },
  ],
};

/** Whose sign-in is counted: a known person (key = UUID) or an unknown identifier (key = digest). */
export type SignInAccount = { key: string; uuid?: string };
