import { createHash, randomBytes } from "node:crypto";
import * as pkijs from "pkijs";
import { type Card, CardError, type CardInfo } from "./card.ts";
import { certificateRequest } from "./certificate-request.ts";
import { checkNewPasscode } from "./passcode-rules.ts";
import type { ServiceClient } from "./service-client.ts";

/**
 * What the agent does with the card in the reader, on behalf of its holder and of an RA's
 * order: every action is one method here, used by the agent's own page and by the service's
 * sign-in page. The passcode and the unlock code pass through here only; neither is logged.
 */
export type AgentLog = (event: string, details?: Record<string, unknown>) => void;

export type CardStatus =
  | { present: false }
  | {
      present: true;
      cardSerial: string;
      blank: boolean;
      locked: boolean;
      signedIn: boolean;
      issued: boolean;
    };

export class AgentRefusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export type Agent = ReturnType<typeof cardAgent>;

export function cardAgent(options: {
  card: Card;
  service: ServiceClient;
  /** The unlock code (SO PIN) blank cards arrive with. */
  blankUnlockCode: string;
  log: AgentLog;
}) {
  const { card, service, log } = options;
  let present: CardInfo | undefined;
  /** Reported to the service when the holder signed in to the card; revealed on removal. */
  let removalSecret: string | undefined;

  function status(): CardStatus {
    const info = card.info();
    if (!info) return { present: false };
    return {
      present: true,
      cardSerial: info.tokenSerial,
      blank: info.blank,
      locked: info.locked,
      signedIn: card.isSignedIn(),
      issued: !info.blank && card.readCertificate("authentication") !== undefined,
    };
  }

  function inserted(): CardInfo {
    const info = card.info();
    if (!info) throw new AgentRefusal(404, "Insert your smartcard into the reader");
    return info;
  }

  /** The holder enters the passcode; a wrong one counts on the card, which locks at its limit. */
  async function enterPasscode(passcode: string): Promise<string> {
    const info = inserted();
    if (info.locked) return refuseLocked(info);
    const outcome = card.signIn(passcode);
    if (outcome.outcome === "locked") return refuseLocked(info);
    if (outcome.outcome === "wrong") {
      log("passcode-wrong", { cardSerial: info.tokenSerial, lastTry: outcome.lastTry });
      throw new AgentRefusal(
        401,
        outcome.lastTry
          ? "The passcode is not correct. One more wrong passcode will lock your smartcard."
          : "The passcode is not correct",
      );
    }
    log("passcode-accepted", { cardSerial: info.tokenSerial });
    await reportPresent(info.tokenSerial);
    return "Your smartcard is ready. Return to the page you were signing in on.";
  }

  /** The card locked itself: the service is told (it makes the card less usable, so needs no order). */
  async function refuseLocked(info: CardInfo): Promise<never> {
    log("card-locked", { cardSerial: info.tokenSerial });
    await reportLocked(info.tokenSerial).catch((error: Error) => {
      log("report-failed", { cardSerial: info.tokenSerial, report: "locked", error: error.message });
    });
    throw new AgentRefusal(
      423,
      "Your smartcard is locked. Ask your RA or local smartcard administrator to unlock it.",
    );
  }

  /** The card proves it is in the reader with its presence key, which works while it is locked. */
  async function reportLocked(cardSerial: string): Promise<void> {
    const { challenge } = await service.challenge();
    const signature = card.signPresence(Buffer.from(challenge, "utf8")).toString("base64url");
    await service.reportLocked(cardSerial, { challenge, signature });
  }

  /** A card signed in to by its holder is reported present, proven by a signature of its own. */
  async function reportPresent(cardSerial: string): Promise<void> {
    const certificate = card.readCertificate("authentication");
    if (!certificate) return;
    try {
      const { challenge } = await service.challenge();
      const signature = card.sign("authentication", Buffer.from(challenge, "utf8"));
      const secret = randomBytes(32).toString("base64url");
      const digest = createHash("sha256").update(secret).digest("base64url");
      await service.reportPresent(
        cardSerial,
        {
          certificateChain: [certificate.toString("base64")],
          challenge,
          signature: signature.toString("base64url"),
        },
        digest,
      );
      removalSecret = secret;
      log("card-present", { cardSerial });
    } catch (error) {
      log("report-failed", { cardSerial, report: "present", error: (error as Error).message });
    }
  }

  async function reportRemoved(cardSerial: string): Promise<void> {
    const secret = removalSecret;
    removalSecret = undefined;
    if (secret)
      await service.reportRemoved(cardSerial, secret).catch((error: Error) => {
        log("report-failed", { cardSerial, report: "removal", error: error.message });
      });
  }

  /**
   * Issues a blank card under an RA's order: the holder's passcode is set, both key pairs are
   * made on the card, the service certifies them, the certificates are written to the card and
   * the card's unlock code is replaced by the one the service escrowed for it. A card cleared
   * for reuse still has its previous escrowed unlock code, which the service releases to the
   * agent under the order; asking first means the card never sees a wrong unlock code (cards
   * lock their security officer after a few).
   */
  async function issue(orderCode: string, passcode: string, confirmation: string): Promise<string> {
    const info = inserted();
    if (!info.blank) throw new AgentRefusal(409, "This smartcard has been issued already");
    checkNewPasscode(info, passcode, confirmation);
    const order = { orderCode: orderCode.trim().toUpperCase(), cardSerial: info.tokenSerial };
    const released = await service.releaseForIssue(order);
    const unlockCode = released.unlockCode ?? options.blankUnlockCode;
    try {
      card.resetPasscode(unlockCode, passcode);
    } catch (error) {
      throw refusalOf(
        error,
        released.cleared
          ? "This smartcard does not accept the unlock code it was cleared with"
          : "This smartcard does not accept the blank card unlock code",
      );
    }
    card.signIn(passcode);
    const requests = (["authentication", "signing"] as const).map((key) =>
      certificateRequest(card.generateKeyPair(key), key, (data) => card.sign(key, data)),
    );
    const issued = await service.issue({
      ...order,
      cardType: info.model,
      authenticationCsr: requests[0] as string,
      signingCsr: requests[1] as string,
      presenceKey: card.generateKeyPair("presence").toString("base64"),
    });
    card.storeCertificate("authentication", ...certificateParts(issued.certificates.authentication));
    card.storeCertificate("signing", ...certificateParts(issued.certificates.signing));
    card.changeUnlockCode(unlockCode, issued.unlockCode);
    // Issued at the RA's desk: the holder enters the passcode when they first use it.
    card.signOut();
    log("card-issued", { cardSerial: info.tokenSerial, holder: issued.holder });
    return `This smartcard is issued to ${issued.holder}.`;
  }

  /** Unlocks a locked card under an RA's order: the escrowed unlock code lets the holder set a new passcode. */
  async function unlock(orderCode: string, passcode: string, confirmation: string): Promise<string> {
    const info = inserted();
    checkNewPasscode(info, passcode, confirmation);
    const { unlockCode } = await service.unlock({
      orderCode: orderCode.trim().toUpperCase(),
      cardSerial: info.tokenSerial,
    });
    try {
      card.resetPasscode(unlockCode, passcode);
    } catch (error) {
      throw refusalOf(error, "The smartcard did not accept its unlock code");
    }
    log("card-unlocked", { cardSerial: info.tokenSerial });
    return "Your smartcard is unlocked and has its new passcode.";
  }

  /** The holder steps away: the card needs its passcode again, and its sessions end as on removal. */
  async function signOut(): Promise<string> {
    const info = inserted();
    card.signOut();
    await reportRemoved(info.tokenSerial);
    log("card-signed-out", { cardSerial: info.tokenSerial });
    return "You are signed out of your smartcard.";
  }

  /** Signs a service challenge with the card's authentication key, for the service's sign-in page. */
  function signChallenge(challenge: string): { cardSerial: string; certificate: string; signature: string } {
    const info = inserted();
    if (info.locked) throw new AgentRefusal(423, "Your smartcard is locked");
    const certificate = card.readCertificate("authentication");
    if (!certificate) throw new AgentRefusal(409, "This smartcard has not been issued");
    if (!card.isSignedIn())
      throw new AgentRefusal(401, "Enter your smartcard passcode in the smartcard agent");
    const signature = card.sign("authentication", Buffer.from(challenge, "utf8"));
    log("challenge-signed", { cardSerial: info.tokenSerial });
    return {
      cardSerial: info.tokenSerial,
      certificate: certificate.toString("base64"),
      signature: signature.toString("base64url"),
    };
  }

  /** Notices a card put in or taken out; a removal is reported so the holder's sessions end. */
  async function watch(): Promise<void> {
    const info = card.info();
    if (info && info.tokenSerial === present?.tokenSerial) return;
    if (present) {
      const removed = present.tokenSerial;
      log("card-removed", { cardSerial: removed });
      present = undefined;
      card.signOut();
      await reportRemoved(removed);
    }
    if (info) {
      present = info;
      log("card-inserted", { cardSerial: info.tokenSerial });
    } else card.rescan();
  }

  return { status, enterPasscode, signOut, issue, unlock, signChallenge, watch };
}

function refusalOf(error: unknown, message: string): AgentRefusal {
  if (error instanceof AgentRefusal) return error;
  if (error instanceof CardError) return new AgentRefusal(409, error.message);
  return new AgentRefusal(409, `${message} (${(error as Error).message})`);
}

export function certificateParts(pem: string): [Buffer, Buffer] {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  const certificate = pkijs.Certificate.fromBER(der);
  return [der, Buffer.from(certificate.subject.toSchema().toBER())];
}
