import type { FastifyInstance } from "fastify";
import type { Queryable } from "../store/database.ts";
import type { CertificateAuthority } from "./certificate-authority.ts";
import { crlPublisher } from "./crl.ts";
import { ocspResponder } from "./ocsp.ts";

/** Publication of the CA: its certificates, its CRL and the OCSP responder, for anyone. */
export async function registerPki(
  app: FastifyInstance,
  queryable: Queryable,
  authority: CertificateAuthority,
): Promise<void> {
  const currentCrl = crlPublisher(queryable, authority);
  const answerOcsp = await ocspResponder(queryable, authority);
  const ocspBodyLimit = 16 * 1024;

  app.addContentTypeParser("application/ocsp-request", { parseAs: "buffer" }, (_request, body, done) =>
    done(null, body),
  );
  app.get("/pki/root.crt", (_request, reply) =>
    reply.type("application/pkix-cert").send(Buffer.from(authority.root.rawData)),
  );
  app.get("/pki/issuing.crt", (_request, reply) =>
    reply.type("application/pkix-cert").send(Buffer.from(authority.issuing.rawData)),
  );
  app.get("/pki/issuing.crl", async (_request, reply) =>
    reply
      .type("application/pkix-crl")
      .header("cache-control", "max-age=60")
      .send(Buffer.from(await currentCrl())),
  );
  app.post("/pki/ocsp", { bodyLimit: ocspBodyLimit }, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    return reply.type("application/ocsp-response").send(Buffer.from(await answerOcsp(body)));
  });
  // RFC 6960 A.1: the DER request, base64 then URL-encoded, as the last path segment(s).
  app.get<{ Params: { "*": string } }>("/pki/ocsp/*", async (request, reply) => {
    const encoded = decodeURIComponent(request.params["*"]);
    const body = encoded.length <= (ocspBodyLimit * 4) / 3 ? Buffer.from(encoded, "base64") : Buffer.alloc(0);
    return reply.type("application/ocsp-response").send(Buffer.from(await answerOcsp(body)));
  });
}
