import assert from "node:assert/strict";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueEnrolmentLink } from "../../src/authenticators/enrolment/links.ts";
import { signInPath } from "../../src/cis2/provider.ts";
import { redirectUri } from "../cis2/journey.ts";
import { Browser, formAction, interactionAddress } from "../support/browser.ts";
import type { Cis2Server } from "../support/cis2-server.ts";

/** NHS.net Connect journeys over HTTP, shared by the test and bench/federated-sign-in.ts. */
const local = "http://127.0.0.1";

/** Follows redirects across the service and the upstream, answering the upstream's sign-in form. */
export async function through(browser: Browser, start: string, email: string, stopAt = redirectUri) {
  let { response, url } = await browser.follow(await browser.get(start), start, local, stopAt);
  for (let pages = 0; pages < 4 && response.status === 200 && url.includes("/interaction/"); pages++) {
    const action = formAction(await response.text(), url);
    ({ response, url } = await browser.follow(
      await browser.post(action, { login: email }),
      action,
      local,
      stopAt,
    ));
  }
  return { response, url };
}

/** An enrolment link opened, and the upstream account signed in with from it. */
export async function linkByEnrolment(server: Cis2Server, uuid: string, email: string) {
  const { token } = await issueEnrolmentLink(server.store.db, operatorActor(), { uuid });
  return through(new Browser(), `${server.origin}/authenticators/enrol/${token}/nhs-net-connect`, email);
}

/** A relying party's sign-in: identify as `identifier` (or go straight to NHS.net Connect), then upstream. */
export async function federatedSignIn(
  server: Cis2Server,
  configuration: client.Configuration,
  options: { acr: string; email: string; identifier?: string; headers?: Record<string, string> },
) {
  const browser = new Browser({ headers: options.headers });
  const checks = {
    verifier: client.randomPKCECodeVerifier(),
    state: client.randomState(),
    nonce: client.randomNonce(),
  };
  const start = client.buildAuthorizationUrl(configuration, {
    redirect_uri: redirectUri,
    scope: "openid profile",
    acr_values: options.acr,
    code_challenge: await client.calculatePKCECodeChallenge(checks.verifier),
    code_challenge_method: "S256",
    state: checks.state,
    nonce: checks.nonce,
  }).href;
  const first = await browser.follow(await browser.get(start), start, server.origin);
  const signInPage = interactionAddress(await first.response.text(), first.url);
  assert.match(signInPage, new RegExp(`${signInPath}/[^/]+$`));
  const next = options.identifier
    ? await identified(browser, server, `${signInPage}/identify`, options.identifier)
    : `${signInPage}/nhs-net-connect`;
  if (next.startsWith(redirectUri)) return { ...checks, url: next, response: undefined, browser };
  const { response, url } = await through(browser, next, options.email);
  return { ...checks, url, response, browser };
}

/**
 * Where identifying leads: the next step, or back to the relying party. A refusal the person can
 * act on (no authenticator this service accepts) is a page first, whose link goes back.
 */
async function identified(browser: Browser, server: Cis2Server, identify: string, identifier: string) {
  const { response, url } = await browser.follow(
    await browser.post(identify, { identifier }),
    identify,
    server.origin,
    redirectUri,
  );
  if (response.status !== 403) return url;
  const back = /<a href="([^"]+)" id="return-to-service"/.exec(await response.text())?.[1];
  assert.ok(back, "the refusal page links back to the service");
  const backUrl = new URL(back.replaceAll("&amp;", "&"), url).toString();
  return (await browser.follow(await browser.get(backUrl), backUrl, server.origin, redirectUri)).url;
}
