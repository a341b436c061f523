// Preloaded into Portkey's process by the benchmark (`node --require`). Portkey's streaming
// handler adds headers to the upstream `fetch` Response, whose headers Node's fetch (undici)
// marks immutable, so every streamed request fails with HTTP 500 on Node. A streamed response
// is handed on as a Response of the same body with headers it may change; unary responses,
// which Portkey does not touch that way, pass as they are.
"use strict";
const upstreamFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const response = await upstreamFetch(...args);
  if (!(response.headers.get("content-type") ?? "").includes("text/event-stream")) return response;
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
  });
};
