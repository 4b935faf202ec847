/**
 * A minimal browser for HTTP-level journeys: a cookie jar that honours cookie paths, redirects
 * followed by hand (so a test sees every hop), and HTML forms read from the page.
 */
type Cookie = { name: string; value: string; path: string };

export class Browser {
  private cookies: Cookie[] = [];
  /** Every answer's URL and headers, for tests of what the service sets on each. */
  readonly answers: { url: string; headers: Headers }[] = [];
  /**
   * An https origin whose TLS ends in front of the service: requests to it are sent to the
   * same host and port over plain HTTP, as a TLS-terminating proxy would pass them on.
   */
  private readonly tlsEndsAt: string | undefined;
  /** Sent with every request, e.g. X-Forwarded-For to act from another address behind a proxy. */
  private readonly headers: Record<string, string>;

  constructor(options: { tlsEndsAt?: string; headers?: Record<string, string> } = {}) {
    this.tlsEndsAt = options.tlsEndsAt;
    this.headers = options.headers ?? {};
  }

  async get(url: string): Promise<Response> {
    return this.request(url, { method: "GET" });
  }

  async post(url: string, form: Record<string, string>): Promise<Response> {
    return this.request(url, {
      method: "POST",
      body: new URLSearchParams(form).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
  }

  /**
   * Follows redirects until one leaves `origin`, reaches `stopAt` (a relying party's redirect URI
   * on the same origin) or a page answers; returns the last response and URL.
   */
  async follow(
    start: Response,
    from: string,
    origin: string,
    stopAt?: string,
  ): Promise<{ response: Response; url: string }> {
    let response = start;
    let url = from;
    for (let hops = 0; hops < 20 && response.status >= 300 && response.status < 400; hops++) {
      url = new URL(response.headers.get("location") ?? "", url).toString();
      if (!url.startsWith(origin) || (stopAt && url.startsWith(stopAt))) return { response, url };
      response = await this.get(url);
    }
    return { response, url };
  }

  clear(name?: string): void {
    this.cookies = name ? this.cookies.filter((cookie) => cookie.name !== name) : [];
  }

  private async request(url: string, init: RequestInit): Promise<Response> {
    const path = new URL(url).pathname;
    const cookie = this.cookies
      .filter((candidate) => path.startsWith(candidate.path))
      .map((candidate) => `${candidate.name}=${candidate.value}`)
      .join("; ");
    const sent = this.tlsEndsAt && url.startsWith(this.tlsEndsAt) ? url.replace(/^https:/, "http:") : url;
    const response = await fetch(sent, {
      ...init,
      redirect: "manual",
      headers: {
        accept: "text/html",
        ...this.headers,
        ...(init.headers as Record<string, string>),
        ...(cookie ? { cookie } : {}),
      },
    });
    this.answers.push({ url, headers: response.headers });
    for (const header of response.headers.getSetCookie()) this.store(header, path);
    return response;
  }

  private store(header: string, requestPath: string): void {
    const [pair = "", ...attributes] = header.split(";").map((part) => part.trim());
    const separator = pair.indexOf("=");
    const name = pair.slice(0, separator);
    const value = pair.slice(separator + 1);
    const path =
      attributes.find((attribute) => attribute.toLowerCase().startsWith("path="))?.slice(5) ?? requestPath;
    const expired = attributes.some(
      (attribute) => /^expires=thu, 01 jan 1970/i.test(attribute) || /^max-age=0$/i.test(attribute),
    );
    this.cookies = this.cookies.filter((cookie) => !(cookie.name === name && cookie.path === path));
    if (!expired) this.cookies.push({ name, value, path });
  }
}

/** The action of the form on a page, and the value of one named input. */
export function formAction(html: string, pageUrl: string): string {
  const action =
    /<form[^>]*action="([^"]+)"[^>]*method="post"|<form[^>]*method="post"[^>]*action="([^"]+)"/i.exec(html);
  const target = action?.[1] ?? action?.[2];
  if (!target) throw new Error("no POST form on the page");
  return new URL(target.replaceAll("&amp;", "&"), pageUrl).toString();
}

/**
 * The address of the interaction a sign-in's first page belongs to, read from its identify form:
 * the page answers at the authorization request's own address (cis2/first-page-in-place.ts).
 */
export function interactionAddress(html: string, from: string): string {
  const path = /action="(\/cis2\/signin\/[^/"]+)\/identify"/.exec(html)?.[1];
  if (!path) throw new Error(`not a sign-in's first page: ${from}`);
  return new URL(path, from).href;
}
