import { AgentRefusal } from "./agent.ts";
import type { CardInfo } from "./card.ts";

/** A new passcode as the card's profile allows it (digits, its length range), entered twice alike. */
export function checkNewPasscode(info: CardInfo, passcode: string, confirmation: string): void {
  const { minimum, maximum } = info.passcodeLength;
  if (!/^\d+$/.test(passcode) || passcode.length < minimum || passcode.length > maximum)
    throw new AgentRefusal(400, `Enter a passcode of ${minimum} to ${maximum} digits`);
  if (passcode !== confirmation) throw new AgentRefusal(400, "The two passcodes are not the same");
}
