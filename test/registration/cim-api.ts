import assert from "node:assert/strict";
import * as client from "openid-client";
import { cimApp } from "../../src/registration/pages/app.ts";
import { demoClientConfiguration, exchange, redirectUri, signIn } from "../cis2/journey.ts";
import type { Cis2Server } from "../support/cis2-server.ts";

export const api = "/cim/api/v1";

/** A relying party as a test drives it: its openid-client configuration and redirect URI. */
export type RelyingParty = { configuration: client.Configuration; redirectUri: string };

/** CIM's own CIS2 client, as the CIM pages use it (its secret derived from the master key). */
export async function cimClient(server: Cis2Server): Promise<RelyingParty> {
  const cim = cimApp(server.config, true);
  return {
    configuration: await demoClientConfiguration(
      server,
      client.ClientSecretPost(server.cis2.clientSecret(cim)),
      cim.clientId,
    ),
    redirectUri: `${server.origin}${cim.path}/callback`,
  };
}

/** The demo point-of-care app: a relying party that is not CIM. */
export async function pointOfCareApp(server: Cis2Server): Promise<RelyingParty> {
  return { configuration: await demoClientConfiguration(server), redirectUri };
}

/**
 * A CIS2 access token for a demo person, obtained through the real sign-in journey: CIM's own
 * client at the development password's class unless told otherwise.
 */
export async function accessTokenFor(
  server: Cis2Server,
  email: string,
  options: { relyingParty?: RelyingParty; acr?: string } = {},
): Promise<string> {
  const { configuration, redirectUri } = options.relyingParty ?? (await cimClient(server));
  const journey = await signIn(server, configuration, {
    identifier: email,
    scope: "openid profile",
    acr: options.acr ?? "AAL1_USERPASS",
    redirectUri,
    chooseRole: (html) => /name="role" type="radio" value="(\d{12})"/.exec(html)?.[1],
  });
  return (await exchange(configuration, journey)).access_token;
}

export function caller(server: Cis2Server, token?: string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.origin}${api}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const type = response.headers.get("content-type") ?? "";
    // biome-ignore lint/suspicious/noExplicitAny: the tests read the JSON answers freely
    const payload: any = type.includes("json") ? await response.json() : await response.text();
    return { status: response.status, type, headers: response.headers, body: payload };
  };
}

type Answer = Awaited<ReturnType<ReturnType<typeof caller>>>;

/** An RFC 9457 problem of this status; its `errors` name these fields when given. */
export function assertProblem(answer: Answer, status: number, fields?: string[]): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(answer.type, /^application\/problem\+json/);
  assert.equal(answer.body.status, status);
  assert.match(answer.body.type, /^https:\/\//);
  assert.match(answer.body.instance, /^urn:careid:request:/);
  if (fields)
    assert.deepEqual(
      answer.body.errors.map((error: { field: string }) => error.field),
      fields,
    );
}
