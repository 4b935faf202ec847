import { listOwnAuthenticators } from "../authenticators/own-authenticators.ts";
import { provisioningUri } from "../authenticators/totp/codes.ts";
import { sdsName } from "../cis2/claims.ts";
import { getPerson } from "../people/people.ts";
import { type RaHolding, raHoldings, raRoleNames } from "../ra-policy/policy.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { positionsOfPerson } from "../rbac/positions.ts";
import { displayName } from "../registration/pages/context.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import { readDemoApps } from "./demo-authenticators.ts";
import { demoPassword } from "./demo-sign-in.ts";

/** One way a demo person holds to sign in, and what to do with it in the demo. */
export type DemoAuthenticator = {
  /** Said as everywhere else (methods' labels): "Authenticator app", "Security key or Windows Hello". */
  kind: string;
  name: string;
  /** The authenticator app's secret and otpauth URI, when it is still the demo's published one. */
  secret?: string;
  otpauth?: string;
};

/**
 * The demo directory's people as a newcomer needs them: who to sign in as, in which RA role
 * where, and with what. With the sealer, an app holder's secret is given when it is still the
 * demo's published one (a secret someone enrolled for themselves is never shown).
 */
export async function demoUsers(db: Db, lists: CodeLists, sealer?: Sealer) {
  const rows = await db
    .selectFrom("people")
    .innerJoin("passwords", "passwords.uuid", "people.uuid")
    .select("people.uuid")
    .where("people.status", "=", "active")
    .orderBy("people.family_name")
    .execute();
  const published = new Map(readDemoApps().map((app) => [app.email, app.secret]));
  const users = [];
  for (const row of rows) {
    const person = await getPerson(db, row.uuid);
    const positions = await positionsOfPerson(db, lists, row.uuid);
    const organisationName = (odsCode: string) =>
      positions.find((position) => position.odsCode === odsCode)?.organisationName ?? odsCode;
    const raRoles = (await raHoldings(db, row.uuid)) ?? [];
    users.push({
      uuid: person.uuid,
      name: sdsName(person),
      /** As pages say it: "Mrs Margaret O'Connell". */
      fullName: displayName(person),
      email: person.email,
      password: demoPassword,
      positions: positions.map((position) => ({
        roleId: position.roleProfileId,
        jobRole: position.jobRole.jobRoleName,
        jobRoleCode: position.jobRole.jobRoleCode,
        odsCode: position.odsCode,
        organisation: position.organisationName,
      })),
      raRoles: raRoles.map((holding) => ({
        role: sentenceCase(raRoleNames[holding.role]),
        code: holding.role,
        odsCode: holding.odsCode,
        organisation: organisationName(holding.odsCode),
        /** Where the role works: its organisation and those below it, or everywhere. */
        scope: holding.national ? "every organisation" : "its organisation and those below it",
      })),
      raRolesInWords: rolesInWords(raRoles, organisationName),
      sponsor: raRoles.some((holding) => holding.role === "SPONSOR"),
      smartcards: await currentSmartcards(db, row.uuid),
      authenticators: await heldAuthenticators(db, row.uuid, published.get(person.email ?? ""), sealer),
    });
  }
  return users;
}

/** "RA manager, sponsor and RA ID checker at Riverside (RZZ)": one line per organisation. */
function rolesInWords(holdings: RaHolding[], organisationName: (odsCode: string) => string): string[] {
  const byOrganisation = new Map<string, string[]>();
  for (const holding of holdings) {
    const name = `${raRoleNames[holding.role]}${holding.national ? " for every organisation" : ""}`;
    const names = byOrganisation.get(holding.odsCode) ?? [];
    if (!names.includes(name)) names.push(name);
    byOrganisation.set(holding.odsCode, names);
  }
  return [...byOrganisation].map(([odsCode, names]) => {
    const listed = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : names[0];
    return `${sentenceCase(listed ?? "")} at ${organisationName(odsCode)} (${odsCode})`;
  });
}

function sentenceCase(words: string): string {
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export type DemoUser = Awaited<ReturnType<typeof demoUsers>>[number];

async function currentSmartcards(db: Db, uuid: string): Promise<number> {
  const row = await db
    .selectFrom("smartcards")
    .select((eb) => eb.fn.countAll<number>().as("cards"))
    .where("holder", "=", uuid)
    .where("status", "in", ["active", "locked"])
    .executeTakeFirst();
  return Number(row?.cards ?? 0);
}

async function heldAuthenticators(
  db: Db,
  uuid: string,
  publishedSecret: string | undefined,
  sealer: Sealer | undefined,
): Promise<DemoAuthenticator[]> {
  const held: DemoAuthenticator[] = [];
  for (const authenticator of await listOwnAuthenticators(db, uuid)) {
    const entry: DemoAuthenticator = { kind: authenticator.kind, name: authenticator.name };
    if (authenticator.method === "TOTP" && publishedSecret && sealer) {
      const app = await db
        .selectFrom("totp_authenticators")
        .select("sealed_secret")
        .where("uuid", "=", uuid)
        .executeTakeFirst();
      if (app && sealer.open(app.sealed_secret) === publishedSecret) {
        entry.secret = publishedSecret;
        entry.otpauth = provisioningUri(publishedSecret, uuid);
      }
    }
    held.push(entry);
  }
  return held;
}
