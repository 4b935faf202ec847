import { demoClientConfiguration, exchange, signIn } from "../cis2/journey.ts";
import type { Cis2Server } from "../support/cis2-server.ts";

export const api = "/cim/api/v1";

/** A CIS2 access token for a demo person, obtained through the real sign-in journey. */
export async function accessTokenFor(server: Cis2Server, email: string): Promise<string> {
  const configuration = await demoClientConfiguration(server);
  const journey = await signIn(server, configuration, {
    identifier: email,
    scope: "openid profile",
    acr: "AAL1_USERPASS",
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
