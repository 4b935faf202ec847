import { odsCodePattern } from "../organisations.ts";
import type { RowProblem } from "./ods-record.ts";

/** The checks every ODS format applies to a row, each adding a problem named by row and field. */
export class RowChecks {
  readonly problems: RowProblem[] = [];
  row = 0;

  add(field: string, message: string): void {
    this.problems.push({ row: this.row, field, message });
  }

  odsCode(field: string, value: unknown, required = true): string | null {
    const code = typeof value === "string" ? value.trim().toUpperCase() : "";
    if (code === "") {
      if (required) this.add(field, "is required");
      return null;
    }
    if (!odsCodePattern.test(code)) {
      this.add(field, `"${code}" is not an ODS code (3 to 10 letters and digits)`);
      return null;
    }
    return code;
  }

  name(field: string, value: unknown): string {
    const name = typeof value === "string" ? value.trim() : "";
    if (name.length === 0 || name.length > 200) this.add(field, "is required (up to 200 characters)");
    return name;
  }

  /** A date as YYYYMMDD (CSV extracts) or YYYY-MM-DD (ORD JSON), answered as YYYY-MM-DD. */
  date(field: string, value: unknown): string | null {
    if (value === undefined || value === null || value === "") return null;
    const text = String(value).trim();
    const match = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(text);
    const iso = match ? `${match[1]}-${match[2]}-${match[3]}` : "";
    if (!match || Number.isNaN(Date.parse(iso)) || new Date(iso).toISOString().slice(0, 10) !== iso) {
      this.add(field, `"${text}" is not a date (YYYYMMDD or YYYY-MM-DD)`);
      return null;
    }
    return iso;
  }

  period(openField: string, open: string | null, closeField: string, close: string | null): void {
    if (open && close && close < open) this.add(closeField, `must not be before ${openField} ${open}`);
  }
}
