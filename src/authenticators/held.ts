import { type RawBuilder, sql } from "kysely";
import { isMethod, type Method } from "../assurance/methods.ts";
import type { Queryable } from "../store/database.ts";

/**
 * The sign-in methods a person holds, read in one round trip (every sign-in page asks). Each
 * kind of authenticator adds its own check here as it lands (a smartcard may be used through the
 * agent or by mutual TLS); the development password counts only where the development login is
 * switched on. The authenticator app is used with the person's password, so it counts only with one.
 */
export async function heldMethods(
  queryable: Queryable,
  uuid: string,
  developmentLogin: boolean,
): Promise<Method[]> {
  const { rows } = await sql<HeldFlags>`SELECT ${heldFlags(sql`${uuid}`)}`.execute(queryable);
  return methodsHeld(rows[0], developmentLogin);
}

export type HeldFlags = {
  password: boolean;
  totp: boolean;
  credentials: string[];
  card: boolean;
  upstream: boolean;
};

/**
 * The columns that say what a person holds, for a query that reads them with something else
 * (the identify step reads them with the person an identifier names); `uuid` is an expression.
 */
export function heldFlags(uuid: RawBuilder<unknown>): RawBuilder<HeldFlags> {
  return sql<HeldFlags>`EXISTS (SELECT 1 FROM passwords WHERE uuid = ${uuid}) AS password,
    EXISTS (SELECT 1 FROM totp_authenticators WHERE uuid = ${uuid}) AS totp,
    ARRAY(SELECT DISTINCT method FROM webauthn_credentials WHERE uuid = ${uuid} ORDER BY method) AS credentials,
    EXISTS (SELECT 1 FROM smartcards WHERE holder = ${uuid} AND status IN ('active', 'locked')) AS card,
    EXISTS (SELECT 1 FROM upstream_links WHERE uuid = ${uuid} AND status = 'active') AS upstream`;
}

/** The methods those columns say are held. */
export function methodsHeld(flags: HeldFlags | undefined, developmentLogin: boolean): Method[] {
  const { password, totp, credentials, card, upstream } = flags ?? {
    password: false,
    totp: false,
    credentials: [],
    card: false,
    upstream: false,
  };
  const held: Method[] = [];
  if (developmentLogin && password) held.push("pwd");
  if (password && totp) held.push("TOTP");
  for (const method of credentials) if (isMethod(method)) held.push(method);
  // A locked card is still held: signing in with it says it is locked and how to unlock it.
  if (card) held.push("CIS2_SMARTCARD", "N3_SMARTCARD");
  // An NHS.net Connect account an RA turned off is not offered.
  if (upstream) held.push("NHSMAIL");
  return held;
}
