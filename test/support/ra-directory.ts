import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { Actor } from "../../src/audit/actor.ts";
import { systemActor } from "../../src/audit/actor.ts";
import { createPerson } from "../../src/people/people.ts";
import type { RaRole } from "../../src/ra-policy/policy.ts";
import { readCodeLists } from "../../src/rbac/code-lists.ts";
import { grantPosition } from "../../src/rbac/positions.ts";
import { seedDemo } from "../../src/seed/demo.ts";
import type { Queryable } from "../../src/store/database.ts";
import { testStore } from "./test-store.ts";

/** The demo directory's RA staff, all at RZZ (Ashcombe and Wexley Hospitals NHS Trust). */
export const raStaff: Record<RaRole, string> = {
  RAM: "O'Connell",
  RAA_ADVANCED: "Chandran",
  RAA: "Adebayo",
  SPONSOR: "Mensah",
  ID_CHECKER: "Kowalski",
  LSA: "Rahman",
};

export async function uuidOf(queryable: Queryable, familyName: string): Promise<string> {
  const row = await queryable
    .selectFrom("people")
    .select("uuid")
    .where("family_name", "=", familyName)
    .executeTakeFirstOrThrow();
  return row.uuid;
}

/** A person acting in Care Identity Management. */
export function inCim(uuid: string): Actor {
  return { kind: "person", id: uuid, source: "CIM" };
}

/**
 * The demo directory plus a nurse at RZZ01, a site (child organisation) of RZZ; the RA staff's
 * UUIDs by role; a person inside RZZ, in RZZ01 and outside (at the GP practice A99001).
 */
export async function raDirectory(t: TestContext) {
  const store = await testStore(t);
  const seeder = systemActor("test");
  await seedDemo(store.db, seeder);
  const lists = await readCodeLists(store.db);
  const childNurse = await createPerson(store.db, seeder, { givenName: "Cara", familyName: "Sitewell" });
  await grantPosition(store.db, seeder, lists, {
    uuid: childNurse.uuid,
    odsCode: "RZZ01",
    jobRole: "R8001",
    startDate: "2024-01-01",
  });
  const roles = Object.keys(raStaff) as RaRole[];
  const actors = Object.fromEntries(
    await Promise.all(roles.map(async (role) => [role, await uuidOf(store.db, raStaff[role])])),
  ) as Record<RaRole, string>;
  const places = {
    inside: { ods: "RZZ", person: await uuidOf(store.db, "Bennett") },
    child: { ods: "RZZ01", person: childNurse.uuid },
    outside: { ods: "A99001", person: await uuidOf(store.db, "Clarke") },
  };
  return { store, seeder, lists, roles, actors, places };
}

/** Expects the attempt to fail with this kind of error, its message matching the pattern. */
export async function refusedWith(
  attempt: Promise<unknown>,
  kind: new (...args: never[]) => Error,
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(attempt, (error: Error) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}
