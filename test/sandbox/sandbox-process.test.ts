import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type SignedIn, startRelyingParty } from "../../examples/sandbox-clients/openid-client.ts";
import { realmPath } from "../../src/config.ts";
import { exampleClient } from "../../src/sandbox/personas.ts";
import { Browser, formAction } from "../support/browser.ts";
import { freePort } from "../support/cis2-server.ts";
import { type ServiceProcess, startServiceProcess } from "../support/service-process.ts";

/** Waits until the sandbox has said `line` (it says so once it applied a version of the file). */
async function said(sandbox: ServiceProcess, pattern: RegExp): Promise<RegExpExecArray> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const found = pattern.exec(sandbox.output());
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`the sandbox never said ${pattern}:\n${sandbox.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Follows redirects across the sandbox and the relying party (both on 127.0.0.1) to a page. */
async function follow(browser: Browser, start: Response, from: string) {
  let response = start;
  let url = from;
  for (let hops = 0; hops < 20 && response.status >= 300 && response.status < 400; hops++) {
    url = new URL(response.headers.get("location") ?? "", url).href;
    response = await browser.get(url);
  }
  return { response, url };
}

/** Signs a persona in from the example relying party by the chooser; returns the chooser page and the claims. */
async function signInAs(relyingParty: string, persona: string, method: string) {
  const browser = new Browser();
  const chooser = await follow(browser, await browser.get(`${relyingParty}/login`), `${relyingParty}/login`);
  assert.equal(chooser.response.status, 200, chooser.url);
  assert.match(chooser.url, /\/cis2\/signin\/[\w-]+\/personas$/);
  const page = await chooser.response.text();
  const ended = await follow(
    browser,
    await browser.post(formAction(page, chooser.url), { persona, method }),
    chooser.url,
  );
  return {
    page,
    ended,
    claims: ended.response.status === 200 ? ((await ended.response.json()) as SignedIn) : undefined,
  };
}

test("npx careid sandbox signs in the personas of an edited file, with the claims their authenticators give", async (t) => {
  const folder = mkdtempSync(join(tmpdir(), "careid-sandbox-"));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const personasFile = join(folder, "personas.json");
  const sandbox = await startServiceProcess(t, { CAREID_DATA_DIR: join(folder, "data") }, [
    "sandbox",
    "--personas",
    personasFile,
  ]);
  await said(sandbox, /applied .* \(3 personas\)/);
  const issuer = `${sandbox.origin}/sandbox${realmPath}`;
  assert.match(sandbox.output(), new RegExp(`CIS2 issuer +${issuer.replaceAll(".", "\\.")}`));

  // The supplier edits the file: their app's redirect URI, a new persona, a changed name.
  const rpPort = await freePort();
  const file = JSON.parse(readFileSync(personasFile, "utf8"));
  file.clients[0].redirect_uris = [`http://127.0.0.1:${rpPort}/callback`];
  file.personas.push({
    id: "pharmacist",
    label: "Community pharmacist with a security key",
    title: "Mr",
    givenName: "Tobias",
    familyName: "Quill",
    email: "tobias.quill@nhs.net",
    identityAssuranceLevel: 3,
    authenticators: ["FIDO2"],
    positions: [
      { odsCode: "FZZ01", jobRole: "R1290", workgroups: ["Dispensary Team"], startDate: "2024-05-01" },
    ],
  });
  const receptionist = file.personas.find((persona: { id: string }) => persona.id === "receptionist");
  receptionist.familyName = "Lakhani-Shah";
  writeFileSync(personasFile, JSON.stringify(file, null, 2));
  const created = await said(sandbox, /created persona pharmacist \((\d{12})\)/);
  await said(sandbox, /applied .* \(4 personas\)/);
  assert.match(sandbox.output(), /changed client sandbox-example\.apps\.local/);
  assert.match(sandbox.output(), /changed familyName of persona receptionist/);

  const relyingParty = await startRelyingParty({
    issuer,
    clientId: exampleClient.client_id,
    clientSecret: exampleClient.client_secret,
    port: rpPort,
    host: "127.0.0.1",
  });
  t.after(() => relyingParty.server.close());

  const pharmacist = await signInAs(relyingParty.origin, "pharmacist", "FIDO2");
  assert.match(pharmacist.page, /id="sandbox-banner"/, "the chooser is marked as the sandbox");
  assert.match(pharmacist.page, /id="persona-pharmacist"/, "the new persona is offered without a restart");
  assert.ok(pharmacist.claims, `the sign-in ends at the relying party: ${pharmacist.ended.url}`);
  const uuid = created[1];
  const { idToken, userinfo } = pharmacist.claims;
  // A security key is FIDO2 at AAL3; the example client's default class is AAL2_OR_AAL3_ANY.
  assert.equal(idToken.iss, issuer);
  assert.equal(idToken.sub, uuid);
  assert.equal(idToken.acr, "AAL2_OR_AAL3_ANY");
  assert.deepEqual(idToken.amr, ["FIDO2"]);
  assert.equal(idToken.aud, exampleClient.client_id);
  assert.equal(idToken.authentication_assurance_level, "3");
  const role = (userinfo.nhsid_nrbac_roles as Record<string, unknown>[])[0] ?? {};
  assert.match(String(role.person_roleid), /^\d{12}$/);
  assert.deepEqual(userinfo, {
    sub: uuid,
    id_assurance_level: "3",
    name: "Quill Tobias Mr",
    family_name: "Quill",
    given_name: "Tobias",
    uid: uuid,
    email: "tobias.quill@nhs.net",
    nhsid_useruid: uuid,
    title: "Mr",
    initials: "T",
    display_name: "Mr Tobias Quill",
    idassurancelevel: "3",
    nhsid_user_orgs: [{ org_code: "FZZ01", org_name: "Ashcombe Community Pharmacy" }],
    nhsid_nrbac_roles: [
      {
        person_orgid: role.person_orgid,
        person_roleid: role.person_roleid,
        org_code: "FZZ01",
        role_code: role.role_code,
        role_name: role.role_name,
        activities: role.activities,
        activity_codes: role.activity_codes,
        workgroups: ["Dispensary Team"],
        workgroups_codes: role.workgroups_codes,
      },
    ],
    selected_roleid: role.person_roleid,
  });
  assert.match(String(role.role_code), /R1290$/);

  // The changed name is in the receptionist's claims; the authenticator app gives AAL2.
  const reception = await signInAs(relyingParty.origin, "receptionist", "TOTP");
  assert.ok(reception.claims, reception.ended.url);
  assert.equal(reception.claims.userinfo.family_name, "Lakhani-Shah");
  assert.deepEqual(reception.claims.idToken.amr, ["TOTP"]);
  assert.equal(reception.claims.idToken.acr, "AAL2_OR_AAL3_ANY");
  assert.equal(reception.claims.idToken.authentication_assurance_level, "2");

  // The Python example (Authlib, from Debian) signs the ward nurse in with her smartcard.
  // npm test's pretest installs python3-authlib and python3-requests (test/support/prerequisites.ts).
  const python = "/usr/bin/python3";
  await t.test("the Python (Authlib) example signs a persona in", async () => {
    const pythonPort = await freePort();
    file.clients[0].redirect_uris.push(`http://127.0.0.1:${pythonPort}/callback`);
    writeFileSync(personasFile, JSON.stringify(file, null, 2));
    await said(
      sandbox,
      /changed client sandbox-example\.apps\.local[\s\S]*changed client sandbox-example\.apps\.local/,
    );
    const child = spawn(
      python,
      [new URL("../../examples/sandbox-clients/python/relying_party.py", import.meta.url).pathname],
      {
        env: {
          ...process.env,
          SANDBOX_ISSUER: issuer,
          CLIENT_ID: exampleClient.client_id,
          CLIENT_SECRET: exampleClient.client_secret,
          HOST: "127.0.0.1",
          PORT: String(pythonPort),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    t.after(() => child.kill());
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const deadline = Date.now() + 20_000;
    while (!output.includes("Sign in at")) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the Python example did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const nurse = await signInAs(`http://127.0.0.1:${pythonPort}`, "ward-nurse", "CIS2_SMARTCARD");
    assert.ok(nurse.claims, `${nurse.ended.url}: ${await nurse.ended.response.text().catch(() => "")}`);
    assert.equal(nurse.claims.idToken.iss, issuer);
    assert.equal(nurse.claims.idToken.acr, "AAL2_OR_AAL3_ANY");
    assert.deepEqual(nurse.claims.idToken.amr, ["CIS2_SMARTCARD"]);
    assert.equal(nurse.claims.idToken.authentication_assurance_level, "3");
    assert.equal(nurse.claims.userinfo.family_name, "Pemberton");
    assert.deepEqual(nurse.claims.userinfo.nhsid_user_orgs, [
      { org_code: "RZZ", org_name: "Ashcombe and Wexley Hospitals NHS Trust" },
    ]);
  });

  // A file that does not apply changes nothing and says why; the chooser still offers the last good version.
  writeFileSync(personasFile, JSON.stringify({ ...file, personas: [{ id: "Not An Id" }] }));
  await said(sandbox, /was not applied, nothing changed: .*personas\[0\]\.id/);
  const after = await signInAs(relyingParty.origin, "pharmacist", "FIDO2");
  assert.match(after.page, /The personas file was not applied/);
  assert.equal(after.claims?.idToken.sub, uuid);
});
