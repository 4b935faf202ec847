const months = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/**
 * A date as the NHS style guide writes it: "1 April 2015", no leading zero, month in full.
 * Takes a YYYY-MM-DD date (a calendar day, no time zone) or an instant (its day in London).
 */
export function nhsDate(value: string | Date | null | undefined): string {
  if (value === null || value === undefined || value === "") return "";
  const iso =
    value instanceof Date
      ? new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/London" }).format(value)
      : value;
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!match) return String(value);
  const [, year, month, day] = match;
  return `${Number(day)} ${months[Number(month) - 1]} ${year}`;
}
