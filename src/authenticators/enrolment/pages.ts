import type { FastifyInstance, FastifyReply } from "fastify";
import QRCode from "qrcode";
import { InvalidInputError } from "../../errors.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Db } from "../../store/database.ts";
import { renderPage } from "../../web/pages.ts";
import { listUpstreamProviders } from "../federation/providers.ts";
import { checkNewPassword } from "../password/new-password.ts";
import { hashPassword, hasPassword } from "../password/passwords.ts";
import { enrolTotp, pendingTotpSecret } from "../totp/app-authenticators.ts";
import type { AttestationPolicy } from "../webauthn/attestation/policy.ts";
import { type AuthenticatorKind, authenticatorKinds } from "../webauthn/classification.ts";
import { registerCredential, registrationOptions } from "../webauthn/registration.ts";
import type { RelyingParty } from "../webauthn/relying-party.ts";
import { consumeEnrolmentLink, holdCeremony, openEnrolmentLink } from "./links.ts";

type Params = { token: string };
type Form = Record<string, string | undefined>;

export const enrolmentPath = "/authenticators/enrol";

/**
 * The pages behind an enrolment link: choose a kind of authenticator, then set it up. The link
 * is checked on every page (an expired or used one answers with why), and consumed only when an
 * authenticator is enrolled.
 */
export function registerEnrolmentPages(
  app: FastifyInstance,
  context: { db: Db; sealer: Sealer; relyingParty: () => RelyingParty; attestationPolicy: AttestationPolicy },
): void {
  const { db, sealer } = context;

  app.get<{ Params: Params }>(`${enrolmentPath}/:token`, async (request, reply) => {
    const link = await openEnrolmentLink(db, request.params.token, request.id);
    return renderPage(reply, "authenticators/enrol.njk", {
      pageTitle: "Set up a way to sign in",
      uuid: link.uuid,
      token: request.params.token,
      expiresAt: link.expiresAt,
      choices: await enrolmentChoices(db),
    });
  });

  app.get<{ Params: Params }>(`${enrolmentPath}/:token/app`, async (request, reply) =>
    showApp(reply, request.params.token, request.id),
  );

  app.post<{ Params: Params; Body: Form }>(`${enrolmentPath}/:token/app`, async (request, reply) => {
    const link = await openEnrolmentLink(db, request.params.token, request.id);
    try {
      // Someone without a password chooses one here; someone with one may leave it as it is.
      const password = request.body?.password ?? "";
      const needed = !(await hasPassword(db, link.uuid)) || password !== "";
      if (needed) checkNewPassword(password, request.body?.confirmation ?? "", { uuid: link.uuid });
      const passwordHash = needed ? await hashPassword(password) : undefined;
      await enrolTotp(db, sealer, link, request.body?.code ?? "", request.id, new Date(), passwordHash);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return showApp(reply, request.params.token, request.id, error.problems[0]?.message);
    }
    return renderPage(reply, "authenticators/enrolled.njk", {
      pageTitle: "Your authenticator app is set up",
      method: "TOTP",
      uuid: link.uuid,
    });
  });

  for (const place of Object.keys(webauthnPlaces) as WebAuthnPlace[]) {
    app.get<{ Params: Params }>(`${enrolmentPath}/:token/${place}`, async (request, reply) =>
      showWebAuthn(reply, place, request.params.token, request.id),
    );

    app.post<{ Params: Params; Body: Form }>(`${enrolmentPath}/:token/${place}`, async (request, reply) => {
      const link = await openEnrolmentLink(db, request.params.token, request.id);
      let kind: AuthenticatorKind;
      try {
        ({ kind } = await registerCredential(
          db,
          context.relyingParty(),
          context.attestationPolicy,
          {
            uuid: link.uuid,
            challenge: link.pendingChallenge,
            actor: { kind: "person", id: link.uuid, source: "ENROLMENT", correlationId: request.id },
            maxAal: 3,
            claim: (tx) => consumeEnrolmentLink(tx, link),
          },
          request.body?.response ?? "",
        ));
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        return showWebAuthn(reply, place, request.params.token, request.id, error.problems[0]?.message);
      }
      return renderPage(reply, "authenticators/enrolled.njk", { ...registeredPage(kind), uuid: link.uuid });
    });
  }

  async function showApp(reply: FastifyReply, token: string, correlationId: string, error?: string) {
    const link = await openEnrolmentLink(db, token, correlationId);
    const { secret, uri } = await pendingTotpSecret(db, sealer, link);
    return renderPage(
      reply,
      "authenticators/enrol-app.njk",
      {
        pageTitle: "Set up your authenticator app",
        token,
        secret,
        secretGroups: secret.match(/.{1,4}/g)?.join(" "),
        qrCode: await QRCode.toDataURL(uri, { margin: 1, width: 200 }),
        hasPassword: await hasPassword(db, link.uuid),
        error,
        errorList: error ? [{ text: error, href: "#main-field" }] : undefined,
      },
      error ? 400 : 200,
    );
  }

  async function showWebAuthn(
    reply: FastifyReply,
    place: WebAuthnPlace,
    token: string,
    correlationId: string,
    error?: string,
  ) {
    const link = await openEnrolmentLink(db, token, correlationId);
    const options = await registrationOptions(db, context.relyingParty(), link.uuid);
    await holdCeremony(db, link, { challenge: options.challenge });
    return renderPage(
      reply,
      "authenticators/enrol-webauthn.njk",
      {
        ...webauthnPlaces[place],
        action: `${enrolmentPath}/${token}/${place}`,
        options: JSON.stringify(options),
        error,
        errorList: error ? [{ text: error, href: "#main-field" }] : undefined,
      },
      error ? 400 : 200,
    );
  }
}

/**
 * Every kind of authenticator an enrolment link can set up, named as its pages name them, for
 * the link's own page and the RA who hands it over. NHS.net Connect is offered only where an
 * upstream identity provider is configured.
 */
export async function enrolmentChoices(db: Db) {
  const federated = (await listUpstreamProviders(db)).length > 0;
  return [
    { place: "security-key", name: "Security key", description: "a FIDO2 key with a PIN or fingerprint" },
    {
      place: "device",
      name: "This device",
      description: "Windows Hello, an iPad or a passkey, unlocked by your face, fingerprint or device PIN",
    },
    {
      place: "app",
      name: "Authenticator app",
      description: "a 6-digit code on your phone, with your password",
    },
    ...(federated
      ? [
          {
            place: "nhs-net-connect",
            name: "NHS.net Connect",
            description: "sign in with your NHSmail or organisation's Microsoft account",
          },
        ]
      : []),
  ];
}

/** A WebAuthn authenticator is either carried (a security key) or built into this device. */
export const webauthnPlaces = {
  "security-key": {
    pageTitle: "Register your security key",
    guidance:
      "Insert your security key and press the button. Your browser will ask you to touch the key and set or enter its PIN.",
    buttonText: "Register security key",
  },
  device: {
    pageTitle: "Set up this device",
    guidance:
      "Use Windows Hello, your iPad or a passkey on this device. Your browser will ask for your face, fingerprint or device PIN.",
    buttonText: "Register this device",
  },
} as const;
export type WebAuthnPlace = keyof typeof webauthnPlaces;

export function registeredPage(kind: AuthenticatorKind) {
  const { label, method } = authenticatorKinds[kind];
  const name = kind === "windows-hello" || kind === "ipad" ? label : label.toLowerCase();
  return { pageTitle: `Your ${name} is registered`, method };
}
