import assert from "node:assert/strict";
import { sql } from "kysely";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { codeAt } from "../../src/authenticators/totp/codes.ts";
import type { Db } from "../../src/store/database.ts";
import { Browser } from "../support/browser.ts";
import type { Cis2Server } from "../support/cis2-server.ts";

/** Demo people with identity level 3 and exactly one position, so no role is asked for. */
export function singlePositionPeople(db: Db, count: number): Promise<string[]> {
  return peopleWithPositions(db, count, 1, 1);
}

/** Active demo people with identity level 3 holding from `fewest` to `most` current positions. */
export async function peopleWithPositions(
  db: Db,
  count: number,
  fewest: number,
  most: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom("people")
    .innerJoin("positions", "positions.uuid", "people.uuid")
    .select("people.uuid")
    .where("people.status", "=", "active")
    .where("people.identity_assurance_level", "=", 3)
    .where("positions.status", "=", "active")
    .groupBy("people.uuid")
    .having(sql`count(*)`, ">=", fewest)
    .having(sql`count(*)`, "<=", most)
    .orderBy("people.uuid")
    .limit(count)
    .execute();
  assert.equal(
    rows.length,
    count,
    `the demo directory has enough people with ${fewest} to ${most} positions`,
  );
  return rows.map((row) => row.uuid);
}

export function enrolmentUrl(server: Cis2Server, token: string, kind = ""): string {
  return `${server.origin}/authenticators/enrol/${token}${kind ? `/${kind}` : ""}`;
}

/** The secret shown on an authenticator app enrolment page. */
export function secretOnPage(html: string): string {
  const secret = /data-secret="([A-Z2-7]+)"/.exec(html)?.[1];
  assert.ok(secret, "the enrolment page shows the secret");
  return secret;
}

/** Enrols an authenticator app for a person through an enrolment link, as they would. */
export async function enrolApp(server: Cis2Server, uuid: string): Promise<string> {
  const { token } = await issueEnrolmentLink(server.store.db, operatorActor(), { uuid });
  const browser = new Browser();
  const page = await browser.get(enrolmentUrl(server, token, "app"));
  assert.equal(page.status, 200);
  const secret = secretOnPage(await page.text());
  const confirmed = await browser.post(enrolmentUrl(server, token, "app"), {
    code: codeAt(secret, new Date()),
  });
  assert.equal(confirmed.status, 200);
  assert.match(await confirmed.text(), /Your authenticator app is set up/);
  return secret;
}

/** The code an app shows in the next time step: the current one was spent confirming enrolment. */
export function nextCode(secret: string): string {
  return codeAt(secret, new Date(Date.now() + 30_000));
}

export async function auditActions(db: Db, action: string) {
  return db
    .selectFrom("audit_events")
    .select(["action", "subject_id", "after"])
    .where("action", "=", action)
    .orderBy("seq")
    .execute();
}
