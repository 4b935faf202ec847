import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeProtectedHeader } from "jose";
import { operatorActor } from "../../src/audit/actor.ts";
import { keySchedule, rotateSigningKeys } from "../../src/cis2/keys.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { demoClientConfiguration, exchange, signIn } from "./journey.ts";

test("signing keys are stored sealed, and a rotated key is published before it signs", async (t) => {
  const server = await startCis2Server(t);
  const stored = await server.store.db.selectFrom("signing_keys").selectAll().execute();
  assert.equal(stored.length, 1);
  assert.match(stored[0]?.sealed_private_jwk ?? "", /^v1\./, "the private key is sealed");
  assert.ok(!JSON.stringify(stored[0]).includes('"d":'), "no private key material in clear");

  const jwksUri = `${server.issuer}/connect/jwk_uri`;
  const before = (await (await fetch(jwksUri)).json()) as { keys: { kid: string; d?: string }[] };
  assert.equal(before.keys.length, 1);
  assert.ok(
    before.keys.every((key) => key.d === undefined),
    "the JWKS publishes public keys only",
  );
  const oldKid = before.keys[0]?.kid;

  const rotated = await rotateSigningKeys(server.store.db, operatorActor(), server.cis2.sealer, 60);
  await server.cis2.host.refresh();
  const during = (await (await fetch(jwksUri)).json()) as { keys: { kid: string }[] };
  assert.deepEqual(
    during.keys.map((key) => key.kid).sort(),
    [oldKid, rotated.kid].sort(),
    "both keys published during the grace period",
  );

  const configuration = await demoClientConfiguration(server);
  const tokens = await exchange(
    configuration,
    await signIn(server, configuration, { identifier: "margaret.oconnell@nhs.net" }),
  );
  assert.equal(
    decodeProtectedHeader(tokens.id_token as string).kid,
    oldKid,
    "the old key signs until the new one's time comes",
  );

  const later = await keySchedule(server.store.db, server.cis2.sealer, new Date(Date.now() + 61_000));
  assert.equal(later.jwks[0]?.kid, rotated.kid, "after the grace period the new key signs");
  assert.deepEqual(
    later.jwks.map((key) => key.kid).sort(),
    [oldKid, rotated.kid].sort(),
    "the old key stays published",
  );
  const muchLater = await keySchedule(server.store.db, server.cis2.sealer, new Date(Date.now() + 125_000));
  assert.deepEqual(
    muchLater.jwks.map((key) => key.kid),
    [rotated.kid],
    "then the old key is retired from the JWKS",
  );
  const events = await server.store.db
    .selectFrom("audit_events")
    .select("action")
    .where("action", "like", "signing-key.%")
    .execute();
  assert.deepEqual(
    events.map((event) => event.action),
    ["signing-key.created", "signing-key.rotated"],
  );
});
