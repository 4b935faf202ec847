import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "openid-client";
import { startCis2Server } from "../support/cis2-server.ts";
import { demoClientConfiguration, exchange, signIn } from "./journey.ts";

const allScopes =
  "openid profile email nhsperson associatedorgs nationalrbacaccess organisationalmemberships professionalmemberships selectedrole";

test("openid-client completes the code flow with PKCE and client_secret_post, claims shaped as CIS2's", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const journey = await signIn(server, configuration, {
    identifier: "margaret.oconnell@nhs.net",
    scope: allScopes,
    acr: "AAL1_USERPASS",
  });
  assert.equal(
    journey.callback.searchParams.get("iss"),
    server.issuer,
    "RFC 9207 iss in the authorization response",
  );
  const tokens = await exchange(configuration, journey);
  const idToken = tokens.claims();
  assert.ok(idToken);
  assert.match(idToken.sub, /^\d{12}$/);
  assert.equal(idToken.acr, "AAL1_USERPASS");
  assert.deepEqual(idToken.amr, ["pwd"]);
  assert.equal(idToken.id_assurance_level, "3");
  assert.equal(idToken.authentication_assurance_level, "1");
  assert.equal(typeof idToken.auth_time, "number");
  assert.equal(typeof idToken.sid, "string");
  assert.match(String(idToken.selected_roleid), /^\d{12}$/, "a single position is selected automatically");
  assert.ok(tokens.expires_in && tokens.expires_in > 3500 && tokens.expires_in <= 3600);

  const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, idToken.sub);
  assert.equal(userinfo.sub, idToken.sub);
  assert.equal(userinfo.uid, idToken.sub);
  assert.equal(userinfo.nhsid_useruid, idToken.sub);
  assert.equal(userinfo.name, "O'Connell Margaret Mrs");
  assert.equal(userinfo.family_name, "O'Connell");
  assert.equal(userinfo.email, "margaret.oconnell@nhs.net");
  const roles = userinfo.nhsid_nrbac_roles as Record<string, unknown>[];
  assert.equal(roles.length, 1);
  assert.deepEqual(Object.keys(roles[0] ?? {}).slice(0, 5), [
    "person_orgid",
    "person_roleid",
    "org_code",
    "role_code",
    "role_name",
  ]);
  assert.equal(roles[0]?.role_code, "S0080:G0450:R5080");
  assert.equal(
    roles[0]?.role_name,
    '"Admin & Clerical":"Management - A & C":"Registration Authority Manager"',
  );
  assert.equal(roles[0]?.person_roleid, idToken.selected_roleid);
  assert.equal(userinfo.selected_roleid, idToken.selected_roleid);
  assert.ok(!("workgroups" in (roles[0] ?? {})), "empty optional arrays are left out");
  assert.deepEqual(userinfo.nhsid_user_orgs, [
    { org_code: "RZZ", org_name: "Ashcombe and Wexley Hospitals NHS Trust" },
  ]);
});

test("the running demo lists its users and their development password", async (t) => {
  const server = await startCis2Server(t);
  const page = await (
    await fetch(`${server.origin}/demo/users`, { headers: { accept: "text/html" } })
  ).text();
  assert.match(page, /Mrs Margaret O&#39;Connell/);
  assert.match(
    page,
    /RA manager, sponsor and RA ID checker at Ashcombe and Wexley Hospitals NHS Trust \(RZZ\)/,
  );
  assert.match(page, /care-identity-demo/);
  const users = (await (await fetch(`${server.origin}/demo/users.json`)).json()) as {
    uuid: string;
    positions: unknown[];
  }[];
  assert.ok(users.length >= 30);
  assert.ok(users.every((user) => /^\d{12}$/.test(user.uuid)));
  const home = await (await fetch(`${server.origin}/`, { headers: { accept: "text/html" } })).text();
  assert.match(home, /href="\/demo\/users"/);
});
