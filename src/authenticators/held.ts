import type { Method } from "../cis2/assurance.ts";
import type { Queryable } from "../store/database.ts";
import { hasPassword } from "./password/passwords.ts";

/**
 * The sign-in methods a person holds. Each kind of authenticator adds its own check here as it
 * lands; the development password counts only where the development login is switched on.
 */
export async function heldMethods(
  queryable: Queryable,
  uuid: string,
  developmentLogin: boolean,
): Promise<Method[]> {
  const held: Method[] = [];
  if (developmentLogin && (await hasPassword(queryable, uuid))) held.push("pwd");
  return held;
}
