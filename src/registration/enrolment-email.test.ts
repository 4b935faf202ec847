import assert from "node:assert/strict";
import { test } from "node:test";
import { inCim, raDirectory, refusedWith } from "../../test/support/ra-directory.ts";
import { testMasterKey } from "../../test/support/test-store.ts";
import { InvalidInputError } from "../errors.ts";
import type { SealedContent } from "../messaging/outbox.ts";
import { sealerFor } from "../secrets/sealed.ts";
import { issueAuthenticatorLink } from "./authenticators.ts";

const sealer = sealerFor(testMasterKey);

test("an RA sends an enrolment link by email: queued in the outbox with the link, audited with the masked address", async (t) => {
  const { store, actors, places } = await raDirectory(t);
  const uuid = places.inside.person;
  const email = { sealer, linkBase: "https://careid.test/enrol" };
  await store.db.updateTable("people").set({ email: null }).where("uuid", "=", uuid).execute();
  await refusedWith(
    issueAuthenticatorLink(store.db, inCim(actors.RAA), { uuid, email }),
    InvalidInputError,
    /no email/,
  );
  assert.equal(
    (await store.db.selectFrom("message_outbox").selectAll().execute()).length,
    0,
    "nothing queued",
  );
  await store.db.updateTable("people").set({ email: "kim.lee@nhs.net" }).where("uuid", "=", uuid).execute();
  const link = await issueAuthenticatorLink(store.db, inCim(actors.RAA), { uuid, email });
  assert.equal(link.sentTo, "k***@nhs.net");
  const [message] = await store.db.selectFrom("message_outbox").selectAll().execute();
  assert.equal(message?.template, "enrolment-link");
  const content = JSON.parse(sealer.open(message?.sealed_content ?? "")) as SealedContent;
  assert.equal(content.to, "kim.lee@nhs.net");
  assert.equal(content.personalisation.link, `https://careid.test/enrol/${link.token}`);
  const event = await store.db
    .selectFrom("audit_events")
    .select("after")
    .where("action", "=", "authenticator.link-issued")
    .executeTakeFirstOrThrow();
  assert.equal((event.after as { sentTo: string }).sentTo, "k***@nhs.net");
  assert.doesNotMatch(JSON.stringify(event.after), new RegExp(link.token));
});
