import assert from "node:assert/strict";
import { test } from "node:test";
import { openCertificateAuthority } from "../../src/pki/certificate-authority.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { issuedTestCard, testActor } from "../support/pki.ts";
import { uuidOf } from "../support/ra-directory.ts";
import { accessTokenFor, api, caller } from "./cim-api.ts";

test("the CIM API lists a person's smartcards, orders cards, withdraws one and unlocks an authenticator app", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const priya = await uuidOf(db, "Sharma");
  const authority = await openCertificateAuthority(db, server.cis2.sealer, "http://pki.test", testActor);
  const card = await issuedTestCard(server.store, authority, priya);
  const call = caller(server, await accessTokenFor(server, "tunde.adebayo@nhs.net"));

  const document = await caller(server)("GET", "/openapi.json");
  for (const path of [
    "/profiles/{uuid}/smartcards",
    "/profiles/{uuid}/smartcards/orders",
    "/profiles/{uuid}/smartcards/{cardSerial}/withdraw",
    "/profiles/{uuid}/authenticators/authenticator-app/unlock",
  ])
    assert.ok(document.body.paths[`${api}${path}`], `documents ${path}`);

  const cards = await call("GET", `/profiles/${priya}/smartcards`);
  assert.equal(cards.status, 200);
  assert.deepEqual(cards.body, [
    { cardSerial: card.cardSerial, status: "active", expiresAt: card.issued.notAfter },
  ]);

  const orders = `/profiles/${priya}/smartcards/orders`;
  const issue = await call("POST", orders, { kind: "issue" });
  assert.equal(issue.status, 201);
  assert.match(issue.body.code, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
  assert.equal(issue.headers.get("cache-control"), "no-store");
  const unlock = await call("POST", orders, { kind: "unlock", cardSerial: card.cardSerial });
  assert.equal(unlock.status, 201);
  assert.equal(unlock.body.cardSerial, card.cardSerial);
  const bogus = await call("POST", orders, { kind: "repaint" });
  assert.equal(bogus.status, 400);
  assert.match(bogus.type, /^application\/problem\+json/);
  const early = await call("POST", orders, { kind: "renew", cardSerial: card.cardSerial });
  assert.equal(early.status, 422);
  assert.match(early.body.detail, /can be renewed from/);

  const withdraw = `/profiles/${priya}/smartcards/${card.cardSerial}/withdraw`;
  const noReason = await call("POST", withdraw, { status: "stolen" });
  assert.equal(noReason.status, 400);
  assert.match(noReason.type, /^application\/problem\+json/);
  const key = { "idempotency-key": "withdraw-stolen-1" };
  const stolen = await call("POST", withdraw, { status: "stolen", reason: "Bag stolen" }, key);
  assert.equal(stolen.status, 200);
  assert.equal(stolen.body.status, "stolen");
  assert.equal(stolen.body.revoked.length, 2);
  const twice = await call("POST", withdraw, { status: "cancelled", reason: "Bag stolen" }, key);
  assert.equal(twice.status, 409);
  const elsewhere = await call(
    "POST",
    `/profiles/${await uuidOf(db, "Adebayo")}/smartcards/${card.cardSerial}/withdraw`,
    {
      status: "cancelled",
      reason: "Not theirs",
    },
  );
  assert.equal(elsewhere.status, 404, "a card is acted on only through its holder");

  await db
    .insertInto("totp_authenticators")
    .values({
      uuid: priya,
      sealed_secret: "unused",
      last_used_step: 0,
      locked_until: new Date(Date.now() + 600_000),
    })
    .execute();
  const unlocked = await call("POST", `/profiles/${priya}/authenticators/authenticator-app/unlock`, {});
  assert.equal(unlocked.status, 200);
  assert.deepEqual(unlocked.body, { wasLocked: true });
  const unlockEvent = await db
    .selectFrom("audit_events")
    .selectAll()
    .where("action", "=", "totp.unlocked")
    .executeTakeFirstOrThrow();
  assert.ok(unlockEvent.actor_role_id, "the unlock names the position the RA acted in");

  const mei = (
    await db
      .selectFrom("people")
      .select("uuid")
      .where("email", "=", "mei.chen@nhs.net")
      .executeTakeFirstOrThrow()
  ).uuid;
  const refused = await call("POST", `/profiles/${mei}/smartcards/orders`, { kind: "issue" });
  assert.equal(refused.status, 403);
  assert.match(refused.type, /^application\/problem\+json/);
});
