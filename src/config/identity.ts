import { parseList, parseWholeNumber, type Source } from "./values.ts";

/**
 * Settings about who may sign in and act: the security keys allowed or denied, CIM's acr
 * values and API clients, the relying-party activity codes and how long a card's certificate lasts.
 */

export function parseAaguids(name: string, value: string | undefined, problems: string[]): string[] {
  const aaguids = parseList(value).map((aaguid) => aaguid.toLowerCase());
  const malformed = aaguids.filter((aaguid) => !/^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/.test(aaguid));
  if (malformed.length > 0)
    problems.push(
      `${name} must list AAGUIDs like 01020304-0506-0708-0102-030405060708, not ${malformed.join(", ")}`,
    );
  return aaguids;
}

export function parseAcrValues(value: string | undefined, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (!/^AAL[0-9A-Z_]+( AAL[0-9A-Z_]+)*$/.test(value))
    problems.push(`CAREID_CIM_ACR must be space-separated acr values such as AAL3_ANY, not "${value}"`);
  return value;
}

export function parseClientIds(value: string, problems: string[]): string[] {
  const clientIds = parseList(value);
  if (clientIds.length === 0 || clientIds.some((clientId) => !/^[\x21-\x7e]+$/.test(clientId)))
    problems.push(`CAREID_CIM_API_CLIENTS must list client ids separated by commas, not "${value}"`);
  return clientIds;
}

export function parseActivityCode(name: string, value: string, problems: string[]): string {
  if (!/^[A-Z][0-9]{4}$/.test(value))
    problems.push(`${name} must be an activity code such as B9903, not "${value}"`);
  return value;
}

/** Days, possibly a fraction of one: CAREID_CARD_CERTIFICATE_SECONDS lets a test's cards expire. */
export function parseCardLifetime(source: Source, problems: string[]): number {
  const seconds = source.CAREID_CARD_CERTIFICATE_SECONDS;
  if (seconds !== undefined && seconds !== "")
    return (
      parseWholeNumber(
        "CAREID_CARD_CERTIFICATE_SECONDS",
        seconds,
        { from: 5, to: 86_400, unit: "seconds" },
        problems,
      ) / 86_400
    );
  return parseWholeNumber(
    "CAREID_CARD_CERTIFICATE_DAYS",
    source.CAREID_CARD_CERTIFICATE_DAYS ?? "1095",
    { from: 1, to: 3653, unit: "days" },
    problems,
  );
}
