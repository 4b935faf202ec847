import type { FastifyInstance } from "fastify";
import { InvalidInputError } from "../errors.ts";

/**
 * multipart/form-data (RFC 7578), how a browser sends a file from a form. @fastify/multipart is
 * not among the installed packages; a form here carries a few text fields and at most one file
 * of a bounded size, so the whole body is read (Fastify enforces the limit) and split here.
 */
export type UploadedFile = { filename: string; contentType: string; data: Buffer };
export type MultipartBody = Record<string, string | UploadedFile>;

export function isUploadedFile(value: unknown): value is UploadedFile {
  return typeof value === "object" && value !== null && Buffer.isBuffer((value as UploadedFile).data);
}

export function parseMultipart(body: Buffer, contentType: string): MultipartBody {
  const match = /boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) throw InvalidInputError.field("form", "was sent without a multipart boundary");
  const delimiter = Buffer.from(`--${boundary}`);
  const between = Buffer.from(`\r\n--${boundary}`);
  const fields: MultipartBody = {};
  let position = body.indexOf(delimiter);
  if (position < 0) throw InvalidInputError.field("form", "could not be read");
  for (let parts = 0; parts < 50; parts++) {
    position += delimiter.length;
    if (body.subarray(position, position + 2).toString("latin1") === "--") return fields;
    const headerEnd = body.indexOf("\r\n\r\n", position);
    const next = body.indexOf(between, headerEnd + 4);
    if (headerEnd < 0 || next < 0) throw InvalidInputError.field("form", "was cut off: send it again");
    const headers = body.subarray(position + 2, headerEnd).toString("utf8");
    const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(headers)?.[1] ?? "";
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    const content = body.subarray(headerEnd + 4, next);
    if (name) {
      fields[name] =
        filename === undefined
          ? content.toString("utf8")
          : {
              filename,
              contentType:
                /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim() ?? "application/octet-stream",
              data: Buffer.from(content),
            };
    }
    position = next + 2;
  }
  throw InvalidInputError.field("form", "has too many parts");
}

/** Lets the routes of this Fastify context take multipart forms up to bodyLimit bytes. */
export function acceptMultipart(app: FastifyInstance, bodyLimit: number): void {
  app.addContentTypeParser("multipart/form-data", { parseAs: "buffer", bodyLimit }, (request, body, done) => {
    try {
      done(null, parseMultipart(body as Buffer, String(request.headers["content-type"])));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
