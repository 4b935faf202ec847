import type { FastifyInstance } from "fastify";
import { systemActor } from "../../audit/actor.ts";
import { openCertificateAuthority } from "../../pki/certificate-authority.ts";
import { registerPki } from "../../pki/routes.ts";
import type { TokenSettings } from "../../pki/token-key.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Queryable } from "../../store/database.ts";
import { registerCardLifeApi } from "./card-life-routes.ts";
import { registerSmartcardApi } from "./routes.ts";
import { registerSelfUnlock } from "./self-unlock-routes.ts";

/** The certificate authority's publication and the agent's API, with the CA made on first start. */
export async function registerSmartcards(
  app: FastifyInstance,
  queryable: Queryable,
  options: {
    sealer: Sealer;
    pkiUrl: string;
    cardCertificateDays: number;
    caToken?: TokenSettings;
    /** Self-service unlock: where codes may go, and where the holder's agent listens. */
    selfUnlock: { agentUrl: string; emailDomains: string[]; smsAvailable: boolean };
  },
): Promise<void> {
  const authority = await openCertificateAuthority(
    queryable,
    options.sealer,
    options.pkiUrl,
    systemActor("pki"),
    options.caToken,
  );
  await registerPki(app, queryable, authority);
  const settings = { authority, sealer: options.sealer, lifetimeDays: options.cardCertificateDays };
  registerSmartcardApi(app, queryable, settings);
  registerCardLifeApi(app, queryable, settings);
  await registerSelfUnlock(app, queryable, { ...options.selfUnlock, sealer: options.sealer });
}
