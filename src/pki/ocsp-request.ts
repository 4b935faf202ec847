import * as asn1js from "asn1js";
import { pkijs } from "./engine.ts";

/**
 * Reads an RFC 6960 OCSPRequest for what the responder needs: the CertID of each request and
 * the nonce. Walking the decoded DER directly is a seventh of the cost of pkijs's schema match,
 * and the responder reads one per sign-in. Anything else in the request is ignored, as the RFC
 * allows; anything malformed gives undefined.
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT ... OPTIONAL }
 *   TBSRequest  ::= SEQUENCE { version [0], requestorName [1] (optional), requestList SEQUENCE OF
 *                              Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 *   Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] OPTIONAL }
 *   CertID      ::= SEQUENCE { hashAlgorithm, issuerNameHash OCTET STRING,
 *                              issuerKeyHash OCTET STRING, serialNumber INTEGER }
 */
export type OcspQuestion = { certIds: pkijs.CertID[]; nonce?: pkijs.Extension };

const nonceOid = "1.3.6.1.5.5.7.48.1.2";

export function readOcspRequest(der: Uint8Array): OcspQuestion | undefined {
  if (der.length === 0) return undefined;
  const decoded = asn1js.fromBER(der);
  if (decoded.offset === -1 || decoded.offset !== der.length) return undefined;
  const tbs = itemsOf(decoded.result)?.[0];
  const parts = itemsOf(tbs);
  if (!parts) return undefined;
  const list = parts.find((part) => part instanceof asn1js.Sequence);
  const certIds = itemsOf(list)?.map((request) => certIdOf(itemsOf(request)?.[0]));
  if (!certIds || certIds.length === 0 || certIds.some((certId) => certId === undefined)) return undefined;
  const extensions = parts.find((part) => part.idBlock.tagClass === 3 && part.idBlock.tagNumber === 2);
  return { certIds: certIds as pkijs.CertID[], nonce: nonceIn(itemsOf(itemsOf(extensions)?.[0])) };
}

function itemsOf(block: asn1js.AsnType | undefined): asn1js.AsnType[] | undefined {
  if (!(block instanceof asn1js.Constructed) && !(block instanceof asn1js.Sequence)) return undefined;
  return block.valueBlock.value as asn1js.AsnType[];
}

function certIdOf(block: asn1js.AsnType | undefined): pkijs.CertID | undefined {
  const [algorithm, nameHash, keyHash, serialNumber] = itemsOf(block) ?? [];
  const oid = itemsOf(algorithm)?.[0];
  if (
    !(oid instanceof asn1js.ObjectIdentifier) ||
    !(nameHash instanceof asn1js.OctetString) ||
    !(keyHash instanceof asn1js.OctetString) ||
    !(serialNumber instanceof asn1js.Integer)
  )
    return undefined;
  return new pkijs.CertID({
    hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: oid.valueBlock.toString() }),
    issuerNameHash: nameHash,
    issuerKeyHash: keyHash,
    serialNumber,
  });
}

function nonceIn(extensions: asn1js.AsnType[] | undefined): pkijs.Extension | undefined {
  for (const extension of extensions ?? []) {
    const [oid, value] = itemsOf(extension) ?? [];
    if (
      oid instanceof asn1js.ObjectIdentifier &&
      oid.valueBlock.toString() === nonceOid &&
      value instanceof asn1js.OctetString
    )
      return new pkijs.Extension({
        extnID: nonceOid,
        critical: false,
        extnValue: value.valueBlock.valueHexView.slice().buffer,
      });
  }
  return undefined;
}
