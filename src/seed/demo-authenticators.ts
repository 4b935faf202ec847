import { readFileSync } from "node:fs";
import type { Actor } from "../audit/actor.ts";
import { holdCeremony, issueEnrolmentLink, openEnrolmentLink } from "../authenticators/enrolment/links.ts";
import { enrolTotp } from "../authenticators/totp/app-authenticators.ts";
import { codeAt } from "../authenticators/totp/codes.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Queryable } from "../store/database.ts";

/** A demo person who holds the authenticator app from the start, with its public secret. */
export type DemoApp = { email: string; secret: string };

export function readDemoApps(): DemoApp[] {
  const file = JSON.parse(readFileSync(new URL("./demo-authenticators.json", import.meta.url), "utf8"));
  return file.app;
}

/**
 * Gives the demo's app holders their authenticator app the way anyone gets one: an enrolment link
 * issued by the seeding operator, the app's secret shown on it, and a code from that secret
 * confirming it. Only the secret is the demo's own, published so a phone or `oathtool` can make
 * the codes. Run once, when the demo directory has just been loaded.
 */
export async function seedDemoApps(queryable: Queryable, actor: Actor, sealer: Sealer): Promise<string[]> {
  const enrolled: string[] = [];
  for (const { email, secret } of readDemoApps()) {
    const person = await queryable
      .selectFrom("people")
      .select("uuid")
      .where("email", "=", email)
      .where("status", "=", "active")
      .executeTakeFirst();
    if (!person) continue;
    const { token } = await issueEnrolmentLink(queryable, actor, { uuid: person.uuid, validHours: 1 });
    await holdCeremony(queryable, await openEnrolmentLink(queryable, token), {
      totpSecret: sealer.seal(secret),
    });
    const now = new Date();
    await enrolTotp(
      queryable,
      sealer,
      await openEnrolmentLink(queryable, token),
      codeAt(secret, now),
      undefined,
      now,
    );
    enrolled.push(person.uuid);
  }
  return enrolled;
}
