import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../support/cis2-server.ts";
import { accessTokenFor, assertProblem, caller } from "./cim-api.ts";

test("the CIM API's Apply for Care ID invitations: invite, list, re-send, withdraw; bad input, other organisations and non-inviters refused", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const agent = caller(server, await accessTokenFor(server, "tunde.adebayo@nhs.net"));
  const elsewhere = caller(server, await accessTokenFor(server, "karen.whitmore@nhs.net"));
  const clinician = caller(server, await accessTokenFor(server, "oliver.bennett@nhs.net"));
  const applicant = { odsCode: "rzz", givenName: "Amara", familyName: "Okoye", email: "amara@example.org" };

  assertProblem(await caller(server)("GET", "/apply/invitations"), 401);
  assertProblem(await caller(server)("POST", "/apply/invitations", applicant), 401);

  const invited = await agent("POST", "/apply/invitations", { ...applicant, reason: "Student intake" });
  assert.equal(invited.status, 201, JSON.stringify(invited.body));
  assert.equal(invited.body.status, "invited");
  assert.equal(invited.body.odsCode, "RZZ");
  assert.equal(invited.body.timesSent, 1);
  assert.ok(!JSON.stringify(invited.body).includes("token"), "the link's token is only in the email");
  const id: string = invited.body.id;
  const emails = () =>
    db.selectFrom("message_outbox").select("id").where("template", "=", "apply-invitation").execute();
  assert.equal((await emails()).length, 1, "the invitation email is queued with it");
  const event = await db
    .selectFrom("audit_events")
    .select(["source", "reason", "actor_kind"])
    .where("subject_id", "=", id)
    .where("action", "=", "apply.invited")
    .executeTakeFirstOrThrow();
  assert.deepEqual(event, { source: "APPLY", reason: "Student intake", actor_kind: "person" });

  // Bad input: the schema's refusals, then the domain's naming each field; nothing is sent.
  assertProblem(await agent("POST", "/apply/invitations", {}), 400);
  assertProblem(await agent("POST", "/apply/invitations", { ...applicant, odsCode: "R!" }), 400);
  assertProblem(
    await agent("POST", "/apply/invitations", { ...applicant, givenName: " ", email: "not-an-email" }),
    400,
    ["givenName", "email"],
  );
  assertProblem(await agent("POST", "/apply/invitations", applicant), 409, ["email"]);
  assertProblem(await agent("POST", "/apply/invitations/not-an-id/resend", {}), 400);
  assertProblem(await agent("POST", `/apply/invitations/${crypto.randomUUID()}/withdraw`, {}), 404);

  // Policy: the same apply.invite as the pages.
  assertProblem(
    await elsewhere("POST", "/apply/invitations", { ...applicant, email: "other@example.org" }),
    403,
  );
  assertProblem(await clinician("GET", "/apply/invitations"), 403);
  assertProblem(await clinician("POST", "/apply/invitations", { ...applicant, email: "c@example.org" }), 403);
  assertProblem(await elsewhere("POST", `/apply/invitations/${id}/resend`, {}), 403);
  assertProblem(await elsewhere("POST", `/apply/invitations/${id}/withdraw`, {}), 403);
  assert.equal((await emails()).length, 1, "nothing refused was sent");
  const theirs = await elsewhere("GET", "/apply/invitations");
  assert.ok(!theirs.body.some((invitation: { id: string }) => invitation.id === id), "outside their scope");

  const listed = await agent("GET", "/apply/invitations");
  assert.equal(listed.status, 200);
  assert.equal(
    listed.body.find((invitation: { id: string }) => invitation.id === id)?.email,
    applicant.email,
  );

  const resent = await agent("POST", `/apply/invitations/${id}/resend`, {});
  assert.equal(resent.status, 200, JSON.stringify(resent.body));
  assert.equal(resent.body.timesSent, 2);
  assert.equal((await emails()).length, 2);

  const withdrawn = await agent("POST", `/apply/invitations/${id}/withdraw`, { reason: "Left the course" });
  assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
  assert.equal(withdrawn.body.status, "withdrawn");
  assertProblem(await agent("POST", `/apply/invitations/${id}/withdraw`, {}), 409, ["status"]);
  assertProblem(await agent("POST", `/apply/invitations/${id}/resend`, {}), 409, ["status"]);
  assert.equal((await emails()).length, 2);

  const documented = await agent("GET", "/openapi.json");
  assert.ok(documented.body.paths["/cim/api/v1/apply/invitations/{id}/withdraw"], "in the OpenAPI document");
});
