/**
 * What the service sends, by template name. GOV.UK Notify holds its own copy of each template
 * (CAREID_NOTIFY_TEMPLATES maps these names to its template ids) and fills in the same
 * personalisation; the SMTP and outbox-folder senders render the words here.
 */
export const templates = {
  "unlock-code": {
    subject: () => "Your smartcard unlock code",
    body: (values: Personalisation) =>
      [
        `Your code to unlock your NHS smartcard is ${values.code}.`,
        "",
        `It works for ${values.minutes} minutes. Enter it on the Unlock your smartcard page.`,
        "If you did not ask to unlock your smartcard, tell your Registration Authority (RA).",
      ].join("\n"),
  },
  "enrolment-link": {
    subject: () => "Set up a way to sign in to the Care Identity Service",
    body: (values: Personalisation) =>
      [
        `Your Registration Authority has sent you a link to set up ${values.authenticator}.`,
        "",
        `Open it on the device you will sign in with: ${values.link}`,
        "",
        `The link works once, until ${values.expires}. Do not forward it.`,
      ].join("\n"),
  },
  "password-reset-code": {
    subject: () => "Your code to reset your Care Identity password",
    body: (values: Personalisation) =>
      [
        `Your code to reset the password you use with your authenticator app is ${values.code}.`,
        "",
        `It works for ${values.minutes} minutes. You will also need a code from your authenticator app.`,
        "If you did not ask to reset your password, tell your Registration Authority (RA).",
      ].join("\n"),
  },
  "apply-invitation": {
    subject: () => "Apply for your Care ID",
    body: (values: Personalisation) =>
      [
        `Dear ${values.name},`,
        "",
        `${values.organisation} has invited you to apply for a Care ID (an NHS Care Identity) online.`,
        "You will need your mobile phone, your passport or photocard driving licence, and a second document or proof of address.",
        "",
        `Start here: ${values.link}`,
        "",
        `The link is yours alone and works until ${values.expires}. Do not forward it.`,
      ].join("\n"),
  },
  "apply-mobile-code": {
    subject: () => "Your Apply for Care ID code",
    body: (values: Personalisation) =>
      `${values.code} is your Apply for Care ID code. It works for ${values.minutes} minutes. Do not share it.`,
  },
  "apply-approved": {
    subject: () => "Your Care ID has been created",
    body: (values: Personalisation) =>
      [
        `Dear ${values.name},`,
        "",
        "Your identity has been verified and your Care ID has been created.",
        `Your Care ID number (UUID) is ${values.uuid}.`,
        "",
        "Your Registration Authority will now give you your positions and a way to sign in.",
      ].join("\n"),
  },
  "apply-approved-inviter": {
    subject: () => "An applicant you invited has a Care ID",
    body: (values: Personalisation) =>
      [
        `${values.name}'s application was approved: their Care ID is ${values.uuid}.`,
        "",
        "You can now assign their positions and an authenticator in Care Identity Management.",
      ].join("\n"),
  },
  "apply-rejected": {
    subject: () => "Your application for a Care ID",
    body: (values: Personalisation) =>
      [
        `Dear ${values.name},`,
        "",
        "We could not verify your identity from your application, for this reason:",
        values.reason ?? "",
        "",
        values.again ?? "",
      ].join("\n"),
  },
} as const;

export type TemplateName = keyof typeof templates;
export type Personalisation = Record<string, string>;

export function isTemplateName(value: string): value is TemplateName {
  return Object.hasOwn(templates, value);
}

/** The words of a message, for senders that do not hold templates themselves. */
export function renderMessage(
  template: TemplateName,
  values: Personalisation,
): { subject: string; body: string } {
  return { subject: templates[template].subject(), body: templates[template].body(values) };
}
