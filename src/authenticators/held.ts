import { isMethod, type Method } from "../cis2/assurance.ts";
import type { Queryable } from "../store/database.ts";
import { hasPassword } from "./password/passwords.ts";
import { hasTotp } from "./totp/app-authenticators.ts";

/**
 * The sign-in methods a person holds. Each kind of authenticator adds its own check here as it
 * lands (a smartcard may be used through the agent or by mutual TLS); the development password counts only where the development login is switched on. The
 * authenticator app is used with the person's password, so it counts only with one.
 */
export async function heldMethods(
  queryable: Queryable,
  uuid: string,
  developmentLogin: boolean,
): Promise<Method[]> {
  const held: Method[] = [];
  const password = await hasPassword(queryable, uuid);
  if (developmentLogin && password) held.push("pwd");
  if (password && (await hasTotp(queryable, uuid))) held.push("TOTP");
  const credentials = await queryable
    .selectFrom("webauthn_credentials")
    .select("method")
    .distinct()
    .where("uuid", "=", uuid)
    .execute();
  for (const { method } of credentials) if (isMethod(method)) held.push(method);
  // A locked card is still held: signing in with it says it is locked and how to unlock it.
  const card = await queryable
    .selectFrom("smartcards")
    .select("serial")
    .where("holder", "=", uuid)
    .where("status", "in", ["active", "locked"])
    .executeTakeFirst();
  if (card) held.push("CIS2_SMARTCARD", "N3_SMARTCARD");
  return held;
}
