import { type AgentLog, AgentRefusal } from "./agent.ts";
import type { Card } from "./card.ts";
import { checkNewPasscode } from "./passcode-rules.ts";
import type { ServiceClient } from "./service-client.ts";

/**
 * The agent's part in self-service unlock. The service's unlock page, once the holder has
 * entered the code they were sent, hands the agent a release ticket and the new passcode; the
 * agent checks the passcode against the card's rules, fetches the card's escrowed unlock code
 * from the service with the ticket (the code never reaches the page), resets the passcode
 * (C_InitPIN as security officer) and tells the service the card is unlocked. If the card is
 * pulled out before the reset, the card stays locked and the ticket can be used again.
 */
export type SelfUnlock = (ticket: string, passcode: string, confirmation: string) => Promise<string>;

export function selfServiceUnlock(options: {
  card: Card;
  service: ServiceClient;
  log: AgentLog;
}): SelfUnlock {
  const { card, service, log } = options;
  return async (ticket, passcode, confirmation) => {
    const info = card.info();
    if (!info) throw new AgentRefusal(404, "Insert your smartcard into the reader");
    if (info.blank) throw new AgentRefusal(409, "This smartcard has not been issued");
    checkNewPasscode(info, passcode, confirmation);
    const cardSerial = info.tokenSerial;
    const { unlockCode } = await service.releaseSelfUnlock({ ticket, cardSerial });
    try {
      if (card.info()?.tokenSerial !== cardSerial) throw new Error("the card left the reader");
      card.resetPasscode(unlockCode, passcode);
    } catch (error) {
      log("self-unlock-failed", { cardSerial, error: (error as Error).message.split("\n")[0] });
      throw new AgentRefusal(
        409,
        "Your smartcard could not be unlocked: keep it in the reader and try again. It is still locked.",
      );
    }
    await service.completeSelfUnlock({ ticket, cardSerial });
    log("card-self-unlocked", { cardSerial });
    return "Your smartcard is unlocked and has its new passcode.";
  };
}
