import { sdsName } from "../cis2/claims.ts";
import { getPerson } from "../people/people.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { positionsOfPerson } from "../rbac/positions.ts";
import type { Db } from "../store/database.ts";
import { demoPassword } from "./demo-sign-in.ts";

/** The demo directory's people as a newcomer needs them: who to sign in as, and with what. */
export async function demoUsers(db: Db, lists: CodeLists) {
  const rows = await db
    .selectFrom("people")
    .innerJoin("passwords", "passwords.uuid", "people.uuid")
    .select("people.uuid")
    .where("people.status", "=", "active")
    .orderBy("people.family_name")
    .execute();
  const users = [];
  for (const row of rows) {
    const person = await getPerson(db, row.uuid);
    const positions = await positionsOfPerson(db, lists, row.uuid);
    users.push({
      uuid: person.uuid,
      name: sdsName(person),
      email: person.email,
      password: demoPassword,
      positions: positions.map((position) => ({
        roleId: position.roleProfileId,
        jobRole: position.jobRole.jobRoleName,
        odsCode: position.odsCode,
        organisation: position.organisationName,
      })),
    });
  }
  return users;
}
