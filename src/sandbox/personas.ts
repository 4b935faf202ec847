import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { aalOf, isMethod, type Method, methods } from "../assurance/methods.ts";
import { InvalidInputError, Problems } from "../errors.ts";
import type { NewPerson } from "../people/people.ts";
import type { NewPosition } from "../rbac/positions.ts";
import { detailFields } from "../registration/profile-changes.ts";

/**
 * The sandbox's personas file: the people a supplier signs in as, with their positions and the
 * authenticators they hold, and the relying parties the supplier's own apps sign in through.
 * The supplier edits it; the sandbox applies each saved version (persona-sync.ts).
 */
export type PersonasFile = {
  clients: Record<string, unknown>[];
  personas: Persona[];
};

/** A persona: a person's details, as `careid people add` takes them, and what they sign in with. */
export type Persona = {
  /** The supplier's name for the persona; stays the same while everything else changes. */
  id: string;
  /** What the persona chooser shows. */
  label: string;
  person: NewPerson;
  /** The methods (the `amr` values) the persona signs in with; each gives its own AAL. */
  authenticators: Method[];
  positions: Omit<NewPosition, "uuid">[];
};

/** Password sign-in is the development realm's, never a persona's: the sandbox is not that realm. */
export const personaMethods = (Object.keys(methods) as Method[]).filter((method) => method !== "pwd");

const personFields = [...detailFields, "identityAssuranceLevel", "identityEvidence", "registrations"];

/** Reads and checks the file; an InvalidInputError names every problem by where it sits. */
export function readPersonasFile(path: string): PersonasFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw InvalidInputError.field("file", `${path} is not JSON: ${(error as Error).message}`);
  }
  return checkPersonasFile(parsed);
}

export function checkPersonasFile(parsed: unknown): PersonasFile {
  const problems = new Problems();
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw InvalidInputError.field("file", 'must hold an object with "personas" (and "clients")');
  const { clients = [], personas } = parsed as Record<string, unknown>;
  if (!Array.isArray(clients) || clients.some((entry) => !isObject(entry)))
    problems.add("clients", "must be a list of client metadata objects");
  if (!Array.isArray(personas)) {
    problems.add("personas", "must be a list of personas");
    problems.throwIfAny();
  }
  const seen = new Set<string>();
  const checked = (personas as unknown[]).map((entry, index) => {
    const persona = checkPersona(problems, `personas[${index}]`, entry);
    if (persona && seen.has(persona.id))
      problems.add(`personas[${index}].id`, `"${persona.id}" is used by another persona`);
    if (persona) seen.add(persona.id);
    return persona;
  });
  problems.throwIfAny();
  return { clients: clients as Record<string, unknown>[], personas: checked as Persona[] };
}

function checkPersona(problems: Problems, at: string, entry: unknown): Persona | undefined {
  if (!isObject(entry)) {
    problems.add(at, "must be an object");
    return undefined;
  }
  const { id, label, authenticators, positions = [] } = entry;
  if (typeof id !== "string" || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(id))
    problems.add(`${at}.id`, "must be lower-case letters, digits and hyphens, e.g. locum-gp");
  if (
    !Array.isArray(authenticators) ||
    authenticators.length === 0 ||
    authenticators.some((method) => !isMethod(method) || method === "pwd")
  )
    problems.add(`${at}.authenticators`, `must list one or more of ${personaMethods.join(", ")}`);
  if (!Array.isArray(positions) || positions.some((position) => !isObject(position)))
    problems.add(`${at}.positions`, "must be a list of positions");
  const person = Object.fromEntries(personFields.filter((field) => field in entry).map((f) => [f, entry[f]]));
  return {
    id: String(id),
    label: typeof label === "string" && label.trim() ? label.trim() : String(id),
    person,
    authenticators: Array.isArray(authenticators) ? [...new Set(authenticators as Method[])] : [],
    positions: Array.isArray(positions) ? (positions as Omit<NewPosition, "uuid">[]) : [],
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The strongest assurance a persona can sign in at, for the chooser to show. */
export function highestAal(persona: Persona): number {
  return Math.max(...persona.authenticators.map(aalOf));
}

/** The example relying party the first file registers: a development client on this machine. */
export const exampleClient = {
  client_id: "sandbox-example.apps.local",
  client_name: "Sandbox example relying party",
  client_secret: "sandbox-example-secret-never-used-outside-the-sandbox",
  token_endpoint_auth_method: "client_secret_post",
  redirect_uris: ["http://localhost:3001/callback", "http://127.0.0.1:3001/callback"],
  post_logout_redirect_uris: ["http://localhost:3001/"],
  scope:
    "openid profile email nhsperson associatedorgs nationalrbacaccess organisationalmemberships professionalmemberships selectedrole offline_access",
  default_acr_values: ["AAL2_OR_AAL3_ANY"],
};

/**
 * What a new sandbox starts with: a nurse with a smartcard (AAL3), a receptionist with the
 * authenticator app (AAL2), and a locum GP with positions at three organisations, at the
 * synthetic directory's organisations.
 */
export const examplePersonas = {
  about:
    "Personas for careid sandbox: fictional people to sign in as. Save a change and the sandbox applies it at once. authenticators: any of " +
    `${personaMethods.join(", ")} (the amr; each gives its AAL). positions: odsCode, jobRole, workgroups (named), activities, areasOfWork, startDate. ` +
    "clients: RFC 7591 metadata of your relying parties (development rules: http://localhost redirect URIs are allowed).",
  clients: [exampleClient],
  personas: [
    {
      id: "ward-nurse",
      label: "Ward nurse with a smartcard",
      title: "Ms",
      givenName: "Alys",
      familyName: "Pemberton",
      email: "alys.pemberton@nhs.net",
      identityAssuranceLevel: 3,
      registrations: [{ body: "NMC", number: "99A1234E" }],
      authenticators: ["CIS2_SMARTCARD"],
      positions: [
        { odsCode: "RZZ", jobRole: "R8001", workgroups: ["Ward 7 Nursing"], startDate: "2022-04-04" },
      ],
    },
    {
      id: "receptionist",
      label: "GP receptionist with the authenticator app",
      title: "Mr",
      givenName: "Dev",
      familyName: "Lakhani",
      email: "dev.lakhani@nhs.net",
      identityAssuranceLevel: 3,
      authenticators: ["TOTP"],
      positions: [
        { odsCode: "A99001", jobRole: "R8009", workgroups: ["Reception Team"], startDate: "2023-01-09" },
      ],
    },
    {
      id: "locum-gp",
      label: "Locum GP at three organisations",
      title: "Dr",
      givenName: "Ines",
      familyName: "Calloway",
      email: "ines.calloway@nhs.net",
      identityAssuranceLevel: 3,
      registrations: [{ body: "GMC", number: "7654321" }],
      authenticators: ["CIS2_SMARTCARD", "TOTP"],
      positions: [
        { odsCode: "A99001", jobRole: "R0262", workgroups: ["Clinical Team"], startDate: "2021-06-01" },
        { odsCode: "A99002", jobRole: "R0262", startDate: "2021-06-01" },
        { odsCode: "RZZ", jobRole: "R8000", workgroups: ["Emergency Department"], startDate: "2024-02-12" },
      ],
    },
  ],
};

/** Writes the example file where there is none yet; says whether it did. */
export function writeExamplePersonas(path: string): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(examplePersonas, null, 2)}\n`, { flag: "wx" });
  return true;
}
