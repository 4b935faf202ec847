import type { FastifyInstance, FastifyReply } from "fastify";
import QRCode from "qrcode";
import type { Actor } from "../audit/actor.ts";
import { issueEnrolmentLink } from "../authenticators/enrolment/links.ts";
import { enrolmentPath } from "../authenticators/enrolment/pages.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import { isCareIdentifier } from "../store/identifiers.ts";
import { renderPage } from "../web/pages.ts";
import { demoPassword } from "./demo-sign-in.ts";
import { demoUsers } from "./demo-users.ts";

export const demoUsersPath = "/demo/users";

/** Who issues the demo's self-service enrolment links, as the audit log names it. */
const demoDesk: Actor = { kind: "system", id: "demo-users-page", source: "DEMO" };

/**
 * Who a newcomer can sign in as, served by the running demo (the embedded database admits one
 * process, so `careid demo users` cannot run beside it). Only with the development login on.
 * A security key's private key never leaves the key, so the demo cannot hand one out: instead
 * anyone may take an enrolment link for a demo person here and register their own key, this
 * device's passkey or the browser's virtual authenticator on it.
 */
export function registerDemoUsers(
  app: FastifyInstance,
  context: { db: Db; lists: CodeLists; sealer: Sealer },
): void {
  const { db, lists, sealer } = context;

  async function showPage(reply: FastifyReply, error?: string) {
    const users = await demoUsers(db, lists, sealer);
    const appHolders = await Promise.all(
      users.flatMap((user) =>
        user.authenticators
          .filter((held) => held.secret && held.otpauth)
          .map(async (held) => ({
            user,
            secret: held.secret,
            secretGroups: held.secret?.match(/.{1,4}/g)?.join(" "),
            otpauth: held.otpauth,
            qrCode: await QRCode.toDataURL(held.otpauth as string, { margin: 1, width: 180 }),
          })),
      ),
    );
    return renderPage(
      reply,
      "demo-users.njk",
      {
        pageTitle: "Demo users",
        users,
        appHolders,
        people: [
          { value: "", text: "Select a person" },
          ...users.map((user) => ({ value: user.uuid, text: `${user.fullName} (${user.uuid})` })),
        ],
        password: demoPassword,
        error,
        errorList: error ? [{ text: error, href: "#uuid" }] : undefined,
      },
      error ? 400 : 200,
    );
  }

  app.get(demoUsersPath, async (_request, reply) => showPage(reply));

  app.get(`${demoUsersPath}.json`, async () => demoUsers(db, lists, sealer));

  app.post<{ Body: Record<string, string | undefined> }>(
    `${demoUsersPath}/enrolment-link`,
    async (request, reply) => {
      const uuid = String(request.body?.uuid ?? "");
      if (!isCareIdentifier(uuid))
        return showPage(reply, "Select the person to set up a security key or passkey for");
      const { token } = await issueEnrolmentLink(
        db,
        { ...demoDesk, correlationId: request.id },
        {
          uuid,
          validHours: 1,
        },
      );
      return reply.redirect(`${enrolmentPath}/${token}`, 303);
    },
  );
}
