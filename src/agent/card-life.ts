import { type AgentLog, AgentRefusal, certificateParts } from "./agent.ts";
import { type Card, CardError } from "./card.ts";
import { certificateRequest } from "./certificate-request.ts";
import { checkNewPasscode } from "./passcode-rules.ts";
import type { ServiceClient } from "./service-client.ts";

/**
 * The agent's part in the rest of a card's life, each under an RA's order typed into the
 * agent's own page (docs/smartcard-agent-protocol.md):
 * - repair (also after the certificates expired): with the holder at the desk, the escrowed
 *   unlock code resets the passcode to the one the holder chose, new key pairs are made on the
 *   card, the service certifies them (revoking the old ones) and they are written to the card;
 * - clear: the unlock code lets the agent wipe the card (every key and certificate destroyed), so
 *   it is blank for someone else, and the service ends the record and revokes its certificates;
 *   the card keeps its unlock code, which the next issue order releases to the agent (agent.ts).
 * The unlock code arrives from the service over the agent's own channel, never through a page,
 * and is never logged. Until the agent reports the outcome the order stays usable, so a card
 * pulled out mid-way can be tried again.
 */
export type CardLife = ReturnType<typeof cardLife>;

export function cardLife(options: {
  card: Card;
  service: ServiceClient;
  blankUnlockCode: string;
  log: AgentLog;
}) {
  const { card, service, log } = options;

  function issuedCard() {
    const info = card.info();
    if (!info) throw new AgentRefusal(404, "Insert the smartcard into the reader");
    if (info.blank) throw new AgentRefusal(409, "This smartcard is blank: issue it instead");
    return info;
  }

  async function repair(orderCode: string, passcode: string, confirmation: string): Promise<string> {
    const info = issuedCard();
    checkNewPasscode(info, passcode, confirmation);
    const order = { orderCode: orderCode.trim().toUpperCase(), cardSerial: info.tokenSerial };
    const { unlockCode } = await service.releaseUnderOrder("repair", order);
    try {
      card.resetPasscode(unlockCode, passcode);
      card.signIn(passcode);
    } catch (error) {
      throw failed(info.tokenSerial, "repair", error);
    }
    const requests = (["authentication", "signing"] as const).map((key) =>
      certificateRequest(card.generateKeyPair(key), key, (data) => card.sign(key, data)),
    );
    const repaired = await service.repair({
      ...order,
      authenticationCsr: requests[0] as string,
      signingCsr: requests[1] as string,
      presenceKey: card.generateKeyPair("presence").toString("base64"),
    });
    card.storeCertificate("authentication", ...certificateParts(repaired.certificates.authentication));
    card.storeCertificate("signing", ...certificateParts(repaired.certificates.signing));
    card.signOut();
    log("card-repaired", { cardSerial: info.tokenSerial, holder: repaired.holder });
    return `This smartcard is repaired: it has new certificates for ${repaired.holder} and the new passcode.`;
  }

  async function clear(orderCode: string): Promise<string> {
    const info = issuedCard();
    const order = { orderCode: orderCode.trim().toUpperCase(), cardSerial: info.tokenSerial };
    const { unlockCode } = await service.releaseUnderOrder("clear", order);
    try {
      card.wipe(unlockCode);
    } catch (error) {
      throw failed(info.tokenSerial, "clear", error);
    }
    await service.clear(order);
    log("card-cleared", { cardSerial: info.tokenSerial });
    return "This smartcard is cleared: it is blank and can be issued to someone else.";
  }

  function failed(cardSerial: string, act: string, error: unknown): AgentRefusal {
    log(`${act}-failed`, { cardSerial, error: (error as Error).message.split("\n")[0] });
    if (error instanceof CardError) return new AgentRefusal(409, error.message);
    return new AgentRefusal(
      409,
      `The smartcard could not be ${act === "repair" ? "repaired" : "cleared"}: keep it in the reader and try again with the same order.`,
    );
  }

  return { repair, clear };
}

/** The agent page's forms for a card that has been issued: repair and clear, each with its order. */
export function cardLifeForms(
  form: (action: string, button: string, fields: string[]) => string,
  field: (name: string, label: string, type: "text" | "password") => string,
): string {
  return [
    "<h2>For your RA</h2>",
    form("repair", "Repair this smartcard", [
      field("repairOrderCode", "Repair order code from your RA", "text"),
      field("repairPasscode", "The holder chooses a new passcode", "password"),
      field("repairConfirmation", "The holder enters the new passcode again", "password"),
    ]),
    form("clear", "Clear this smartcard", [field("clearOrderCode", "Clear order code from your RA", "text")]),
  ].join("\n");
}

/** The agent page's form posts for repair and clear, by path (local-server.ts). */
export function cardLifeActions(
  life: CardLife,
): Record<string, (value: (name: string) => string) => Promise<string>> {
  return {
    "/repair": (value) =>
      life.repair(value("repairOrderCode"), value("repairPasscode"), value("repairConfirmation")),
    "/clear": (value) => life.clear(value("clearOrderCode")),
  };
}
