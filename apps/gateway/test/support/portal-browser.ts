/**
 * Enough of a browser for the portal's forms: keeps its cookies (dropping one set with
 * `Max-Age=0`), posts forms, reads a page's CSRF field, signs up and lists the account's keys.
 */
export class PortalBrowser {
  readonly jar = new Map<string, string>();
  constructor(readonly base: string) {}

  async request(path: string, form?: Record<string, string>) {
    const headers: Record<string, string> = {};
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (form !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await fetch(`${this.base}${path}`, {
      method: form === undefined ? "GET" : "POST",
      headers,
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() }),
      redirect: "manual",
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair = ""] = c.split(";");
      const at = pair.indexOf("=");
      if (/Max-Age=0/.test(c)) this.jar.delete(pair.slice(0, at));
      else this.jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return { res, text: await res.text() };
  }

  async csrf(path: string): Promise<string> {
    const m = /name="csrf" value="([^"]+)"/.exec((await this.request(path)).text);
    if (m === null) throw new Error(`no CSRF field on ${path}`);
    return m[1]!;
  }

  async signup(email: string, password = "a long passphrase") {
    return this.request("/portal/signup", { csrf: await this.csrf("/portal/"), email, password });
  }

  async keyIds(): Promise<string[]> {
    const page = (await this.request("/portal/keys")).text;
    return [...page.matchAll(/data-key-id="(key_[0-9A-Za-z]+)"/g)].map((m) => m[1]!);
  }
}
