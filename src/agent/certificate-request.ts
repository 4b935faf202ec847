import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

const sha256WithRsaEncryption = "1.2.840.113549.1.1.11";
const commonName = "2.5.4.3";

/**
 * A PKCS#10 certificate request for a key on the card, signed by the card: the private key
 * never leaves it. The service writes the certificate's subject from the RA's order, so the
 * subject here only names the key.
 */
export function certificateRequest(
  subjectPublicKeyInfo: Buffer,
  name: string,
  signOnCard: (data: Buffer) => Buffer,
): string {
  const request = new pkijs.CertificationRequest({
    version: 0,
    subjectPublicKeyInfo: pkijs.PublicKeyInfo.fromBER(subjectPublicKeyInfo),
  });
  request.subject.typesAndValues.push(
    new pkijs.AttributeTypeAndValue({ type: commonName, value: new asn1js.Utf8String({ value: name }) }),
  );
  request.signatureAlgorithm = new pkijs.AlgorithmIdentifier({
    algorithmId: sha256WithRsaEncryption,
    algorithmParams: new asn1js.Null(),
  });
  // pkijs signs only with a WebCrypto key; the card signs instead, over the same encoding.
  const encoder = request as unknown as { encodeTBS(): asn1js.Sequence };
  request.tbsView = new Uint8Array(encoder.encodeTBS().toBER());
  request.signatureValue = new asn1js.BitString({ valueHex: signOnCard(Buffer.from(request.tbsView)) });
  const der = Buffer.from(request.toSchema().toBER());
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64").replace(/.{1,64}/g, "$&\n")}-----END CERTIFICATE REQUEST-----\n`;
}
