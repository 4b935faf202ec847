/**
 * Authentication assurance: which methods exist, the AAL each gives, and which methods each
 * CIS2 `acr_values` class accepts. `amr` names the method, `acr` the class it satisfied. The
 * method names match the suffixes of the single-method classes.
 */
export const methods = {
  N3_SMARTCARD: { aal: 3, label: "Smartcard in a network-connected reader" },
  CIS2_SMARTCARD: { aal: 3, label: "Smartcard" },
  FIDO2: { aal: 3, label: "Security key or Windows Hello" },
  IOS: { aal: 3, label: "iPad" },
  PASSKEY: { aal: 3, label: "Passkey on this device" },
  PASSKEY_SYNCED: { aal: 2, label: "Passkey" },
  TOTP: { aal: 2, label: "Authenticator app" },
  NHSMAIL: { aal: 2, label: "NHS.net Connect" },
  pwd: { aal: 1, label: "Username and password (development only)" },
} as const;

export type Method = keyof typeof methods;

const anyAt = (predicate: (aal: number) => boolean) =>
  (Object.keys(methods) as Method[]).filter((method) => method !== "pwd" && predicate(methods[method].aal));

export const acrClasses: Record<string, readonly Method[]> = {
  AAL3_ANY: anyAt((aal) => aal === 3),
  AAL2_OR_AAL3_ANY: anyAt((aal) => aal >= 2),
  AAL2_ANY: anyAt((aal) => aal === 2),
  AAL3_SMARTCARD: ["N3_SMARTCARD", "CIS2_SMARTCARD"],
  AAL3_N3_SMARTCARD: ["N3_SMARTCARD"],
  AAL3_CIS2_SMARTCARD: ["CIS2_SMARTCARD"],
  AAL3_FIDO2: ["FIDO2"],
  AAL3_IOS: ["IOS"],
  AAL2_TOTP: ["TOTP"],
  AAL2_NHSMAIL: ["NHSMAIL"],
  AAL1_USERPASS: ["pwd"],
};

/** The class asked for when a request names none and the client has no default. */
export const defaultAcr = "AAL3_ANY";

export function isMethod(value: unknown): value is Method {
  return typeof value === "string" && value in methods;
}

export function aalOf(method: Method): number {
  return methods[method].aal;
}

/**
 * Reads `acr_values` (space-separated, in order of preference). Unknown values are reported so
 * the request can be refused; AAL1_USERPASS is known only where the development login is on.
 */
export function parseAcrValues(
  value: string | undefined,
  developmentLogin: boolean,
): { classes: string[]; unknown: string[] } {
  const requested = (value ?? "").split(" ").filter(Boolean);
  const known = (name: string) => name in acrClasses && (name !== "AAL1_USERPASS" || developmentLogin);
  return { classes: requested.filter(known), unknown: requested.filter((name) => !known(name)) };
}

/** The methods any of the requested classes accepts, in the order of the classes. */
export function methodsAccepted(classes: string[]): Method[] {
  return [...new Set(classes.flatMap((name) => acrClasses[name] ?? []))];
}

/** The first requested class the method satisfies: what the `acr` claim reports. */
export function classSatisfied(classes: string[], method: Method): string | undefined {
  return classes.find((name) => acrClasses[name]?.includes(method));
}

export function supportedAcrValues(developmentLogin: boolean): string[] {
  return Object.keys(acrClasses).filter((name) => name !== "AAL1_USERPASS" || developmentLogin);
}
