/**
 * Domain failures. Each knows what went wrong in the domain's words; each interface (JSON API,
 * FHIR, LDAP, pages, CLI) translates them to its own wire form in one place.
 */
export class DomainError extends Error {
  /** Stable machine-readable name, e.g. "invalid-input", "not-found". */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

export type FieldProblem = { field: string; message: string };

/** The input is malformed or breaks a rule; names every field at fault. */
export class InvalidInputError extends DomainError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    super("invalid-input", problems.map((problem) => `${problem.field}: ${problem.message}`).join("; "));
    this.problems = problems;
  }
  static field(field: string, message: string): InvalidInputError {
    return new InvalidInputError([{ field, message }]);
  }
}

export class NotFoundError extends DomainError {
  readonly subject: string;
  constructor(subject: string, message: string) {
    super("not-found", message);
    this.subject = subject;
  }
}

/** The request is well-formed but clashes with what is already recorded. */
export class ConflictError extends DomainError {
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super("conflict", message);
    this.field = field;
  }
}

/** The actor may not do this: policy refused it. `reason` says why, in words for the actor. */
export class ForbiddenError extends DomainError {
  constructor(reason: string) {
    super("forbidden", reason);
  }
}

/** Collects field problems so a caller hears about all of them at once. */
export class Problems {
  readonly list: FieldProblem[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new InvalidInputError(this.list);
  }
}
