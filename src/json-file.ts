import { readFileSync } from "node:fs";

export class JsonFileError extends Error {}

/**
 * Reads a JSON file without echoing its content in errors: JSON.parse's message can quote the
 * text around a fault, and these files hold keys and personal details.
 */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new JsonFileError(
      `${path} could not be read: ${(error as NodeJS.ErrnoException).code ?? "unknown error"}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const where = / at position \d+ \(line \d+ column \d+\)/.exec((error as Error).message)?.[0] ?? "";
    throw new JsonFileError(`${path} is not valid JSON${where}`);
  }
}
