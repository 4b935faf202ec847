import * as asn1js from "asn1js";
import { sql } from "kysely";
import type { Queryable } from "../store/database.ts";
import type { CertificateAuthority } from "./certificate-authority.ts";
import { caSigningAlgorithm, serialHex, x509 } from "./engine.ts";

/** How long relying parties may keep a CRL; a new one is made sooner after any revocation. */
const crlValidHours = 24;
/** A node remakes its CRL at least this often even with no new revocation. */
const remakeAfterMs = 60 * 60_000;
const crlNumberOid = "2.5.29.20";

/**
 * The issuing CA's CRL, remade when a revocation lands or the cached one ages. Each node keeps
 * its own copy; CRL numbers come from a database sequence so they rise across nodes.
 */
export function crlPublisher(queryable: Queryable, authority: CertificateAuthority) {
  let cached: { der: Uint8Array; made: number; fingerprint: string } | undefined;
  return async function currentCrl(now = new Date()): Promise<Uint8Array> {
    const fingerprint = await revocationsFingerprint(queryable);
    if (cached && cached.fingerprint === fingerprint && now.getTime() - cached.made < remakeAfterMs)
      return cached.der;
    const der = await makeCrl(queryable, authority, now);
    cached = { der, made: now.getTime(), fingerprint };
    return der;
  };
}

async function revocationsFingerprint(queryable: Queryable): Promise<string> {
  const row = await queryable
    .selectFrom("pki_revocations")
    .select((select) => [select.fn.countAll<number>().as("count"), select.fn.max("revoked_at").as("latest")])
    .executeTakeFirstOrThrow();
  return `${row.count}/${row.latest ? new Date(row.latest).getTime() : 0}`;
}

async function makeCrl(
  queryable: Queryable,
  authority: CertificateAuthority,
  now: Date,
): Promise<Uint8Array> {
  const revoked = await queryable.selectFrom("pki_revocations").selectAll().orderBy("serial").execute();
  const number = await sql<{ value: number }>`SELECT nextval('pki_crl_number') AS value`.execute(queryable);
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: authority.issuing.subjectName,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + crlValidHours * 3_600_000),
      signingAlgorithm: caSigningAlgorithm,
      signingKey: authority.issuingKey,
      entries: revoked.map((row) => ({
        serialNumber: serialHex(row.serial),
        revocationDate: row.revoked_at,
        reason: x509.X509CrlReason[row.reason],
      })),
      extensions: [
        await x509.AuthorityKeyIdentifierExtension.create(authority.issuing.publicKey),
        new x509.Extension(
          crlNumberOid,
          false,
          new asn1js.Integer({ value: Number(number.rows[0]?.value ?? 1) }).toBER(),
        ),
      ],
    },
    authority.crypto,
  );
  return new Uint8Array(crl.rawData);
}
