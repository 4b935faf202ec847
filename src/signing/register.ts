import type { FastifyInstance } from "fastify";
import { systemActor } from "../audit/actor.ts";
import type { Config } from "../config.ts";
import { openCertificateAuthority } from "../pki/certificate-authority.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import { registerRemoteSigning } from "./routes.ts";
import { openSigningToken } from "./token-signing-keys.ts";

/** The remote signing service, its keys certified by our CA (opened as the smartcards open it). */
export async function registerSigning(
  app: FastifyInstance,
  db: Db,
  config: Config,
  sealer: Sealer,
): Promise<void> {
  const authority = await openCertificateAuthority(
    db,
    sealer,
    config.pkiUrl,
    systemActor("pki"),
    config.caToken,
  );
  const token = config.signingToken ? openSigningToken(config.signingToken) : undefined;
  if (token) app.addHook("onClose", async () => token.close());
  registerRemoteSigning(app, {
    db,
    sealer,
    issuer: config.issuer,
    keys: { authority, sealer, lifetimeDays: config.cardCertificateDays, token },
    agentUrl: config.smartcardAgentUrl,
  });
}
