import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { exportLdif } from "../src/directory/ldap/ldif.ts";
import { makeTree } from "../src/directory/ldap/tree.ts";
import { demoLdapServer, type LdifEntry, ldapsearch } from "./support/ldap.ts";
import { leftOut } from "./support/prerequisites.ts";
import { startSlapd } from "./support/slapd.ts";

/** An entry in the form two servers' answers are compared in: names in lower case, values sorted. */
function comparable(entries: LdifEntry[]): string[] {
  return entries
    .map((entry) =>
      JSON.stringify([
        entry.dn.toLowerCase(),
        Object.entries(entry.attributes)
          .map(([name, values]) => [name, [...values].sort()])
          .sort(),
      ]),
    )
    .sort();
}

const interaction = "urn:nhs:names:services:psis:REPC_IN150016UK05";

test("the exported LDIF loads into slapd with our schema and both servers answer the SDS searches alike", async (t) => {
  if (leftOut(t, "ldap")) return;
  const { server, store, lists } = await demoLdapServer(t);
  await sql`INSERT INTO accredited_systems (asid, ods_code, manufacturer_ods_code, product_key, product_name, party_key, interactions)
    VALUES ('900000000001', 'VZZ01', 'YGA01', '4412', 'Test GP system', 'VZZ01-900001', ${[interaction]})`.execute(
    store.db,
  );
  let ldif = "";
  const count = await exportLdif(makeTree(store.db, lists), (text) => {
    ldif += text;
  });
  assert.ok(count > 100, `the demo tree has ${count} entries`);
  const slapd = await startSlapd(ldif);
  t.after(() => slapd.stop());
  const uuid = /^uid: (\d{12})$/m.exec(ldif)?.[1];
  assert.ok(uuid);
  const searches: [string, string[]][] = [
    ["o=nhs", [`(uid=${uuid})`]],
    ["ou=People,o=nhs", ["-s", "one", `(uid=${uuid})`, "cn", "sn", "givenName"]],
    [
      `uid=${uuid},ou=People,o=nhs`,
      ["(objectClass=nhsOrgPersonRole)", "nhsJobRoleCode", "nhsIDCode", "nhsBusinessFunctionsCodes"],
    ],
    [`uid=${uuid},ou=People,o=nhs`, ["-s", "base"]],
    ["o=nhs", ["(&(objectClass=nhsOrgPerson)(nhsIDCode=RZZ))", "uniqueIdentifier", "o"]],
    [
      "o=nhs",
      [
        `(&(nhsIDCode=VZZ01)(objectClass=nhsAs)(nhsAsSvcIA=${interaction}))`,
        "uniqueIdentifier",
        "nhsMhsPartyKey",
      ],
    ],
    ["o=nhs", ["(&(objectClass=nhsPerson)(|(sn=O*)(givenName=*ar*))(!(personalTitle=Dr)))", "uid"]],
    ["o=nhs", ["(&(objectClass=nhsOrgPersonRole)(nhsOpenDate>=20200101)(!(nhsOpenDate>=20230101)))", "1.1"]],
    ["ou=Organisations,o=nhs", ["-s", "one", "(objectClass=*)"]],
    ["o=nhs", ["(uniqueIdentifier=55*)", "1.1"]],
    ["o=nhs", ["(sn~=o'connell)", "sn"]],
    ["o=nhs", ["-s", "one"]],
    ["o=nhs", ["-E", "pr=50/noprompt", "(objectClass=nhsOrgPersonRole)", "uniqueIdentifier"]],
  ];
  for (const [base, args] of searches) {
    const ours = await ldapsearch(server.url, base, args);
    const theirs = await ldapsearch(slapd.url, base, args);
    const what = `${base} ${args.join(" ")}`;
    assert.equal(
      ours.code,
      theirs.code,
      `${what}: exit code (ours: ${ours.stderr} / slapd: ${theirs.stderr})`,
    );
    assert.deepEqual(comparable(ours.entries), comparable(theirs.entries), what);
  }
  const sizeLimited = await Promise.all(
    [server.url, slapd.url].map((url) =>
      ldapsearch(url, "o=nhs", ["-z", "3", "(objectClass=nhsPerson)", "1.1"]),
    ),
  );
  assert.deepEqual(
    sizeLimited.map((result) => [result.code, result.entries.length]),
    [
      [4, 3],
      [4, 3],
    ],
  );
  const missing = await Promise.all(
    [server.url, slapd.url].map((url) => ldapsearch(url, "uid=000000000000,ou=People,o=nhs", ["-s", "base"])),
  );
  assert.deepEqual(
    missing.map((result) => [result.code, /Matched DN: (.*)/.exec(result.stdout + result.stderr)?.[1]]),
    [
      [32, "ou=People,o=nhs"],
      [32, "ou=People,o=nhs"],
    ],
  );
});
