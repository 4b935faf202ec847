import type { Socket } from "node:net";
import { BerError, readHeader, Tag } from "./ber.ts";
import { decodeMessage, encodeExtendedResponse, encodeMessage, noticeOfDisconnection } from "./messages.ts";
import { ResultCode } from "./result-codes.ts";
import { Session, type SessionOptions } from "./session.ts";

/**
 * One TCP (or TLS) connection: frames the byte stream into LDAPMessages and hands each to the
 * session. Anything that cannot be framed or decoded ends the connection with a Notice of
 * Disconnection (RFC 4511 section 4.1.1): after a framing error nothing later on the stream can
 * be trusted. Limits keep one client from holding memory or the event loop.
 */
export type ConnectionLimits = {
  /** Largest LDAPMessage accepted; a search request is a few hundred bytes. */
  maximumMessageBytes: number;
  /** Operations in progress at once before the connection stops reading. */
  maximumOutstanding: number;
  idleTimeoutMs: number;
};

export const defaultConnectionLimits: ConnectionLimits = {
  maximumMessageBytes: 256 * 1024,
  maximumOutstanding: 32,
  idleTimeoutMs: 5 * 60 * 1000,
};

export function serveConnection(socket: Socket, options: SessionOptions, limits: ConnectionLimits): void {
  let buffered: Buffer = Buffer.alloc(0);
  let outstanding = 0;
  let closing = false;
  const session = new Session(options, write);

  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };

  /**
   * Queues a response. Responses written in the same turn of the event loop (a search's entries
   * and its searchResultDone) leave in one system call: on a loopback TCP socket each call costs
   * more than encoding the entry.
   */
  function write(message: Buffer): Promise<void> {
    if (closing || socket.destroyed) return Promise.resolve();
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    if (socket.write(message)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        socket.off("drain", done);
        socket.off("close", done);
        resolve();
      };
      socket.on("drain", done);
      socket.on("close", done);
    });
  }

  function disconnect(reason: string): void {
    if (closing) return;
    const notice = encodeExtendedResponse(
      { resultCode: ResultCode.protocolError, message: reason },
      noticeOfDisconnection,
    );
    socket.end(encodeMessage(0, notice));
    closing = true;
    // A client that never reads its notice must not keep the socket open.
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  function nextMessage(): Buffer | undefined {
    const header = readHeader(buffered, 0, buffered.length);
    if (header === "incomplete") {
      // A length field alone can announce a message too large; refuse it before it arrives.
      if (buffered.length >= 2 && buffered[0] !== Tag.sequence)
        throw new BerError("an LDAPMessage must be a sequence");
      if (buffered.length > limits.maximumMessageBytes) throw new BerError("message too large");
      peekLength();
      return undefined;
    }
    if (header.tag !== Tag.sequence) throw new BerError("an LDAPMessage must be a sequence");
    const total = header.contentStart + header.length;
    if (total > limits.maximumMessageBytes) throw new BerError("message too large");
    const message = buffered.subarray(0, total);
    buffered = buffered.subarray(total);
    return message;
  }

  /** Rejects an announced length over the limit without waiting for its bytes. */
  function peekLength(): void {
    const second = buffered[1];
    if (second === undefined || second < 0x80) return;
    const count = second & 0x7f;
    if (buffered.length < 2 + count) return;
    let length = 0;
    for (let index = 0; index < count; index++) length = length * 256 + (buffered[2 + index] as number);
    if (length > limits.maximumMessageBytes) throw new BerError("message too large");
  }

  function receive(chunk: Buffer): void {
    if (closing) return;
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    try {
      for (let raw = nextMessage(); raw; raw = closing ? undefined : nextMessage())
        dispatch(decodeMessage(raw));
    } catch (error) {
      if (error instanceof BerError) {
        disconnect(`protocol error: ${error.message}`);
        return;
      }
      options.log.error({ err: error }, "LDAP connection failed");
      disconnect("internal error");
    }
  }

  function dispatch(message: ReturnType<typeof decodeMessage>): void {
    if (message.request.kind === "unbind") {
      closing = true;
      socket.end();
      return;
    }
    outstanding++;
    if (outstanding >= limits.maximumOutstanding) socket.pause();
    session
      .handle(message)
      .catch((error) => {
        options.log.error({ err: error }, "LDAP operation failed");
        socket.destroy();
      })
      .finally(() => {
        outstanding--;
        if (outstanding < limits.maximumOutstanding && !closing) socket.resume();
      });
  }

  socket.setNoDelay(true);
  socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
  socket.on("data", receive);
  socket.on("error", () => socket.destroy());
  socket.on("close", () => {
    closing = true;
    void session.close();
  });
}
