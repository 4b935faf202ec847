import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.file.Files;
import java.security.Key;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.xml.XMLConstants;
import javax.xml.crypto.AlgorithmMethod;
import javax.xml.crypto.KeySelector;
import javax.xml.crypto.KeySelectorException;
import javax.xml.crypto.KeySelectorResult;
import javax.xml.crypto.OctetStreamData;
import javax.xml.crypto.URIReferenceException;
import javax.xml.crypto.XMLCryptoContext;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.XMLSignature;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMValidateContext;
import javax.xml.crypto.dsig.keyinfo.KeyInfo;
import javax.xml.crypto.dsig.keyinfo.X509Data;
import javax.xml.namespace.NamespaceContext;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import javax.xml.xpath.XPath;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * An independent check of a signed prescription (domain reference, section 7) with the JDK's XML
 * Digital Signature API (JSR 105, the Apache Santuario inside the JDK), none of the service's
 * code. xmlsec1 cannot do this: the Reference has no URI, and xmlsec reads that as the whole
 * document (docs/decisions.md). JSR 105 hands a URI-less Reference to the application's
 * URIDereferencer, so this program builds FragmentsToBeHashed itself, from its own reading of
 * section 7, and Santuario applies the Reference's exc-c14n transform and digest, canonicalises
 * SignedInfo and checks the RSA signature with the key of the certificate in KeyInfo. The
 * certificate's chain is then validated by the JDK's PKIX to the root CA given (revocation is
 * the service's verifier's and openssl's check).
 *
 * Usage: java VerifyPrescription.java root.pem [intermediate.pem ...] prescription.xml ...
 * (certificates end in .pem, the root first). Prints one line per check and prescription; exits
 * 0 only when every check of every prescription passes.
 */
public class VerifyPrescription {
  static final String HL7 = "urn:hl7-org:v3";
  static final String PRESCRIPTION = "/hl7:ParentPrescription/hl7:pertinentInformation1/hl7:pertinentPrescription";

  public static void main(String[] arguments) throws Exception {
    CertificateFactory certificates = CertificateFactory.getInstance("X.509");
    List<X509Certificate> authorities = new ArrayList<>();
    boolean valid = true;
    for (String argument : arguments) {
      if (argument.endsWith(".pem"))
        authorities.add((X509Certificate) certificates.generateCertificate(Files.newInputStream(new File(argument).toPath())));
      else valid &= verify(new File(argument), authorities, certificates);
    }
    System.out.println(valid ? "ALL VERIFIED" : "NOT ALL VERIFIED");
    System.exit(valid ? 0 : 1);
  }

  static boolean verify(File file, List<X509Certificate> authorities, CertificateFactory certificates) throws Exception {
    String name = file.getName() + ": ";
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setNamespaceAware(true);
    factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    Document prescription = factory.newDocumentBuilder().parse(file);
    XPath xpath = XPathFactory.newInstance().newXPath();
    xpath.setNamespaceContext(new NamespaceContext() {
      public String getNamespaceURI(String prefix) {
        return prefix.equals("hl7") ? HL7 : prefix.equals("ds") ? XMLSignature.XMLNS : XMLConstants.NULL_NS_URI;
      }
      public String getPrefix(String namespace) { return null; }
      public java.util.Iterator<String> getPrefixes(String namespace) { return null; }
    });
    NodeList signatures = (NodeList) xpath.evaluate(PRESCRIPTION + "/hl7:author/hl7:signatureText/ds:Signature", prescription, XPathConstants.NODESET);
    if (signatures.getLength() != 1) {
      System.out.println(name + "FAIL, " + signatures.getLength() + " Signature elements in author/signatureText");
      return false;
    }
    byte[] fragments = fragmentsToBeHashed(prescription, xpath, factory);

    X509Certificate[] signer = new X509Certificate[1];
    DOMValidateContext context = new DOMValidateContext(new KeySelector() {
      public KeySelectorResult select(KeyInfo keyInfo, Purpose purpose, AlgorithmMethod method, XMLCryptoContext ignored)
          throws KeySelectorException {
        for (Object content : keyInfo.getContent())
          if (content instanceof X509Data data)
            for (Object item : data.getContent())
              if (item instanceof X509Certificate certificate) {
                signer[0] = certificate;
                return () -> (Key) certificate.getPublicKey();
              }
        throw new KeySelectorException("KeyInfo holds no X509Certificate");
      }
    }, signatures.item(0));
    context.setURIDereferencer((reference, ignored) -> {
      if (reference.getURI() != null)
        throw new URIReferenceException("a prescription signature's Reference has no URI; this one has " + reference.getURI());
      return new OctetStreamData(new ByteArrayInputStream(fragments));
    });
    XMLSignature signature = XMLSignatureFactory.getInstance("DOM").unmarshalXMLSignature(context);
    boolean valid = signature.validate(context);
    System.out.println(name + "signature method " + signature.getSignedInfo().getSignatureMethod().getAlgorithm());
    for (Object item : signature.getSignedInfo().getReferences()) {
      boolean matches = ((Reference) item).validate(context);
      System.out.println(name + "reference digest over FragmentsToBeHashed " + (matches ? "OK" : "FAIL"));
      valid &= matches;
    }
    boolean value = signature.getSignatureValue().validate(context);
    System.out.println(name + "signature value over the canonical SignedInfo " + (value ? "OK" : "FAIL"));
    valid &= value;

    // The first certificate given is the trust anchor, the rest the CAs between it and the signer.
    List<X509Certificate> path = new ArrayList<>();
    path.add(signer[0]);
    path.addAll(authorities.subList(1, authorities.size()));
    X509Certificate root = authorities.get(0);
    PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
    parameters.setRevocationEnabled(false);
    try {
      CertPathValidator.getInstance("PKIX").validate(certificates.generateCertPath(path), parameters);
      System.out.println(name + "certificate chain to " + root.getSubjectX500Principal().getName() + " OK");
    } catch (Exception error) {
      System.out.println(name + "certificate chain to " + root.getSubjectX500Principal().getName() + " FAIL, " + error.getMessage());
      valid = false;
    }
    return valid;
  }

  /**
   * Section 7's signed content: in order, the author's time with the prescription's id, the
   * AgentPerson, the recordTarget, and each pertinentLineItem without repeatNumber/low and the
   * element holding its pertinentItemStatus; each in a Fragment (no namespace), whitespace-only
   * layout between elements left out, as the service's signing does.
   */
  static byte[] fragmentsToBeHashed(Document prescription, XPath xpath, DocumentBuilderFactory factory) throws Exception {
    Document document = factory.newDocumentBuilder().newDocument();
    Element wrapper = document.createElementNS(null, "FragmentsToBeHashed");
    document.appendChild(wrapper);
    String[][] groups = {
      { PRESCRIPTION + "/hl7:author/hl7:time", PRESCRIPTION + "/hl7:id[1]" },
      { PRESCRIPTION + "/hl7:author/hl7:AgentPerson" },
      { "/hl7:ParentPrescription/hl7:recordTarget" },
    };
    for (String[] group : groups) {
      Element fragment = document.createElementNS(null, "Fragment");
      for (String path : group) fragment.appendChild(withoutLayout(document.importNode(only(xpath, path, prescription), true)));
      wrapper.appendChild(fragment);
    }
    NodeList items = (NodeList) xpath.evaluate(PRESCRIPTION + "/hl7:pertinentInformation2/hl7:pertinentLineItem", prescription, XPathConstants.NODESET);
    for (int index = 0; index < items.getLength(); index++) {
      Node item = document.importNode(items.item(index), true);
      NodeList changing = (NodeList) xpath.evaluate("hl7:repeatNumber/hl7:low | hl7:*[hl7:pertinentItemStatus]", item, XPathConstants.NODESET);
      for (int each = 0; each < changing.getLength(); each++) changing.item(each).getParentNode().removeChild(changing.item(each));
      Element fragment = document.createElementNS(null, "Fragment");
      fragment.appendChild(withoutLayout(item));
      wrapper.appendChild(fragment);
    }
    // Namespace declarations for the imported HL7 elements, so the serialised bytes say what the DOM does.
    document.getDomConfig().setParameter("namespaces", true);
    document.normalizeDocument();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    TransformerFactory.newInstance().newTransformer().transform(new DOMSource(document), new StreamResult(bytes));
    return bytes.toByteArray();
  }

  static Node only(XPath xpath, String path, Node context) throws Exception {
    NodeList found = (NodeList) xpath.evaluate(path, context, XPathConstants.NODESET);
    if (found.getLength() != 1) throw new IllegalArgumentException(found.getLength() + " nodes at " + path + ", not one");
    return found.item(0);
  }

  static Node withoutLayout(Node node) {
    NodeList children = node.getChildNodes();
    List<Node> snapshot = new ArrayList<>();
    for (int index = 0; index < children.getLength(); index++) snapshot.add(children.item(index));
    for (Node child : snapshot) {
      if (child.getNodeType() == Node.TEXT_NODE && child.getNodeValue().isBlank() && node.getChildNodes().getLength() > 1)
        node.removeChild(child);
      else withoutLayout(child);
    }
    return node;
  }
}
