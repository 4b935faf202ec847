import { isDatabaseUnavailable } from "../../store/unavailable.ts";
import { accountBindDn, accountNameOf, verifyAccount } from "./accounts.ts";
import { attributeType, normalise } from "./attributes.ts";
import { BerError } from "./ber.ts";
import { parseDn } from "./dn.ts";
import { type Entry, valuesOf } from "./entry.ts";
import {
  type BindRequest,
  type CompareRequest,
  type Control,
  type EntryAttribute,
  type ExtendedRequest,
  encodeExtendedResponse,
  encodeMessage,
  encodeResult,
  encodeSearchEntryMessage,
  encodeSearchSuccessMessage,
  Operation,
  type RequestMessage,
} from "./messages.ts";
import { LdapError, ResultCode } from "./result-codes.ts";
import { whoAmIOid } from "./root-dse.ts";
import { PagedSearches, type SearchLimits, search } from "./search.ts";
import { findEntry, type Tree } from "./tree.ts";

/**
 * One client's LDAP session: who it is bound as, its paged searches in progress and its
 * operations, each answered with the response its request calls for. Failures are LdapErrors
 * carrying their result code; anything else is logged and answered "other" without detail.
 */
/** Where failures are logged: pino, or Fastify's logger, which wraps it. */
export type LdapLog = { error(details: object, message: string): void };

export type SessionOptions = { tree: Tree; limits: SearchLimits; anonymous: boolean; log: LdapLog };

export class Session {
  private readonly options: SessionOptions;
  private readonly write: (message: Buffer) => Promise<void>;
  private readonly pages = new PagedSearches();
  private readonly inProgress = new Map<number, { abandoned: boolean }>();
  /** The bound service account; undefined while anonymous. */
  private account: string | undefined;

  constructor(options: SessionOptions, write: (message: Buffer) => Promise<void>) {
    this.options = options;
    this.write = write;
  }

  async handle(message: RequestMessage): Promise<void> {
    const { messageId, request, controls } = message;
    switch (request.kind) {
      case "bind":
        return this.answer(messageId, Operation.bindResponse, () => this.bind(request));
      case "search":
        return this.search(
          messageId,
          message.request as Extract<typeof request, { kind: "search" }>,
          controls,
        );
      case "compare":
        return this.answer(messageId, Operation.compareResponse, () => this.compare(request));
      case "extended":
        return this.extended(messageId, request);
      case "abandon": {
        const operation = this.inProgress.get(request.messageId);
        if (operation) operation.abandoned = true;
        return;
      }
      case "write":
        return this.answer(messageId, request.response, () => {
          throw new LdapError(
            ResultCode.unwillingToPerform,
            `the directory is read-only: ${request.name} is not allowed`,
          );
        });
      case "unbind":
        return;
    }
  }

  async close(): Promise<void> {
    for (const operation of this.inProgress.values()) operation.abandoned = true;
    await this.pages.closeAll();
  }

  private async answer(
    messageId: number,
    tag: number,
    work: () => Promise<{ resultCode: number; message?: string }> | never,
  ): Promise<void> {
    let result: { resultCode: number; matchedDn?: string; message?: string };
    try {
      result = await work();
    } catch (error) {
      result = this.failure(error);
    }
    await this.write(encodeMessage(messageId, encodeResult(tag, result as never)));
  }

  private failure(error: unknown): { resultCode: number; matchedDn?: string; message?: string } {
    if (error instanceof LdapError)
      return { resultCode: error.resultCode, matchedDn: error.matchedDn, message: error.message };
    if (error instanceof BerError) return { resultCode: ResultCode.protocolError, message: error.message };
    if (isDatabaseUnavailable(error))
      return {
        resultCode: ResultCode.unavailable,
        message: "the directory is unavailable for a moment; retry shortly",
      };
    this.options.log.error({ err: error }, "LDAP operation failed");
    return { resultCode: ResultCode.other, message: "the operation failed; the server logged why" };
  }

  private async bind(request: BindRequest): Promise<{ resultCode: number; message?: string }> {
    this.account = undefined;
    if (request.version !== 3)
      throw new LdapError(ResultCode.protocolError, "only LDAP version 3 is supported");
    if (request.authentication.method !== "simple")
      throw new LdapError(ResultCode.authMethodNotSupported, "only simple bind is supported");
    const password = request.authentication.password;
    if (request.name === "" && password.length === 0) {
      if (!this.options.anonymous)
        throw new LdapError(ResultCode.inappropriateAuthentication, "anonymous bind is not allowed");
      return { resultCode: ResultCode.success };
    }
    // RFC 4513 section 5.1.2: a name without a password is an unauthenticated bind; refuse it.
    if (password.length === 0)
      throw new LdapError(
        ResultCode.unwillingToPerform,
        "unauthenticated bind (a name without a password) is not allowed",
      );
    let name: string | undefined;
    try {
      name = accountNameOf(parseDn(request.name));
    } catch {
      name = undefined;
    }
    if (!(await verifyAccount(this.options.tree.db, name ?? "", password)) || name === undefined)
      throw new LdapError(ResultCode.invalidCredentials, "invalid credentials");
    this.account = name;
    return { resultCode: ResultCode.success };
  }

  private requireAccess(): void {
    if (!this.options.anonymous && this.account === undefined)
      throw new LdapError(
        ResultCode.insufficientAccessRights,
        "bind as a service account to read the directory",
      );
  }

  private async search(
    messageId: number,
    request: Extract<RequestMessage["request"], { kind: "search" }>,
    controls: Control[],
  ): Promise<void> {
    const operation = { abandoned: false };
    this.inProgress.set(messageId, operation);
    let done: { resultCode: number; matchedDn?: string; message?: string };
    let responseControls: Control[] = [];
    try {
      if (!(request.base === "" && request.scope === 0)) this.requireAccess();
      const outcome = await search(
        {
          tree: this.options.tree,
          limits: this.options.limits,
          pages: this.pages,
          abandoned: () => operation.abandoned,
          send: (entry: Entry, attributes: EntryAttribute[]) =>
            this.write(encodeSearchEntryMessage(messageId, entry.dn, attributes)),
        },
        request,
        controls,
      );
      done = outcome;
      responseControls = outcome.controls;
    } catch (error) {
      done = this.failure(error);
    } finally {
      this.inProgress.delete(messageId);
    }
    if (operation.abandoned) return;
    if (
      done.resultCode === ResultCode.success &&
      !done.message &&
      !done.matchedDn &&
      responseControls.length === 0
    )
      await this.write(encodeSearchSuccessMessage(messageId));
    else
      await this.write(
        encodeMessage(messageId, encodeResult(Operation.searchResultDone, done as never), responseControls),
      );
  }

  private async compare(request: CompareRequest): Promise<{ resultCode: number }> {
    this.requireAccess();
    const dn = parseDn(request.entry);
    const entry = dn.length > 0 ? await findEntry(this.options.tree, dn) : undefined;
    if (!entry) throw new LdapError(ResultCode.noSuchObject, "no such entry");
    if (!attributeType(request.attribute))
      throw new LdapError(
        ResultCode.undefinedAttributeType,
        `${request.attribute} is not a known attribute type`,
      );
    const values = valuesOf(entry, request.attribute);
    if (!values) throw new LdapError(ResultCode.noSuchAttribute, `the entry has no ${request.attribute}`);
    const wanted = normalise(request.value);
    return {
      resultCode: values.some((value) => normalise(value) === wanted)
        ? ResultCode.compareTrue
        : ResultCode.compareFalse,
    };
  }

  private async extended(messageId: number, request: ExtendedRequest): Promise<void> {
    if (request.name === whoAmIOid) {
      const identity = this.account === undefined ? "" : `dn:${accountBindDn(this.account)}`;
      await this.write(
        encodeMessage(
          messageId,
          encodeExtendedResponse({ resultCode: ResultCode.success }, undefined, Buffer.from(identity)),
        ),
      );
      return;
    }
    // RFC 4511 section 4.12: an unrecognised request name is a protocolError.
    await this.write(
      encodeMessage(
        messageId,
        encodeExtendedResponse({
          resultCode: ResultCode.protocolError,
          message: `extended operation ${request.name} is not supported`,
        }),
      ),
    );
  }
}
