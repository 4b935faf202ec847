import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { testMasterKey, testStore, withDatabase } from "../../test/support/test-store.ts";
import { operatorActor, systemActor } from "../audit/actor.ts";
import { withAuditKey } from "../audit/chain-key.ts";
import { openStore } from "../store/database.ts";
import {
  backOffDelaySeconds,
  type Counter,
  forgetEndedThrottles,
  giveBack,
  judgeAttempt,
  releaseAccount,
  signInCounters,
  signInLimits,
  takeAttempt,
  takeAttemptReading,
} from "./throttle.ts";

const actor = systemActor("cis2");
const at = (iso: string) => new Date(iso);
const uuid = "555000000042";
const account = { key: uuid, uuid };

test("a window limit lets its attempts through, refuses the next until the window ends, per address", async (t) => {
  const { db } = await testStore(t);
  const { attempts, windowSeconds } = signInLimits.identifyPerAddress;
  const now = at("2025-03-01T10:00:05Z");
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const answer = await takeAttempt(db, actor, signInCounters.identify("203.0.113.1"), now);
    assert.equal(answer.allowed, true, `attempt ${attempt} is within the limit`);
  }
  const refused = await takeAttempt(db, actor, signInCounters.identify("203.0.113.1"), now);
  assert.equal(refused.allowed, false);
  if (refused.allowed) return;
  assert.equal(refused.limit, "identifyPerAddress");
  assert.deepEqual(refused.retryAt, new Date(Date.parse("2025-03-01T10:00:00Z") + windowSeconds * 1000));
  assert.equal(refused.retryAfterSeconds, windowSeconds - 5);
  const otherAddress = await takeAttempt(db, actor, signInCounters.identify("203.0.113.2"), now);
  assert.equal(otherAddress.allowed, true, "another address has its own count");
  const nextWindow = await takeAttempt(db, actor, signInCounters.identify("203.0.113.1"), refused.retryAt);
  assert.equal(nextWindow.allowed, true, "the count starts again with the next window");
  const [row] = await db
    .selectFrom("sign_in_throttles")
    .selectAll()
    .where("key", "=", "identifyPerAddress:203.0.113.1")
    .execute();
  assert.equal(row?.count, 1);
  const reached = await db
    .selectFrom("audit_events")
    .selectAll()
    .where("action", "=", "sign-in.limit-reached")
    .execute();
  assert.equal(reached.length, 1, "reaching the limit is recorded once, not each refusal");
  assert.deepEqual(reached[0]?.after, {
    limit: "identifyPerAddress",
    subject: "203.0.113.1",
    until: refused.retryAt.toISOString(),
  });
});

test("a lone window counter is counted in one statement below its limit; the limit itself is refused and recorded once, as before", async (t) => {
  const { db } = await testStore(t);
  let statements = 0;
  const counting = db.withPlugin({
    transformQuery: ({ node }) => {
      statements++;
      return node;
    },
    transformResult: async ({ result }) => result,
  });
  const { attempts, windowSeconds } = signInLimits.selfUnlockCodesPerCard;
  const counters = [{ limit: "selfUnlockCodesPerCard" as const, subject: "card-0001" }];
  const key = "selfUnlockCodesPerCard:card-0001";
  const day = at("2025-03-01T00:00:00Z");
  const nextDay = new Date(day.getTime() + windowSeconds * 1000);
  const now = at("2025-03-01T10:00:05Z");
  const countNow = async () =>
    (await db.selectFrom("sign_in_throttles").select("count").where("key", "=", key).executeTakeFirst())
      ?.count;
  const reached = () =>
    db.selectFrom("audit_events").select("after").where("action", "=", "sign-in.limit-reached").execute();

  for (let attempt = 1; attempt <= attempts; attempt++) {
    statements = 0;
    const answer = await takeAttempt(counting, actor, counters, now);
    assert.deepEqual(answer, { allowed: true, counted: [{ ...counters[0], key, windowStart: day }] });
    assert.equal(await countNow(), attempt);
    if (attempt < attempts) assert.equal(statements, 1, `attempt ${attempt} is one statement`);
    assert.equal(
      (await reached()).length,
      attempt < attempts ? 0 : 1,
      "the attempt that reaches the limit is recorded",
    );
  }
  const refused = await takeAttempt(counting, actor, counters, now);
  assert.deepEqual(refused, {
    allowed: false,
    limit: "selfUnlockCodesPerCard",
    retryAt: nextDay,
    retryAfterSeconds: windowSeconds - 10 * 3600 - 5,
  });
  assert.equal(await countNow(), attempts, "a refusal counts nothing");
  assert.deepEqual(await reached(), [
    { after: { limit: "selfUnlockCodesPerCard", subject: "card-0001", until: nextDay.toISOString() } },
  ]);

  const fresh = await takeAttempt(counting, actor, counters, nextDay);
  assert.deepEqual(fresh, { allowed: true, counted: [{ ...counters[0], key, windowStart: nextDay }] });
  assert.equal(await countNow(), 1, "a full window's successor starts at 1");
  await takeAttempt(counting, actor, counters, nextDay);
  const dayAfter = new Date(nextDay.getTime() + windowSeconds * 1000);
  await takeAttempt(counting, actor, counters, dayAfter);
  assert.equal(await countNow(), 1, "so does a part-used window's");

  await assert.rejects(
    counting.transaction().execute(async (tx) => {
      await takeAttempt(tx, actor, counters, dayAfter);
      throw new Error("the caller's work failed");
    }),
  );
  assert.equal(await countNow(), 1, "inside a caller's transaction, the count is undone with it");
  for (let attempt = 2; attempt <= attempts; attempt++)
    await counting.transaction().execute((tx) => takeAttempt(tx, actor, counters, dayAfter));
  assert.equal(await countNow(), attempts);
  assert.equal((await reached()).length, 2, "and the limit is recorded in the caller's transaction");
});

test("wrong passwords back off for one account from one address, doubling up to the longest wait", async (t) => {
  const { db } = await testStore(t);
  const limit = signInLimits.passwordFailuresPerAccountAndAddress;
  const counters = signInCounters.password(account, "198.51.100.7");
  let now = at("2025-03-01T09:00:00Z");
  for (let attempt = 1; attempt <= limit.free; attempt++)
    assert.equal((await takeAttempt(db, actor, counters, now)).allowed, true, `free attempt ${attempt}`);
  const waits: number[] = [];
  for (let round = 0; round < 7; round++) {
    const refused = await takeAttempt(db, actor, counters, now);
    assert.equal(refused.allowed, false, "no attempt before the wait is over");
    if (refused.allowed) return;
    assert.equal(refused.limit, "passwordFailuresPerAccountAndAddress");
    waits.push(refused.retryAfterSeconds);
    now = refused.retryAt;
    assert.equal(
      (await takeAttempt(db, actor, counters, now)).allowed,
      true,
      "allowed once the wait is over",
    );
  }
  assert.deepEqual(waits, [30, 60, 120, 240, 480, 900, 900]);
  assert.equal(backOffDelaySeconds(limit, limit.free - 1), 0);

  const fromElsewhere = await takeAttempt(db, actor, signInCounters.password(account, "198.51.100.8"), now);
  assert.equal(fromElsewhere.allowed, true, "the holder at another address is not made to wait");
});

test("a refused attempt counts on none of its counters; a right answer gives back what it counted", async (t) => {
  const { db } = await testStore(t);
  const now = at("2025-03-01T12:00:00Z");
  const address = "192.0.2.9";
  const counts = async () =>
    Object.fromEntries(
      (await db.selectFrom("sign_in_throttles").select(["key", "count"]).execute()).map((row) => [
        row.key,
        row.count,
      ]),
    );
  for (let attempt = 0; attempt < signInLimits.passwordFailuresPerAccountAndAddress.free; attempt++)
    await takeAttempt(db, actor, signInCounters.password(account, address), now);
  const before = await counts();
  assert.equal((await takeAttempt(db, actor, signInCounters.password(account, address), now)).allowed, false);
  assert.deepEqual(await counts(), before, "the refusal changed no counter");

  const other = { key: "555000000043", uuid: "555000000043" };
  const right = await takeAttempt(db, actor, signInCounters.password(other, address), now);
  assert.ok(right.allowed);
  await giveBack(db, right.counted, [
    "failuresPerAddress",
    "passwordFailuresPerAccountAndAddress",
    "guessesPerAccountPerDay",
  ]);
  const after = await counts();
  assert.equal(after[`failuresPerAddress:${address}`], before[`failuresPerAddress:${address}`]);
  assert.equal(after["guessesPerAccountPerDay:555000000043"], 0);
  assert.equal(after[`passwordFailuresPerAccountAndAddress:555000000043@${address}`], 0);

  await giveBack(db, right.counted, ["failuresPerAddress"]);
  await giveBack(db, right.counted, ["guessesPerAccountPerDay"]);
  assert.equal((await counts())["guessesPerAccountPerDay:555000000043"], 0, "never below nothing");
});

test("the day's cap on an account holds from every address until the UTC day ends or an RA releases it", async (t) => {
  const { db } = await testStore(t);
  const { attempts } = signInLimits.guessesPerAccountPerDay;
  let now = at("2025-03-01T08:00:00Z");
  // From many addresses, so that neither the per-address limit nor the back-off stops it first.
  for (let attempt = 0; attempt < attempts; attempt++) {
    const answer = await takeAttempt(db, actor, signInCounters.password(account, `10.0.${attempt}.1`), now);
    assert.equal(answer.allowed, true, `guess ${attempt + 1}`);
    now = new Date(now.getTime() + 1000);
  }
  const capped = await takeAttempt(db, actor, signInCounters.password(account, "10.9.9.9"), now);
  assert.equal(capped.allowed, false);
  if (capped.allowed) return;
  assert.equal(capped.limit, "guessesPerAccountPerDay");
  assert.deepEqual(capped.retryAt, at("2025-03-02T00:00:00Z"));
  const reached = await db
    .selectFrom("audit_events")
    .select(["subject_id", "after"])
    .where("action", "=", "sign-in.limit-reached")
    .execute();
  assert.deepEqual(
    reached.map((event) => event.subject_id),
    [uuid],
    "the cap is recorded against the person",
  );

  const nextDay = await takeAttempt(db, actor, signInCounters.password(account, "10.9.9.9"), capped.retryAt);
  assert.equal(nextDay.allowed, true, "the next UTC day starts again");
  for (let attempt = 1; attempt < attempts; attempt++)
    await takeAttempt(db, actor, signInCounters.password(account, `10.1.${attempt}.1`), capped.retryAt);
  assert.equal(
    (await takeAttempt(db, actor, signInCounters.password(account, "10.9.9.9"), capped.retryAt)).allowed,
    false,
  );
  const released = await db.transaction().execute((tx) => releaseAccount(tx, uuid, capped.retryAt));
  assert.deepEqual(released, { wasCapped: true });
  assert.equal(
    (await takeAttempt(db, actor, signInCounters.password(account, "10.9.9.9"), capped.retryAt)).allowed,
    true,
  );
  assert.deepEqual(
    await db.transaction().execute((tx) => releaseAccount(tx, "555000000099", capped.retryAt)),
    { wasCapped: false },
  );
});

test("counters whose window has ended are forgotten; live ones are kept", async (t) => {
  const { db } = await testStore(t);
  const then = at("2025-03-01T10:00:00Z");
  await takeAttempt(db, actor, signInCounters.identify("203.0.113.5"), then);
  await takeAttempt(db, actor, signInCounters.password(account, "203.0.113.5"), then);
  await forgetEndedThrottles(db, new Date(then.getTime() + 4 * 60_000));
  const kept = (await db.selectFrom("sign_in_throttles").select("key").orderBy("key").execute()).map(
    (row) => row.key,
  );
  assert.deepEqual(kept, [
    "failuresPerAddress:203.0.113.5",
    `guessesPerAccountPerDay:${uuid}`,
    `passwordFailuresPerAccountAndAddress:${uuid}@203.0.113.5`,
  ]);
  await forgetEndedThrottles(db, new Date(then.getTime() + 2 * 86_400_000));
  assert.equal((await db.selectFrom("sign_in_throttles").select("key").execute()).length, 0);
});

test("two nodes on one database share the counts: attempts made at once through both never pass the limit", async (t) => {
  const first = await testStore(t);
  let second = first;
  if (process.env.TEST_DATABASE_URL) {
    const { rows } = await sql<{ name: string }>`SELECT current_database() AS name`.execute(first.db);
    // The second node records the limit-reached event too, so it holds the same audit key.
    second = withAuditKey(
      await openStore({
        databaseUrl: withDatabase(process.env.TEST_DATABASE_URL, String(rows[0]?.name)),
        poolSize: 4,
      }),
      testMasterKey,
    );
  }
  try {
    const { attempts } = signInLimits.identifyPerAddress;
    const now = at("2025-03-01T11:00:00Z");
    const answers = await Promise.all(
      Array.from({ length: attempts + 20 }, (_, index) =>
        takeAttempt(
          (index % 2 === 0 ? first : second).db,
          operatorActor(),
          signInCounters.identify("203.0.113.77"),
          now,
        ),
      ),
    );
    assert.equal(
      answers.filter((answer) => answer.allowed).length,
      attempts,
      "exactly the limit got through",
    );
    const refusedOnSecond = await takeAttempt(second.db, actor, signInCounters.identify("203.0.113.77"), now);
    assert.equal(refusedOnSecond.allowed, false, "a node refuses what the other node counted");
  } finally {
    // Closed before the test's own store, which drops the database when the test ends.
    if (second !== first) await second.close();
  }
});

test("an answer judged under its counters: a wrong one counted, a right one restarting the back-off, a refused one never judged", async (t) => {
  const { db } = await testStore(t);
  const counters = signInCounters.securityKey(account, "203.0.113.9");
  const { free } = signInLimits.securityKeyFailuresPerAccountAndAddress;
  const now = at("2025-03-01T10:00:05Z");
  const countOf = async (limit: string) =>
    (
      await db
        .selectFrom("sign_in_throttles")
        .select("count")
        .where("key", "like", `${limit}:%`)
        .executeTakeFirst()
    )?.count;
  for (let wrong = 1; wrong <= 2; wrong++) {
    const judged = await judgeAttempt(
      db,
      actor,
      counters,
      async () => ({ right: false, answer: wrong }),
      now,
    );
    assert.deepEqual(judged, { allowed: true, answer: wrong });
  }
  assert.equal(await countOf("securityKeyFailuresPerAccountAndAddress"), 2);
  assert.equal(await countOf("failuresPerAddress"), 2);
  const right = await judgeAttempt(
    db,
    actor,
    counters,
    async (tx) => {
      assert.equal(tx.isTransaction, true, "the answer is judged in the counters' transaction");
      return { right: true, answer: "in" };
    },
    now,
  );
  assert.deepEqual(right, { allowed: true, answer: "in" });
  assert.equal(
    await countOf("securityKeyFailuresPerAccountAndAddress"),
    0,
    "a right answer starts the back-off again",
  );
  assert.equal(await countOf("failuresPerAddress"), 2, "and takes nothing from the address's window");
  for (let wrong = 0; wrong < free; wrong++)
    await judgeAttempt(db, actor, counters, async () => ({ right: false, answer: undefined }), now);
  let judgedWhenRefused = false;
  const refused = await judgeAttempt(
    db,
    actor,
    counters,
    async () => {
      judgedWhenRefused = true;
      return { right: true, answer: undefined };
    },
    now,
  );
  assert.equal(refused.allowed, false);
  assert.equal(judgedWhenRefused, false, "a refused attempt is not judged");
  assert.equal(await countOf("securityKeyFailuresPerAccountAndAddress"), free);
});

test("a row the judge needs locked is read with the counters, in their statement, and counting goes on as without it", async (t) => {
  const { db } = await testStore(t);
  const counters = signInCounters.securityKey(account, "203.0.113.10");
  const now = at("2025-03-01T10:00:05Z");
  // A wrong answer that gives back what was read and locked for it.
  const judgeReading = (read: Parameters<typeof judgeAttempt>[5]) =>
    judgeAttempt(db, actor, counters, async (_tx, locked) => ({ right: false, answer: locked }), now, read);
  // Any locked read will do: a person who does not exist, then another counter.
  const readNothing = db.selectFrom("people").select("uuid").where("uuid", "=", "999999999999").forUpdate();
  const first = await judgeReading(readNothing);
  assert.deepEqual(first, { allowed: true, answer: undefined }, "no row read is undefined");
  // A row the counters' statement does not touch (a row it updates is not its to lock again).
  await takeAttempt(db, actor, signInCounters.identify("203.0.113.10"), now);
  const readCounter = db
    .selectFrom("sign_in_throttles")
    .select(["key", "count"])
    .where("key", "=", "identifyPerAddress:203.0.113.10")
    .forUpdate();
  const second = await judgeReading(readCounter);
  assert.deepEqual(second, {
    allowed: true,
    answer: { key: "identifyPerAddress:203.0.113.10", count: 1 },
  });
  const counts = await db
    .selectFrom("sign_in_throttles")
    .select(["key", "count"])
    .where("key", "like", "%203.0.113.10")
    .where("key", "not like", "identify%")
    .orderBy("key")
    .execute();
  assert.deepEqual(
    counts.map((row) => row.count),
    [2, 2],
    "both wrong answers counted on both counters",
  );
});

test("a read made with the count comes back on every path: counted below the limit, counted at it, and beside a refusal", async (t) => {
  const { db } = await testStore(t);
  const counters: Counter[] = [{ limit: "selfUnlockCodesPerCard", subject: "card-read-with-count" }];
  const now = at("2025-03-01T10:00:05Z");
  const read = sql`SELECT 'card-read-with-count' AS serial, 7 AS seven`;
  const { attempts } = signInLimits.selfUnlockCodesPerCard;
  for (let attempt = 1; attempt <= attempts + 1; attempt++) {
    const answer = await takeAttemptReading(db, actor, counters, read, now);
    assert.equal(answer.attempt.allowed, attempt <= attempts, `attempt ${attempt}`);
    assert.deepEqual(answer.rows, [{ serial: "card-read-with-count", seven: 7 }], `attempt ${attempt}`);
  }
  const { count } = await db
    .selectFrom("sign_in_throttles")
    .select("count")
    .where("key", "=", "selfUnlockCodesPerCard:card-read-with-count")
    .executeTakeFirstOrThrow();
  assert.equal(count, attempts, "the refused attempt counted nothing");
});
