import assert from "node:assert/strict";
import { test } from "node:test";
import { nhsDate } from "./nhs-date.ts";

test("dates are written as the NHS style guide asks", () => {
  assert.equal(nhsDate("2015-04-01"), "1 April 2015");
  assert.equal(nhsDate("2024-12-31"), "31 December 2024");
  // Just after midnight in London in summer is still the previous day in UTC.
  assert.equal(nhsDate(new Date("2025-06-30T23:30:00Z")), "1 July 2025");
  assert.equal(nhsDate(new Date("2025-01-31T23:30:00Z")), "31 January 2025");
  assert.equal(nhsDate(null), "");
  assert.equal(nhsDate("not a date"), "not a date");
});
