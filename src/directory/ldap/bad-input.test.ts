import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AndFilter,
  Client,
  EqualityFilter,
  InvalidCredentialsError,
  NoSuchObjectError,
  SubstringFilter,
} from "ldapts";
import { demoLdapServer } from "../../../test/support/ldap.ts";

/**
 * NUL bytes are legal in LDAP's BER strings but no stored value can hold one: an assertion with
 * one matches nothing (RFC 4511 evaluates it as any other assertion no entry satisfies), a DN
 * with one names no entry, and nothing of it reaches the database as a failing query.
 */
test("NUL bytes in filters, base DNs and bind names answer with LDAP's own result codes", async (t) => {
  const { server } = await demoLdapServer(t);
  const ldap = new Client({ url: server.url, timeout: 10_000 });
  t.after(() => ldap.unbind().catch(() => {}));
  const nul = "\u0000";
  const searches: [string, string, EqualityFilter | SubstringFilter | AndFilter][] = [
    ["uid equality", "ou=People,o=nhs", new EqualityFilter({ attribute: "uid", value: `5550${nul}` })],
    ["ODS code equality", "o=nhs", new EqualityFilter({ attribute: "nhsIDCode", value: `RZZ${nul}` })],
    ["surname substring", "ou=People,o=nhs", new SubstringFilter({ attribute: "sn", initial: `O${nul}` })],
    [
      "uid within an and",
      "ou=People,o=nhs",
      new AndFilter({
        filters: [
          new EqualityFilter({ attribute: "objectClass", value: "nhsPerson" }),
          new EqualityFilter({ attribute: "uid", value: nul }),
        ],
      }),
    ],
  ];
  for (const [name, base, filter] of searches) {
    const result = await ldap.search(base, { filter });
    assert.deepEqual(result.searchEntries, [], `${name}: success with no entries`);
  }
  await assert.rejects(
    ldap.search(`uid=5550${nul}0,ou=People,o=nhs`, { filter: "(objectClass=*)" }),
    NoSuchObjectError,
  );
  await assert.rejects(ldap.bind(`uid=a${nul},ou=Accounts,o=nhs`, "a password"), InvalidCredentialsError);
  const still = await ldap.search("ou=People,o=nhs", { filter: "(sn=O'Connell)", sizeLimit: 1 });
  assert.equal(still.searchEntries.length, 1, "the connection still serves good searches");
});
