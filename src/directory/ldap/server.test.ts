import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { Client, InvalidCredentialsError, NoSuchObjectError, UnwillingToPerformError } from "ldapts";
import { demoLdapServer, ldapsearch } from "../../../test/support/ldap.ts";
import { leftOut } from "../../../test/support/prerequisites.ts";
import { operatorActor } from "../../audit/actor.ts";
import { grantPosition } from "../../rbac/positions.ts";
import { readDemoDirectory } from "../../seed/demo.ts";
import type { Db } from "../../store/database.ts";
import { addAccount } from "./accounts.ts";

const demo = readDemoDirectory();

function client(url: string, t: { after(fn: () => unknown): void }): Client {
  const ldap = new Client({ url, timeout: 10_000, connectTimeout: 5_000 });
  t.after(() => ldap.unbind().catch(() => {}));
  return ldap;
}

async function firstPersonUuid(url: string): Promise<string> {
  const { entries } = await ldapsearch(url, "ou=People,o=nhs", [
    "-s",
    "one",
    "-z",
    "1",
    "(sn=O'Connell)",
    "uid",
  ]);
  const uuid = entries[0]?.attributes.uid?.[0];
  assert.ok(uuid, "the demo directory's first person is published");
  return uuid;
}

test("ldapsearch finds a person by uid, with the SDS attributes and the roles below them", async (t) => {
  if (leftOut(t, "ldap")) return;
  const { server } = await demoLdapServer(t);
  const uuid = await firstPersonUuid(server.url);
  const person = await ldapsearch(server.url, "ou=People,o=nhs", [`(uid=${uuid})`]);
  assert.equal(person.code, 0, person.stderr);
  assert.equal(person.entries.length, 1);
  const entry = person.entries[0];
  assert.equal(entry?.dn, `uid=${uuid},ou=People,o=nhs`);
  assert.deepEqual(entry?.attributes.objectclass, ["top", "nhsPerson"]);
  assert.deepEqual(entry?.attributes.cn, ["O'Connell Margaret Mrs"]);
  assert.deepEqual(entry?.attributes.nhspersonstatus, ["1"]);
  const roles = await ldapsearch(server.url, `uid=${uuid},ou=People,o=nhs`, [
    "(objectClass=nhsOrgPersonRole)",
    "nhsJobRoleCode",
    "nhsIDCode",
  ]);
  assert.equal(roles.code, 0);
  assert.deepEqual(
    roles.entries.map((role) => [role.attributes.nhsidcode, role.attributes.nhsjobrolecode]),
    [[["RZZ"], ["S0080:G0450:R5080"]]],
  );
  assert.match(
    roles.entries[0]?.dn ?? "",
    new RegExp(`^uniqueIdentifier=\\d{12},uniqueIdentifier=\\d{12},uid=${uuid},ou=People,o=nhs$`),
  );
});

/** Two systems and an endpoint at an organisation the demo registry leaves alone. */
async function addTestServices(db: Db): Promise<void> {
  await sql`INSERT INTO accredited_systems (asid, ods_code, manufacturer_ods_code, product_key, product_name, party_key, interactions)
    VALUES ('900000000001', 'VZZ01', 'YGA01', '4412', 'Test GP system', 'VZZ01-900001', ${[interaction, "urn:nhs:names:services:pds:QUPA_IN040000UK32"]}),
           ('900000000002', 'VZZ01', 'YGA01', '4412', 'Test GP system', 'VZZ01-900002', ${["urn:nhs:names:services:pds:QUPA_IN040000UK32"]})`.execute(
    db,
  );
  await sql`INSERT INTO messaging_endpoints (id, ods_code, party_key, interaction, cpa_id, fqdn, endpoint_url, sync_reply_mode,
      retry_interval, retries, persist_duration, duplicate_elimination, ack_requested, actor, is_authenticated)
    VALUES ('900000000011', 'VZZ01', 'VZZ01-900001', ${interaction}, 'S900000000001VZZ01', 'msg.vzz01.test.nhs.uk',
      'https://msg.vzz01.test.nhs.uk/reliablemessaging', 'MSHSignalsOnly', 'PT1M', 2, 'PT5M', 'always', 'always',
      'urn:oasis:names:tc:ebxml-msg:actor:toPartyMSH', true)`.execute(db);
}

const interaction = "urn:nhs:names:services:psis:REPC_IN150016UK05";

test("ldapts runs the typical SDS searches for accredited systems and messaging endpoints", async (t) => {
  if (leftOut(t, "ldap")) return;
  const { server, store } = await demoLdapServer(t);
  await addTestServices(store.db);
  const ldap = client(server.url, t);
  const systems = await ldap.search("ou=Services,o=nhs", {
    filter: `(&(nhsIDCode=VZZ01)(objectClass=nhsAs)(nhsAsSvcIA=${interaction}))`,
    attributes: ["uniqueIdentifier", "nhsMhsPartyKey"],
  });
  assert.deepEqual(
    systems.searchEntries.map((entry) => ({ ...entry })),
    [
      {
        dn: "uniqueIdentifier=900000000001,ou=Services,o=nhs",
        uniqueIdentifier: "900000000001",
        nhsMhsPartyKey: "VZZ01-900001",
      },
    ],
  );
  const endpoints = await ldap.search("ou=Services,o=nhs", {
    filter: `(&(nhsMhsPartyKey=VZZ01-900001)(objectClass=nhsMhs)(nhsMhsSvcIA=${interaction}))`,
    attributes: ["nhsMhsEndPoint", "nhsMhsIsAuthenticated"],
  });
  assert.deepEqual(
    endpoints.searchEntries.map((entry) => ({ ...entry })),
    [
      {
        dn: "uniqueIdentifier=900000000011,ou=Services,o=nhs",
        nhsMHSEndPoint: "https://msg.vzz01.test.nhs.uk/reliablemessaging",
        nhsMhsIsAuthenticated: "TRUE",
      },
    ],
  );
  const byLdapsearch = await ldapsearch(server.url, "ou=Services,o=nhs", [
    `(&(nhsIDCode=vzz01)(objectClass=nhsAs)(nhsAsSvcIA=${interaction.toLowerCase()}))`,
    "uniqueIdentifier",
  ]);
  assert.deepEqual(
    byLdapsearch.entries.map((entry) => entry.attributes.uniqueidentifier),
    [["900000000001"]],
  );
  const none = await ldap.search("ou=Services,o=nhs", { filter: `(&(nhsIDCode=NOPE1)(objectClass=nhsAs))` });
  assert.equal(none.searchEntries.length, 0);
});

test("attribute names are case-insensitive, and selection honours *, 1.1 and typesOnly", async (t) => {
  if (leftOut(t, "ldap")) return;
  const { server } = await demoLdapServer(t);
  const uuid = await firstPersonUuid(server.url);
  const ldap = client(server.url, t);
  const shouting = await ldap.search("o=nhs", { filter: `(UID=${uuid})`, attributes: ["SN", "GIVENNAME"] });
  assert.deepEqual(
    { ...shouting.searchEntries[0] },
    { dn: `uid=${uuid},ou=People,o=nhs`, sn: "O'Connell", givenName: "Margaret" },
  );
  const noAttributes = await ldap.search("o=nhs", { filter: `(uid=${uuid})`, attributes: ["1.1"] });
  const returned = Object.entries(noAttributes.searchEntries[0] ?? {}).filter(
    ([name, values]) => name !== "dn" && Array.isArray(values) && values.length > 0,
  );
  assert.deepEqual(returned, [], "1.1 returns the DN alone");
  const typesOnly = await ldapsearch(server.url, "o=nhs", ["-A", `(uid=${uuid})`, "sn"]);
  assert.match(typesOnly.stdout, /^sn:\s*$/m);
  const organisation = await ldap.search("uniqueIdentifier=rzz,ou=Organisations,o=nhs", { scope: "base" });
  assert.equal(organisation.searchEntries[0]?.nhsIDCode, "RZZ");
});

test("a position granted now shows at the next search", async (t) => {
  if (leftOut(t, "ldap")) return;
  const { server, store, lists } = await demoLdapServer(t);
  const uuid = await firstPersonUuid(server.url);
  const before = await ldapsearch(server.url, `uid=${uuid},ou=People,o=nhs`, ["(nhsIDCode=RZY)", "1.1"]);
  assert.equal(before.entries.length, 0);
  await grantPosition(store.db, operatorActor(), lists, {
    uuid,
    odsCode: "RZY",
    jobRole: "R8000",
    startDate: "2024-01-01",
  });
  const after = await ldapsearch(server.url, `uid=${uuid},ou=People,o=nhs`, [
    "(nhsIDCode=RZY)",
    "objectClass",
  ]);
  assert.deepEqual(after.entries.map((entry) => entry.attributes.objectclass?.[1]).sort(), [
    "nhsOrgPerson",
    "nhsOrgPersonRole",
  ]);
});

test("scopes, filters, size limits and paging behave as LDAP specifies", async (t) => {
  if (leftOut(t, "ldap")) return;
  const { server } = await demoLdapServer(t);
  const ldap = client(server.url, t);
  const people = demo.people.length;
  const one = await ldap.search("ou=People,o=nhs", {
    scope: "one",
    filter: "(objectClass=*)",
    attributes: ["1.1"],
  });
  assert.equal(one.searchEntries.length, people);
  const base = await ldap.search("ou=People,o=nhs", { scope: "base", attributes: ["ou"] });
  assert.deepEqual({ ...base.searchEntries[0] }, { dn: "ou=People,o=nhs", ou: "People" });
  const substrings = await ldap.search("o=nhs", {
    filter: "(&(objectClass=nhsPerson)(sn=o'c*ell))",
    attributes: ["sn"],
  });
  assert.deepEqual(
    substrings.searchEntries.map((entry) => entry.sn),
    ["O'Connell"],
  );
  const negated = await ldap.search("ou=People,o=nhs", {
    scope: "one",
    filter: "(!(sn=O'Connell))",
    attributes: ["1.1"],
  });
  assert.equal(negated.searchEntries.length, people - 1);
  const ordering = await ldap.search("o=nhs", {
    filter: "(&(objectClass=nhsOrgPersonRole)(nhsOpenDate>=20240101)(nhsOpenDate<=20241231))",
    attributes: ["nhsOpenDate"],
  });
  assert.ok(ordering.searchEntries.every((entry) => String(entry.nhsOpenDate).startsWith("2024")));
  const approximate = await ldap.search("o=nhs", { filter: "(sn~=o'connell)", attributes: ["1.1"] });
  assert.equal(approximate.searchEntries.length, 1);
  const unknownType = await ldap.search("o=nhs", { filter: "(!(madeUpAttribute=1))", attributes: ["1.1"] });
  assert.equal(unknownType.searchEntries.length, 0, "Undefined stays Undefined under not");
  // ldapts hands back the entries sent before sizeLimitExceeded rather than failing.
  const firstFive = await ldap.search("ou=People,o=nhs", { scope: "one", sizeLimit: 5, attributes: ["1.1"] });
  assert.equal(firstFive.searchEntries.length, 5);
  const limited = await ldapsearch(server.url, "ou=People,o=nhs", [
    "-s",
    "one",
    "-z",
    "5",
    "(objectClass=*)",
    "1.1",
  ]);
  assert.equal(limited.code, 4, "ldapsearch exits with sizeLimitExceeded");
  assert.equal(limited.entries.length, 5);
  const paged = await ldap.search("o=nhs", {
    filter: "(objectClass=nhsPerson)",
    paged: { pageSize: 7 },
    attributes: ["uid"],
  });
  assert.equal(paged.searchEntries.length, people);
  assert.equal(new Set(paged.searchEntries.map((entry) => entry.uid)).size, people);
  const pagedByLdapsearch = await ldapsearch(server.url, "o=nhs", [
    "-E",
    "pr=10/noprompt",
    "(objectClass=nhsPerson)",
    "1.1",
  ]);
  assert.equal(pagedByLdapsearch.code, 0, pagedByLdapsearch.stderr);
  assert.equal(pagedByLdapsearch.entries.length, people);
});

test("missing entries, bad names, writes and bad credentials get their result codes", async (t) => {
  if (leftOut(t, "ldap")) return;
  const { server, store } = await demoLdapServer(t);
  const ldap = client(server.url, t);
  const missing = await ldapsearch(server.url, "uid=999999999999,ou=People,o=nhs", ["-s", "base"]);
  assert.equal(missing.code, 32);
  assert.match(missing.stderr + missing.stdout, /Matched DN: ou=People,o=nhs/);
  await assert.rejects(ldap.search("ou=Nowhere,o=nhs", {}), NoSuchObjectError);
  const badDn = await ldapsearch(server.url, "not a dn", []);
  assert.equal(badDn.code, 34);
  await assert.rejects(
    ldap.add("uid=1,ou=People,o=nhs", { objectClass: "nhsPerson" }),
    UnwillingToPerformError,
  );
  await assert.rejects(ldap.del("ou=People,o=nhs"), UnwillingToPerformError);
  await assert.rejects(ldap.modifyDN("ou=People,o=nhs", "ou=Persons"), UnwillingToPerformError);
  await assert.rejects(ldap.bind("cn=nobody,ou=Accounts,o=nhs", "guess"), InvalidCredentialsError);
  const account = await addAccount(store.db, operatorActor(), { name: "gp-system", description: "test" });
  await assert.rejects(ldap.bind(account.bindDn, "wrong"), InvalidCredentialsError);
  await ldap.bind(account.bindDn, account.password);
  assert.equal(
    await ldap.exop("1.3.6.1.4.1.4203.1.11.3").then((result) => result.value),
    `dn:${account.bindDn}`,
  );
  const stillUp = await ldap.search("ou=People,o=nhs", { scope: "base" });
  assert.equal(stillUp.searchEntries.length, 1);
});

test("the root DSE names the suffix, the paged results control and LDAPv3", async (t) => {
  if (leftOut(t, "ldap")) return;
  const { server } = await demoLdapServer(t);
  const root = await ldapsearch(server.url, "", ["-s", "base", "(objectClass=*)", "+"]);
  assert.equal(root.code, 0);
  assert.deepEqual(root.entries[0]?.attributes.namingcontexts, ["o=nhs"]);
  assert.deepEqual(root.entries[0]?.attributes.supportedldapversion, ["3"]);
  assert.ok(root.entries[0]?.attributes.supportedcontrol?.includes("1.2.840.113556.1.4.319"));
});

test("with anonymous reads off, only a bound service account may search", async (t) => {
  if (leftOut(t, "ldap")) return;
  const { server, store } = await demoLdapServer(t, { anonymous: false });
  const refused = await ldapsearch(server.url, "o=nhs", ["-s", "base"]);
  assert.equal(refused.code, 48, "the implicit anonymous bind of ldapsearch is refused");
  const account = await addAccount(store.db, operatorActor(), { name: "reader" });
  const bound = await ldapsearch(server.url, "o=nhs", [
    "-s",
    "base",
    "-D",
    account.bindDn,
    "-w",
    account.password,
  ]);
  assert.equal(bound.code, 0, bound.stderr);
  assert.equal(bound.entries[0]?.dn, "o=nhs");
});
