/**
 * The browser of the sign-in benchmarks: node:http over keep-alive connections with a cookie
 * jar, following redirects within one origin. Lighter than fetch, so the load generator leaves
 * more of the shared cores to the service it measures.
 */
import http from "node:http";

export type Page = { status: number; url: string; body: string; location?: string };

export class HttpBrowser {
  private readonly cookies = new Map<string, { value: string; path: string }>();
  private readonly agent: http.Agent;
  private readonly origin: string;
  private readonly headers: Record<string, string>;

  constructor(origin: string, agent: http.Agent, headers: Record<string, string> = {}) {
    this.origin = origin;
    this.agent = agent;
    this.headers = headers;
  }

  /** GETs a URL and follows redirects until a page answers or a redirect leaves the origin. */
  async open(url: string): Promise<Page> {
    return this.follow(await this.request("GET", url));
  }

  async submit(url: string, form: Record<string, string>): Promise<Page> {
    return this.follow(await this.request("POST", url, new URLSearchParams(form).toString()));
  }

  private async follow(first: Page): Promise<Page> {
    let page = first;
    for (let hops = 0; hops < 20 && page.location; hops++) {
      const next = new URL(page.location, page.url).toString();
      if (!next.startsWith(this.origin)) return { ...page, url: next };
      page = await this.request("GET", next);
    }
    return page;
  }

  private request(method: string, url: string, body?: string): Promise<Page> {
    const target = new URL(url);
    const cookie = [...this.cookies]
      .filter(([, entry]) => target.pathname.startsWith(entry.path))
      .map(([name, entry]) => `${name}=${entry.value}`)
      .join("; ");
    const headers: Record<string, string | number> = { ...this.headers, accept: "text/html" };
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers["content-length"] = Buffer.byteLength(body);
    }
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          agent: this.agent,
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method,
          headers,
        },
        (response) => {
          for (const header of response.headers["set-cookie"] ?? []) this.keep(header, target.pathname);
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              url,
              body: Buffer.concat(chunks).toString(),
              location: response.headers.location,
            }),
          );
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  }

  private keep(header: string, requestPath: string): void {
    const [pair = "", ...attributes] = header.split(";").map((part) => part.trim());
    const separator = pair.indexOf("=");
    const name = pair.slice(0, separator);
    const path =
      attributes.find((attribute) => attribute.toLowerCase().startsWith("path="))?.slice(5) ?? requestPath;
    const expired = attributes.some(
      (attribute) => /^expires=thu, 01 jan 1970/i.test(attribute) || /^max-age=0$/i.test(attribute),
    );
    if (expired) this.cookies.delete(name);
    else this.cookies.set(name, { value: pair.slice(separator + 1), path });
  }
}

/** The POST form's action on a page, as an absolute URL. */
export function formAction(page: Page): string {
  const action =
    /<form[^>]*action="([^"]+)"[^>]*method="post"|<form[^>]*method="post"[^>]*action="([^"]+)"/i.exec(
      page.body,
    );
  const target = action?.[1] ?? action?.[2];
  if (!target) throw new Error(`no POST form on ${page.url} (${page.status}): ${page.body.slice(0, 200)}`);
  return new URL(unescapeHtml(target), page.url).toString();
}

export function unescapeHtml(text: string): string {
  return text
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}
