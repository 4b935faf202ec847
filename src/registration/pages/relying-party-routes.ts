import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ClientMetadata } from "../../cis2/clients.ts";
import {
  approveRelyingParty,
  issueRegistrationToken,
  type NewRelyingParty,
  type Onboarding,
  organisationsWithActivity,
  type RelyingPartySettings,
  registerRelyingParty,
  relyingPartiesAwaitingApproval,
  relyingPartiesOf,
  removeRelyingParty,
} from "../../cis2/relying-parties.ts";
import { actorOf, type Cim, renderCimPage, signedIn } from "./context.ts";
import { actOnForm, type Form, formOf, showFormProblems } from "./form-actions.ts";

export const relyingPartiesPath = "/relying-parties";

/** What the relying-party pages need besides CIM's own: the activities and oidc-provider's check. */
export type RelyingPartyPages = {
  settings: RelyingPartySettings;
  validate: (metadata: ClientMetadata) => Promise<void>;
};

/** The scopes a relying party may be approved for (CIS2 has no consent screen). */
const scopes = [
  "openid",
  "profile",
  "email",
  "nhsperson",
  "associatedorgs",
  "nationalrbacaccess",
  "organisationalmemberships",
  "professionalmemberships",
  "selectedrole",
];

const acrValues = ["AAL3_ANY", "AAL2_OR_AAL3_ANY", "AAL2_ANY", "AAL3_SMARTCARD", "AAL1_USERPASS"];

const labels: Record<string, string> = {
  organisationCode: "Organisation",
  environment: "Environment",
  name: "Name",
  redirect_uris: "Redirect URIs",
  redirectUris: "Redirect URIs",
  post_logout_redirect_uris: "Logout URIs",
  backchannel_logout_uri: "Back-channel logout URI",
  authMethod: "Authentication method",
  jwks_uri: "JWKS URL",
  jwks: "JWKS",
  scopes: "Scopes",
  default_acr_values: "Default acr",
  client: "Client",
};

/** Form fields of the rules' problems (RFC 7591 names) where they differ. */
const fieldOf = (field: string) =>
  ({
    redirect_uris: "redirectUris",
    post_logout_redirect_uris: "logoutUris",
    backchannel_logout_uri: "backchannelLogoutUri",
    jwks_uri: "jwksUri",
    default_acr_values: "defaultAcr",
  })[field] ?? field;

function lines(value: string | undefined): string[] {
  return (value ?? "")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

function scopesOf(request: FastifyRequest): string[] {
  const chosen = (request.body as Record<string, unknown> | undefined)?.scopes;
  const list = Array.isArray(chosen) ? chosen : chosen === undefined ? [] : [chosen];
  return [
    "openid",
    ...list.filter((scope): scope is string => typeof scope === "string" && scope !== "openid"),
  ];
}

function newRelyingParty(form: Form, chosenScopes: string[]): NewRelyingParty {
  return {
    organisationCode: form.organisationCode ?? "",
    environment: form.environment ?? "",
    name: form.name ?? "",
    redirectUris: lines(form.redirectUris),
    postLogoutRedirectUris: lines(form.logoutUris),
    backchannelLogoutUri: form.backchannelLogoutUri || undefined,
    authMethod: form.authMethod ?? "",
    jwksUri: form.jwksUri || undefined,
    jwks: form.jwks || undefined,
    scopes: chosenScopes,
    defaultAcr: form.defaultAcr ?? "AAL3_ANY",
  };
}

/**
 * Supplier developers register and manage their organisation's CIS2 clients and issue initial
 * access tokens for Dynamic Client Registration; service administrators approve production clients.
 */
export function registerRelyingPartyRoutes(app: FastifyInstance, cim: Cim, pages: RelyingPartyPages): void {
  const onboarding: Onboarding = {
    queryable: cim.db,
    lists: cim.lists,
    sealer: cim.sealer,
    settings: pages.settings,
    validate: pages.validate,
  };
  const standing = async (request: FastifyRequest) => {
    const uuid = signedIn(request).person.uuid;
    const [administered, approving] = await Promise.all([
      organisationsWithActivity(cim.db, cim.lists, uuid, pages.settings.administratorActivity),
      organisationsWithActivity(cim.db, cim.lists, uuid, pages.settings.approverActivity),
    ]);
    return { administered, approver: approving.length > 0 };
  };
  const formContext = async (request: FastifyRequest) => ({
    pageTitle: "Register a client",
    organisations: (await standing(request)).administered,
    scopes,
    acrValues,
  });

  app.get(relyingPartiesPath, async (request, reply) => {
    const { administered, approver } = await standing(request);
    return renderCimPage(request, reply, "relying-parties.njk", {
      pageTitle: "Relying parties",
      administered,
      approver,
      clients: await relyingPartiesOf(cim.db, administered),
      awaiting: approver ? await relyingPartiesAwaitingApproval(cim.db) : [],
      activity: pages.settings.administratorActivity,
    });
  });

  app.get(`${relyingPartiesPath}/new`, async (request, reply) =>
    renderCimPage(request, reply, "relying-party-new.njk", {
      values: { environment: "development", authMethod: "private_key_jwt", defaultAcr: "AAL3_ANY" },
      chosenScopes: ["openid", "profile"],
      ...(await formContext(request)),
    }),
  );

  app.post(relyingPartiesPath, async (request, reply) => {
    const chosenScopes = scopesOf(request);
    try {
      const registered = await registerRelyingParty(
        onboarding,
        actorOf(request),
        newRelyingParty(formOf(request), chosenScopes),
      );
      // The secret is shown on this answer only; nothing keeps it but the sealed registry.
      return renderCimPage(request, reply, "relying-party-registered.njk", {
        pageTitle: "Client registered",
        clientId: registered.client.client_id,
        secret: registered.secret,
        awaitingApproval: registered.awaitingApproval,
      });
    } catch (error) {
      return showFormProblems(request, reply, error, {
        view: "relying-party-new.njk",
        context: async () => ({ chosenScopes, ...(await formContext(request)) }),
        labels,
        fieldOf,
      });
    }
  });

  const listing = {
    view: "relying-parties.njk",
    context: async () => ({ pageTitle: "Relying parties", clients: [], awaiting: [] }),
    labels,
  };
  const clientIdOf = (request: FastifyRequest) => (request.params as { clientId: string }).clientId;

  app.post(`${relyingPartiesPath}/:clientId/approve`, async (request, reply) =>
    actOnForm(
      request,
      reply,
      async () => {
        await approveRelyingParty(onboarding, actorOf(request), clientIdOf(request));
        return `/cim${relyingPartiesPath}?done=client-approved`;
      },
      listing,
    ),
  );

  app.post(`${relyingPartiesPath}/:clientId/remove`, async (request, reply) =>
    actOnForm(
      request,
      reply,
      async () => {
        await removeRelyingParty(onboarding, actorOf(request), clientIdOf(request));
        return `/cim${relyingPartiesPath}?done=client-removed`;
      },
      listing,
    ),
  );

  app.post(`${relyingPartiesPath}/registration-tokens`, async (request, reply) => {
    const organisationCode = formOf(request).organisationCode ?? "";
    const issued = await issueRegistrationToken(onboarding, actorOf(request), organisationCode);
    return renderCimPage(request, reply, "registration-token.njk", {
      pageTitle: "Initial access token",
      token: issued.token,
      expiresAt: issued.expiresAt.toISOString(),
      organisationCode,
      registrationEndpoint: `${cim.issuer}/reg`,
    });
  });
}
