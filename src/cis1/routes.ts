import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type Actor, systemActor } from "../audit/actor.ts";
import { InvalidInputError } from "../errors.ts";
import { getPerson } from "../people/people.ts";
import { openCertificateAuthority } from "../pki/certificate-authority.ts";
import type { TokenSettings } from "../pki/token-key.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { positionsOfPerson } from "../rbac/positions.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import { type AssertionSigner, openAssertionSigner } from "./assertion-signing.ts";
import { TokenRefused } from "./refusal.ts";
import { refusalResponse, roleAssertionResponse } from "./role-assertion.ts";
import { type Cis1Lifetimes, chooseSessionRole, startCardSession, validSession } from "./sessions.ts";

export type Cis1Settings = {
  db: Db;
  lists: CodeLists;
  sealer: Sealer;
  lifetimes: Cis1Lifetimes;
  /** The assertion's Issuer: the service's origin. */
  issuer: string;
  signAssertions: boolean;
  pkiUrl: string;
  caToken?: TokenSettings;
};

/**
 * CIS1 on the service: the agent's two calls that start a session and record the holder's
 * role (JSON, problem+json on failure), the role assertion applications fetch with the token
 * (SAML 1.1, a SAML status on failure), and OpenAM's isTokenValid (`boolean=true|false`).
 */
export async function registerCis1(app: FastifyInstance, settings: Cis1Settings): Promise<void> {
  const { db, lists, lifetimes } = settings;
  const signer: AssertionSigner | undefined = settings.signAssertions
    ? await openAssertionSigner(
        db,
        settings.sealer,
        await openCertificateAuthority(
          db,
          settings.sealer,
          settings.pkiUrl,
          systemActor("pki"),
          settings.caToken,
        ),
        systemActor("cis1"),
      )
    : undefined;
  const agent = (request: FastifyRequest, cardSerial?: string): Actor => ({
    kind: "system",
    id: cardSerial ? `smartcard-agent:${cardSerial}` : "smartcard-agent",
    source: "AGENT",
    correlationId: request.id,
  });
  const noStore = { "cache-control": "no-store" };

  app.post<{ Body: Record<string, unknown> }>("/api/cis1/sessions", async (request, reply) => {
    const body = objectBody(request.body);
    const proof = body.proof as Record<string, unknown> | undefined;
    if (typeof body.cardSerial !== "string" || !/^[A-Za-z0-9._-]{1,32}$/.test(body.cardSerial))
      throw InvalidInputError.field("cardSerial", "must be the card's serial: 1 to 32 of A-Z a-z 0-9 . _ -");
    if (typeof proof !== "object" || proof === null)
      throw InvalidInputError.field(
        "proof",
        "give the card's certificateChain, the challenge and its signature",
      );
    const started = await startCardSession(
      db,
      agent(request, body.cardSerial),
      lists,
      {
        cardSerial: body.cardSerial,
        proof: {
          certificateChain: proof.certificateChain,
          challenge: proof.challenge,
          signature: proof.signature,
        },
      },
      lifetimes,
    );
    return reply
      .code(201)
      .headers(noStore)
      .send({ ...started, expiresAt: started.expiresAt.toISOString() });
  });

  app.post<{ Body: Record<string, unknown> }>("/api/cis1/sessions/role", async (request, reply) => {
    const body = objectBody(request.body);
    const chosen = await chooseSessionRole(
      db,
      agent(request),
      lists,
      { token: body.token, roleProfileId: body.roleProfileId },
      lifetimes,
    );
    return reply.headers(noStore).send({ holder: chosen.holder, selectedRole: chosen.selectedRole });
  });

  app.get<{ Querystring: { token?: string } }>("/saml/RoleAssertion", async (request, reply) => {
    const now = new Date();
    const token = request.query.token;
    try {
      const session = await validSession(db, token, lifetimes, { touch: true, now });
      const [person, positions] = await Promise.all([
        getPerson(db, session.holder),
        positionsOfPerson(db, lists, session.holder),
      ]);
      const built = roleAssertionResponse({
        issuer: settings.issuer,
        token: token as string,
        person,
        positions,
        selectedRole: session.selectedRole,
        mode: 0,
        now,
      });
      return sendXml(reply, 200, signer ? signer.sign(built.xml) : built.xml);
    } catch (error) {
      if (!(error instanceof TokenRefused)) throw error;
      return sendXml(
        reply,
        error.reason === "malformed-token" ? 400 : 403,
        refusalResponse(error.message, now),
      );
    }
  });

  /** OpenAM's token check: it does not count as use, so it never extends the session. */
  const isTokenValid = async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as { tokenid?: string };
    const form = (request.body ?? {}) as { tokenid?: string };
    const valid = await validSession(db, query.tokenid ?? form.tokenid, lifetimes).then(
      () => true,
      (error: unknown) => {
        if (error instanceof TokenRefused) return false;
        throw error;
      },
    );
    return reply.headers(noStore).type("text/plain; charset=utf-8").send(`boolean=${valid}`);
  };
  app.get("/amserver/identity/isTokenValid", isTokenValid);
  app.post("/amserver/identity/isTokenValid", isTokenValid);
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw InvalidInputError.field("body", "must be a JSON object");
  return body as Record<string, unknown>;
}

function sendXml(reply: FastifyReply, status: number, xml: string): FastifyReply {
  return reply
    .code(status)
    .headers({ "cache-control": "no-store" })
    .type("text/xml; charset=utf-8")
    .send(xml);
}
