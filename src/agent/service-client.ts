/**
 * The agent's only channel to the Care Identity Service: its HTTP API (docs/smartcard-agent-
 * protocol.md). A refusal arrives as problem+json and is raised with the service's own words.
 */
export class ServiceRefusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

type Proof = { certificateChain: string[]; challenge: string; signature: string };

export type IssuedCard = {
  cardSerial: string;
  holder: string;
  certificates: { authentication: string; signing: string };
  unlockCode: string;
};

export type Cis1Session = {
  token: string;
  holder: string;
  roles: Array<{ roleProfileId: string; organisation: string; odsCode: string; jobRole: string }>;
  selectedRole: string | null;
  roleRequired: boolean;
  expiresAt: string;
};

export function serviceClient(serviceUrl: string) {
  async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const response = await fetch(new URL(path, serviceUrl), {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (!response.ok) {
      const detail = [parsed.detail, parsed.title].find((value) => typeof value === "string");
      throw new ServiceRefusal(response.status, (detail as string | undefined) ?? `HTTP ${response.status}`);
    }
    return parsed as T;
  }
  const card = (serial: string) => `/api/smartcards/cards/${encodeURIComponent(serial)}`;

  return {
    issue: (request: {
      orderCode: string;
      cardSerial: string;
      cardType: string;
      authenticationCsr: string;
      signingCsr: string;
      presenceKey?: string;
    }) => call<IssuedCard>("POST", "/api/smartcards/issue", request),
    /** Before an issue: a card cleared here comes with its escrowed unlock code, a new one without. */
    releaseForIssue: (request: { orderCode: string; cardSerial: string }) =>
      call<{ cleared: boolean; unlockCode?: string }>("POST", "/api/smartcards/issue/release", request),
    unlock: (request: { orderCode: string; cardSerial: string }) =>
      call<{ unlockCode: string; status: string }>("POST", "/api/smartcards/unlock", request),
    /** Self-service unlock: the holder proved their email or mobile; the ticket releases the code. */
    releaseSelfUnlock: (request: { ticket: string; cardSerial: string }) =>
      call<{ unlockCode: string }>("POST", "/api/smartcards/self-unlock/release", request),
    completeSelfUnlock: (request: { ticket: string; cardSerial: string }) =>
      call<{ status: string }>("POST", "/api/smartcards/self-unlock/complete", request),
    /** A locked card's report, proven by its presence key signing a fresh challenge. */
    reportLocked: (serial: string, proof: { challenge: string; signature: string }) =>
      call("POST", `${card(serial)}/status`, { status: "locked", proof }),
    /** Repair and clear (card-life.ts): the unlock code under the RA's order, then the outcome. */
    releaseUnderOrder: (kind: "repair" | "clear", request: { orderCode: string; cardSerial: string }) =>
      call<{ unlockCode: string }>("POST", `/api/smartcards/${kind}/release`, request),
    repair: (request: {
      orderCode: string;
      cardSerial: string;
      authenticationCsr: string;
      signingCsr: string;
      presenceKey: string;
    }) => call<IssuedCard>("POST", "/api/smartcards/repair", request),
    clear: (request: { orderCode: string; cardSerial: string }) =>
      call<{ status: string; revoked: string[] }>("POST", "/api/smartcards/clear", request),
    challenge: () => call<{ challenge: string }>("POST", "/api/smartcards/challenges"),
    /** CIS1: a session for the card that signed the challenge (docs/cis1-ticket-api.md). */
    startCis1Session: (cardSerial: string, proof: Proof) =>
      call<Cis1Session>("POST", "/api/cis1/sessions", { cardSerial, proof }),
    chooseCis1Role: (token: string, roleProfileId: string) =>
      call<{ selectedRole: string }>("POST", "/api/cis1/sessions/role", { token, roleProfileId }),
    isCis1TokenValid: async (token: string) => {
      const url = new URL("/amserver/identity/isTokenValid", serviceUrl);
      url.searchParams.set("tokenid", token);
      const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
      return response.ok && (await response.text()).trim() === "boolean=true";
    },
    /** The card is in the reader and its holder entered the passcode: proven by the card's signature. */
    reportPresent: (serial: string, proof: Proof, removalDigest: string) =>
      call("POST", `${card(serial)}/presence`, { proof, removalDigest }),
    /** The card left the reader: the secret whose digest was given when it was reported present. */
    reportRemoved: (serial: string, removalSecret: string) =>
      call("POST", `${card(serial)}/removal`, { removalSecret }),
  };
}

export type ServiceClient = ReturnType<typeof serviceClient>;
