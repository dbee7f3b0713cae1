import assert from "node:assert/strict";
import { httpUrlParts } from "../_http_tags.ts";

// What a request's URL can look like once `Request` has parsed and serialized it.
const URLS = [
  "http://127.0.0.1:18100/",
  "http://example.com",
  "https://example.com:443/a/b?x=1&y=2#frag",
  "https://example.com:8443/a/b/?",
  "http://[::1]:8080/v1/traces",
  "http://[2001:db8::1]/",
  "http://EXAMPLE.com:80/%7Efoo/bar%20baz?q=%20#h?x",
  "http://example.com/path?query#",
  "http://example.com?only=query",
  "http://example.com#only-hash",
  "http://xn--nave-6pa.example/ümlaut?ä=ö",
  "http://user:pass@example.com/secret",
  "http://example.com/a/../b/./c",
  "https://example.com:0/",
  "http://192.168.0.1:65535/x:y@z",
  "ws://example.com/socket",
  "file:///tmp/x",
];

Deno.test("httpUrlParts() reads a request URL as URL does, or leaves it to URL", () => {
  let read = 0;
  for (const input of URLS) {
    const href = new Request(input).url;
    const parts = httpUrlParts(href);
    const url = new URL(href);
    if (parts === undefined) {
      // Only what the reader leaves to URL: another scheme, or user information.
      assert.ok(url.protocol !== "http:" && url.protocol !== "https:" || url.username !== "", href);
      continue;
    }
    read++;
    assert.deepEqual(parts, {
      scheme: url.protocol.slice(0, -1),
      hostname: url.hostname,
      port: url.port,
      path: url.pathname,
      query: url.search.slice(1),
    }, href);
  }
  assert.equal(read, URLS.length - 3);
});

Deno.test("httpUrlParts() leaves malformed text to URL", () => {
  for (const text of ["http://", "http:///x", "https://:80/", "http:\\\\a", "mailto:a@b", ""]) {
    assert.equal(httpUrlParts(text), undefined, text);
  }
});
