import { createHash } from "node:crypto";
import type { KoaContextWithOIDC } from "oidc-provider";
import { renderHtml } from "../web/pages.ts";

/**
 * Pages oidc-provider itself serves (its error page and the logout steps), in the NHS design
 * system. These responses bypass Fastify, so they set their own Content-Security-Policy; the
 * one inline script (submitting the logout form) is allowed by its hash.
 */
const autoSubmit =
  'var form=document.getElementById("op.logoutForm"),yes=document.createElement("input");' +
  'yes.type="hidden";yes.name="logout";yes.value="yes";form.appendChild(yes);form.submit();';
const autoSubmitHash = createHash("sha256").update(autoSubmit).digest("base64");

export function sendProviderPage(ctx: KoaContextWithOIDC, html: string, script = false) {
  const scripts = script ? `'self' 'sha256-${autoSubmitHash}'` : "'self'";
  ctx.set(
    "Content-Security-Policy",
    `default-src 'self'; script-src ${scripts}; style-src 'self'; img-src 'self' data:; form-action 'self' *`,
  );
  ctx.type = "html";
  ctx.body = html;
}

export async function renderProviderError(
  ctx: KoaContextWithOIDC,
  out: { error: string; error_description?: string },
) {
  sendProviderPage(
    ctx,
    renderHtml("error.njk", {
      pageTitle: "Sorry, you cannot sign in this way",
      detail: `${out.error_description ?? "The request to sign in was not valid"} (${out.error}). Go back to the service you came from and try again.`,
    }),
  );
}

/** RP-initiated logout confirms itself: a relying party sending the user here means "sign out". */
export async function renderLogoutConfirmation(ctx: KoaContextWithOIDC, form: string) {
  sendProviderPage(
    ctx,
    renderHtml("cis2/logout.njk", { pageTitle: "Signing you out", form, autoSubmit }),
    true,
  );
}

export async function renderLoggedOut(ctx: KoaContextWithOIDC) {
  sendProviderPage(
    ctx,
    renderHtml("cis2/logged-out.njk", {
      pageTitle: "You have signed out",
      clientName: ctx.oidc.client?.clientName,
    }),
  );
}
