import { parse } from "csv-parse/sync";
import type { Actor } from "../audit/actor.ts";
import { ConflictError, InvalidInputError } from "../errors.ts";
import { type ActionCommon, authorised, recordAction } from "../registration/acting.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import {
  type ApplySettings,
  checkInvitee,
  checkOdsCode,
  createInvitation,
  type Invitation,
  refuseOpenInvitation,
} from "./invitations.ts";

/**
 * Inviting from a file: an inviter uploads a CSV of applicants, sees each row's problems, and
 * invites the good rows in one transaction, each invitation as inviteApplicant makes one.
 */

export type InviteeRow = {
  line: number;
  givenName: string;
  familyName: string;
  email: string;
  problems: string[];
};

const maxRows = 500;

/**
 * Reads a file of invitees (CSV with a header: given_name, family_name, email) and checks each
 * row, so the inviter sees every row's problems before anything is sent.
 */
export function readInviteeFile(text: string): InviteeRow[] {
  let records: Record<string, string>[];
  try {
    records = parse(text.replace(/^\uFEFF/, ""), {
      columns: (header: string[]) =>
        header.map((name) =>
          name
            .trim()
            .toLowerCase()
            .replace(/[\s-]+/g, "_"),
        ),
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
    });
  } catch (error) {
    throw InvalidInputError.field("file", `is not a CSV file: ${(error as Error).message.split("\n")[0]}`);
  }
  if (records.length === 0) throw InvalidInputError.field("file", "has no rows after its header");
  if (records.length > maxRows) throw InvalidInputError.field("file", `has more than ${maxRows} rows`);
  const first = records[0] as Record<string, string>;
  const missing = ["given_name", "family_name", "email"].filter((column) => !(column in first));
  if (missing.length > 0)
    throw InvalidInputError.field(
      "file",
      `needs the columns given_name, family_name and email (missing ${missing.join(", ")})`,
    );
  const seen = new Set<string>();
  return records.map((record, index) => {
    const row: InviteeRow = {
      line: index + 2,
      givenName: record.given_name ?? "",
      familyName: record.family_name ?? "",
      email: (record.email ?? "").toLowerCase(),
      problems: [],
    };
    try {
      checkInvitee(row);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      const labels: Record<string, string> = {
        givenName: "Given name",
        familyName: "Family name",
        email: "Email",
      };
      row.problems.push(
        ...error.problems.map((problem) => `${labels[problem.field] ?? problem.field} ${problem.message}`),
      );
    }
    if (row.email && seen.has(row.email)) row.problems.push("Email appears on an earlier row");
    seen.add(row.email);
    return row;
  });
}

/**
 * Invites everyone on the file's good rows, in one transaction. A file with a bad row sends
 * nothing unless the inviter has seen the problems and confirmed the good rows.
 */
export async function inviteFromFile(
  queryable: Queryable,
  actor: Actor,
  sealer: Sealer,
  settings: ApplySettings,
  input: { odsCode?: unknown; file: string; confirmGoodRows?: boolean } & ActionCommon,
): Promise<{ invited: Invitation[]; skipped: InviteeRow[] }> {
  const odsCode = checkOdsCode(input.odsCode);
  const rows = readInviteeFile(input.file);
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "apply.invite", { ods: odsCode }, input);
    for (const row of rows) {
      if (row.problems.length > 0) continue;
      try {
        await refuseOpenInvitation(tx, row.email);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        row.problems.push("Email already has an open invitation");
      }
    }
    const bad = rows.filter((row) => row.problems.length > 0);
    if (bad.length > 0 && !input.confirmGoodRows)
      throw new InvalidInputError(
        bad.map((row) => ({
          field: `row${row.line}`,
          message: `Row ${row.line}: ${row.problems.join("; ")}`,
        })),
      );
    const good = rows.filter((row) => row.problems.length === 0);
    if (good.length === 0) throw InvalidInputError.field("file", "has no row that can be invited");
    const invited: Invitation[] = [];
    for (const row of good)
      invited.push(await createInvitation(tx, acting, sealer, settings, { ...row, odsCode }, {}));
    await recordAction(
      tx,
      acting,
      {
        action: "apply.invited-from-file",
        subject: { type: "organisation", id: odsCode },
        after: { invited: invited.length, skippedRows: bad.map((row) => row.line) },
      },
      input,
    );
    return { invited, skipped: bad };
  });
}
