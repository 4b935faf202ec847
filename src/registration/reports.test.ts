import assert from "node:assert/strict";
import { test } from "node:test";
import { issuedTestCard, testAuthority } from "../../test/support/pki.ts";
import { inCim, raDirectory } from "../../test/support/ra-directory.ts";
import { ForbiddenError, InvalidInputError } from "../errors.ts";
import { changeDetails } from "./profile-changes.ts";
import { runReport, toCsv } from "./reports.ts";

test("CSV cells are quoted as RFC 4180 says, and formulas are defused", () => {
  assert.equal(
    toCsv({
      columns: ["a", "b"],
      rows: [
        ['Say "hi", then', "=HYPERLINK(1)"],
        [null, 3],
      ],
    }),
    'a,b\r\n"Say ""hi"", then",\'=HYPERLINK(1)\r\n,3\r\n',
  );
});

test("reports for an organisation and those below it, as each role may run them", async (t) => {
  const { store, actors, places } = await raDirectory(t);
  await changeDetails(store.db, inCim(actors.SPONSOR), {
    uuid: places.inside.person,
    changes: { mobile: "07700900321" },
  });
  const users = await runReport(store.db, inCim(actors.RAA), { kind: "users", odsCode: "RZZ" });
  assert.match(users.filename, /^users-RZZ-\d{4}-\d{2}-\d{2}\.csv$/);
  const lines = users.csv.trimEnd().split("\r\n");
  assert.equal(
    lines[0],
    "uuid,title,givenName,middleNames,familyName,status,email,identityAssuranceLevel,activePositions",
  );
  assert.ok(
    lines.some((line) => line.startsWith(`${places.child.person},`)),
    "includes the child organisation",
  );
  assert.ok(
    !lines.some((line) => line.startsWith(`${places.outside.person},`)),
    "excludes other organisations",
  );
  const requests = await runReport(store.db, inCim(actors.ID_CHECKER), { kind: "requests", odsCode: "RZZ" });
  assert.equal(requests.rows, 1);
  const positions = await runReport(store.db, inCim(actors.SPONSOR), { kind: "positions", odsCode: "RZZ01" });
  assert.equal(positions.rows, 1);
  await assert.rejects(
    runReport(store.db, inCim(actors.SPONSOR), { kind: "users", odsCode: "RZZ" }),
    ForbiddenError,
  );
  await assert.rejects(
    runReport(store.db, inCim(actors.RAA), { kind: "users", odsCode: "A99001" }),
    ForbiddenError,
  );
  await assert.rejects(
    runReport(store.db, inCim(actors.RAA), { kind: "secrets", odsCode: "RZZ" }),
    InvalidInputError,
  );
  const authenticators = await runReport(store.db, inCim(actors.RAM), {
    kind: "authenticators",
    odsCode: "RZZ",
  });
  assert.equal(
    authenticators.csv.split("\r\n")[0],
    "uuid,familyName,givenName,kind,method,createdAt,lastUsedAt",
  );
});

test("the smartcards report lists the cards of people at the organisation and below, with their expiry", async (t) => {
  const { store, actors, places } = await raDirectory(t);
  const authority = await testAuthority(store);
  const card = await issuedTestCard(store, authority, places.child.person);
  await issuedTestCard(store, authority, places.outside.person);
  const report = await runReport(store.db, inCim(actors.SPONSOR), { kind: "smartcards", odsCode: "RZZ" });
  assert.match(report.filename, /^smartcards-RZZ-\d{4}-\d{2}-\d{2}\.csv$/);
  const [header, ...rows] = report.csv.trimEnd().split("\r\n");
  assert.equal(header, "uuid,familyName,givenName,cardSerial,cardType,status,issuedAt,expiresAt");
  assert.equal(rows.length, 1, "the card held outside RZZ is not listed");
  assert.match(
    rows[0] ?? "",
    new RegExp(
      `^${places.child.person},Sitewell,Cara,${card.cardSerial},,active,.*,${card.issued.notAfter}$`,
    ),
  );
});
