import assert from "node:assert/strict";
import { test } from "node:test";
import * as client from "openid-client";
import { Browser } from "../support/browser.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { demoClientConfiguration, exchange, signIn } from "./journey.ts";

const scope = "openid profile nationalrbacaccess selectedrole";
const roleIds = (html: string): string[] =>
  [...html.matchAll(/name="role"[^>]*value="(\d{12})"|value="(\d{12})"[^>]*name="role"/g)].map(
    (match) => match[1] ?? match[2] ?? "",
  );

test("two to five positions are offered as a plain list, and the choice is the selected role", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  let offered: string[] = [];
  let searchable = true;
  const journey = await signIn(server, configuration, {
    identifier: "connor.byrne@nhs.net",
    scope,
    chooseRole: (html) => {
      offered = roleIds(html);
      searchable = html.includes('name="search"');
      return offered[1];
    },
  });
  assert.equal(offered.length, 2);
  assert.equal(searchable, false);
  const tokens = await exchange(configuration, journey);
  assert.equal(tokens.claims()?.selected_roleid, offered[1]);
  const userinfo = await client.fetchUserInfo(
    configuration,
    tokens.access_token,
    String(tokens.claims()?.sub),
  );
  const roles = userinfo.nhsid_nrbac_roles as {
    person_roleid: string;
    role_code: string;
    workgroups?: string[];
  }[];
  assert.equal(roles.length, 2);
  assert.equal(
    roles[0]?.role_code,
    roles[1]?.role_code,
    "the same job role twice, told apart by person_roleid",
  );
  assert.ok(roles.every((role) => role.workgroups && role.workgroups.length > 0));
  assert.equal(userinfo.selected_roleid, offered[1]);
});

test("more than five positions add a search box that narrows the list", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const browser = new Browser();
  let page = "";
  await signIn(server, configuration, {
    identifier: "hamid.karimi@nhs.net",
    scope,
    browser,
    chooseRole: (html) => {
      page = html;
      return undefined;
    },
  }).catch(() => undefined);
  assert.match(page, /name="search"/);
  assert.equal(roleIds(page).length, 7);
  const uid = /\/cis2\/signin\/([^/"]+)\/role/.exec(page)?.[1];
  const narrowed = await (await browser.get(`${server.origin}/cis2/signin/${uid}?search=ZZ01`)).text();
  assert.ok(roleIds(narrowed).length >= 1 && roleIds(narrowed).length < 7, "search narrows the list");
});

test("submitting no role, or someone else's, keeps the user on the page with an error", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  let attempts = 0;
  let errorShown = false;
  const journey = await signIn(server, configuration, {
    identifier: "connor.byrne@nhs.net",
    scope,
    chooseRole: (html) => {
      attempts++;
      if (attempts === 1) return "555000000001";
      errorShown = html.includes("nhsuk-error-summary") && html.includes("Select one of your current roles");
      return roleIds(html)[0];
    },
  });
  assert.equal(attempts, 2);
  assert.ok(errorShown);
  assert.ok(journey.callback.searchParams.get("code"));
});

test("a role chosen in a CIS2 session is not asked again in that session", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const browser = new Browser();
  let asked = 0;
  const chooseRole = (html: string) => {
    asked++;
    return roleIds(html)[0];
  };
  const first = await signIn(server, configuration, {
    identifier: "connor.byrne@nhs.net",
    scope,
    browser,
    chooseRole,
  });
  const firstTokens = await exchange(configuration, first);
  const second = await signIn(server, configuration, {
    identifier: "connor.byrne@nhs.net",
    scope,
    browser,
    chooseRole,
  });
  const secondTokens = await exchange(configuration, second);
  assert.equal(asked, 1);
  assert.equal(secondTokens.claims()?.selected_roleid, firstTokens.claims()?.selected_roleid);
});

test("a session made without a role is asked for one, on its own page, when a service first needs it", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const browser = new Browser();
  let asked = 0;
  let chosenAt = "";
  const first = await signIn(server, configuration, {
    identifier: "connor.byrne@nhs.net",
    scope: "openid profile",
    browser,
    chooseRole: () => {
      asked++;
      return undefined;
    },
  });
  assert.equal((await exchange(configuration, first)).claims()?.selected_roleid, undefined);
  assert.equal(asked, 0, "no role is asked for where none is needed");
  let offered: string[] = [];
  const second = await signIn(server, configuration, {
    identifier: "connor.byrne@nhs.net",
    scope,
    browser,
    chooseRole: (html) => {
      asked++;
      offered = roleIds(html);
      chosenAt = /action="([^"]+\/role)"/.exec(html)?.[1] ?? "";
      return offered[1];
    },
  });
  assert.equal(asked, 1);
  assert.notEqual(chosenAt, "", "the role page of the select_role prompt");
  assert.equal((await exchange(configuration, second)).claims()?.selected_roleid, offered[1]);
});

test("a person with no positions still signs in, with no selected role", async (t) => {
  const server = await startCis2Server(t);
  const configuration = await demoClientConfiguration(server);
  const journey = await signIn(server, configuration, { identifier: "sofia.marinelli@nhs.net", scope });
  const tokens = await exchange(configuration, journey);
  assert.equal(tokens.claims()?.selected_roleid, undefined);
  assert.equal(tokens.claims()?.id_assurance_level, "1");
});
