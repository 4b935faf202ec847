/**
 * Who is acting. Every state change names one, and the audit log records it: a person acting
 * in one of their positions, the operator at the command line, or the service itself.
 */
export type Actor = {
  kind: "person" | "operator" | "system";
  /** The person's UUID, the operator's login name, or the service component. */
  id: string;
  /** The position (role profile id) a person acted in, when they chose one. */
  roleId?: string;
  /** Where the change came from: CLI, CIM, API, APPLY, ESR, SEED, SYSTEM. */
  source: string;
  correlationId?: string;
};

export function operatorActor(correlationId?: string): Actor {
  const login = process.env.SUDO_USER || process.env.USER || process.env.LOGNAME || "operator";
  return { kind: "operator", id: login, source: "CLI", correlationId };
}

export function systemActor(component: string): Actor {
  return { kind: "system", id: component, source: "SYSTEM" };
}

/**
 * The sandbox (careid sandbox) applying its personas file: the operator's kind, since whoever
 * runs the sandbox owns the machine, named apart so the audit log tells its changes from theirs.
 */
export function sandboxActor(): Actor {
  return { kind: "operator", id: "sandbox", source: "SANDBOX" };
}

/** The operator loading the demo or synthetic directory (seed demo, serve --demo, the sandbox). */
export function seedActor(): Actor {
  return { ...operatorActor(), source: "SEED" };
}
